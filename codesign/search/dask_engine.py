"""Sweep chunks on a Dask cluster (``codesign sweep --engine dask [--scheduler ADDR]``).

The same chunk function as the local workers (``Sweeper.chunk_result``) runs on Dask workers; the
sweeper (model config, device, space, constraints, accuracy table: a few tens of KB) is scattered to
every worker once, so a worker computes exactly what a local process would, whatever its own files
hold. Results come back in any order and are handed to the runner in chunk order, which folds them
into the streaming Pareto front and checkpoints them as before: the outputs are the same bytes as a
local run's, and an interrupted Dask sweep resumes with either engine. At most 2 chunks per worker
thread are in flight (plus those finished early and waiting for an earlier one), so memory stays
bounded however large the space.

Without ``--scheduler`` a local cluster of ``--jobs`` worker processes (one thread each) is started
for the sweep and stopped after it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from typing import Iterator

from ..errors import CodesignError
from .engine import ChunkResult, Sweeper

CONNECT_TIMEOUT_S = 20
WORKER_WAIT_S = 60


def _chunk(sweeper: Sweeper, start: int, stop: int, mode: str, fmt: str = "csv") -> ChunkResult:
    from .runner import keep_freed_memory
    keep_freed_memory()
    return sweeper.chunk_result(start, stop, mode, fmt)


def _worker_versions() -> tuple:
    from .. import __version__
    from .runner import FORMAT_VERSION
    return (__version__, FORMAT_VERSION)


@contextlib.contextmanager
def _sigint_ignored():
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:    # not the main thread: signals are not ours to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class DaskEngine:
    """A chunk engine for ``runner.run_job``; a context manager that owns its client (and local cluster)."""

    def __init__(self, scheduler: str | None = None, workers: int = 2):
        self.scheduler, self.workers = scheduler, workers
        self.client = None
        self.cluster = None
        self._submitted = 0

    def __enter__(self) -> "DaskEngine":
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:   # pinned in pyproject.toml; a broken install says so in one line
            raise CodesignError(f"the Dask engine needs the 'distributed' package ({e})", field="--engine") from None
        try:
            if self.scheduler:
                try:
                    self.client = Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
                except (OSError, TimeoutError, ValueError) as e:
                    raise CodesignError(f"cannot reach the Dask scheduler at {self.scheduler!r} "
                                        f"({' '.join(str(e).split())[:160]})", field="--scheduler") from None
                try:
                    self.client.wait_for_workers(1, timeout=WORKER_WAIT_S)
                except (TimeoutError, OSError):
                    raise CodesignError(f"the Dask scheduler at {self.scheduler!r} has no worker after "
                                        f"{WORKER_WAIT_S} s", field="--scheduler") from None
            else:
                # worker processes (the model is numpy: threads would share one GIL), no dashboard
                # (it needs bokeh and a port), logs quiet unless something fails
                # Ctrl-C in a terminal reaches the whole process group: the workers start with SIGINT
                # ignored (inherited by the processes they spawn), so only this process handles it (saves
                # the state, then closes the cluster) and no worker prints its own traceback
                with _sigint_ignored():
                    self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                                dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
            self._check_versions()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _check_versions(self) -> None:
        mine = _worker_versions()
        try:
            found = self.client.run(_worker_versions)
        except Exception as e:  # noqa: BLE001 - e.g. a worker that cannot import codesign
            raise CodesignError(f"the Dask workers cannot run codesign ({type(e).__name__}: "
                                f"{' '.join(str(e).split())[:160]}); install it on every worker",
                                field="--scheduler") from None
        for addr, theirs in sorted(found.items()):
            if tuple(theirs) != mine:
                raise CodesignError(f"Dask worker {addr} runs codesign {theirs[0]} (format {theirs[1]}), this "
                                    f"process {mine[0]} (format {mine[1]}): install the same version on the "
                                    "workers", field="--scheduler")

    def __exit__(self, *exc) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing after an error must not hide it
                    pass
        self.client = self.cluster = None

    def threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def __call__(self, sweeper: Sweeper, tasks: list, workers: int) -> Iterator[ChunkResult]:
        """Chunk results in chunk order (``workers`` is the local engine's; the cluster has its own)."""
        if not tasks:
            return
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        client = self.client
        # a fresh key per call (hash=False): a sweep of several pairs scatters one sweeper after another
        [remote] = client.scatter([sweeper], broadcast=True, hash=False)
        ahead = 2 * self.threads()
        live: dict = {}                    # key -> (chunk number, future), until its result is taken
        done: dict[int, ChunkResult] = {}  # finished before an earlier chunk: held until its turn

        def submit(i: int):
            self._submitted += 1
            f = client.submit(_chunk, remote, *tasks[i], pure=False, key=f"codesign-chunk-{self._submitted}")
            live[f.key] = (i, f)
            return f

        queue = as_completed([submit(i) for i in range(min(ahead, len(tasks)))])
        nxt, sent = 0, min(ahead, len(tasks))
        try:
            for f in queue:
                try:
                    res = f.result()
                except KilledWorker as e:
                    raise CodesignError(f"a Dask worker died computing a chunk ({e}); the state saved so far "
                                        "is kept: rerun with --resume, or with a smaller --chunk",
                                        field="--engine") from None
                i, _ = live.pop(f.key)
                done[i] = res
                f.release()
                while nxt in done:
                    yield done.pop(nxt)
                    nxt += 1
                    if sent < len(tasks):
                        queue.add(submit(sent))
                        sent += 1
        finally:
            pending = [f for _, f in live.values()]
            if pending:
                client.cancel(pending)
            remote.release()
