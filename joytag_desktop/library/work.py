"""Sharing the tagging between workers: claims with leases, and each worker's last report.

Any number of tagging processes (``autotag``, ``watch``, the GUI), on any number of machines,
may tag one library. Each takes pending images in small batches by *claiming* them for one model
until a lease runs out (the database server's clock, so machines need not agree on the time);
it renews its leases as it commits, and gives back what it did not finish. Results are stored
only while the worker still holds the claim, in the same transaction that drops it, so two
workers never store the same image for the same model, and a killed worker's images go to the
others once its leases expire. On PostgreSQL candidates are taken ``FOR UPDATE SKIP LOCKED``:
workers never queue behind each other's choice.

A claim costs the same late in a pass as early: each worker keeps, per model, a cursor (the last
id it claimed) and looks only past it, so it does not walk again over the images it or others
already tagged. A fresh worker starts past the model's highest tagged image. When nothing is left
past the cursor, the claim looks once from the start: images released by others, expired leases,
retagged images and rows committed late behind the cursor are found there before the pass ends.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

from joytag_desktop.library import db, dialect
from joytag_desktop.library.mounts import machine_name
from joytag_desktop.library.schema import Claim, Image, WorkerRow
from joytag_desktop.library.worker_state import WorkerState

if TYPE_CHECKING:
    from joytag_desktop.library.database import Database

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0  # a worker renews at every commit (32 images): minutes of slack on a slow CPU

_NOW = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    dialect.POSTGRESQL: "extract(epoch FROM clock_timestamp())",
}
_CLAIM = """
WITH candidates AS (
    SELECT i.id FROM images i
    WHERE i.status = 'pending' AND i.id > :after
      AND NOT EXISTS (
        SELECT 1 FROM image_models m WHERE m.image_id = i.id AND m.model_id = :model AND m.image_id > :after)
      AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.image_id = i.id AND c.model_id = :model AND c.expires > {now})
    ORDER BY i.id LIMIT :limit {lock}
)
INSERT INTO claims (image_id, model_id, worker, expires)
SELECT id, :model, :worker, {now} + :lease FROM candidates WHERE true
ON CONFLICT (image_id, model_id) DO UPDATE SET worker = excluded.worker, expires = excluded.expires
    WHERE claims.expires <= {now}
RETURNING image_id
"""
# (``m.image_id > :after`` says nothing new, but without it PostgreSQL merges with the model's
# whole list of tagged images from its start, however far on the cursor is.)
# Where a fresh worker starts: past the model's highest tagged image (an index's last entry).
_LAST_DONE = "SELECT max(image_id) FROM image_models WHERE model_id = :model"


T = TypeVar("T")
RETRY_SECONDS = 300.0  # how long a worker keeps trying while the server restarts or is unreachable


def retrying(action: Callable[[], T], what: str, seconds: float = RETRY_SECONDS) -> T:
    """``action()``, tried again while the database is unreachable (a server restart, a dropped
    connection, a deadlock or lock timeout): the worker waits and goes on instead of failing.
    Each try is one transaction, so a retry never writes twice."""
    deadline = time.monotonic() + seconds
    delay = 0.5
    while True:
        try:
            return action()
        except DBAPIError as exc:
            if not (exc.connection_invalidated or isinstance(exc, OperationalError)) or time.monotonic() > deadline:
                raise
            log.warning(
                "%s: the database did not answer (%s); trying again in %.0f s", what, db.first_line(exc.orig), delay
            )
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def now_sql(dialect_name: str) -> str:
    """The database server's clock, in seconds since the epoch."""
    return _NOW.get(dialect_name, _NOW["sqlite"])


@dataclass(frozen=True)
class WorkerStatus:
    id: str
    machine: str
    host: str
    pid: int
    device: str
    models: list[str]
    state: str  # a WorkerState; kept as text, for a newer version elsewhere may write others
    done: int
    failed: int
    rate: float  # images per second of its current run
    seen_ago: float  # seconds since its last report

    @property
    def active(self) -> bool:
        return self.state not in (WorkerState.STOPPED, WorkerState.GONE)


