"""Row locks under real PostgreSQL concurrency: one transaction holds its locks in another thread (and connection)
while a second one runs; the tests wait on PostgreSQL's own word that the second waits for the first
(`pg_blocking_pids`), never on time."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

from backend.annotations.locking import lock_image, lock_label
from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create, object_update
from backend.common.errors import Conflict, InvalidInput
from backend.projects.models import LabelClass
from backend.projects.services import label_delete
from tests.conftest import SQUARE, World
from tests.waiting import wait_until

TIMEOUT = 30  # seconds; every wait ends as soon as its condition holds


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def blocked_by(waiter: int, holder: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [holder, waiter])
        return cursor.fetchone()[0]


class InThread:
    """``work()`` in a thread of its own, on its own database connection (closed at the end)."""

    def __init__(self, work: Callable[[], Any], *, hold: bool = False) -> None:
        self.pid: int | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self._started, self._done, self._release = threading.Event(), threading.Event(), threading.Event()
        self._hold = hold
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()
        assert self._started.wait(TIMEOUT), "the thread did not start"

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self.pid = backend_pid()
            self._started.set()
            with transaction.atomic():
                self.result = work()
                self._done.set()
                if self._hold:  # keep the transaction, and its locks, open until release()
                    self._release.wait(TIMEOUT)
        except BaseException as exc:  # handed to the test by finish()
            self.error = exc
        finally:
            self._started.set()
            self._done.set()
            connection.close()

    def wait_done(self) -> "InThread":
        assert self._done.wait(TIMEOUT), "the work did not finish"
        if self.error is not None:
            raise self.error
        return self

    def finish(self) -> "InThread":
        """Commit (a held transaction) and wait for the thread to end."""
        self._release.set()
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "the thread did not end"
        return self


@contextmanager
def held(work: Callable[[], Any]) -> Iterator[InThread]:
    """``work()`` done in a transaction of another connection that stays open (locks held) inside the block."""
    holder = InThread(work, hold=True).wait_done()
    try:
        yield holder
    finally:
        holder.finish()
    if holder.error is not None:
        raise holder.error


def wait_blocked(waiter: InThread, holder: InThread, what: str) -> None:
    wait_until(lambda: blocked_by(waiter.pid, holder.pid), timeout=TIMEOUT, what=what,
               details=lambda: f"waiter error: {waiter.error!r}")  # fmt: skip


def create(world: World, label: LabelClass, image=None) -> Callable[[], AnnotationObject]:
    image, label_id = image or world.free_image, label.pk  # the id now: a delete sets the instance's pk to None
    return lambda: object_create(image=image, author=world.users["manager"], label_id=label_id, polygons=SQUARE)


def test_a_label_delete_waits_for_an_object_taking_the_label_then_refuses(transactional_db, world: World) -> None:
    with held(create(world, world.spare_label)) as creating:
        deleting = InThread(lambda: label_delete(label=world.spare_label))
        wait_blocked(deleting, creating, "the label delete to wait for the object's transaction")
    deleting.finish()
    assert isinstance(deleting.error, Conflict) and deleting.error.code == "label_in_use"
    assert LabelClass.objects.filter(pk=world.spare_label.pk).exists()
    assert AnnotationObject.objects.filter(pk=creating.result.pk, label=world.spare_label).exists()


def test_an_object_taking_a_label_being_deleted_waits_then_is_refused(transactional_db, world: World) -> None:
    create_with_it = create(world, world.spare_label)
    with held(lambda: label_delete(label=world.spare_label)) as deleting:
        creating = InThread(create_with_it)
        wait_blocked(creating, deleting, "the object create to wait for the label delete")
    creating.finish()
    assert isinstance(creating.error, InvalidInput) and creating.error.code == "unknown_label"
    assert not LabelClass.objects.filter(name="tree").exists()
    assert not world.free_image.annotation_objects.exists()


def test_a_relabel_moving_to_a_label_being_deleted_waits_then_is_refused(transactional_db, world: World) -> None:
    spare_id = world.spare_label.pk
    with held(lambda: label_delete(label=world.spare_label)) as deleting:
        moving = InThread(lambda: object_update(obj=world.obj, author=world.users["manager"], version=1,
                                                label_id=spare_id))  # fmt: skip
        wait_blocked(moving, deleting, "the object update to wait for the label delete")
    moving.finish()
    assert isinstance(moving.error, InvalidInput) and moving.error.code == "unknown_label"
    assert AnnotationObject.objects.get(pk=world.obj.pk).label_id == world.label.pk


def test_objects_taking_one_label_do_not_wait_for_each_other(transactional_db, world: World) -> None:
    with held(create(world, world.label, world.free_image)):
        other = InThread(create(world, world.label, world.batched_image)).wait_done().finish()
    assert other.error is None and other.result.label_id == world.label.pk


def test_a_label_delete_with_reassignment_takes_each_image_before_its_objects(transactional_db, world: World) -> None:
    """The documented order (label, image, objects): while another transaction holds the object's image, the
    delete waits for the image without having locked the object — the holder can still take it."""

    label_id = world.label.pk
    with held(lambda: lock_image(world.batched_image.pk)) as editing:
        deleting = InThread(lambda: label_delete(label=world.label, reassign_to=world.spare_label))
        wait_blocked(deleting, editing, "the label delete to wait for the image")
        with transaction.atomic():  # raises at once if the waiting delete had locked the object
            AnnotationObject.objects.select_for_update(nowait=True).get(pk=world.obj.pk)
            transaction.set_rollback(True)
    deleting.finish()
    assert deleting.error is None and deleting.result == 1
    obj = AnnotationObject.objects.get(pk=world.obj.pk)
    assert (obj.label_id, obj.version) == (world.spare_label.pk, 2)
    assert not LabelClass.objects.filter(pk=label_id).exists()


def test_an_object_edit_holding_its_image_finishes_before_the_relabel_moves_it(transactional_db, world: World) -> None:
    """An edit that locked the image and object first is not deadlocked by a relabel: the relabel waits for the
    image, then moves the object as the edit left it."""
    editing = InThread(lambda: object_update(obj=world.obj, author=world.users["manager"], version=1, clicks_used=5),
                       hold=True).wait_done()  # fmt: skip
    try:
        deleting = InThread(lambda: label_delete(label=world.label, reassign_to=world.spare_label))
        wait_blocked(deleting, editing, "the relabel to wait for the edit")
    finally:
        editing.finish()
    deleting.finish()
    assert editing.error is None and deleting.error is None
    obj = AnnotationObject.objects.get(pk=world.obj.pk)
    assert (obj.label_id, obj.version, obj.clicks_used) == (world.spare_label.pk, 3, 5)


def test_a_label_lock_is_a_row_lock_of_the_label(transactional_db, world: World) -> None:
    with held(lambda: lock_label(world.spare_label.pk)) as locking:
        creating = InThread(create(world, world.spare_label))
        wait_blocked(creating, locking, "the create to wait for the label lock")
    creating.finish()
    assert creating.error is None and creating.result.label_id == world.spare_label.pk
