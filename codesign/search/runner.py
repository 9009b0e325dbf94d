"""Run one sweep job chunk by chunk, with checkpoints, into a working folder."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..design import Parallel, Workload
from ..errors import CodesignError
from ..fsutil import signals_deferred
from .accuracy import AccuracySource, load_accuracy
from .checkpoint import Checkpoint
from .constraints import Constraints
from .engine import POINT_COLUMNS, ChunkResult, SweepState, Sweeper
from .space import Space

POINTS_MODES = ("auto", "all", "feasible", "none")
# a chunk part's file extension per --format: CSV text, or an Arrow IPC stream for points.parquet (arrow_rows.py)
PART_EXT = {"csv": "csv", "parquet": "arrow"}
AUTO_POINTS_LIMIT = 1_000_000   # "auto" writes every point up to this many, none above
DEFAULT_CHUNK = 1 << 16
CHECKPOINT_EVERY_S = 1.0        # state is saved at most this often (and after the last chunk)
MAX_WORKERS = 8                 # worker processes by default: the CPUs this process may use, at most this
FORMAT_VERSION = 1              # bump when the meaning of saved state or outputs changes


@dataclass(frozen=True)
class SweepJob:
    model: str
    device: str
    workload: Workload
    space: Space
    constraints: Constraints
    chunk_size: int = DEFAULT_CHUNK
    points: str = "auto"
    points_format: str = "csv"
    parallel: Parallel = Parallel()     # multi-card plan of every point (issue 19); one card by default

    @property
    def points_mode(self) -> str:
        if self.points == "auto":
            return "all" if self.space.size <= AUTO_POINTS_LIMIT else "none"
        return self.points

    def chunk_starts(self) -> range:
        return range(0, self.space.size, self.chunk_size)

    def manifest(self, accuracy: AccuracySource) -> dict:
        return {
            "format": FORMAT_VERSION,
            "model": self.model, "device": self.device,
            "workload": asdict(self.workload),
            "space": self.space.as_dict(),
            "constraints": self.constraints.as_dict(),
            "chunk_size": self.chunk_size,
            "points": self.points_mode,
            "columns": list(POINT_COLUMNS),
            "accuracy": accuracy.as_dict(),
            **({"parallel": asdict(self.parallel)} if self.parallel.devices > 1 else {}),
            # only when not the default, so a CSV sweep's manifest (and its resume) is as before
            **({"points_format": self.points_format} if self.points_format != "csv" else {}),
        }


def run_job(job: SweepJob, work: Path, resume: bool,
            progress: Callable[[int], None] | None = None,
            sweeper: Sweeper | None = None, workers: int = 1,
            checkpoint_every_s: float = CHECKPOINT_EVERY_S,
            engine: Callable[[Sweeper, list, int], Iterator[ChunkResult]] | None = None,
            ) -> tuple[Sweeper, SweepState, Checkpoint]:
    """Evaluate every chunk not yet done; returns the sweeper, final state and checkpoint folder.

    ``engine`` computes the chunk results, in chunk order (default: ``chunk_results``, forked local
    workers; ``search.dask_engine.DaskEngine`` spreads them over a Dask cluster). Whatever computes
    them, they are folded here in the same order, so the outputs are the same bytes.

    The caller decides what an existing ``work`` folder means (resume or start
    over) before calling; here an existing one is resumed only if ``resume``.
    """
    if job.chunk_size < 1:
        raise CodesignError(f"got {job.chunk_size}; must be >= 1", field="--chunk")
    if sweeper is None:
        accuracy = load_accuracy(job.model)
        sweeper = Sweeper(job.model, job.device, job.workload, job.space, job.constraints, accuracy,
                          parallel=job.parallel)
    manifest = job.manifest(sweeper.accuracy)
    ckpt = Checkpoint(work)
    state = None
    if ckpt.exists():
        if not resume:
            raise CodesignError(f"an interrupted sweep is in '{work}'; pass --resume to continue it "
                                "or --force to start over", field="--out")
        ckpt.check_manifest(manifest)
        state = ckpt.load_state()
    else:
        ckpt.start(manifest)
    if state is None:
        state = sweeper.new_state()
    mode = job.points_mode
    last_save = time.monotonic()
    if progress:
        progress(state.next_start)
    tasks = [(s, min(s + job.chunk_size, job.space.size), mode, job.points_format)
             for s in job.chunk_starts() if s >= state.next_start]
    ext = PART_EXT[job.points_format]
    try:
        for res in (engine or chunk_results)(sweeper, tasks, workers):
            # Ctrl-C / SIGTERM wait for the chunk to be counted whole, so an interrupt always
            # finds a consistent state to save.
            with signals_deferred():
                if mode != "none":
                    ckpt.write_part(res.start, res.rows, ext)   # before the state that counts it
                res.fold_into(state)
            now = time.monotonic()
            if now - last_save >= checkpoint_every_s or res.stop == job.space.size:
                ckpt.save_state(state)
                last_save = now
            if progress:
                progress(res.stop)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM between chunks: keep the work done (the state is consistent).
        with signals_deferred():
            ckpt.save_state(state)
        raise
    return sweeper, state, ckpt


def default_workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_WORKERS))


_WORKER_SWEEPER: Sweeper | None = None
_MALLOC_TUNED = False


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed blocks in the heap instead of returning them to the OS.

    A chunk allocates and frees the same few hundred KB-sized arrays again and again; by default
    glibc serves those with mmap/munmap (or trims the heap), so every new array costs fresh page
    faults. Keeping them saved 1-25% of the pipeline's CPU time per point on this machine (A/B
    runs of chunk_result, 2026-11-23); memory stays bounded by a chunk's peak. No-op elsewhere.
    """
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3     # glibc malloc.h
        libc.mallopt(m_mmap_threshold, 256 << 20)
        libc.mallopt(m_trim_threshold, 512 << 20)
    except (OSError, AttributeError):
        pass


