"""Ctrl-C / SIGTERM during a sweep, at any point: it stops within seconds, leaves a resumable
``.partial``, and ``--resume`` gives the same files as a run never interrupted (issue 20, point 1).

The real command runs in a child process; the worker phase is found by waiting for the sweep's
worker processes to exist (not by guessing a delay), so the signal lands while they compute.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codesign.cli import main

# LLaMA-2-7B on the U280, the default space less two axes: 43,200 points in 170 chunks of 256,
# about two seconds of worker time on two cores.
SPACE = "space:\n  zero_point: [false]\n  abits: [8]\n  method: [rtn]\n  mixed: [0]\n"
ARGS = ["--quiet", "--chunk", "256", "--jobs", "8"]   # 8: the default on a larger machine
FILES = ("points.csv", "pareto.csv", "best.json", "summary.json")
EXIT_WITHIN_S = 10


def _cmd(space, out, *extra):
    return [sys.executable, "-m", "codesign", "sweep", "--space", str(space), "--out", str(out), *ARGS, *extra]


def _env():
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("ref")
    space = root / "space.yaml"
    space.write_text(SPACE)
    res = subprocess.run(_cmd(space, root / "ref"), env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return space, root / "ref"


def _interrupt(tmp_path, space, when, sig, group):
    """Start the sweep, signal it at ``when`` ('start' or 'workers'), return (rc, stderr, seconds, workers)."""
    out = tmp_path / "run"
    # SIGINT at its default, as in a terminal: a runner started in the background (`cmd &` in a
    # non-interactive shell) hands its children SIGINT ignored, and Python then never raises it
    p = subprocess.Popen(_cmd(space, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
    workers: list[int] = []
    try:
        if when == "start":
            time.sleep(0.15)  # the imports, argument parsing, loading the model (before any worker)
        else:
            deadline = time.monotonic() + 60
            while not workers and p.poll() is None and time.monotonic() < deadline:
                workers = _children(p.pid)
                time.sleep(0.01)
            assert workers, "the sweep ended before its worker processes were seen"
            time.sleep(0.3)   # well inside the worker phase
            assert p.poll() is None, "the sweep finished before the signal: enlarge the space"
        t0 = time.monotonic()
        if group:
            os.killpg(p.pid, sig)   # what a terminal's Ctrl-C does: every process of the group
        else:
            p.send_signal(sig)      # what `timeout` or `kill PID` does: the main process only
        try:
            _, err = p.communicate(timeout=EXIT_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the sweep did not stop within {EXIT_WITHIN_S} s of {signal.Signals(sig).name}")
        took = time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    deadline = time.monotonic() + 3
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "worker processes outlived the sweep"
    return p.returncode, err, took, out


@pytest.mark.parametrize("when,sig,group", [
    # the fast tier keeps the case that hung (Ctrl-C in a terminal, workers running); the full tier all
    pytest.param("start", signal.SIGINT, True, marks=pytest.mark.slow),
    ("workers", signal.SIGINT, True),      # Ctrl-C in a terminal (this hung for minutes)
    pytest.param("workers", signal.SIGINT, False, marks=pytest.mark.slow),    # SIGINT to the main process only
    pytest.param("workers", signal.SIGTERM, False, marks=pytest.mark.slow),   # kill PID
    pytest.param("workers", signal.SIGTERM, True, marks=pytest.mark.slow),    # the whole group terminated
])
def test_signal_stops_the_sweep_and_resume_equals_a_fresh_run(tmp_path, reference, when, sig, group):
    space, ref = reference
    rc, err, took, out = _interrupt(tmp_path, space, when, sig, group)
    assert rc == 128 + sig, err
    assert took < EXIT_WITHIN_S
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    partial = tmp_path / "run.partial"
    if when == "workers":
        assert lines[0] == (f"codesign sweep: interrupted; the sweep state is in '{partial}': "
                            "rerun with --resume to continue")
        assert (partial / "manifest.json").is_file() and (partial / "state.npz").is_file()
    else:
        assert lines[0].startswith("codesign sweep: interrupted"), err
    assert not out.exists()
    res = subprocess.run(_cmd(space, out, "--resume"), env=_env(), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert not partial.exists()
    for f in FILES:
        assert (out / f).read_bytes() == (ref / f).read_bytes(), f


def test_interrupt_while_writing_the_results_keeps_the_finished_state(tmp_path, capsys, monkeypatch):
    # after the last chunk, while the output files are written: the state is complete, the output
    # folder is not created, and --resume only writes the files
    from codesign.search import outputs

    space = tmp_path / "space.yaml"
    space.write_text("space:\n  wbits: [4, 8]\n  abits: [8]\n  kvbits: [8]\n  group: [128]\n"
                     "  zero_point: [false]\n  rows: [16, 64]\n  cols: [64]\n  freq_mhz: [225]\n")
    args = ["sweep", "--quiet", "--jobs", "1", "--space", str(space), "--chunk", "4"]
    assert main(args + ["--out", str(tmp_path / "ref")]) == 0
    real = outputs.write_results

    def interrupted(dest, *a, **k):
        (Path(dest) / "half-written").write_text("x")
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "write_results", interrupted)
    capsys.readouterr()
    out = tmp_path / "run"
    assert main(args + ["--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rerun with --resume" in err
    assert not out.exists() and (tmp_path / "run.partial" / "state.npz").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref", "run.partial", "space.yaml"]   # no staging left
    monkeypatch.setattr(outputs, "write_results", real)
    seen = []
    from codesign.search import runner
    real_chunks = runner.chunk_results
    monkeypatch.setattr(runner, "chunk_results", lambda s, t, w: (seen.extend(t), real_chunks(s, t, w))[1])
    assert main(args + ["--out", str(out), "--resume"]) == 0
    assert seen == []   # nothing recomputed
    for f in FILES + ("pareto.png",):
        assert (out / f).read_bytes() == (tmp_path / "ref" / f).read_bytes(), f


def test_sigterm_is_handled_like_ctrl_c_in_process(tmp_path, capsys, monkeypatch):
    # the CLI turns SIGTERM into the interrupt path (exit 143, one line) and restores the handler after
    from codesign.search import runner

    before = signal.getsignal(signal.SIGTERM)
    real = runner.chunk_results

    def terminated(sweeper, tasks, workers):
        for i, res in enumerate(real(sweeper, tasks, workers)):
            if i == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            yield res

    monkeypatch.setattr(runner, "chunk_results", terminated)
    space = tmp_path / "space.yaml"
    space.write_text("space:\n  wbits: [4, 8]\n  rows: [16, 64]\n  cols: [64]\n")
    rc = main(["sweep", "--quiet", "--jobs", "1", "--space", str(space), "--chunk", "64", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 143 and err.count("\n") == 1 and "--resume" in err
    assert signal.getsignal(signal.SIGTERM) is before
