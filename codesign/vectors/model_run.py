"""A whole model on the processor: every decoder layer, the final RMSNorm, the LM head and greedy
sampling, with the KV cache carried across tokens (issue 17).

The split between host and processor (what ``codesign run`` states):

* host: token embedding lookup (the float row of the checkpoint, ``to_fixed`` into ACT_FRAC int32,
  as the accuracy table's emulation keeps embeddings float), the LM head (float64 product of the
  processor's final hidden state with the tied embedding matrix) and the greedy argmax;
* processor: every decoder layer (``isa.compiler.plan_layer``, one compiled program per layer,
  relocated into one instruction stream) and the final RMSNorm (one NORM instruction), then a
  STORE of the normalised hidden state.

One memory image holds the whole model: ``gmem_w`` every layer's packed weights (layer l at
``l * layer_bytes``), ``gmem_kv`` every layer's KV region (kept across tokens: the processor's
KVSTOREs fill it, nothing rewrites it), ``gmem_io`` the instruction stream at 0, the residual
stream between layers (layer l LOADs ``x[l]`` and STOREs ``x[l + 1]``), ``h_out``, every layer's
RMSNorm gains, the final gain and one RoPE table shared by all layers. Per step the host writes
only the instruction words (the positions change) and the embedded input tokens.

The prompt runs as prefill: GEMMs over as many prompt tokens as the design's activation buffer
holds (``chunk``), then one decode step per generated token.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..design import Design
from ..errors import CodesignError
from ..quant import numerics as N
from ..workload.config import ModelConfig

RANDOM_MODEL_KEYS = ("d_model", "n_heads", "n_kv_heads", "head_dim", "d_ffn", "n_layers", "vocab")
RANDOM_MODEL_DEFAULT = dict(d_model=64, n_heads=4, n_kv_heads=2, head_dim=16, d_ffn=96, n_layers=2, vocab=256)
SMOOTH_ALPHA = 0.5          # the accuracy table's SmoothQuant strength (its numerics.smoothing block)
SMOOTH_WINDOWS = 8          # and its calibration windows (disjoint from the perplexity sample)


# ---------------------------------------------------------------------------------------------- model
@dataclass
class ModelSource:
    """Float weights of a whole model (canonical names, numpy float32) and what the host needs."""
    cfg: ModelConfig
    weights: dict               # "layers.{i}.attn.wq", ..., "tok_embeddings", "norm"
    lm_head: np.ndarray         # [vocab, d_model]
    rope_theta: float
    norm_eps: float
    tokenizer: object = None    # BPETokenizer of the GGUF, None for a random model
    description: dict = field(default_factory=dict)
    ckpt_cfg: dict | None = None  # the loader's config dict (the torch emulation's model config)


def parse_random_model(spec: str | None) -> dict:
    """'n_layers=2,vocab=256,d_model=64,...' -> the dimensions of a small random model."""
    from .golden_vectors import parse_int_spec
    dims = dict(RANDOM_MODEL_DEFAULT)
    for k, v in parse_int_spec(spec or "", RANDOM_MODEL_KEYS).items():
        if v < 1:
            raise CodesignError(f"{k} must be >= 1, got {v}", field="--random")
        dims[k] = v
    return dims


def random_model(spec: str | None = None, seed: int = 0) -> ModelSource:
    """A small random LLaMA (``random_layer_weights`` per layer, N(0, 1) embeddings and a separate
    N(0, 1) LM head, so that greedy decoding does not echo its input): a model small enough for the
    RTL simulation; its 'text' is token ids."""
    from ..quant.golden import random_layer_weights

    dims = parse_random_model(spec)
    layer_dims = {k: v for k, v in dims.items() if k not in ("n_layers", "vocab")}
    cfg = ModelConfig(name="random-" + "-".join(f"{k}{dims[k]}" for k in RANDOM_MODEL_KEYS), family="llama",
                      n_layers=dims["n_layers"], vocab=dims["vocab"], tied_embeddings=False,
                      source=f"random weights (seed {seed})", **layer_dims).validate()
    w = {}
    for i in range(cfg.n_layers):
        for k, v in random_layer_weights(cfg, seed + i).items():
            w[f"layers.{i}.{k}"] = np.asarray(v, dtype=np.float32)
    rng = np.random.default_rng(seed + 1000)
    w["tok_embeddings"] = rng.normal(0, 1.0, (cfg.vocab, cfg.d_model)).astype(np.float32)
    w["norm"] = rng.normal(1.0, 0.2, cfg.d_model).astype(np.float32)
    w["output"] = rng.normal(0, 1.0, (cfg.vocab, cfg.d_model)).astype(np.float32)
    return ModelSource(cfg, w, w["output"], 10000.0, 1e-5, None,
                       {"kind": "random", "seed": seed, "dims": dims})


def real_model(model: str = "smollm2-135m", smooth: bool = True) -> ModelSource:
    """A GGUF checkpoint, loaded as the accuracy table loads it (``load_checkpoint``), with the table's
    SmoothQuant folded in (alpha 0.5, factors from its 8 calibration windows of the table's text):
    the same float weights every table row quantizes, so the hardware's perplexity is comparable."""
    from ..quant.llm.checkpoint import load_checkpoint, resolve_model
    from ..quant.real_layer import model_config

    path = resolve_model(model)
    if path.is_dir():
        raise CodesignError(f"'{path}': the run needs the GGUF's tokenizer; give a .gguf model", field="--model")
    ckpt_cfg, tw = load_checkpoint(path)
    from ..quant.llm.tokenizer import tokenizer_from_gguf
    tok = tokenizer_from_gguf(path)
    desc = {"kind": "checkpoint", "path": str(path), "name": ckpt_cfg["name"], "smoothing": None}
    if smooth:
        from ..quant.llm.axes import DEFAULT_WINDOWS
        from ..quant.llm.smoothing import activation_maxima, smooth_weights
        from ..quant.llm.text_sample import build_sample

        _, calib = build_sample(tok, DEFAULT_WINDOWS, calibration=SMOOTH_WINDOWS)
        maxima = _cached_maxima(path, calib, lambda: activation_maxima(ckpt_cfg, tw, calib))
        tw = smooth_weights(ckpt_cfg, tw, maxima, SMOOTH_ALPHA)
        desc["smoothing"] = {"alpha": SMOOTH_ALPHA, "calibration_windows": SMOOTH_WINDOWS,
                             "as": "the accuracy table (codesign.quant.llm.smoothing)"}
    w = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in tw.items()}
    cfg = model_config(ckpt_cfg)
    head = w["tok_embeddings"] if ckpt_cfg.get("tied_embeddings", True) else w["output"]
    return ModelSource(cfg, w, head, float(ckpt_cfg.get("rope_theta", 10000.0)),
                       float(ckpt_cfg.get("norm_eps", 1e-5)), tok, desc, dict(ckpt_cfg))


