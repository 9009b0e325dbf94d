"""Software stacks a GPU runs batch-1 LLM inference with, and the constants of the GPU model.

Two classes, as published decode speeds separate them (about 2x apart for a 7B model on an A100):

* ``eager``: Hugging Face transformers in eager PyTorch (``model.generate``). Every op is a Python
  call that launches a kernel; at batch 1 the host cannot launch a decoder layer's kernels faster
  than ~1 ms, so the step time is the larger of the host's launch time and the GPU's work.
* ``serving``: an optimised engine (llama.cpp CUDA, vLLM/TGI with CUDA graphs): launches are
  cheap and the step is the GPU's memory-bound work plus a fixed per-layer latency.

The constants are few, shared by every GPU and model, and calibrated once by
``codesign.baselines.calibrate`` from the published measurements marked ``calibration`` in
``gpu_validation.py`` (tests/test_baselines_calibration.py re-runs the fit and checks these numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CodesignError

STACKS = ("eager", "serving")


@dataclass(frozen=True)
class Stack:
    name: str
    eta_bw_hbm: float          # achieved / peak DRAM bandwidth of decode GEMVs on HBM GPUs
    eta_bw_gddr: float         # the same on GDDR GPUs
    layer_cycles: float        # fixed GPU-side latency per decoder layer, in SM boost-clock cycles
    host_layer_s: float        # host (Python) time to launch one decoder layer; 0 = not host-bound
    eta_compute: float         # achieved / peak tensor throughput of prefill GEMMs
    source: str


# Calibrated by ``calibrate.fit_serving`` on the llama.cpp LLaMA-2-7B f16 and q4_0 decode speeds
# (XiongjieDai/GPU-Benchmarks-on-LLM-Inference README, LLaMA 2 table, Dec 2023) on A100-80GB (HBM)
# and RTX 4090 (GDDR6X): for each GPU two precisions give two equations in (eta_bw, fixed time).
SERVING = Stack(
    name="serving",
    eta_bw_hbm=0.751,
    eta_bw_gddr=0.966,
    layer_cycles=2.14e5,
    host_layer_s=0.0,
    # llama.cpp prompt processing (pp512, same README) on RTX 4090 f16: 7349 tok/s x 2 x 6.74e9
    # FLOP = 99 TFLOP/s of 165.2 dense FP16 tensor TFLOP/s (Ada whitepaper Table 2) = 0.60.
    eta_compute=0.60,
    source="calibrated on llama.cpp LLaMA-2-7B decode, A100-80GB + RTX 4090 (XiongjieDai/GPU-Benchmarks-on-LLM-Inference)",
)

# Calibrated by ``calibrate.fit_eager`` on the ML.ENERGY leaderboard v1 A100 batch-1 runs of
# LLaMA-7B and Llama-2-7B-chat (ml-energy/leaderboard data/A100_chat_benchmark.csv): host-bound, so
# their step time over the layer count gives the host time per layer (geometric mean of the two).
EAGER = Stack(
    name="eager",
    eta_bw_hbm=SERVING.eta_bw_hbm,
    eta_bw_gddr=SERVING.eta_bw_gddr,
    layer_cycles=SERVING.layer_cycles,
    host_layer_s=0.826e-3,
    eta_compute=SERVING.eta_compute,
    source="calibrated on ML.ENERGY leaderboard v1 (A100, HF transformers + FastChat, batch 1)",
)

# Power: P = idle + (TDP - idle) * (ACTIVE_FLOOR + (1 - ACTIVE_FLOOR) * u), u = achieved fraction of
# peak DRAM bandwidth plus achieved fraction of peak tensor throughput (capped at 1). ACTIVE_FLOOR is
# the share of the idle-to-TDP range a GPU draws while a process keeps it at full clocks but mostly
# waits; calibrated by ``calibrate.fit_power`` on the ML.ENERGY A100 runs (energy / latency).
ACTIVE_FLOOR = 0.175


def get_stack(name: str) -> Stack:
    if name == "eager":
        return EAGER
    if name == "serving":
        return SERVING
    raise CodesignError(f"got {name!r}; allowed: {', '.join(STACKS)}", field="--stack")
