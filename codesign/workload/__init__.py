"""codesign.workload: model configs (presets + HF config.json) and decoder-layer op accounting."""

from .config import PRESETS, ModelConfig, config_from_hf, load_model_config
from .ops import (Op, decode_weight_bytes, experts_touched, head_ops, kv_bytes_per_token, layer_ops,
                  param_counts, weight_bytes)

__all__ = ["PRESETS", "ModelConfig", "Op", "config_from_hf", "decode_weight_bytes", "experts_touched",
           "head_ops", "kv_bytes_per_token", "layer_ops", "load_model_config", "param_counts",
           "weight_bytes"]