def _cached_maxima(path, calib, compute):
    """SmoothQuant's per-channel activation maxima (a float pass over the calibration windows, the
    slow part of loading), cached under $CODESIGN_CACHE (default ~/.cache/codesign) by the checkpoint's
    and the calibration windows' bytes and the sources that compute them."""
    import hashlib
    import os
    from pathlib import Path

    import torch

    from ..fsutil import atomic_write_bytes

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    h.update(calib.numpy().tobytes())
    here = Path(__file__).resolve().parents[1] / "quant" / "llm"
    for name in ("smoothing.py", "model.py", "gguf_loader.py"):
        h.update((here / name).read_bytes())
    base = Path(os.environ.get("CODESIGN_CACHE") or Path.home() / ".cache" / "codesign")
    file = base / "smooth_maxima" / f"{h.hexdigest()[:16]}.pt"
    if file.is_file():
        try:
            return torch.load(file, weights_only=True)
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
            pass
    maxima = compute()
    import io
    buf = io.BytesIO()
    torch.save(maxima, buf)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(file, buf.getvalue())
    except Exception:  # noqa: BLE001 - a read-only cache only costs the recomputation
        pass
    return maxima


def model_from_spec(spec: dict) -> ModelSource:
    """The model a run spec names (what the RTL bench rebuilds in its own process):
    {"kind": "random", "dims": "n_layers=2,...", "seed": 0} or {"kind": "checkpoint", "name": ..., "smooth": true}."""
    if spec.get("kind") == "random":
        return random_model(spec.get("dims"), int(spec.get("seed", 0)))
    if spec.get("kind") == "checkpoint":
        return real_model(spec["name"], bool(spec.get("smooth", True)))
    raise CodesignError(f"model kind {spec.get('kind')!r}; allowed: random, checkpoint", field="model")


