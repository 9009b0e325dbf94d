"""The C-simulation backend of `codesign run`: the HLS kernel (hw/hls, this design's generated
headers) compiled with g++ together with hw/hls/tb_model_run.cpp, a driver that keeps the three
memory images in one process for the whole generation (the KV cache the kernel writes at one token
is read at the next) and runs the kernel once per step on the host's command.

The build is cached per (kernel sources, generated headers): a second run of the same design
reuses the executable."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import time
from pathlib import Path

from ...design import Design
from ...errors import CodesignError
from .project import HW_HLS, write_sources
from .toolchain import compile_command, compile_csim

DRIVER = "tb_model_run.cpp"


def build_driver(design: Design, cache: Path) -> tuple[Path, float]:
    """(executable, build seconds; 0 when reused) of the kernel + the whole-model driver."""
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        write_sources(design, staged)
        h = hashlib.sha256()
        for p in sorted((staged / "src").iterdir()):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
        h.update((HW_HLS / DRIVER).read_bytes())
        h.update(" ".join(compile_command(["k"], ["i"], "o")).encode())
        folder = cache / "csim_model" / h.hexdigest()[:16]
        exe = folder / "tb_model_run"
        if exe.is_file():
            return exe, 0.0
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        tmp_exe = folder / f".tb_model_run.{time.time_ns()}"
        compile_csim([str(staged / "src" / "llm_proc.cpp"), str(HW_HLS / DRIVER)], [str(staged / "src")], tmp_exe)
        tmp_exe.replace(exe)   # atomic: a half-built executable is never reused
        return exe, time.perf_counter() - t0


class CsimBackend:
    """One tb_model_run process per generation; ``run`` patches gmem_io, runs the kernel, reads h_out."""
    name = "csim"

    def __init__(self, design: Design, cache: Path | None = None):
        from ..rtl.verify import cache_dir

        self.design = design
        self.exe, self.build_s = build_driver(design, cache or cache_dir())
        self.proc = None
        self.tmp = None

    def start(self, image, images: dict) -> None:
        if image.buffer_elems > self.design.hw.abuf_depth:
            raise CodesignError(f"the program needs {image.buffer_elems} activation-buffer elements, the design "
                                f"has {self.design.hw.abuf_depth}", field="hw.abuf_depth")
        self.tmp = tempfile.TemporaryDirectory(prefix="codesign-run-")
        d = Path(self.tmp.name)
        for name, data in images.items():
            (d / f"{name}.bin").write_bytes(bytes(data))
        self.proc = subprocess.Popen([str(self.exe), str(d)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self._reply("ready")

    def _reply(self, key: str) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            raise CodesignError(f"the C-simulation driver stopped (exit {self.proc.poll()}): {err.strip()[:300]}",
                                field="csim")
        rec = json.loads(line)
        if key not in rec:
            raise CodesignError(f"the C-simulation driver answered {rec}", field="csim")
        return rec

    def _cmd(self, text: str, key: str) -> dict:
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self._reply(key)

    def run(self, step) -> tuple[bytes, float]:
        d = Path(self.tmp.name)
        for i, (addr, data) in enumerate(step.patches):
            p = d / f"patch{i}.bin"
            p.write_bytes(data)
            self._cmd(f"patch {addr} {p}", "patch")
        beats = self._cmd(f"run {step.n_instr}", "run")["beats"]
        addr, n = step.out
        out = d / "h_out.bin"
        self._cmd(f"dump {addr} {n} {out}", "dump")
        return out.read_bytes(), float(beats)

    def close(self) -> None:
        if self.proc is not None:
            try:
                if self.proc.poll() is None:
                    self._cmd("quit", "quit")
                self.proc.wait(timeout=30)
            except (CodesignError, subprocess.TimeoutExpired, BrokenPipeError, ValueError):
                self.proc.kill()
                self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                f.close()
            self.proc = None
        if self.tmp is not None:
            self.tmp.cleanup()
            self.tmp = None
