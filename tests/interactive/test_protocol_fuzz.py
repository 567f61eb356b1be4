"""Property-based tests of what clients send on the annotation websocket: any JSON gets a clear `error` (one of
the documented codes) or a normal reply, never an exception, and the connection stays usable."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.interactive import protocol
from backend.interactive.protocol import ProtocolError
from tests.conftest import World
from tests.interactive.inprocess import Socket
from tests.live_stack import token_for
from tests.own_loop import run_in_own_loop

FIELDS = ["type", "seq", "x", "y", "positive", "label", "model", "clicks", "object", "version", "threshold",
          "largest_component", "tolerance", "client_key"]  # fmt: skip
TYPES = ["start", "click", "undo", "redo", "reset", "options", "finish", "cancel", "ping", "nope", ""]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
messages = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8) | json_values
typed_messages = st.builds(lambda kind, rest: {**rest, "type": kind} if isinstance(rest, dict) else rest,
                           st.sampled_from(TYPES), messages)  # fmt: skip

PARSERS = [
    lambda m: protocol.parse_click(m, 200, 150),
    lambda m: protocol.parse_clicks(m.get("clicks"), 200, 150),
    lambda m: protocol.parse_options(m, protocol.Options()),
    lambda m: protocol.parse_seq(m, 3),
    protocol.parse_label,
    protocol.parse_object,
    protocol.parse_client_key,
]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(message=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
def test_parsers_raise_only_protocol_errors(message: dict) -> None:
    for parse in PARSERS:
        try:
            parse(message)
        except ProtocolError as error:
            assert error.code in {"bad_message", "click_outside_image", "stale_seq"}


KNOWN_REPLIES = {"ready", "started", "mask", "superseded", "saved", "cancelled", "pong", "error"}
ERROR_CODES = {
    "bad_message", "unknown_type", "no_object", "stale_seq", "unknown_label", "unknown_model", "click_outside_image",
    "rate_limited", "nothing_to_save", "empty_mask", "unknown_object", "stale_version", "bad_polygon",
    "worker_timeout", "empty_polygon",
}  # fmt: skip


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(typed_messages | st.text(min_size=1, max_size=40), min_size=5, max_size=25))
def test_any_messages_get_documented_answers_and_the_socket_stays_usable(world: World, disk, batch) -> None:
    token = token_for(world.users["annotator"])

    async def scenario() -> list[dict]:
        socket = Socket(disk.pk, token)
        assert (await socket.open())["type"] == "ready"
        for message in batch:
            await socket.communicator.send_to(text_data=message if isinstance(message, str) else json.dumps(message))
        await socket.send(type="ping")
        while (await socket.recv(timeout=120))["type"] != "pong":  # answered after everything sent before it
            pass
        await socket.close()
        return socket.replies

    replies = run_in_own_loop(scenario)
    assert {reply["type"] for reply in replies} <= KNOWN_REPLIES
    codes = {reply["code"] for reply in replies if reply["type"] == "error"}
    assert codes <= ERROR_CODES, codes


@pytest.mark.django_db(transaction=True)
def test_a_message_nested_too_deep_is_a_bad_message(world: World, disk) -> None:
    token = token_for(world.users["annotator"])

    async def scenario() -> list[str]:
        socket = Socket(disk.pk, token)
        await socket.open()
        await socket.communicator.send_to(text_data="[" * 100_000 + "]" * 100_000)
        first = await socket.recv()
        await socket.send(type="ping")
        second = await socket.recv()
        await socket.close()
        return [first.get("code", first["type"]), second["type"]]

    assert run_in_own_loop(scenario) == ["bad_message", "pong"]