@dataclass
class IntModel:
    """A model prepared for the integer datapath: one ``golden.IntLayer`` per layer, the final gain."""
    src: ModelSource
    layers: list
    final_gamma: tuple          # (int16 gamma [d], shift)
    eps_q: int

    @property
    def cfg(self) -> ModelConfig:
        return self.src.cfg

    def embed(self, ids) -> np.ndarray:
        """int32 [m, d] ACT_FRAC rows of the token embeddings (host)."""
        return N.to_fixed(self.src.weights["tok_embeddings"][np.asarray(ids, dtype=np.int64)].astype(np.float64))

    def logits(self, h) -> np.ndarray:
        """float64 [m, vocab]: the LM head on the processor's final hidden state (host)."""
        return N.from_fixed(np.asarray(h, dtype=np.int64)) @ self.src.lm_head.astype(np.float64).T

    def final_norm(self, x) -> np.ndarray:
        g, sh = self.final_gamma
        return N.rmsnorm(x, g, sh, N.recip_n(x.shape[-1]), self.eps_q)

    def forward(self, x, start: int, caches: list) -> np.ndarray:
        """The golden pipeline without instructions: every layer's ``IntLayer.forward`` and the final
        RMSNorm; int32 [m, d] in, normalised int32 [m, d] out (bit-exact with the instruction stream,
        ``tests/test_model_run.py``)."""
        for layer, cache in zip(self.layers, caches):
            x = layer.forward(x, start, cache)
        return self.final_norm(x)


def prepare_model(src: ModelSource, quant, layer_wbits: list | None = None) -> IntModel:
    """``layer_wbits``: per layer {"attn": bits, "ffn": bits} (per-layer mixed precision: a design's
    ``quant.mixed_precision.design_unit_wbits``); default quant.wbits everywhere."""
    from ..quant.golden import prepare_layer

    layers = [prepare_layer({k[len(f"layers.{i}."):]: v for k, v in src.weights.items()
                             if k.startswith(f"layers.{i}.")}, src.cfg, quant, rope_theta=src.rope_theta,
                            norm_eps=src.norm_eps, unit_wbits=layer_wbits[i] if layer_wbits else None)
              for i in range(src.cfg.n_layers)]
    return IntModel(src, layers, N.quantize_gamma(src.weights["norm"].astype(np.float64)), N.eps_fixed(src.norm_eps))


def prepare_for(src: ModelSource, design: Design) -> IntModel:
    """The model as the design's processor holds it: per-layer mixed precision takes each layer's
    attention / FFN bits from the design (``quant.mixed_precision.design_unit_wbits``)."""
    from ..quant.mixed_precision import design_unit_wbits
    lw = [design_unit_wbits(design, i) for i in range(src.cfg.n_layers)] if design.quant.mixed else None
    return prepare_model(src, design.quant, lw)


# ------------------------------------------------------------------------------------ program + images
@dataclass
class Step:
    """One processor run: the words and input the host writes, where it reads the result."""
    m: int                      # tokens of this step (prefill chunk or 1)
    context: int                # position after the step
    instrs: list
    patches: list               # (gmem_io byte address, bytes)
    out: tuple                  # (gmem_io byte address, bytes) of h_out
    n_instr: int = 0


def _align(a: int) -> int:
    from ..quant.pack import align
    return align(a)


