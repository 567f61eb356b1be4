"""Click jobs: what the consumer asks of a model, how a worker computes it, and how it reaches that worker.

A :class:`ClickJob` carries an object's whole wanted click list and its mask options. The worker brings the
object's click session (this process's, else the one in the state store, else a new one) to exactly those
clicks with ``ClickSession.goto`` and turns the probability into a shape with ``mask_to_shape``; the
:class:`JobReply` goes back to the consumer's channel, and only then is the new state stored. A job is a pure
function of the stored state and the wanted clicks, so any worker may serve any click, and a job lost with its
worker is simply sent again.

Team mode: the Celery task ``interactive.run_click_job`` on the ``inference`` queue. Embedded mode: one thread
of the web process. The choice is ``INFERENCE_BACKEND``'s (``backend.common.background``), and the consumer
only ever talks to :func:`inference_backend`.
"""

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import redis
from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from channels.layers import get_channel_layer
from django.conf import settings

from backend.common.background import Background
from backend.interactive import caches, inference_status, liveness
from backend.interactive.admission import Busy, admit
from backend.interactive.store import state_store
from backend.interactive.warm_up import warm_up
from ml.inference.clicks import Click
from ml.inference.state import decode_state, encode_state
from ml.inference.working_copy import WorkingImage
from ml.paths import models_dir
from ml.postprocess import MaskOptions, mask_to_shape

if TYPE_CHECKING:
    from ml.inference.predictor import ClickSession
    from ml.inference.tiled import TiledClickSession

log = logging.getLogger(__name__)

INFERENCE_QUEUE = "inference"
RESULT_MESSAGE_TYPE = "inference.result"  # handled by the consumer's `inference_result`
TAKEN_MESSAGE_TYPE = "inference.taken"  # handled by the consumer's `inference_taken`: which worker runs a job


def worker_id() -> str:
    """This process, as named in replies (read per job: a prefork child is not the process that imported us)."""
    return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------------------------------------- the contract
