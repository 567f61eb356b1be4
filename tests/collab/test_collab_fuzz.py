"""Teamwork fuzzed over the real stack: Postgres, Redis and TWO daphne processes (team mode), 2–4 clients.

Each client is one person's browser tab reduced to what the protocol asks of it: the image's annotate socket (read
in a thread of its own, ``heartbeat`` every ``heartbeat_s``) and REST. Clients run at the same time, each a seeded
random sequence of a bounded number of ops: create (POST), edit (PATCH with the version it knows, with or without
holding the lease), delete (DELETE with that version), lock (``lease``), unlock (``release``), disconnect (a clean
close or a dropped connection) and reconnect to either web process. Two clients may be the same user (two tabs).

A client's view is what the browser builds: its initial GET, every ``object_changed`` merged by version, and after
a reconnect a fresh GET (the view is rebuilt from it and the messages of the new socket).

Invariants: every save or delete a client was told succeeded is in the database — each object ends as its last
acknowledged change left it, and no two acknowledged changes of one object share a version (a lost update); a
client holding a granted lease never meets 423 on that object; once everyone is done, every client's view equals
the database and every client's lease list is empty.
"""

import json
import random
import socket
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from websockets.sync.client import connect

from backend.collab.leases import PREFIX
from tests.conftest import World
from tests.http import call
from tests.live_stack import TEST_REDIS_URL, Stack, run_stack, token_for
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# A short re-check period, so that what a missed broadcast leaves behind heals within the test's waits; the
# lease lives long (no lease expires while its holder is alive and heartbeating on a loaded machine).
SERVER_ENV = {"LEASE_HEARTBEAT_S": "1", "LEASE_TTL_S": "45", "PRESENCE_TTL_S": "45"}
OK_SOCKET_ERRORS = {"unknown_object"}  # a lease on an object someone deleted meanwhile


@dataclass
class Team:
    stack: Stack
    urls: list[str]  # the two web processes


@pytest.fixture(scope="module")
def team(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Team]:
    for stack in run_stack(tmp_path_factory, team=True, workers=0, extra_env=SERVER_ENV):
        first = stack.url
        stack.start_daphne("daphne-team-2")
        yield Team(stack, [first, stack.url])


@dataclass(frozen=True)
class Change:
    """An acknowledged change: a save (the object as the server answered) or a delete (the version it made)."""

    object_id: int
    version: int
    kind: str  # "save" | "delete"
    polygons: Any
    client: int