class ModelImage:
    """The linked whole-model program and the three memory images for one design, KV capacity ``cap``
    and prefill chunks of up to ``chunk`` tokens."""

    def __init__(self, model: IntModel, design: Design, cap: int, chunk: int):
        from ..isa.compiler import plan_layer

        self.model, self.design, self.cap, self.chunk = model, design, cap, chunk
        cfg, q, hw = model.cfg, design.quant, design.hw
        probe = plan_layer(cfg, q, "prefill" if chunk > 1 else "decode", chunk, cap, hw=hw, layer=model.layers[0],
                           kv_capacity=cap)
        self.per_layer = len(probe.instrs)
        self.n_instr = cfg.n_layers * self.per_layer + 2          # + final NORM + STORE
        # a layer's weight region: the largest layer's (mixed precision: raised layers stream more bytes)
        self.layer_w = max(_align(plan_layer(cfg, q, "decode", 1, 1, hw=hw, layer=layer, kv_capacity=cap)
                                  .sizes["gmem_w"]) for layer in model.layers)
        self.layer_kv = _align(probe.kv_region[1])
        self.buffer_elems = probe.buffer_elems
        d = cfg.d_model
        io, a = {}, 0
        xb = 4 * chunk * d
        regions = [("instructions", self.n_instr * 64)] + [(f"x{l}", xb) for l in range(cfg.n_layers + 1)] + \
            [("h_out", xb)] + [(f"gamma{l}_{n}", 2 * d) for l in range(cfg.n_layers) for n in ("attn_norm", "ffn_norm")] + \
            [("final_norm", 2 * d), ("rope", 2 * cap * cfg.head_dim)]
        for name, size in regions:
            io[name] = (a, size)
            a = _align(a + size)
        self.io = io
        self.io_bytes = a

    # the images the processor starts from (weights, an empty KV cache, gains and the RoPE table)
    def images(self) -> dict:
        from ..isa.compiler import plan_layer
        from ..quant import pack

        cfg, hw = self.model.cfg, self.design.hw
        w = bytearray(self.layer_w * cfg.n_layers)
        for l, layer in enumerate(self.model.layers):
            # each layer's own plan: its matrices at their bits (Instr.wbits of its GEMVs)
            plan = plan_layer(cfg, self.design.quant, "decode", 1, 1, hw=hw, layer=layer, kv_capacity=self.cap)
            for name, (addr, size) in plan.w_regions.items():
                b = pack.pack_matrix(layer.mats[name], hw.rows, hw.cols)
                assert len(b) == size, (name, len(b), size)
                w[l * self.layer_w + addr:l * self.layer_w + addr + size] = b
        io = bytearray(self.io_bytes)
        for l, layer in enumerate(self.model.layers):
            for n in ("attn_norm", "ffn_norm"):
                pack.put_i16(io, self.io[f"gamma{l}_{n}"][0], layer.gammas[n][0])
        pack.put_i16(io, self.io["final_norm"][0], self.model.final_gamma[0])
        pack.put_i16(io, self.io["rope"][0], self.model.layers[0].rope_table(self.cap).reshape(-1))
        return {"gmem_w": w, "gmem_kv": bytearray(self.layer_kv * cfg.n_layers), "gmem_io": io}

    def program(self, m: int, context: int) -> list:
        """The instruction stream of one step: every layer's compiled program relocated into the whole
        model's images, then the final RMSNorm and the STORE of h_out."""
        from ..isa.compiler import plan_layer
        from ..isa.instr import FUNC_NORM_RMS, Instr

        cfg, q, hw = self.model.cfg, self.design.quant, self.design.hw
        if not 1 <= m <= self.chunk or context > self.cap or context < m:
            raise CodesignError(f"step of {m} tokens at context {context}: outside chunk {self.chunk} / "
                                f"capacity {self.cap}", field="--tokens")
        out = []
        for l, layer in enumerate(self.model.layers):
            plan = plan_layer(cfg, q, "decode" if m == 1 else "prefill", m, context, hw=hw, layer=layer,
                              kv_capacity=self.cap)
            for ins in plan.instrs:
                out.append(dataclasses.replace(ins, addr=self._relocate(ins, l)))
            buf = plan.buffers
        g, sh = self.model.final_gamma
        out.append(Instr("NORM", m=m, n=cfg.d_model, src=buf["X"], dst=buf["H"], addr=self.io["final_norm"][0],
                         func=FUNC_NORM_RMS, mult=N.recip_n(cfg.d_model), imm=self.model.eps_q, shift=sh))
        out.append(Instr("STORE", m=m, n=cfg.d_model, src=buf["H"], addr=self.io["h_out"][0]))
        assert len(out) == self.n_instr
        return out

    def _relocate(self, ins, l: int) -> int:
        op, lop = ins.op, ins.layer_op
        if op == "GEMV":
            return l * self.layer_w + ins.addr
        if op in ("KVSTORE", "ATTN"):
            return l * self.layer_kv + ins.addr
        if op == "LOAD":
            return self.io[f"x{l}"][0]
        if op == "STORE":
            return self.io[f"x{l + 1}"][0]
        if op == "NORM":
            return self.io[f"gamma{l}_{lop}"][0]
        if op == "ROPE":
            return self.io["rope"][0]
        if op in ("ADD", "ACT"):          # on-chip only
            return ins.addr
        raise CodesignError(f"instruction {op} ({lop}) has no place in the whole-model image", field="op")

    def step(self, m: int, context: int, x) -> Step:
        from ..isa.encoding import encode
        from ..quant import pack

        instrs = self.program(m, context)
        words = encode(instrs).astype("<u4").tobytes()
        xb = bytearray(4 * m * self.model.cfg.d_model)
        pack.put_i32(xb, 0, np.asarray(x).reshape(-1))
        return Step(m, context, instrs, [(0, words), (self.io["x0"][0], bytes(xb))],
                    (self.io["h_out"][0], 4 * m * self.model.cfg.d_model), len(instrs))