@dataclass(frozen=True)
class ClickJob:
    session: str  # the object's click session: the key of its state
    seq: int  # the client's request this computes
    model: str
    image_path: str
    image_sha256: str  # the key of the image's working copy
    clicks: tuple[Click, ...]  # the whole wanted list, in image pixels
    options: MaskOptions
    expect_state: bool  # the client has masks of this object: a state found nowhere is rebuilt, and says so
    reply_channel: str
    submitted_at: float  # time.time() when the consumer sent it

    def to_message(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "seq": self.seq,
            "model": self.model,
            "image": {"path": self.image_path, "sha256": self.image_sha256},
            "clicks": [click.as_list() for click in self.clicks],
            "options": {
                "threshold": self.options.threshold,
                "largest_component": self.options.largest_component,
                "tolerance": self.options.tolerance,
            },
            "expect_state": self.expect_state,
            "reply_channel": self.reply_channel,
            "submitted_at": self.submitted_at,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> "ClickJob":
        options = message["options"]
        return cls(
            session=message["session"],
            seq=message["seq"],
            model=message["model"],
            image_path=message["image"]["path"],
            image_sha256=message["image"]["sha256"],
            clicks=tuple(Click.from_list(row) for row in message["clicks"]),
            options=MaskOptions(
                threshold=options["threshold"],
                largest_component=options["largest_component"],
                tolerance=options["tolerance"],
            ),
            expect_state=message["expect_state"],
            reply_channel=message["reply_channel"],
            submitted_at=message["submitted_at"],
        )


@dataclass(frozen=True)
class JobReply:
    """A job's outcome: a mask, or (``code`` set) why there is none."""

    seq: int
    code: str | None = None
    message: str = ""
    clicks: int = 0  # how many clicks the mask is of
    steps: int = 0  # forward passes run
    rebuilt: bool = False  # the state the client's masks came from was lost and rebuilt from the clicks
    rle: dict[str, Any] | None = None  # at the working size (smaller than the image when it is huge)
    mask_box: list[int] | None = None  # [x, y, w, h] the RLE covers (a tiled image's box); None: the whole image
    bbox: list[int] | None = None  # bbox, area and polygons in image pixels
    area: int = 0
    polygons: list[dict[str, Any]] = field(default_factory=list)
    latency: dict[str, float] = field(default_factory=dict)
    worker: str = ""
    engine: str = ""  # the inference engine that computed the mask (e.g. openvino-int8)

    @property
    def ok(self) -> bool:
        return self.code is None

    @classmethod
    def failed(cls, seq: int, code: str, message: str) -> "JobReply":
        return cls(seq=seq, code=code, message=message)

    def to_message(self) -> dict[str, Any]:
        """For the channel layer: its ``type`` routes it to the consumer's ``inference_result``."""
        message: dict[str, Any] = {"type": RESULT_MESSAGE_TYPE, "seq": self.seq}
        if not self.ok:
            return {**message, "code": self.code, "message": self.message}
        return {
            **message,
            "clicks": self.clicks,
            "steps": self.steps,
            "rebuilt": self.rebuilt,
            "rle": self.rle,
            "mask_box": self.mask_box,
            "bbox": self.bbox,
            "area": self.area,
            "polygons": self.polygons,
            "latency": self.latency,
            "worker": self.worker,
            "engine": self.engine,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> "JobReply":
        if "code" in message:
            return cls.failed(message["seq"], message["code"], message["message"])
        return cls(
            seq=message["seq"],
            clicks=message["clicks"],
            steps=message["steps"],
            rebuilt=message["rebuilt"],
            rle=message["rle"],
            mask_box=message.get("mask_box"),
            bbox=message["bbox"],
            area=message["area"],
            polygons=message["polygons"],
            latency=message["latency"],
            worker=message["worker"],
            engine=message.get("engine", ""),
        )

    def to_client(self) -> dict[str, Any]:
        """The websocket message: ``mask``, or ``error`` with the seq it answers."""
        return {**self.to_message(), "type": "mask" if self.ok else "error"}


# ---------------------------------------------------------------------------------------------- running a job
class JobError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def run_job(job: ClickJob) -> tuple[JobReply, Callable[[], None]]:
    """(the reply for the client, a function that stores the new state — call it after replying)."""
    timings = {"queue_s": max(0.0, time.time() - job.submitted_at)}
    try:
        t0 = time.perf_counter()
        image = _load_image(job)
        live, from_scratch = _session_for(job, image)
        timings["load_s"] = time.perf_counter() - t0
        with live.lock:
            t1 = time.perf_counter()
            frame = image.frame  # clicks and shapes are in image pixels, the session in working pixels
            wanted = [frame.click_to_working(click) for click in job.clicks]
            steps = live.session.goto(wanted, replay=from_scratch)  # a rebuilt state replays click by click
            timings["forward_s"] = time.perf_counter() - t1
            timings["network_s"] = live.session.network_s
            t2 = time.perf_counter()
            if image.pyramid is not None:  # a tiled image's session answers in image pixels, over its box
                shape = live.session.shape_of(job.options)
                timings["read_s"] = live.session.read_s
            else:
                shape = frame.shape_to_image(mask_to_shape(live.session.probability, job.options))
            timings["post_s"] = time.perf_counter() - t2
            live.version += 1
            version = live.version
    except JobError as exc:
        return JobReply.failed(job.seq, exc.code, exc.message), _nothing
    except Exception as exc:  # noqa: BLE001 - the client hears of it now rather than after the timeout
        log.exception("click job %s/%s failed", job.session, job.seq)
        caches.live_sessions.pop(job.session)  # possibly half-changed: the next job starts from the store
        return JobReply.failed(job.seq, "inference_failed", f"The mask could not be computed: {exc}"), _nothing
    timings["total_s"] = time.time() - job.submitted_at
    liveness.this_process.record_job(timings["total_s"] - timings["queue_s"])
    reply = JobReply(
        seq=job.seq,
        clicks=len(job.clicks),
        steps=steps,
        rebuilt=from_scratch and job.expect_state,
        rle=shape["rle"],
        mask_box=shape.get("mask_box"),
        bbox=shape["bbox"],
        area=shape["area"],
        polygons=shape["polygons"],
        latency={key: round(value, 4) for key, value in timings.items()},
        worker=worker_id(),
        engine=_engine_of(live.session),
    )
    return reply, lambda: _persist(job.session, live, version)


def _engine_of(session: "ClickSession | TiledClickSession") -> str:
    from ml.inference.engines import engine_name

    return engine_name(session.engine)


def _nothing() -> None:
    """What is stored after a failed job."""


def _load_image(job: ClickJob) -> WorkingImage:
    try:
        return caches.images.get(job.image_sha256, job.image_path)
    except OSError as exc:
        raise JobError("image_unavailable", f"The image cannot be read: {exc}") from exc


def _new_session(model: str, image: WorkingImage) -> "ClickSession | TiledClickSession":
    from ml.inference.predictor import ClickSession  # PyTorch: only in processes that run the model

    try:
        runnable = caches.loaded_model(model)
    except Exception as exc:  # noqa: BLE001 - a missing or broken model is reported, not raised
        raise JobError("model_unavailable", f"Model {model!r} cannot be loaded: {exc}") from exc
    if image.pyramid is not None:  # a tiled image: its maps are network-sized, its pixels read from the pyramid
        from ml.inference.tiled import TiledClickSession

        return TiledClickSession(runnable, image.pyramid, overview=image.rgb)
    session = ClickSession(runnable, zoom_in=True)
    session.set_image(image.rgb)
    return session


def _session_for(job: ClickJob, image: WorkingImage) -> tuple[caches.Live, bool]:
    """The live session (this process's, else restored from the store, else new) and whether it starts empty:
    then its clicks are replayed one forward pass each (a resumed object, or a lost state)."""
    store = state_store()
    stored_version = store.version(job.session)
    live = caches.live_sessions.get(job.session)
    if live is not None and live.version >= stored_version:
        return live, False
    session = _new_session(job.model, image)
    loaded = store.load(job.session) if stored_version else None
    restored = False
    if loaded is not None:
        try:
            session.load_state(decode_state(loaded[1]))
            restored = True
        except (ValueError, KeyError) as exc:
            log.warning("click state of %s unusable (%s); rebuilding it from the clicks", job.session, exc)
    # Continue the stored version numbering even when rebuilding, so that this state's writes are accepted.
    live = caches.Live(max(stored_version, loaded[0] if loaded else 0), session, threading.Lock())
    caches.live_sessions.put(job.session, live)
    return live, not restored


def _persist(session_id: str, live: caches.Live, version: int) -> None:
    store = state_store()
    if not store.persistent:
        store.save(session_id, version, b"")
        return
    with live.lock:
        blob = encode_state(live.session.export_state())
    store.save(session_id, version, blob)


def forget(session_id: str) -> None:
    """The object is saved or abandoned: drop its state here and in the store."""
    caches.live_sessions.pop(session_id)
    state_store().delete(session_id)


def prepare(model: str, image_path: str, image_sha256: str) -> None:
    """Load ``model`` and the image's working copy into this process's caches, so that its first click only runs
    the network (a huge image's working copy is built now if no worker has built it yet).

    Best effort: a failure here is reported by the click that needs the model or image.
    """
    try:
        caches.loaded_model(model)
        caches.images.get(image_sha256, image_path)
    except Exception as exc:  # noqa: BLE001
        log.info("could not prepare %s / %s: %s", model, image_path, exc)


# ---------------------------------------------------------------------------------------------- team mode
@shared_task(name="interactive.run_click_job", acks_late=False, ignore_result=True)
def run_click_job(message: dict[str, Any]) -> None:
    job = ClickJob.from_message(message)
    if time.time() - job.submitted_at > settings.INFERENCE_TIMEOUT_S:
        return  # the client was told this job timed out (its worker died); it has moved on
    # The consumer watches this worker's alive key while it runs the job, and sends the job again if it dies.
    _send_reply(job.reply_channel, {"type": TAKEN_MESSAGE_TYPE, "seq": job.seq, "worker": worker_id()})
    log.info("click %s/%s taken", job.session, job.seq)
    reply, persist = run_job(job)
    _send_reply(job.reply_channel, reply.to_message())
    persist()


_reply_loops = threading.local()


def _send_reply(channel: str, message: dict[str, Any]) -> None:
    """Send on the channel layer from a worker thread, on one event loop per thread: the Redis layer keeps its
    connections per loop, so ``async_to_sync`` (a new loop per call) would reconnect for every click."""
    loop = getattr(_reply_loops, "loop", None)
    if loop is None:
        loop = _reply_loops.loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(get_channel_layer().send(channel, message))
    except redis.ConnectionError as exc:
        # Redis restarted since this loop's last reply: the pooled connection was dead, and is now dropped.
        # Once more on a new connection, or the client would wait INFERENCE_TIMEOUT_S for a mask already computed.
        log.warning("reply to %s: %s; sending it again on a new connection", channel, exc)
        loop.run_until_complete(get_channel_layer().send(channel, message))


@worker_process_init.connect  # in each process that runs tasks: a prefork child, or the solo pool's worker itself
def _preload_default_model(**_: Any) -> None:
    """An inference worker's processes load the default model once, before their first click. Workers of other
    queues (fine-tuning, background jobs) never run a click: they skip it (hundreds of MB, and a compile)."""
    from backend.config.celery import app
    from ml.inference.engines import engine_name

    if INFERENCE_QUEUE not in app.amqp.queues.consume_from:
        return
    global _default_model_error
    inference_status.start_heartbeat(worker_id())  # alive and warming up, in /readyz and /healthz
    try:
        loaded = caches.loaded_model(settings.DEFAULT_MODEL_NAME)
        log.info("default model %s loaded (%s engine)", settings.DEFAULT_MODEL_NAME, engine_name(loaded))
        warm_up(settings.DEFAULT_MODEL_NAME)
    except Exception as exc:  # noqa: BLE001 - the worker stays up, says why, and takes no clicks (below)
        _default_model_error = f"Model {settings.DEFAULT_MODEL_NAME!r} cannot be loaded: {exc}"
        log.error(
            "inference worker %s cannot serve clicks: %s. It takes no click jobs (the other workers serve them); "
            "put the weights in %s (`make weights`, or share var/) and restart it.",
            worker_id(),
            _default_model_error,
            models_dir(),
        )
        liveness.this_process.mark_failed(_default_model_error)
    inference_status.publish_now(worker_id())  # warm (or failed) before it takes its first click


_default_model_error: str | None = None  # why this (solo-pool) inference worker cannot run the default model


@worker_ready.connect
def _stop_consuming_without_model(sender: Any = None, **_: Any) -> None:
    """An inference worker whose default model failed to load stops consuming the queue: were it to take clicks,
    each would be answered `model_unavailable` while the workers that have the model sit idle."""
    if _default_model_error is not None and sender is not None:
        sender.cancel_task_queue(INFERENCE_QUEUE)
        log.error("inference worker %s stopped consuming the %r queue: %s", worker_id(), INFERENCE_QUEUE,
                  _default_model_error)  # fmt: skip


@worker_process_shutdown.connect
def _withdraw(**_: Any) -> None:
    """A worker stopping cleanly is no longer counted as serving clicks (one killed ages out of the count)."""
    inference_status.stop_heartbeat(worker_id())


click_jobs = Background(run_click_job, queue=INFERENCE_QUEUE, setting="INFERENCE_BACKEND")


# ---------------------------------------------------------------------------------------------- the backends
@dataclass(frozen=True)
class Readiness:
    """Whether a click would be computed now: ``reason`` (warming_up, no_workers, unavailable) when not."""

    ready: bool
    reason: str = ""
    message: str = ""
    workers: int = 0  # warm inference processes

    def to_client(self) -> dict[str, Any]:
        return {"ready": self.ready, "reason": self.reason or None, "message": self.message, "workers": self.workers}


class InferenceBackend(Protocol):
    announces_readiness: bool  # the consumer tells a socket opened before the model was ready when it is
    workers_can_die: bool  # jobs run elsewhere: the consumer watches the worker running one and resends its job

    async def submit(self, job: ClickJob) -> Busy | None:
        """Compute ``job`` (its JobReply arrives on ``job.reply_channel``), or say why not now: too many clicks
        are waiting for the workers, or no worker is warm."""

    async def resend(self, job: ClickJob) -> None:
        """Compute ``job`` again: the worker that took it is gone (no admission: it was admitted once)."""

    async def worker_alive(self, worker: str) -> bool:
        """Whether the worker that took a job still runs."""

    async def readiness(self) -> Readiness:
        """Whether a click is computed now (the workspace says "model warming up" until it is)."""

    async def prepare(self, model: str, image_path: str, image_sha256: str) -> None:
        """An image was opened for annotation: get ready for its first click (without waiting for that)."""

    async def forget(self, session_id: str) -> None:
        """The object is saved or abandoned: its state is no longer needed."""


def team_readiness() -> Readiness:
    """Team mode: the warm workers' count, or why there is none (Redis down counts as not ready)."""
    try:
        workers = liveness.alive_workers()
    except redis.RedisError as exc:
        return Readiness(False, "unavailable", f"The inference registry (Redis) cannot be reached: {exc}")
    warm = [worker for worker in workers if worker.warm]
    if warm:
        return Readiness(True, workers=len(warm))
    busy = admit(workers, 0, settings.INFERENCE_MAX_WAIT_S)
    errors = sorted({worker.error for worker in workers if worker.error})
    message = busy.message + (f" ({'; '.join(errors)})" if errors and busy.reason == "no_workers" else "")
    return Readiness(False, busy.reason, message)


def local_readiness() -> Readiness:
    """Embedded mode: this process, once its warm-up has run."""
    here = liveness.this_process.liveness(worker_id())
    if here.warm:
        return Readiness(True, workers=1)
    if here.error:
        return Readiness(False, "no_workers", here.error)
    return Readiness(False, "warming_up", admit([here], 0, 0).message)


def current_readiness() -> Readiness:
    """Whether this deployment computes a click now (``/readyz``). The embedded default warms its model up when
    first asked (here, or by the first annotation socket), not at import: a web process that never segments
    (tests, management commands) never loads PyTorch."""
    if click_jobs.uses_celery:
        return team_readiness()
    inference_backend()
    return local_readiness()


def queued_clicks() -> int:
    """Click jobs in the inference queue that no worker has taken yet (Celery's Redis list of that queue)."""
    redis_client = liveness.client()
    return int(redis_client.llen(INFERENCE_QUEUE)) if redis_client is not None else 0


def submit_if_admitted(message: dict[str, Any]) -> Busy | None:
    """Queue the click job, unless the warm workers could not start it within ``INFERENCE_MAX_WAIT_S``."""
    try:
        busy = admit(liveness.alive_workers(), queued_clicks(), settings.INFERENCE_MAX_WAIT_S)
    except redis.RedisError:
        busy = None  # sending it fails the same way, and the client hears `queue_unavailable`
    if busy is None:
        click_jobs.submit(message)
    return busy


class CeleryBackend:
    announces_readiness = True  # workers warm up on their own: a socket opened before is told when one is warm
    workers_can_die = True

    async def submit(self, job: ClickJob) -> Busy | None:
        return await asyncio.to_thread(submit_if_admitted, job.to_message())

    async def resend(self, job: ClickJob) -> None:
        await asyncio.to_thread(click_jobs.submit, job.to_message())

    async def worker_alive(self, worker: str) -> bool:
        return await asyncio.to_thread(liveness.is_alive, worker)

    async def readiness(self) -> Readiness:
        return await asyncio.to_thread(team_readiness)

    async def prepare(self, model: str, image_path: str, image_sha256: str) -> None:
        """Nothing: workers load the default model when they start, and any worker may serve the first click."""

    async def forget(self, session_id: str) -> None:
        await asyncio.to_thread(forget, session_id)  # the state is in Redis; workers' copies age out of their LRU


class LocalBackend:
    """Click jobs run in one thread of this process (the model uses every core by itself).

    Opening an image prepares it in a second thread, so that decoding a huge image (or building its working
    copy) never holds up the clicks of others; a click on that image waits for the decode instead of repeating it.
    """

    announces_readiness = False  # a click during the warm-up waits for it, and its mask says the model is ready
    workers_can_die = False  # this process runs the job: a slow one (a huge image's first click) is never resent

    def __init__(self) -> None:
        self.preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")
        self._running: set[asyncio.Task] = set()
        self.warming = self.preparer.submit(_warm_up_here, settings.DEFAULT_MODEL_NAME)

    async def prepare(self, model: str, image_path: str, image_sha256: str) -> None:
        self.preparer.submit(prepare, model, image_path, image_sha256)

    async def submit(self, job: ClickJob) -> Busy | None:
        """Run it after the clicks already waiting for this process's one thread, unless they are too many (a
        click during the warm-up simply waits for it: the same thread would load the model anyway)."""
        here = liveness.this_process.liveness(worker_id())
        busy = admit([replace(here, warm=True)], len(self._running), settings.INFERENCE_MAX_WAIT_S)
        if busy is None:
            task = asyncio.get_running_loop().create_task(self._run(job))
            self._running.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._running.discard)
        return busy

    async def resend(self, job: ClickJob) -> None:
        await self.submit(job)

    async def worker_alive(self, worker: str) -> bool:
        return True  # this process

    async def readiness(self) -> Readiness:
        return local_readiness()

    async def _run(self, job: ClickJob) -> None:
        reply, persist = await asyncio.wrap_future(click_jobs.in_thread(run_job, job))
        await get_channel_layer().send(job.reply_channel, reply.to_message())  # on this loop: in-memory layer
        click_jobs.in_thread(persist)

    async def forget(self, session_id: str) -> None:
        click_jobs.in_thread(forget, session_id)  # after the object's job in flight and its persist


def _warm_up_here(model: str) -> None:
    """The embedded default's warm-up, in the preparing thread (a missing model is reported by readiness)."""
    try:
        warm_up(model)
    except Exception as exc:  # noqa: BLE001
        log.error("default model not loaded: %s", exc)
        liveness.this_process.mark_failed(f"Model {model!r} cannot be loaded: {exc}")


_backend: InferenceBackend | None = None


def inference_backend() -> InferenceBackend:
    global _backend
    if _backend is None:
        _backend = CeleryBackend() if click_jobs.uses_celery else LocalBackend()
    return _backend
