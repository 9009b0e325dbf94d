"""The full-layer RTL regression behind `codesign verify`.

1. RTL: an emit-rtl folder (given with --rtl-dir, or emitted into the cache for the design);
   external RTL works too: a folder with files.f (or rtl/files.f) whose top has codesign_top's ports.
2. Golden vectors: SmolLM2-135M layer 0, one decode step with real weights and a real KV cache
   (codesign.vectors.write_vectors), cached per (design quantization, tile, context).
3. cocotb on Verilator or Icarus (sim/test_core_layer.py): bit-exact after every instruction.
4. Cycle table: simulated cycles per instruction type beside the analytical model's
   codesign.model.instruction_cycles for the same instructions.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ...design import Design
from ...errors import CodesignError
from .params import VERIFY_MODEL, core_params

ROOT = Path(__file__).resolve().parents[3]


def cache_dir() -> Path:
    base = os.environ.get("CODESIGN_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "codesign"


def _key(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


# What the cached artefacts are made from: a cache entry is reused only while these sources are
# byte for byte the ones it was made with (a numerics or RTL change must never meet stale vectors
# or a stale RTL copy, e.g. the per-block activation exponents of 2026-11-23).
GOLDEN_SOURCES = [ROOT / "codesign" / "quant" / f for f in ("numerics.py", "pack.py", "golden.py",
                                                             "real_layer.py")] + \
    [ROOT / "codesign" / "vectors" / "golden_vectors.py"] + \
    [ROOT / "codesign" / "isa" / f for f in ("compiler.py", "encoding.py", "executor.py", "instr.py",
                                             "memimage.py")]


def source_digest(paths) -> str:
    """sha256 over the names and contents of `paths` (absent files count as empty)."""
    h = hashlib.sha256()
    for p in sorted(Path(p) for p in paths):
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes() if p.is_file() else b"")
    return h.hexdigest()[:16]


def rtl_sources() -> list[Path]:
    sys.path.insert(0, str(ROOT / "sim"))
    import rtl_build

    return rtl_build.core_sources()


def vectors_for(design: Design, context: int, model: str = VERIFY_MODEL, layer: int = 0,
                random_dims: str | None = None, seed: int = 0, folder: Path | None = None) -> Path:
    """The golden vector folder for this design (weights packed for its ROWS x COLS), cached."""
    from ...vectors import read_vectors, write_vectors

    q, hw = design.quant, design.hw
    key = _key({"quant": vars(q), "rows": hw.rows, "cols": hw.cols, "model": model, "layer": layer,
                "context": context, "random": random_dims, "seed": seed, "v": 1,
                "golden": source_digest(GOLDEN_SOURCES)})
    folder = folder or cache_dir() / "rtl_vectors" / key
    if (folder / "manifest.json").is_file():
        try:
            read_vectors(folder)
            return folder
        except CodesignError:
            pass   # corrupted cache: write it again
    folder.parent.mkdir(parents=True, exist_ok=True)
    write_vectors(design, None if random_dims else model, layer, folder, context=context,
                  random_dims=random_dims, seed=seed, force=True)
    return folder


@dataclass
class RtlFolder:
    root: Path
    top: str
    files: list
    core_path: str


def rtl_folder(design: Design, rtl_dir: str | None) -> RtlFolder:
    """--rtl-dir (an emit-rtl folder or external RTL), or an emit-rtl folder in the cache."""
    from .emit import emit_rtl

    if rtl_dir is None:
        folder = cache_dir() / "rtl_emit" / _key([core_params(design), source_digest(rtl_sources())])
        if not (folder / "manifest.json").is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            emit_rtl(design, folder, force=True)
    else:
        folder = Path(rtl_dir)
        if not folder.is_dir():
            raise CodesignError(f"'{folder}' is not a folder", field="--rtl-dir")
    man_path = folder / "manifest.json"
    if man_path.is_file():
        man = json.loads(man_path.read_text())
        want = core_params(design)
        if man.get("parameters") and man["parameters"] != want:
            diff = sorted(k for k in want if man["parameters"].get(k) != want[k])
            raise CodesignError(f"the RTL in '{folder}' was emitted for other parameters ({', '.join(diff)}); "
                                f"run codesign emit-rtl --design ... --out {folder} --force", field="--rtl-dir")
        top, core_path = man.get("top", "codesign_kernel"), man.get("core_path", "")
    else:
        top, core_path = "codesign_top", ""   # external RTL: ports only
    flist = folder / "rtl" / "files.f" if (folder / "rtl" / "files.f").is_file() else folder / "files.f"
    if not flist.is_file():
        raise CodesignError(f"no files.f or rtl/files.f in '{folder}'", field="--rtl-dir")
    sys.path.insert(0, str(ROOT / "sim"))
    import rtl_build

    files = rtl_build.file_list(flist)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CodesignError(f"files.f names missing sources: {', '.join(missing[:3])}", field="--rtl-dir")
    return RtlFolder(folder, top, files, core_path)


# The layer `verify` runs when the design's buffers cannot hold the SmolLM2 layer (and no --random
# or --vectors was given): the small random layer of the tiny design's record
# (tests/data/rtl_cycles/random_small_tiny_icarus.json), said so in the output.
QUICK_DIMS = "d_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96"


def misfits(design: Design, buffer_elems: int, context: int, head_dim: int, rep: int) -> list[tuple[str, int, int]]:
    """(design field, the layer's need, the design's size) of every on-chip buffer the layer overflows."""
    p = core_params(design)
    need = [("hw.abuf_depth", buffer_elems, p["ABUF_DEPTH"]),
            ("hw.kvbuf_depth", context, p["KVBUF_DEPTH"]),
            ("head_dim (MAX_HD)", head_dim, p["MAX_HD"]),
            ("heads per KV head (MAX_REP)", rep, p["MAX_REP"])]
    return [(name, want, have) for name, want, have in need if want > have]


def config_misfits(design: Design, cfg, context: int) -> list[tuple[str, int, int]]:
    """misfits() of a decode step of `cfg` at `context`, from its shapes alone (no vectors needed)."""
    from ...isa.compiler import buffer_map

    return misfits(design, buffer_map(cfg, 1)[1], context, cfg.head_dim, cfg.n_heads // max(cfg.n_kv_heads, 1))


def _misfit_error(bad: list[tuple[str, int, int]], what: str, hint: str) -> CodesignError:
    name, want, have = bad[0]
    return CodesignError(f"{what} needs {want}, the design has {have}; {hint}", field=name)


HINT = ("give a design whose buffers hold it (e.g. hw/rtl/designs/small.json) or run a smaller random "
        f"layer: --random {QUICK_DIMS} (with --context <= hw.kvbuf_depth)")


def check_fits(design: Design, manifest: dict) -> None:
    """The layer's buffers must fit the design's on-chip buffers (else the RTL cannot run it)."""
    m = manifest["model"]
    bad = misfits(design, manifest["buffer_elems"], manifest["context"], m["head_dim"],
                  m["n_heads"] // m["n_kv_heads"])
    if bad:
        raise _misfit_error(bad, "the regression layer", HINT)


def choose_layer(design: Design, context: int, random_dims: str | None) -> tuple[str | None, str | None]:
    """(random_dims, note): the layer verify runs. SmolLM2-135M layer 0 when it fits the design; for a
    design too small for it (e.g. hw/rtl/designs/tiny.json), the small random layer QUICK_DIMS, with a
    note saying so. An explicit --random layer that does not fit is an error naming what to change."""
    from ...vectors import random_config
    from ...workload import load_model_config

    if random_dims is not None:
        bad = config_misfits(design, random_config(random_dims), context)
        if bad:
            raise _misfit_error(bad, f"the --random layer at --context {context}",
                                "give smaller --random dimensions or --context, or a larger design")
        return random_dims, None
    bad = config_misfits(design, load_model_config(VERIFY_MODEL), context)
    if not bad:
        return None, None
    quick = config_misfits(design, random_config(QUICK_DIMS), context)
    if quick:
        raise _misfit_error(bad, f"the {VERIFY_MODEL} layer 0 at --context {context}", HINT)
    name, want, have = bad[0]
    note = (f"{VERIFY_MODEL} layer 0 does not fit this design ({name}: needs {want}, has {have}); "
            f"ran a random layer instead: --random {QUICK_DIMS} --context {context}")
    return QUICK_DIMS, note


@dataclass
class VerifyResult:
    passed: bool
    report: dict
    table: list = field(default_factory=list)     # per instruction type
    sim: str = ""
    vectors: Path | None = None
    rtl: Path | None = None
    note: str | None = None                       # e.g. the random layer run instead of SmolLM2


def run_regression(design: Design, sim: str, rtl: RtlFolder, vectors: Path, build_root: Path | None = None,
                   env: dict | None = None) -> dict:
    sys.path.insert(0, str(ROOT / "sim"))
    import rtl_build

    from ...vectors import read_vectors

    vec = read_vectors(vectors)
    check_fits(design, vec.manifest)
    build = build_root or cache_dir() / "rtl_build" / f"{sim}-{_key([str(f) for f in rtl.files] + [rtl.top])}"
    build.mkdir(parents=True, exist_ok=True)
    report_path = build / "report.json"
    report_path.unlink(missing_ok=True)
    runner = rtl_build.build(sim, rtl.top, rtl.files, {}, build)
    n, failed, _ = rtl_build.run(runner, rtl.top, ["test_core_layer"], build, "layer",
                                 {"VECTORS": vectors, "CORE_PATH": rtl.core_path, "REPORT": report_path,
                                  **(env or {})})
    report = json.loads(report_path.read_text()) if report_path.is_file() else {"error": "no report written"}
    report["cocotb_tests"], report["cocotb_failed"] = n, failed
    return report


def cycle_table(design: Design, vectors: Path, report: dict) -> list[dict]:
    """Per instruction type: simulated cycles (sum over the layer) vs the analytical model's."""
    from ...devices import get_device
    from ...isa.encoding import decode
    from ...vectors import read_vectors

    vec = read_vectors(vectors)
    instrs = decode(vec.words)
    try:
        from ...model import cycles as model_cycles
        from ...model.memory import SIMULATED_AXIRAM
        # The simulation's memory is cocotbext-axi AxiRam (one port per image, a few cycles of latency),
        # not the device's HBM: the model is evaluated with that memory system, the same formulas.
        pred = model_cycles.instruction_cycles(instrs, design.quant, design.hw, get_device(design.device),
                                               memory=SIMULATED_AXIRAM)["cycles"]
        basis = "codesign.model.instruction_cycles (memory: SIMULATED_AXIRAM)"
    except Exception as e:  # noqa: BLE001 - shown in the table, never hidden
        pred, basis = None, f"model unavailable: {e}"
    sim_cyc = {s["index"]: s["cycles"] for s in report.get("steps", []) if s.get("cycles") is not None}
    rows: dict[str, dict] = {}
    for i, ins in enumerate(instrs):
        r = rows.setdefault(ins.op, {"op": ins.op, "count": 0, "rtl": 0, "model": 0.0, "basis": basis})
        r["count"] += 1
        r["rtl"] += sim_cyc.get(i, 0)
        if pred is not None:
            r["model"] += float(pred[i])
    out = []
    for r in rows.values():
        r["model"] = round(r["model"]) if pred is not None else None
        r["error_pct"] = (100.0 * (r["model"] - r["rtl"]) / r["rtl"]) if (pred is not None and r["rtl"]) else None
        out.append(r)
    return out


def verify(design: Design, sim: str, rtl_dir: str | None = None, context: int = 16,
           vectors_dir: str | None = None, random_dims: str | None = None, env: dict | None = None) -> VerifyResult:
    if sim not in ("verilator", "icarus"):
        raise CodesignError(f"got {sim!r}; allowed: verilator, icarus", field="--sim")
    rtl = rtl_folder(design, rtl_dir)
    note = None
    if vectors_dir is None:
        random_dims, note = choose_layer(design, context, random_dims)
    vectors = Path(vectors_dir) if vectors_dir else vectors_for(design, context, random_dims=random_dims)
    report = run_regression(design, sim, rtl, vectors, env=env)
    passed = (report.get("cocotb_failed") == 0 and report.get("cocotb_tests", 0) > 0
              and report.get("mismatch") is None and "error" not in report and report.get("done", False))
    table = cycle_table(design, vectors, report) if report.get("steps") else []
    return VerifyResult(passed, report, table, sim, vectors, rtl.root, note)