# -------------------------------------------------------------------------------------------- backends
class GoldenBackend:
    """The golden executor (``isa.executor``) over the whole-model images, kept across steps."""
    name = "golden"

    def start(self, image: ModelImage, images: dict) -> None:
        from ..isa.executor import Executor

        q, hw = image.design.quant, image.design.hw
        self.ex = Executor(q, hw.rows, hw.cols, bytes(images["gmem_w"]), images["gmem_kv"], images["gmem_io"],
                           image.buffer_elems)

    def run(self, step: Step) -> tuple[bytes, float | None]:
        from ..isa.encoding import decode

        io = self.ex.gmem_io
        for addr, data in step.patches:
            io[addr:addr + len(data)] = data
        words = np.frombuffer(bytes(io[:step.n_instr * 64]), dtype="<u4")
        for i, ins in enumerate(decode(words)):
            self.ex.step(i, ins)
        a, n = step.out
        return bytes(io[a:a + n]), None

    def close(self) -> None:
        self.ex = None


def fits(design: Design, cfg, m: int, context: int) -> list[tuple[str, int, int]]:
    """(design field, need, has) of every on-chip buffer a step of ``m`` tokens at ``context`` overflows."""
    from ..isa.compiler import buffer_map

    hw = design.hw
    need = [("hw.abuf_depth", buffer_map(cfg, m)[1], hw.abuf_depth), ("hw.kvbuf_depth", context, hw.kvbuf_depth)]
    return [(n, w, h) for n, w, h in need if w > h]


