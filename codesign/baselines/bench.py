"""The GPU measurement behind ``codesign gpu-bench``: timed, energy-metered windows of batch-1
prefill and decode on the local CUDA GPU, and the record they produce.

Energy per window: NVML's total-energy counter if the GPU has one, else the integral of power
samples taken on a thread (``energy.py`` holds the arithmetic, unit-tested without a GPU).
"""

from __future__ import annotations

import datetime as _dt
import platform
import time

from ..errors import CodesignError
from ..workload import load_model_config
from .bench_model import DecoderStack, decode_flops, weight_only_available
from .energy import energy_from_counter, energy_from_samples, phase_metrics, summarize_repeats
from .gpu_specs import db_name_for_gpu
from .nvml import Nvml, PowerSampler

RECORD_SCHEMA = "codesign.gpu-bench/1"
MODES = ("graph", "eager")
STABLE_CV = 0.05      # repeats whose tokens/s and J/token vary by more than 5% are flagged unstable


class EnergyMeter:
    """Meters one window: counter deltas when available, else power sampling."""

    def __init__(self, nvml: Nvml | None, sample_interval_s: float = 0.01):
        self.nvml, self.dt = nvml, sample_interval_s
        self.method = "none"
        if nvml is not None:
            self.method = "nvml_energy_counter" if nvml.energy_mj() is not None else (
                "nvml_power_sampling" if nvml.power_w() is not None else "none")

    def measure(self, fn) -> tuple[float, float | None]:
        """Run ``fn`` (which must synchronise the GPU); return (seconds, joules or None)."""
        if self.method == "nvml_energy_counter":
            e0, t0 = self.nvml.energy_mj(), time.perf_counter()
            fn()
            t1, e1 = time.perf_counter(), self.nvml.energy_mj()
            return t1 - t0, energy_from_counter(e0, e1)
        if self.method == "nvml_power_sampling":
            with PowerSampler(self.nvml.power_w, self.dt) as s:
                t0 = time.perf_counter()
                fn()
                t1 = time.perf_counter()
            return t1 - t0, energy_from_samples(s.times, s.watts, t0, t1)
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0, None


def _idle_power(meter: EnergyMeter, seconds: float = 2.0) -> float | None:
    secs, joules = meter.measure(lambda: time.sleep(seconds))
    return None if joules is None else joules / secs


def load_real_weights(path: str, cfg) -> tuple[dict, dict]:
    """(weights by canonical name, rope/eps settings) from a GGUF file or HF folder, checked against the
    preset's dimensions."""
    from ..quant.llm.checkpoint import load_checkpoint

    ck_cfg, weights = load_checkpoint(path)
    for f in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ffn", "vocab"):
        if f in ck_cfg and ck_cfg[f] != getattr(cfg, f):
            raise CodesignError(f"checkpoint {f}={ck_cfg[f]} but preset '{cfg.name}' has {getattr(cfg, f)}",
                                field="--weights")
    return weights, {"rope_theta": float(ck_cfg.get("rope_theta", 10000.0)),
                     "norm_eps": float(ck_cfg.get("norm_eps", 1e-5))}


def require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise CodesignError(f"no CUDA GPU: torch {torch.__version__} sees none (CUDA build: "
                            f"{torch.version.cuda or 'none'}); run it on a machine with an NVIDIA GPU", field="gpu")