class WorkQueue:
    """One worker's view of the shared queue: claim, renew, release, report."""

    def __init__(self, database: Database, device: str = "cpu", lease: float = LEASE_SECONDS) -> None:
        self.database = database
        self.lease = float(lease)
        self.id = uuid.uuid4().hex
        self.device = device
        self.models: list[str] = []
        self._dialect = database.engine.dialect.name
        self._now = now_sql(self._dialect)
        skip_locked = "FOR UPDATE OF i SKIP LOCKED" if self._dialect == dialect.POSTGRESQL else ""
        self._claim = text(_CLAIM.format(now=self._now, lock=skip_locked))
        self._cursors: dict[int, int] = {}  # per model: the last image id this worker claimed
        self.done = self.failed = 0
        self.rate = 0.0
        self.state = WorkerState.STARTING
        self._registered = False

    # --- claims ----------------------------------------------------------------------------------

    def claim(self, model_id: int, limit: int) -> list[tuple[int, str, str | None]]:
        """Up to ``limit`` pending images no one holds for ``model_id``, now this worker's until
        the lease runs out: (id, path, content hash) in id order."""
        return retrying(lambda: self._claim_once(model_id, limit), "claiming images to tag")

    def _claim_once(self, model_id: int, limit: int) -> list[tuple[int, str, str | None]]:
        self._register()
        with self.database.Session.begin() as session:
            after = self._cursors.get(model_id)
            if after is None:
                after = session.execute(text(_LAST_DONE), {"model": model_id}).scalar() or 0
            values = {"model": model_id, "limit": limit, "worker": self.id, "lease": self.lease}
            ids = list(session.execute(self._claim, {**values, "after": after}).scalars())
            if not ids and after > 0:  # the end of the pass: once more from the start
                ids = list(session.execute(self._claim, {**values, "after": 0}).scalars())
            rows = []
            if ids:
                rows = session.execute(
                    select(Image.id, Image.path, Image.content_hash).where(Image.id.in_(ids)).order_by(Image.id)
                ).all()
        # Moved only once the claim is committed (a failed try claims nothing); nothing left: the
        # next pass starts afresh.
        if ids:
            self._cursors[model_id] = max(ids)
        else:
            self._cursors.pop(model_id, None)
        return [(row.id, row.path, row.content_hash) for row in rows]

    def renew(self) -> None:
        """Extend every claim this worker holds and report its progress (a heartbeat)."""
        retrying(self._renew_once, "renewing claims")

    def _renew_once(self) -> None:
        with self.database.Session.begin() as session:
            session.execute(
                update(Claim).where(Claim.worker == self.id).values(expires=text(f"{self._now} + :lease")),
                {"lease": self.lease},
            )
            self._report(session)

    def release(self, model_id: int | None = None) -> None:
        """Give back what this worker claimed and did not store (for one model, or all)."""
        models = [] if model_id is None else [Claim.model_id == model_id]

        def release() -> None:
            with self.database.Session.begin() as session:
                session.execute(delete(Claim).where(Claim.worker == self.id, *models))

        retrying(release, "releasing claims")

    # --- reports ---------------------------------------------------------------------------------

    def report(self, state: WorkerState | None = None, retry: bool = True) -> None:
        """Say what this worker is doing; ``retry=False``: one try (a heartbeat that must not
        hold its thread while the server is away)."""
        if state is not None:
            self.state = state

        def report() -> None:
            self._register()
            with self.database.Session.begin() as session:
                self._report(session)

        if retry:
            retrying(report, "reporting progress")
        else:
            report()

    def _report(self, session) -> None:
        session.execute(
            update(WorkerRow)
            .where(WorkerRow.id == self.id)
            .values(
                seen=text(self._now),
                state=self.state,
                done=self.done,
                failed=self.failed,
                rate=self.rate,
                device=self.device,
                models=json.dumps(self.models),
            )
        )

    def _register(self) -> None:
        if self._registered:
            return
        with self.database.Session.begin() as session:
            self._end_dead_neighbours(session)
            session.execute(
                text(
                    "INSERT INTO workers (id, machine, host, pid, device, models, started, seen, state, done,"
                    " failed, rate) VALUES (:id, :machine, :host, :pid, :device, :models,"
                    f" {self._now}, {self._now}, :state, 0, 0, 0)"
                ),
                {
                    "id": self.id,
                    "machine": machine_name(),
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "device": self.device,
                    "models": json.dumps(self.models),
                    "state": self.state,
                },
            )
        self._registered = True

    @staticmethod
    def _end_dead_neighbours(session) -> None:
        """Release at once the claims of workers of this machine whose process is gone (killed, or
        crashed): a rerun on the same machine need not wait for their leases. (Machine name and
        host name must both match: containers on different hosts may share a host name.)"""
        rows = session.execute(
            select(WorkerRow.id, WorkerRow.pid).where(
                WorkerRow.host == socket.gethostname(),
                WorkerRow.machine == machine_name(),
                WorkerRow.state.not_in([WorkerState.STOPPED, WorkerState.GONE]),
            )
        ).all()
        dead = [row.id for row in rows if not _process_alive(row.pid)]
        if dead:
            session.execute(delete(Claim).where(Claim.worker.in_(dead)))
            session.execute(update(WorkerRow).where(WorkerRow.id.in_(dead)).values(state=WorkerState.GONE))

    def close(self) -> None:
        """Release every claim and say this worker stopped."""
        if not self._registered:
            return
        self.state = WorkerState.STOPPED
        with self.database.Session.begin() as session:
            session.execute(delete(Claim).where(Claim.worker == self.id))
            self._report(session)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def worker_statuses(database: Database, forget_after: float = 7 * 86400.0) -> list[WorkerStatus]:
    """Every worker that reported in the last week, newest first; one silent for longer than two
    leases is "gone" (killed, or its machine lost the server), and so is one of this machine whose
    process has ended (killed or crashed: no need to wait for its leases)."""
    now = now_sql(database.engine.dialect.name)
    with database.Session() as session:
        rows = session.execute(
            select(WorkerRow, text(f"{now} - workers.seen")).where(text(f"workers.seen > {now} - :keep")),
            {"keep": forget_after},
        ).all()
    here = (socket.gethostname(), machine_name())
    statuses = []
    for row, ago in rows:
        state = row.state
        silent = ago > 2 * LEASE_SECONDS
        ended = (row.host, row.machine) == here and not _process_alive(row.pid)
        if state != WorkerState.STOPPED and (silent or ended):
            state = WorkerState.GONE
        statuses.append(
            WorkerStatus(
                id=row.id,
                machine=row.machine,
                host=row.host,
                pid=row.pid,
                device=row.device,
                models=json.loads(row.models or "[]"),
                state=state,
                done=row.done,
                failed=row.failed,
                rate=row.rate,
                seen_ago=max(0.0, float(ago)),
            )
        )
    statuses.sort(key=lambda s: (not s.active, s.seen_ago))
    return statuses


def claims_in_force(database: Database) -> int:
    """Claims whose lease has not run out."""
    now = now_sql(database.engine.dialect.name)
    with database.Session() as session:
        return session.execute(text(f"SELECT count(*) FROM claims WHERE expires > {now}")).scalar_one()


def held_by(worker_id: str, model_id: int, image_ids: list[int], session) -> set[int]:
    """Which of ``image_ids`` this worker still holds for the model (locked until the session
    ends, so no one takes them over meanwhile)."""
    rows = session.execute(
        select(Claim.image_id)
        .where(Claim.worker == worker_id, Claim.model_id == model_id, Claim.image_id.in_(image_ids))
        .with_for_update()
    )
    return set(rows.scalars())