def max_chunk(design: Design, cfg, prompt: int) -> int:
    """The largest prefill chunk (tokens per GEMM) the activation buffer holds, at most the prompt."""
    from ..isa.compiler import buffer_map

    per_token = buffer_map(cfg, 1)[1]
    return max(1, min(prompt, design.hw.abuf_depth // per_token))


@dataclass
class RunResult:
    prompt_ids: list
    new_ids: list
    steps: list = field(default_factory=list)      # per step: m, context, seconds, cycles, model_cycles
    hidden: list = field(default_factory=list)     # h_out (int32) of every step's last token
    logits: list = field(default_factory=list)     # float64 logits of every generated token


class Generation:
    """The host side of a greedy generation, one processor step at a time: ``next_step()`` gives the
    step to run (None when done), ``take(step, out, cycles, seconds)`` takes the h_out bytes the
    processor wrote. Backends that run asynchronously (the cocotb RTL bench) drive it directly."""

    def __init__(self, model: IntModel, design: Design, prompt_ids: list, n_new: int, *,
                 chunk: int | None = None, model_cycles: bool = True):
        cfg = model.cfg
        if not prompt_ids:
            raise CodesignError("the prompt has no tokens", field="--prompt")
        if n_new < 1:
            raise CodesignError(f"must be >= 1, got {n_new}", field="--tokens")
        bad_ids = [int(i) for i in prompt_ids if not 0 <= int(i) < cfg.vocab]
        if bad_ids:
            raise CodesignError(f"token id {bad_ids[0]} outside the vocabulary 0..{cfg.vocab - 1}", field="--prompt")
        cap = len(prompt_ids) + n_new - 1
        chunk = chunk or max_chunk(design, cfg, len(prompt_ids))
        bad = fits(design, cfg, chunk, cap)
        if bad:
            name, want, have = bad[0]
            raise CodesignError(f"the run needs {want} ({len(prompt_ids)} prompt + {n_new} new tokens, prefill "
                                f"chunks of {chunk}), the design has {have}", field=name)
        self.model, self.design, self.n_new = model, design, n_new
        self.image = ModelImage(model, design, cap, chunk)
        self.result = RunResult([int(i) for i in prompt_ids], [])
        self._cyc = _cycle_model(design) if model_cycles else None
        self._pos, self._pending = 0, [int(i) for i in prompt_ids]

    @property
    def chunk(self) -> int:
        return self.image.chunk

    def next_step(self) -> Step | None:
        if len(self.result.new_ids) >= self.n_new:
            return None
        feed = self._pending[:self.chunk]
        return self.image.step(len(feed), self._pos + len(feed), self.model.embed(feed))

    def take(self, step: Step, out: bytes, cycles: float | None, seconds: float) -> None:
        cfg, res = self.model.cfg, self.result
        self._pending = self._pending[step.m:]
        self._pos = step.context
        h = np.frombuffer(out, dtype="<i4").astype(np.int64).reshape(step.m, cfg.d_model)
        res.steps.append({"m": step.m, "context": step.context, "instructions": step.n_instr, "seconds": seconds,
                          "cycles": cycles,
                          "model_cycles": self._cyc(step.instrs) if self._cyc else None})
        if self._pending:          # more prompt chunks to prefill: no token sampled yet
            return
        logits = self.model.logits(h[-1:])[0]
        res.hidden.append(h[-1].copy())
        res.logits.append(logits)
        nxt = int(np.argmax(logits))
        res.new_ids.append(nxt)
        self._pending = [nxt]


def generate(model: IntModel, design: Design, backend, prompt_ids: list, n_new: int, *,
             chunk: int | None = None, model_cycles: bool = True) -> RunResult:
    """Greedy generation of ``n_new`` tokens after ``prompt_ids`` on ``backend`` (golden, csim): the
    prompt as prefill chunks, then one decode step per token; the KV cache stays in the images."""
    import time

    gen = Generation(model, design, prompt_ids, n_new, chunk=chunk, model_cycles=model_cycles)
    backend.start(gen.image, gen.image.images())
    try:
        while (step := gen.next_step()) is not None:
            t0 = time.perf_counter()
            out, cycles = backend.run(step)
            gen.take(step, out, cycles, time.perf_counter() - t0)
    finally:
        backend.close()
    return gen.result


def _cycle_model(design: Design):
    """Cycles of an instruction stream by the analytical model (``model.cycles.instruction_cycles``)
    for the design's device and memory, and, for the RTL comparison, the simulated AxiRam memory."""
    from ..devices import get_device
    from ..model.cycles import instruction_cycles
    from ..model.memory import SIMULATED_AXIRAM

    dev = get_device(design.device)

    def cycles(instrs) -> dict:
        dev_c = instruction_cycles(instrs, design.quant, design.hw, dev)["cycles"]
        sim_c = instruction_cycles(instrs, design.quant, design.hw, dev, memory=SIMULATED_AXIRAM)["cycles"]
        return {"device": float(np.sum(dev_c)), "simulated_axiram": float(np.sum(sim_c))}
    return cycles


__all__ = ["ModelSource", "model_from_spec", "IntModel", "ModelImage", "GoldenBackend", "generate", "prepare_model", "real_model",
           "random_model", "RunResult", "Step", "Generation", "max_chunk", "fits"]
