"""Golden vectors for the HLS testbench.

The golden helper owns the vectors: ``codesign.quant.vectors.write_vectors`` writes the memory
images, instruction words and the expected state after every instruction (computed by the golden
executor, ``codesign.isa.executor``), and ``read_vectors`` reads them back with hash checks. This
module (1) asks for them for a design point (default: SmolLM2-135M layer 0, a decode step at a real
context) and (2) converts them into the testbench's files (tbfiles.py).

While ``codesign.quant.vectors`` is not importable, (1) falls back to the same golden pieces the
writer uses -- ``isa.compiler.plan_layer``, ``isa.memimage.build_images``, ``isa.executor.run_images``
-- and stores them as ``golden/golden.npz`` (+ ``golden/manifest.json`` with SHA-256).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ...design import Design
from ...errors import CodesignError
from ...fsutil import atomic_write_bytes, atomic_write_text, dumps_json
from .tbfiles import Check, write_tb_files

DEFAULT_MODEL = "smollm2-135m"
DEFAULT_LAYER = 0
DEFAULT_CONTEXT = 64
# A fixed English text; its first `context` SmolLM2 tokens fill the KV cache (prefilled through the
# golden layer), the last one is the decode step.
TEXT = ("The quick brown fox jumps over the lazy dog. Large language models generate text one token at a "
        "time: every decode step reads all weights once and the key/value cache of the tokens before it. "
        "Field-programmable gate arrays can stream those weights from high-bandwidth memory into wide "
        "arrays of multiply-accumulate units, so the energy per token depends on how many bytes move and "
        "on how well the datapath hides the work that is not a matrix-vector product.")


def _golden_vectors_module():
    try:
        from ...quant import vectors as V
    except ImportError:
        return None
    return V if hasattr(V, "write_vectors") and hasattr(V, "read_vectors") else None


# --------------------------------------------------------------------------- layer data
def smollm2_layer(layer_index: int, context: int):
    """(cfg, float weights of one layer, int32 inputs [context, d] of real tokens, rope_theta, eps)."""
    from ...quant import numerics as N
    from ...quant.llm.checkpoint import load_checkpoint
    from ...quant.llm.paths import smollm2_gguf_path
    from ...quant.llm.tokenizer import tokenizer_from_gguf
    from ...workload import load_model_config

    path = smollm2_gguf_path()
    meta, weights = load_checkpoint(path)
    cfg = load_model_config(DEFAULT_MODEL)
    ids = tokenizer_from_gguf(path).encode(TEXT)
    if len(ids) < context:
        raise CodesignError(f"the vector text has {len(ids)} tokens < context {context}", field="--context")
    emb = weights["tok_embeddings"].numpy()[np.asarray(ids[:context])]
    prefix = f"layers.{layer_index}."
    lw = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    return cfg, lw, N.to_fixed(emb), float(meta.get("rope_theta", 10000.0)), float(meta.get("norm_eps", 1e-5))


def small_layer(seed: int, context: int, d_model: int = 64, n_heads: int = 4, n_kv_heads: int = 2,
                head_dim: int = 16, d_ffn: int = 128):
    """Random small LLaMA layer (for fast design-point tests)."""
    from ...quant import numerics as N
    from ...quant.golden import random_layer_weights
    from ...workload.config import ModelConfig

    cfg = ModelConfig(name=f"tiny-d{d_model}", family="llama", n_layers=1, d_model=d_model, n_heads=n_heads,
                      n_kv_heads=n_kv_heads, head_dim=head_dim, d_ffn=d_ffn, vocab=256)
    rng = np.random.default_rng(seed + 1)
    x = N.to_fixed(rng.normal(0.0, 1.0, (context, d_model)))
    return cfg, random_layer_weights(cfg, seed=seed), x, 10000.0, 1e-5


def golden_decode_step(design: Design, cfg, weights, x, rope_theta: float, eps: float) -> dict:
    """Run the golden pieces: prefill x[:-1] into the KV cache, then one decode step of x[-1]."""
    from ...isa.compiler import plan_layer
    from ...isa.executor import run_images
    from ...isa.memimage import build_images
    from ...quant.golden import prepare_layer

    context = x.shape[0]
    layer = prepare_layer(weights, cfg, design.quant, rope_theta=rope_theta, norm_eps=eps)
    cache = layer.new_cache(context)
    if context > 1:
        layer.forward(x[:-1], 0, cache)
    plan = plan_layer(cfg, design.quant, "decode", 1, context, hw=design.hw, layer=layer)
    if plan.buffer_elems > design.hw.abuf_depth:
        raise CodesignError(f"the layer needs {plan.buffer_elems} activation-buffer elements > abuf_depth "
                            f"{design.hw.abuf_depth}", field="hw.abuf_depth")
    if context > design.hw.kvbuf_depth:
        raise CodesignError(f"context {context} > kvbuf_depth {design.hw.kvbuf_depth}", field="hw.kvbuf_depth")
    images = build_images(plan, layer, x[-1:], cache, design.hw.rows, design.hw.cols)
    steps, _ = run_images(images.as_dict(), design.quant, design.hw.rows, design.hw.cols, len(plan.instrs),
                          plan.buffer_elems)
    return {"images": images.as_dict(), "steps": steps, "n_instr": len(plan.instrs), "context": context,
            "model": cfg.name}


# --------------------------------------------------------------------------- golden folder
def make_golden_vectors(design: Design, out: Path, context: int | None = None, small: dict | None = None) -> dict:
    """Write golden vectors for ``design`` into ``out`` (SmolLM2-135M layer 0 decode step by default;
    ``small`` = kwargs of small_layer for a random small layer)."""
    out = Path(out)
    context = context or DEFAULT_CONTEXT
    V = _golden_vectors_module()
    if V is not None:
        if small is None:
            V.write_vectors(design, DEFAULT_MODEL, DEFAULT_LAYER, out, context=context)
        else:
            dims = {k: v for k, v in small.items() if k != "seed"}
            V.write_vectors(design, None, 0, out, context=context, random_dims=dims, seed=small.get("seed", 0))
        return {"writer": "codesign.quant.vectors"}
    if small is not None:
        cfg, w, x, theta, eps = small_layer(context=context, **small)
    else:
        cfg, w, x, theta, eps = smollm2_layer(DEFAULT_LAYER, context)
    res = golden_decode_step(design, cfg, w, x, theta, eps)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.frombuffer(bytes(img), dtype=np.uint8) for name, img in res["images"].items()}
    meta = {"model": res["model"], "layer": DEFAULT_LAYER, "phase": "decode", "context": res["context"],
            "n_instr": res["n_instr"], "instr_addr": 0, "steps": []}
    for s in res["steps"]:
        key = f"step{s.index:03d}"
        arrays[key] = np.asarray(s.data, dtype=np.int64)
        meta["steps"].append({"index": s.index, "op": s.instr.op, "layer_op": s.instr.layer_op, "kind": s.kind,
                              "offset": int(s.offset), "array": key})
    import io
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(out / "golden.npz", buf.getvalue())
    meta["sha256"] = {"golden.npz": hashlib.sha256((out / "golden.npz").read_bytes()).hexdigest()}
    atomic_write_text(out / "manifest.json", dumps_json(meta))
    return {"writer": "codesign.gen.hls.vectors_bridge"}


def _read_fallback(folder: Path) -> dict:
    man = folder / "manifest.json"
    npz = folder / "golden.npz"
    if not man.is_file() or not npz.is_file():
        raise CodesignError(f"'{folder}' holds no golden vectors (manifest.json / golden.npz)", field="--vectors")
    meta = json.loads(man.read_text())
    digest = hashlib.sha256(npz.read_bytes()).hexdigest()
    if digest != meta.get("sha256", {}).get("golden.npz"):
        raise CodesignError(f"'{npz}' does not match its SHA-256 in manifest.json (corrupted or truncated)",
                            field="--vectors")
    data = np.load(npz)
    return {"meta": meta, "data": data}


def golden_to_tb(golden: Path, tb_dir: Path, design: Design) -> dict:
    """Convert golden vectors into the testbench's files; returns a summary."""
    golden = Path(golden)
    V = _golden_vectors_module()
    if V is not None and not (golden / "golden.npz").is_file():
        summary = _golden_module_to_tb(V, golden, tb_dir)
        _check_matches_design(V.read_vectors(golden).manifest, design)
        return summary
    g = _read_fallback(golden)
    meta, data = g["meta"], g["data"]
    checks = []
    for s in meta["steps"]:
        region = {"buf": "abuf", "kv": "kv", "io": "io"}[s["kind"]]
        checks.append(Check(s["index"], region, s["offset"], data[s["array"]]))
    summary = write_tb_files(tb_dir, data["gmem_w"].tobytes(), data["gmem_kv"].tobytes(), data["gmem_io"].tobytes(),
                             meta["instr_addr"], meta["n_instr"], checks)
    summary["description"] = (f"{meta['model']} layer {meta['layer']} {meta['phase']} step at context "
                              f"{meta['context']}, {meta['n_instr']} instructions")
    summary.update(model=meta["model"], context=meta["context"])
    return summary