def run_bench(model: str, dtype: str, tokens: int, prompt: int, warmup: int, repeats: int, mode: str,
              command: str, min_window_s: float = 1.0, weights_path: str | None = None,
              device: str = "cuda", nvml: Nvml | None = None, idle_s: float = 2.0) -> dict:
    """Measure on ``device`` ("cuda"; "cpu" only exercises the procedure, e.g. in tests, with an
    injected ``nvml``-like meter)."""
    import torch

    if mode not in MODES:
        raise CodesignError(f"got {mode!r}; allowed: {', '.join(MODES)}", field="--mode")
    cuda = device == "cuda"
    if cuda:
        require_cuda()
    elif mode == "graph":
        raise CodesignError("CUDA graphs need a CUDA device; use --mode eager", field="--mode")
    cfg = load_model_config(model)
    if dtype in ("int8wo", "int4wo"):
        ok, why = weight_only_available(dtype, device)
        if not ok:
            raise CodesignError(f"torch {torch.__version__} offers no working {device} kernel for {dtype} ({why})",
                                field="--dtype")
    max_seq = prompt + tokens + 1
    weights, settings = load_real_weights(weights_path, cfg) if weights_path else (None, {})
    net = DecoderStack(cfg, dtype, max_seq, device=device, weights=weights, **settings)
    if nvml is None and cuda:
        nvml = Nvml.open(torch.cuda.current_device())
    meter = EnergyMeter(nvml)
    dev = torch.device(device)
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    prompt_ids = torch.randint(0, cfg.vocab, (prompt,), device=dev)
    prompt_pos = torch.arange(prompt, device=dev)
    tok = torch.zeros(1, dtype=torch.long, device=dev)
    pos = torch.zeros(1, dtype=torch.long, device=dev)

    def step():
        logits = net.forward(tok, pos)
        tok.copy_(logits.argmax().view(1))   # greedy: the next token never leaves the GPU
        pos.add_(1)

    with torch.inference_mode():
        # Prefill: warm up, then windows of back-to-back passes lasting >= min_window_s.
        for _ in range(2):
            net.forward(prompt_ids, prompt_pos)
        sync()
        t0 = time.perf_counter()
        net.forward(prompt_ids, prompt_pos)
        sync()
        one = max(time.perf_counter() - t0, 1e-4)
        passes = max(1, int(min_window_s / one) + 1)

        def prefill_window():
            for _ in range(passes):
                net.forward(prompt_ids, prompt_pos)
            sync()

        run = step
        if mode == "graph":
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                pos.fill_(prompt)
                for _ in range(3):
                    step()
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            pos.fill_(prompt)
            with torch.cuda.graph(graph):
                step()
            run = graph.replay
        pos.fill_(prompt)
        for _ in range(warmup):
            if int(pos.item()) >= max_seq - 1:
                pos.fill_(prompt)
            run()
        sync()

        def decode_pass():
            pos.fill_(prompt)       # every pass decodes positions prompt .. prompt + tokens - 1
            for _ in range(tokens):
                run()

        # A metered window repeats the decode pass until it lasts >= min_window_s: NVML's energy
        # counter and power readings update every few tens of ms, so short windows are noisy.
        t0 = time.perf_counter()
        decode_pass()
        sync()
        loops = max(1, int(min_window_s / max(time.perf_counter() - t0, 1e-4)) + 1)

        def decode_window():
            for _ in range(loops):
                decode_pass()
            sync()

        idle_w = _idle_power(meter, idle_s)
        pre, dec = [], []
        for _ in range(repeats):
            secs, joules = meter.measure(prefill_window)
            pre.append(phase_metrics(prompt * passes, secs, joules, idle_w))
            secs, joules = meter.measure(decode_window)
            dec.append(phase_metrics(tokens * loops, secs, joules, idle_w))

    gpu_name = nvml.name() if nvml else (torch.cuda.get_device_name() if cuda else device)
    record = {
        "schema": RECORD_SCHEMA,
        "command": command,
        "timestamp_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": cfg.name,
        "dtype": dtype,
        "mode": mode,
        "stack": "serving" if mode == "graph" else "eager",
        "batch": 1,
        "prompt": prompt,
        "tokens": tokens,
        "warmup": warmup,
        "repeats": repeats,
        "weights": weights_path or "random N(0, 0.02)",
        "weight_bytes": net.weight_bytes(),
        "decode_flops_per_token": decode_flops(cfg),
        "gpu": {
            "name": gpu_name,
            "device": db_name_for_gpu(gpu_name),
            "driver": nvml.driver() if nvml else None,
            "clocks": nvml.clocks() if nvml else {},
            "power_limit_w": nvml.power_limit_w() if nvml else None,
            "idle_power_w": idle_w,
            "energy_method": meter.method,
            "capability": ".".join(map(str, torch.cuda.get_device_capability())) if cuda else None,
        },
        "software": {"torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version()},
        "decode": {"windows": dec, "passes_per_window": loops, **summarize_repeats(dec)},
        "prefill": {"windows": pre, "passes_per_window": passes, **summarize_repeats(pre)},
    }
    # Weight bytes streamed per second at the median decode speed (KV-cache reads not included).
    record["decode"]["weight_stream_gbs"] = net.weight_bytes() * record["decode"]["median"]["tokens_per_s"] / 1e9
    # Stable: the decode speed and energy of the repeats agree within STABLE_CV.
    cvs = [rec_cv for rec_cv in (record["decode"]["tokens_per_s"]["cv"],
                                 (record["decode"]["j_per_token"] or {}).get("cv")) if rec_cv is not None]
    record["stable"] = bool(repeats > 1 and all(cv <= STABLE_CV for cv in cvs))
    if nvml:
        nvml.close()
    return record