class Ledger:
    """Every acknowledged change, by every client."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.changes: list[Change] = []

    def add(self, change: Change) -> None:
        with self.lock:
            self.changes.append(change)


class FuzzClient:
    def __init__(self, index: int, team: Team, image: int, label: int, token: str, size, ledger: Ledger, seed: int):
        self.index, self.team, self.image, self.label, self.token = index, team, image, label, token
        self.width, self.height = size
        self.ledger, self.rng = ledger, random.Random(seed)
        self.cond = threading.Condition()
        self.send_lock = threading.Lock()
        self.view: dict[int, dict] = {}  # id → newest known state, `deleted` set by a deletion
        self.leases: dict[int, bool] = {}  # object → mine, as the server last said
        self.refused: set[int] = set()
        self.socket_errors: list[str] = []
        self.failures: list[str] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.ws = None
        self.stop_beat: threading.Event | None = None
        self.log: list[str] = []  # what this client sent and got, for a failure's report

    def fail(self, what: str) -> None:
        self.failures.append(f"client {self.index}: {what}; its last messages:\n  " + "\n  ".join(self.log[-12:]))

    # ------------------------------------------------------------------ socket
    def connect(self) -> None:
        url = self.rng.choice(self.team.urls)
        with self.cond:
            self.view, self.leases, self.refused = {}, {}, set()
        address = url.replace("http", "ws", 1) + f"/ws/images/{self.image}/annotate/?token={self.token}"
        ws = connect(address, origin=url, max_size=2**23).__enter__()
        ready = json.loads(ws.recv(timeout=30))
        assert ready["type"] == "ready", ready
        with self.cond:
            self.ws = ws
            self.leases = {item["object"]: item["mine"] for item in ready["leases"]}
        threading.Thread(target=self.read, args=(ws,), daemon=True).start()
        self.stop_beat = threading.Event()
        threading.Thread(target=self.beat, args=(ready["heartbeat_s"], self.stop_beat), daemon=True).start()
        reply = self.rest("GET", f"/api/images/{self.image}/objects/", url=url)
        assert reply.status == 200, reply.body
        with self.cond:
            for obj in reply.json():
                self.merge(obj)

    def disconnect(self) -> None:
        ws = self.ws
        self.stop_beat.set()
        if self.rng.random() < 0.5:
            ws.close()
        else:  # the connection drops: no close frame, the server finds the socket gone
            try:
                ws.socket.shutdown(socket.SHUT_RDWR)
            finally:
                ws.socket.close()
        with self.cond:
            self.ws = None
            self.leases = {}

    def send(self, **message: Any) -> None:
        with self.send_lock:
            self.ws.send(json.dumps(message))
        if message["type"] != "heartbeat":
            self.log.append(f"> {message}")

    def beat(self, every: float, stop: threading.Event) -> None:
        while not stop.wait(every):
            try:
                self.send(type="heartbeat")
            except Exception:  # noqa: BLE001 - the socket is closing
                return

    def merge(self, obj: dict, deleted: bool = False) -> None:
        known = self.view.get(obj["id"])
        if known is None or known["version"] < obj["version"]:
            self.view[obj["id"]] = obj | {"deleted": deleted}

    def read(self, ws) -> None:
        while True:
            try:
                message = json.loads(ws.recv())
            except Exception:  # noqa: BLE001 - closed
                return
            kind = message.get("type")
            with self.cond:
                if ws is not self.ws:
                    return
                if (
                    kind in ("leases", "lease_refused", "lease_lost", "error")
                    or kind == "object_changed"
                    and (message["action"] == "deleted")
                ):
                    detail = message["object"]["id"] if kind == "object_changed" else message.get("leases", message)
                    self.log.append(f"< {kind} {detail}")
                if kind == "object_changed":
                    self.merge(message["object"], deleted=message["action"] == "deleted")
                elif kind == "leases":
                    self.leases = {item["object"]: item["mine"] for item in message["leases"]}
                elif kind == "lease_refused":
                    self.refused.add(message["object"])
                elif kind == "lease_lost":
                    self.fail(f"lease lost {message}")
                elif kind == "error":
                    self.socket_errors.append(message["code"])
                    if message["code"] not in OK_SOCKET_ERRORS:
                        self.fail(f"socket error {message}")
                self.cond.notify_all()

    def held(self) -> int | None:
        return next((obj for obj, mine in self.leases.items() if mine), None)

    # ------------------------------------------------------------------ REST
    def rest(self, method: str, path: str, body: Any = None, url: str | None = None):
        url = url or self.rng.choice(self.team.urls)
        return call(method, url + path, json_body=body, headers={"Authorization": f"Token {self.token}"})

    def polygons(self) -> list[dict]:
        x, y = self.rng.randrange(0, self.width - 8), self.rng.randrange(0, self.height - 8)
        dx, dy = self.rng.randrange(4, min(30, self.width - x)), self.rng.randrange(4, min(20, self.height - y))
        return [{"outer": [[x, y], [x + dx, y], [x + dx, y + dy], [x, y + dy]], "holes": []}]

    def alive(self) -> list[dict]:
        with self.cond:
            return [dict(o) for o in self.view.values() if not o["deleted"]]

    def create(self) -> None:
        body = {
            "label": self.label,
            "polygons": self.polygons(),
            "client_key": f"fuzz-{self.index}-{self.rng.random()}",
        }
        reply = self.rest("POST", f"/api/images/{self.image}/objects/", body)
        self.expect(reply, {201}, "create")
        if reply.status == 201:
            obj = reply.json()
            self.ledger.add(Change(obj["id"], obj["version"], "save", obj["polygons"], self.index))
            with self.cond:
                self.merge(obj)

    def edit(self, obj: dict) -> None:
        with self.cond:
            holding = self.held() == obj["id"]
        reply = self.rest(
            "PATCH", f"/api/objects/{obj['id']}/", {"version": obj["version"], "polygons": self.polygons()}
        )
        self.log.append(f"PATCH {obj['id']} v{obj['version']}")
        self.expect(reply, {200, 404, 409, 423}, "edit")
        if reply.status == 423 and holding:
            with self.cond:
                still = self.held() == obj["id"]
            if still:  # nobody else may hold the lease this client holds
                self.fail(f"423 on object {obj['id']} whose lease it holds")
        if reply.status == 200:
            saved = reply.json()
            self.ledger.add(Change(saved["id"], saved["version"], "save", saved["polygons"], self.index))
            with self.cond:
                self.merge(saved)

    def delete(self, obj: dict) -> None:
        reply = self.rest("DELETE", f"/api/objects/{obj['id']}/?version={obj['version']}")
        self.log.append(f"DELETE {obj['id']} v{obj['version']}")
        self.expect(reply, {204, 404, 409, 423}, "delete")
        if reply.status == 204:
            self.ledger.add(Change(obj["id"], obj["version"] + 1, "delete", None, self.index))
            with self.cond:
                self.merge(obj | {"version": obj["version"] + 1}, deleted=True)

    def expect(self, reply, statuses: set[int], what: str) -> None:
        self.counts[f"{what} {reply.status}"] += 1
        self.log.append(f"{what} → {reply.status}")
        if reply.status not in statuses:
            self.fail(f"{what} answered {reply.status}: {reply.body[:300]!r}")

    def lock(self, obj: dict) -> None:
        with self.cond:
            self.refused.discard(obj["id"])
            errors, previous = len(self.socket_errors), self.held()
        self.send(type="lease", object=obj["id"])
        with self.cond:
            answered = self.cond.wait_for(
                lambda: self.leases.get(obj["id"]) or obj["id"] in self.refused or len(self.socket_errors) > errors,
                timeout=30,
            )
            if not answered:
                self.fail(f"no answer to lease {obj['id']}")
            elif len(self.socket_errors) > errors:  # an object deleted meanwhile: nothing changes
                if previous is not None and not self.leases.get(previous):
                    self.fail(f"lease {previous} gone after a refused lease of {obj['id']}")
            elif previous not in (None, obj["id"]) and not self.cond.wait_for(
                lambda: not self.leases.get(previous), timeout=30
            ):  # one lease per connection: the one it held is given up, granted or refused, and the list says so
                self.fail(f"lease {previous} still listed after lease {obj['id']}")

    def unlock(self) -> None:
        with self.cond:
            held = self.held()
        if held is None:
            return
        self.send(type="release", object=held)
        with self.cond:
            if not self.cond.wait_for(lambda: not self.leases.get(held), timeout=30):
                self.fail(f"no answer to release {held}")

    # ------------------------------------------------------------------ the run
    def step(self) -> None:
        if self.ws is None:
            self.counts["reconnect"] += 1
            self.connect()
            return
        alive = self.alive()
        roll = self.rng.random()
        if roll < 0.15 or not alive:
            self.counts["create"] += 1
            self.create()
        elif roll < 0.50:
            self.edit(self.rng.choice(alive))
        elif roll < 0.60:
            self.delete(self.rng.choice(alive))
        elif roll < 0.80:
            self.counts["lock"] += 1
            self.lock(self.rng.choice(alive))
        elif roll < 0.92:
            self.counts["unlock"] += 1
            self.unlock()
        else:
            self.counts["disconnect"] += 1
            self.disconnect()

    def run(self, ops: int, start: threading.Barrier) -> None:
        try:
            start.wait(60)
            for _ in range(ops):
                self.step()
            if self.ws is None:
                self.connect()
            self.unlock()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.fail(f"{type(exc).__name__}: {exc}")


def final_state(changes: list[Change], initial: dict[int, dict]) -> dict[int, tuple[int, Any] | None]:
    """Per object: (version, polygons) of its newest acknowledged change (None: deleted)."""
    newest: dict[int, Change] = {}
    for change in changes:
        if change.object_id not in newest or newest[change.object_id].version < change.version:
            newest[change.object_id] = change
    state: dict[int, tuple[int, Any] | None] = {i: (o["version"], o["polygons"]) for i, o in initial.items()}
    for object_id, change in newest.items():
        if object_id in initial and initial[object_id]["version"] >= change.version:
            continue
        state[object_id] = None if change.kind == "delete" else (change.version, change.polygons)
    return state


@pytest.mark.parametrize(("seed", "people", "ops"), [(1, 2, 60), (2, 3, 45), (3, 4, 40), (4, 4, 60)])
def test_random_teamwork_loses_nothing_and_every_view_ends_as_the_database(
    team: Team, world: World, seed: int, people: int, ops: int
) -> None:
    from django.contrib.auth import get_user_model

    from backend.projects.services import member_add

    second = get_user_model().objects.create_user("manager2", password="pw-manager2")
    member_add(project=world.project, username=second.username, role="manager")
    # the batch's annotator, managers, the admin; the fourth is the manager's second tab
    users = [world.users["annotator"], world.users["manager"], second, world.users["manager"]][:people]
    image = world.batched_image
    initial = {o["id"]: o for o in call("GET", f"{team.urls[0]}/api/images/{image.pk}/objects/",
                                        headers={"Authorization": f"Token {token_for(users[0])}"}).json()}  # fmt: skip
    ledger = Ledger()
    clients = [
        FuzzClient(
            i, team, image.pk, world.label.pk, token_for(user), (image.width, image.height), ledger, seed * 100 + i
        )  # fmt: skip
        for i, user in enumerate(users)
    ]
    for client in clients:
        client.connect()
    start = threading.Barrier(len(clients))
    threads = [threading.Thread(target=c.run, args=(ops, start)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not any(t.is_alive() for t in threads), "a client is stuck"

    failures = [f for c in clients for f in c.failures]
    assert not failures, "\n".join(failures)

    # No two acknowledged changes of one object share a version (that would be a lost update).
    versions: dict[tuple[int, int], Change] = {}
    for change in ledger.changes:
        assert (change.object_id, change.version) not in versions, (change, versions[change.object_id, change.version])
        versions[change.object_id, change.version] = change

    database_reply = call("GET", f"{team.urls[1]}/api/images/{image.pk}/objects/",
                          headers={"Authorization": f"Token {token_for(users[0])}"})  # fmt: skip
    database = {o["id"]: (o["version"], o["polygons"]) for o in database_reply.json()}
    expected = {i: s for i, s in final_state(ledger.changes, initial).items() if s is not None}
    assert database == expected, "the database is not what the acknowledged changes left"

    def views() -> list[dict]:
        out = []
        for client in clients:
            with client.cond:
                out.append({i: (o["version"], o["polygons"]) for i, o in client.view.items() if not o["deleted"]})
        return out

    wait_until(lambda: all(view == database for view in views()), timeout=30, what="every view to equal the database",
               details=lambda: json.dumps({"database": sorted(database), "views": [sorted(v) for v in views()]}))  # fmt: skip

    def no_leases() -> bool:
        for client in clients:
            with client.cond:
                if client.leases:
                    return False
        return True

    def stored_leases() -> str:
        store = redis.Redis.from_url(TEST_REDIS_URL)
        held = {int(k.rsplit(b":", 1)[1]): store.get(k) for k in store.scan_iter(f"{PREFIX}:lease:*")}
        logs = "\n".join(f"client {c.index}:\n  " + "\n  ".join(c.log[-25:]) for c in clients)
        return f"lists: {[c.leases for c in clients]}\nstored: {held}\n{logs}"

    wait_until(no_leases, timeout=30, what="every lease list to be empty", details=stored_leases)

    counts: dict[str, int] = defaultdict(int)
    for client in clients:
        client.stop_beat.set()
        client.ws.close()
        for key, value in client.counts.items():
            counts[key] += value
    print("ops:", dict(sorted(counts.items())), "changes:", len(ledger.changes))
    assert counts["edit 200"] > 0 and counts["reconnect"] > 0
