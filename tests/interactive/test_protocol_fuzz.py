"""Property-based tests of what clients send on the annotation websocket: any JSON gets a clear `error` (one of
the documented codes) or a normal reply, never an exception, and the connection stays usable."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.interactive import protocol
from backend.interactive.protocol import ProtocolError
from ml.postprocess import MaskOptions
from tests.conftest import World
from tests.interactive.inprocess import Socket
from tests.live_stack import token_for
from tests.own_loop import run_in_own_loop

FIELDS = ["type", "seq", "x", "y", "positive", "label", "model", "clicks", "threshold", "largest_component",
          "tolerance"]  # fmt: skip
TYPES = ["start", "clicks", "options", "cancel", "ping", "click", "finish", "nope", ""]

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
coordinates = st.floats(min_value=-5, max_value=205) | st.integers(min_value=-5, max_value=205)
click_lists = st.lists(
    st.fixed_dictionaries({"x": coordinates, "y": coordinates, "positive": st.booleans()}), max_size=4
)  # fmt: skip  (some inside the 200×150 image: masks get computed too)
messages = st.dictionaries(st.sampled_from(FIELDS), json_values | click_lists, max_size=8) | json_values
typed_messages = st.builds(lambda kind, rest: {**rest, "type": kind} if isinstance(rest, dict) else rest,
                           st.sampled_from(TYPES), messages)  # fmt: skip

PARSERS = [
    lambda m: protocol.parse_click(m, 200, 150),
    lambda m: protocol.parse_clicks(m.get("clicks"), 200, 150),
    lambda m: protocol.parse_options(m, MaskOptions()),
    lambda m: protocol.parse_seq(m, 3),
    protocol.parse_label,
]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(message=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
def test_parsers_raise_only_protocol_errors(message: dict) -> None:
    for parse in PARSERS:
        try:
            parse(message)
        except ProtocolError as error:
            assert error.code in {"bad_message", "click_outside_image", "stale_seq"}


KNOWN_REPLIES = {"ready", "started", "mask", "superseded", "cancelled", "pong", "error"}
ERROR_CODES = {"bad_message", "unknown_type", "no_object", "stale_seq", "unknown_label", "unknown_model",
               "click_outside_image", "rate_limited", "worker_timeout"}  # fmt: skip


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