class WorkerDied(CodesignError):
    """A worker process ended without a result (killed, out of memory): the saved state stands."""


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _serve(conn, inherited) -> None:
    """A worker: evaluate the chunks sent on ``conn`` in order, until the main process closes it.

    Ctrl-C and SIGTERM are the main process's to handle (it saves the state and stops the workers),
    so a worker ignores them; it ends when the main process closes its pipe or kills it, and also
    when the main process dies without doing so (the pipe then reads end-of-file).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    for c in inherited:   # the other workers' pipe ends: only the main process may hold them
        c.close()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            reply = (True, _WORKER_SWEEPER.chunk_result(*task))  # type: ignore[union-attr]
        except BaseException as e:  # noqa: BLE001 - handed to the main process, which raises it
            reply = (False, e)
        try:
            try:
                conn.send(reply)
            except (pickle.PicklingError, TypeError, AttributeError):
                conn.send((False, RuntimeError("".join(traceback.format_exception(reply[1])))))
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            return
        if not reply[0]:
            return


class _Workers:
    """Forked worker processes, one duplex pipe each; chunks dealt round-robin, results in order."""

    def __init__(self, n: int):
        ctx = mp.get_context("fork")
        self.procs: list = []
        self.conns: list = []
        # Block the stop signals while forking so that a child never runs Python code with the
        # parent's handlers: it ignores them before unblocking (a signal sent to the parent meanwhile
        # stays pending and is handled as soon as the mask is restored).
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            for _ in range(n):
                mine, theirs = ctx.Pipe(duplex=True)
                p = ctx.Process(target=_serve, args=(theirs, [*self.conns, mine]), daemon=True)
                p.start()
                theirs.close()
                self.procs.append(p)
                self.conns.append(mine)
        except BaseException:
            self.stop(kill=True)
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def send(self, k: int, task) -> None:
        try:
            self.conns[k].send(task)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self._died(k)

    def recv(self, k: int):
        try:
            ok, value = self.conns[k].recv()
        except (EOFError, ConnectionResetError, OSError):
            self._died(k)
        if not ok:
            raise value
        return value

    def _died(self, k: int):
        p = self.procs[k]
        p.join(timeout=1)
        code = p.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        raise WorkerDied(f"a sweep worker process ended without its result ({how}; out of memory?); the "
                         "state saved so far is kept: rerun with --resume, or with --jobs 1 or a smaller "
                         "--chunk", field="--jobs")

    def stop(self, kill: bool) -> None:
        """End every worker: at once with SIGKILL when ``kill``, else by closing its pipe."""
        for c in self.conns:
            c.close()
        for p in self.procs:
            if kill and p.is_alive():
                p.kill()
        for p in self.procs:
            p.join(timeout=0.5 if kill else 5)
            if p.is_alive():
                p.kill()
                p.join(timeout=1)


def chunk_results(sweeper: Sweeper, tasks: list, workers: int) -> Iterator[ChunkResult]:
    """Chunk results in chunk order; with workers > 1 computed by forked processes.

    At most 2 x workers chunks are in flight, so memory stays bounded however many chunks there
    are. Chunk i goes to worker i mod n, which answers its chunks in the order it got them. When
    the caller stops early (Ctrl-C, SIGTERM, an error) every worker is killed at once: nothing
    waits on a worker, and no lock is shared with one.
    """
    keep_freed_memory()   # before forking: the workers inherit it
    if workers <= 1 or len(tasks) <= 1 or "fork" not in mp.get_all_start_methods():
        for t in tasks:
            yield sweeper.chunk_result(*t)
        return
    global _WORKER_SWEEPER
    _WORKER_SWEEPER = sweeper   # inherited by the forked workers; nothing is pickled but the results
    n = min(workers, len(tasks))
    done = False
    pool = None
    try:
        pool = _Workers(n)
        ahead = min(len(tasks), 2 * n)
        for i in range(ahead):
            pool.send(i % n, tasks[i])
        for i in range(len(tasks)):
            res = pool.recv(i % n)
            if i + ahead < len(tasks):
                pool.send((i + ahead) % n, tasks[i + ahead])
            yield res
        done = True
    finally:
        if pool is not None:
            pool.stop(kill=not done)
        _WORKER_SWEEPER = None