def _golden_module_to_tb(V, golden: Path, tb_dir: Path) -> dict:
    vec = V.read_vectors(golden)       # checks presence, sizes and SHA-256 of every file
    m = vec.manifest
    checks = [Check(s["index"], {"buf": "abuf", "kv": "kv", "io": "io"}[s["kind"]], s["offset"],
                    vec.expected(s["index"])) for s in m["steps"]]
    f = vec.files
    summary = write_tb_files(tb_dir, f["gmem_w.bin"], f["gmem_kv.bin"], f["gmem_io.bin"],
                             m["regions"]["gmem_io"]["instructions"][0], m["instructions"], checks)
    name = m["model"]["name"]
    summary["description"] = (f"{name} layer {m['layer']} {m['phase']} step at context {m['context']}, "
                              f"{m['instructions']} instructions")
    summary.update(model=name, context=m["context"], source=m["source"].get("kind"))
    return summary


def _check_matches_design(manifest: dict, design: Design) -> None:
    """Vectors packed for another quantization or MPE tile cannot run on this kernel: say so."""
    q = manifest.get("quant", {})
    want = {"wbits": design.quant.wbits, "abits": design.quant.abits, "kvbits": design.quant.kvbits,
            "group": design.quant.group, "zero_point": design.quant.zero_point}
    for k, v in want.items():
        if q.get(k) != v:
            raise CodesignError(f"the vectors were written for {k}={q.get(k)}, the design has {k}={v}; "
                                "write vectors for this design (codesign vectors --design ...)", field="--vectors")
    mpe = manifest.get("mpe", {})
    for k in ("rows", "cols"):
        if mpe.get(k) != getattr(design.hw, k):
            raise CodesignError(f"the vectors pack weights for {k}={mpe.get(k)}, the design has "
                                f"{k}={getattr(design.hw, k)}", field="--vectors")
