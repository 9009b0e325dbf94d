"""Checks of workload flags shared by the commands that take them (not a command itself)."""

from __future__ import annotations

from ..errors import CodesignError


def kv_cache_gb(cfg, tokens: int, batch: int, kvbits: int) -> float:
    """KV-cache size: keys and values of every layer for ``tokens`` tokens (the scales left out)."""
    return 2 * cfg.n_kv_heads * cfg.head_dim * kvbits / 8 * cfg.n_layers * tokens * batch / 1e9


def check_context(workload, cfg, device, kvbits: int) -> None:
    """The decode context against the tokens held, the model's limit and the device's memory.

    ``kvbits``: the smallest KV-cache width considered (a sweep) or the design's (one point). The
    analytical model sizes the KV cache for prompt + generate tokens.
    """
    held = workload.prompt + workload.generate
    if workload.context is not None and workload.context > held:
        raise CodesignError(f"{workload.context} is more than --prompt + --generate ({held}), the tokens the "
                            "KV cache holds; raise --prompt or --generate", field="--context")
    longest = max(held, workload.decode_context)
    if longest > cfg.max_context:
        raise CodesignError(f"prompt + generate = {held} tokens exceed {cfg.name}'s maximum context of "
                            f"{cfg.max_context}", field="--prompt")
    mem = getattr(device, "mem_gb", None)
    if mem:
        gb = kv_cache_gb(cfg, held, workload.batch, kvbits)
        if gb > mem:
            raise CodesignError(f"the KV cache of {held} tokens (prompt + generate) x batch {workload.batch} "
                                f"takes {gb:.3g} GB at KV{kvbits}, more than the {device.name}'s {mem:g} GB of "
                                "memory; shorten --prompt/--generate or --batch, or pick a device with more "
                                "memory", field="--prompt")
