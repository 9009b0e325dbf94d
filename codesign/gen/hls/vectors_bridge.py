"""Golden vectors for the HLS testbench.

The golden helper owns the vectors: ``codesign.vectors.write_vectors`` writes the memory
images, the instruction words and the expected result after every instruction (computed by the
golden executor, ``codesign.isa.executor``, checked equal to the golden layer); ``read_vectors``
reads them back and verifies every file's size and SHA-256. This module asks for them for a design
point (default: SmolLM2-135M layer 0, a decode step over a KV cache of real tokens) and converts
them into the testbench's files (tbfiles.py).
"""

from __future__ import annotations

from pathlib import Path

from ...design import Design
from ...errors import CodesignError
from .tbfiles import Check, write_tb_files

DEFAULT_MODEL = "smollm2-135m"
DEFAULT_LAYER = 0
DEFAULT_CONTEXT = 64      # keys in the KV cache of the decode step (63 real tokens prefilled + the new one)
REGION = {"buf": "abuf", "kv": "kv", "io": "io"}   # executor StepResult.kind -> testbench region


def make_golden_vectors(design: Design, out: Path, context: int | None = None, small: dict | None = None) -> None:
    """Write golden vectors for ``design`` into ``out`` (must not exist): SmolLM2-135M layer 0 by
    default; ``small`` = {"seed": s, "d_model": ..., ...} for a random small layer (fast tests)."""
    from ...vectors import write_vectors

    context = context or DEFAULT_CONTEXT
    if small is None:
        write_vectors(design, DEFAULT_MODEL, DEFAULT_LAYER, out, context=context)
    else:
        dims = {k: v for k, v in small.items() if k != "seed"}
        write_vectors(design, None, 0, out, context=context, random_dims=dims, seed=small.get("seed", 0))


def golden_to_tb(golden: Path, tb_dir: Path, design: Design) -> dict:
    """Convert a golden vector folder into the testbench's files; returns a summary."""
    from ...vectors import read_vectors

    vec = read_vectors(golden)          # presence, size and SHA-256 of every file
    m = vec.manifest
    check_matches_design(m, design)
    check_supported_instructions(vec.words)
    checks = [Check(s["index"], REGION[s["kind"]], s["offset"], vec.expected(s["index"])) for s in m["steps"]]
    f = vec.files
    summary = write_tb_files(tb_dir, f["gmem_w.bin"], f["gmem_kv.bin"], f["gmem_io.bin"],
                             m["regions"]["gmem_io"]["instructions"][0], m["instructions"], checks)
    name = m["model"]["name"]
    summary["description"] = (f"{name} layer {m['layer']} {m['phase']} step at context {m['context']}, "
                              f"{m['instructions']} instructions")
    summary.update(model=name, context=m["context"], source=m["source"].get("kind"))
    return summary


def check_matches_design(manifest: dict, design: Design) -> None:
    """Vectors packed for another quantization or MPE tile cannot run on this kernel: say so."""
    q = manifest.get("quant", {})
    want = {"wbits": design.quant.wbits, "abits": design.quant.abits, "kvbits": design.quant.kvbits,
            "group": design.quant.group, "zero_point": design.quant.zero_point,
            "sparsity": design.quant.sparsity}
    for k, v in want.items():
        if q.get(k, "dense" if k == "sparsity" else None) != v:
            raise CodesignError(f"the vectors were written for {k}={q.get(k)}, the design has {k}={v}; "
                                "write vectors for this design (codesign vectors --design ...)", field="--vectors")
    mpe = manifest.get("mpe", {})
    for k in ("rows", "cols"):
        if mpe.get(k) != getattr(design.hw, k):
            raise CodesignError(f"the vectors pack weights for {k}={mpe.get(k)}, the design has "
                                f"{k}={getattr(design.hw, k)}", field="--vectors")
    if manifest.get("buffer_elems", 0) > design.hw.abuf_depth:
        raise CodesignError(f"the layer needs {manifest['buffer_elems']} activation-buffer elements > abuf_depth "
                            f"{design.hw.abuf_depth}", field="hw.abuf_depth")
    if manifest.get("context", 0) > design.hw.kvbuf_depth:
        raise CodesignError(f"context {manifest['context']} > kvbuf_depth {design.hw.kvbuf_depth} (the ATTN "
                            "score buffer)", field="hw.kvbuf_depth")


def check_supported_instructions(words) -> None:
    """The HLS kernel runs the dense LLaMA-family instruction stream; MoE routing (GEMV func 1 /
    expert slots), LayerNorm, GELU and ReLU are encoded by the ISA but not built into this kernel."""
    from ...isa.encoding import decode

    for i, ins in enumerate(decode(words)):
        if ins.slot or ins.func:
            raise CodesignError(f"instruction {i} ({ins.op} {ins.layer_op}, func={ins.func}, slot={ins.slot}) "
                                "needs MoE routing or a non-LLaMA unit, which the HLS kernel does not implement "
                                "(dense RMSNorm/SwiGLU layers only)", field="--vectors")
