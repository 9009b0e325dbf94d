"""Golden test vectors for the HLS and RTL tests of one decoder layer.

``write_vectors(design, model, layer, out_dir, context=...)`` writes, for one decode step (or a
prefill chunk) of one layer:

* ``inputs.bin``    the layer input x, int32 [m, d_model] (ACT_FRAC), little-endian;
* ``gmem_w.bin``, ``gmem_kv.bin``, ``gmem_io.bin`` the memory images as the hardware reads them
  (packed weights; the KV cache already holding the ``context - m`` previous tokens; instructions,
  gains, RoPE table and the input), docs/NUMERICS.md "Memory images";
* ``instr.bin``     the instruction words (uint32, 16 per instruction; also at gmem_io[0]);
* ``expected/NNN_<op>_<layer_op>.bin`` the expected result after EVERY instruction: the on-chip
  tensor it wrote (int32 at the instruction's dst; ROPE also ``..._k.bin``, K rotated in place at
  src2), the layer's KV region after a KVSTORE, or the bytes a STORE wrote to gmem_io;
* ``output.bin``    the layer output, int32 [m, d_model];
* ``manifest.json`` everything needed to run them (design, quant, MPE rows x cols, regions, buffer
  map, per-step file and offset) and the SHA-256 and size of every file.

``read_vectors(dir)`` checks every file against the manifest (missing, truncated, hash mismatch:
one clear ``CodesignError``) and returns the arrays. A real model (SmolLM2-135M by default) uses its
real weights and real text: ``context - m`` tokens of standard-library docstrings are prefilled
through the golden layer to fill the KV cache; small random layers (``random_dims``) serve RTL tests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..design import Design
from ..errors import CodesignError
from ..fsutil import atomic_output_dir, dumps_json
from ..workload.config import ModelConfig
from ..quant import numerics as N

SCHEMA = "codesign.vectors/1"
RANDOM_KEYS = ("d_model", "n_heads", "n_kv_heads", "head_dim", "d_ffn", "n_experts", "top_k")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_int_spec(spec: str, keys) -> dict:
    """'k=v,k=v' with integer values and keys from ``keys`` (the --random option of vectors and run)."""
    items = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if "=" not in part:
            raise CodesignError(f"'{part}' is not key=value; keys: {', '.join(keys)}", field="--random")
        k, v = part.split("=", 1)
        if k not in keys:
            raise CodesignError(f"unknown key '{k}'; allowed: {', '.join(keys)}", field="--random")
        try:
            items[k] = int(v)
        except ValueError:
            raise CodesignError(f"{k}={v!r} is not an integer", field="--random") from None
    return items


def random_config(spec: str | dict) -> ModelConfig:
    """A small random LLaMA layer: 'd_model=64,n_heads=4,n_kv_heads=2,head_dim=16,d_ffn=96[,n_experts=4,top_k=2]'."""
    if isinstance(spec, str):
        spec = parse_int_spec(spec, RANDOM_KEYS)
    base = dict(d_model=64, n_heads=4, n_kv_heads=2, head_dim=16, d_ffn=96, n_experts=1, top_k=1)
    base.update(spec)
    cfg = ModelConfig(name="random-" + "-".join(f"{k}{base[k]}" for k in RANDOM_KEYS), family="llama",
                      n_layers=1, vocab=1, source="random weights (codesign.quant.golden.random_layer_weights)",
                      **base)
    return cfg.validate()


@dataclass
class LayerSource:
    """Float weights of one layer plus its input tokens (float [context, d_model])."""
    cfg: ModelConfig
    weights: dict
    x: np.ndarray
    rope_theta: float
    norm_eps: float
    description: dict


def real_source(model: str, layer: int, context: int) -> LayerSource:
    from ..quant.float_ref import FloatCache, float_layer
    from ..quant.real_layer import load_layers, real_token_ids

    real = load_layers(model, upto=layer)
    if real.path.is_dir():
        # an HF folder carries no tokenizer we read: seeded token ids (recorded as such in the manifest)
        ids = np.random.default_rng(0).integers(0, real.embeddings.shape[0], context).tolist()
        text = "seeded random token ids (numpy default_rng(0)): an HF folder has no GGUF tokenizer"
    else:
        ids = real_token_ids(real.path, context, real.reader)
        text = "module docstrings of the Python standard library (codesign.quant.llm.text_sample)"
    x = real.embeddings[np.asarray(ids)].astype(np.float64)
    for i in range(layer):     # inputs of deeper layers: the float layers before it
        x = float_layer(real.layers[i], real.cfg, x, 0, FloatCache(), rope_theta=real.rope_theta,
                        norm_eps=real.norm_eps)
    desc = {"kind": "checkpoint", "path": str(real.path), "name": real.cfg.name, "token_ids": [int(i) for i in ids],
            "text": text}
    return LayerSource(real.cfg, real.layers[layer], x, real.rope_theta, real.norm_eps, desc)


def random_source(cfg: ModelConfig, context: int, seed: int) -> LayerSource:
    from ..quant.golden import random_layer_weights

    w = random_layer_weights(cfg, seed)
    x = np.random.default_rng(seed + 1).normal(0, 1.0, (context, cfg.d_model))
    return LayerSource(cfg, w, x, 10000.0, 1e-5, {"kind": "random", "seed": seed, "config": asdict(cfg)})


def _model_is_checkpoint(model: str) -> bool:
    from ..quant.llm.checkpoint import KNOWN_MODELS
    return model in KNOWN_MODELS or Path(model).exists()


def write_vectors(design: Design, model: str | None, layer: int, out_dir, *, context: int = 64, tokens: int = 1,
                  random_dims: str | dict | None = None, seed: int = 0, force: bool = False,
                  source: LayerSource | None = None) -> dict:
    """Write the vectors of ``layer`` (decode step when tokens = 1, else a prefill chunk of ``tokens``
    ending at ``context``). Returns the manifest."""
    from ..isa.compiler import plan_layer
    from ..isa.executor import run_images
    from ..isa.memimage import build_images
    from ..quant.golden import prepare_layer

    design = design.validate()
    qn, hw = design.quant, design.hw
    if tokens < 1 or context < tokens:
        raise CodesignError(f"need 1 <= tokens <= context; got tokens={tokens}, context={context}", field="--context")
    if source is None:
        if random_dims is not None:
            source = random_source(random_config(random_dims), context, seed)
        else:
            model = model or design.model
            if not _model_is_checkpoint(model):
                raise CodesignError(f"'{model}' is neither a known checkpoint nor a path; use --random for a "
                                    f"random layer", field="--model")
            source = real_source(model, layer, context)
    cfg = source.cfg
    from ..quant.mixed_precision import design_unit_wbits
    # per-layer mixed precision: this layer's attention / FFN bits (the GEMVs carry them, Instr.wbits)
    int_layer = prepare_layer(source.weights, cfg, qn, rope_theta=source.rope_theta, norm_eps=source.norm_eps,
                              unit_wbits=design_unit_wbits(design, layer))
    xi = N.to_fixed(source.x[:context])
    start = context - tokens
    cache = int_layer.new_cache(context)
    if start:
        int_layer.forward(xi[:start], 0, cache)            # fill the KV cache with the previous tokens
    golden_out = int_layer.forward(xi[start:], start, _copy_cache(cache))
    phase = "decode" if tokens == 1 else "prefill"
    plan = plan_layer(cfg, qn, phase, tokens, context, hw=hw, layer=int_layer, kv_capacity=context)
    images = build_images(plan, int_layer, xi[start:], cache if start else None, hw.rows, hw.cols)
    initial = {k: bytes(v) for k, v in images.as_dict().items()}
    steps, ex = run_images(images.as_dict(), qn, hw.rows, hw.cols, len(plan.instrs), plan.buffer_elems)
    a = plan.io_regions["x_out"][0]
    out = np.frombuffer(bytes(ex.gmem_io[a:a + 4 * tokens * cfg.d_model]), dtype="<i4").reshape(tokens, -1)
    if not np.array_equal(out, golden_out):   # the executor is the golden layer, instruction by instruction
        raise AssertionError("executor output differs from the golden layer")

    files: dict[str, bytes] = {
        "inputs.bin": xi[start:].astype("<i4").tobytes(),
        "instr.bin": initial["gmem_io"][:plan.io_regions["instructions"][1]],
        "gmem_w.bin": initial["gmem_w"], "gmem_kv.bin": initial["gmem_kv"], "gmem_io.bin": initial["gmem_io"],
        "output.bin": out.astype("<i4").tobytes(),
    }
    step_meta = []
    for s in steps:
        name = f"expected/{s.index:03d}_{s.instr.op.lower()}_{s.instr.layer_op or 'none'}.bin"
        data = s.data.astype("<i4").tobytes() if s.kind == "buf" else s.data.astype(np.uint8).tobytes()
        files[name] = data
        meta = {"index": s.index, "op": s.instr.op, "layer_op": s.instr.layer_op, "kind": s.kind,
                "offset": int(s.offset), "elements" if s.kind == "buf" else "bytes": int(s.data.size), "file": name}
        if s.data2 is not None:        # ROPE also rotates K in place (at src2)
            name2 = name[:-4] + "_k.bin"
            files[name2] = s.data2.astype("<i4").tobytes()
            meta.update(offset2=int(s.offset2), elements2=int(s.data2.size), file2=name2)
        step_meta.append(meta)
    manifest = {
        "schema": SCHEMA,
        "design": design.to_dict(),
        "model": asdict(cfg),
        "source": source.description,
        "layer": layer, "phase": phase, "tokens": tokens, "context": context, "kv_capacity": plan.kv_capacity,
        "quant": asdict(qn), "mpe": {"rows": hw.rows, "cols": hw.cols},
        "rope_theta": source.rope_theta, "norm_eps": source.norm_eps,
        "act_frac": N.ACT_FRAC,
        "instructions": len(plan.instrs), "buffer_elems": plan.buffer_elems, "buffers": plan.buffers,
        "regions": {"gmem_w": {k: list(v) for k, v in plan.w_regions.items()},
                    "gmem_io": {k: list(v) for k, v in plan.io_regions.items()},
                    "gmem_kv": {"layer": list(plan.kv_region)}},
        "steps": step_meta,
        "files": {name: {"bytes": len(data), "sha256": sha256(data)} for name, data in sorted(files.items())},
    }
    with atomic_output_dir(out_dir, force) as tmp:
        for name, data in files.items():
            p = tmp / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        (tmp / "manifest.json").write_text(dumps_json(manifest))
    return manifest


def _copy_cache(cache):
    import copy
    return copy.deepcopy(cache)


@dataclass
class Vectors:
    manifest: dict
    files: dict          # name -> bytes

    def array(self, name: str, dtype="<i4") -> np.ndarray:
        return np.frombuffer(self.files[name], dtype=dtype).astype(np.int64)

    @property
    def inputs(self) -> np.ndarray:
        return self.array("inputs.bin").reshape(self.manifest["tokens"], -1)

    @property
    def output(self) -> np.ndarray:
        return self.array("output.bin").reshape(self.manifest["tokens"], -1)

    @property
    def words(self) -> np.ndarray:
        return np.frombuffer(self.files["instr.bin"], dtype="<u4")

    def expected(self, index: int) -> np.ndarray:
        s = self.manifest["steps"][index]
        return self.array(s["file"]) if s["kind"] == "buf" else self.array(s["file"], np.uint8)

    def expected2(self, index: int) -> np.ndarray | None:
        """The second result of a step (ROPE: K rotated in place at ``offset2``), else None."""
        s = self.manifest["steps"][index]
        return self.array(s["file2"]) if "file2" in s else None

    def images(self) -> dict:
        return {k: bytearray(self.files[f"{k}.bin"]) for k in ("gmem_w", "gmem_kv", "gmem_io")}


def read_vectors(path, field: str = "vectors") -> Vectors:
    """Load and verify a vector folder: the manifest's structure (manifest_check), then every file of
    the manifest present, of its size, with its SHA-256. ``field``: the flag errors name."""
    from .manifest_check import check_vector_folder
    path = Path(path)
    if (path / "manifest.json").is_file():
        check_vector_folder(path, field)
    mpath = path / "manifest.json"
    if not mpath.is_file():
        raise CodesignError(f"'{mpath}' not found (not a vector folder)", field="vectors")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CodesignError(f"'{mpath}' is not valid JSON ({e})", field="vectors") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise CodesignError(f"'{mpath}': schema {manifest.get('schema') if isinstance(manifest, dict) else None!r}, "
                            f"expected {SCHEMA!r}", field="vectors")
    files = {}
    for name, meta in manifest["files"].items():
        p = path / name
        if not p.is_file():
            raise CodesignError(f"'{p}' is missing", field="vectors")
        data = p.read_bytes()
        if len(data) != meta["bytes"]:
            raise CodesignError(f"'{p}' is truncated or padded: {len(data)} bytes, manifest says {meta['bytes']}",
                                field="vectors")
        if sha256(data) != meta["sha256"]:
            raise CodesignError(f"'{p}' is corrupted: SHA-256 {sha256(data)[:16]}... does not match the manifest "
                                f"({meta['sha256'][:16]}...)", field="vectors")
        files[name] = data
    return Vectors(manifest, files)


def replay(vec: Vectors) -> list[int]:
    """Run the instruction words of a vector folder over its images with the golden executor; the
    indices of the steps whose result differs from the expected file (empty = all match)."""
    from ..design import Quant
    from ..isa.executor import run_images

    m = vec.manifest
    steps, _ = run_images(vec.images(), Quant(**m["quant"]), m["mpe"]["rows"], m["mpe"]["cols"], m["instructions"],
                          m["buffer_elems"])
    bad = []
    for s in steps:
        got = s.data.astype(np.int64)
        second = vec.expected2(s.index)
        if not np.array_equal(got, vec.expected(s.index)) or (
                second is not None and not np.array_equal(s.data2, second)):
            bad.append(s.index)
    return bad


__all__ = ["write_vectors", "read_vectors", "replay", "random_config", "Vectors", "SCHEMA"]
