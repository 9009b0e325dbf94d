"""A real LLM for accuracy measurement: loaders (GGUF, HF safetensors), tokenizer, torch LLaMA,
perplexity on a fixed English sample, and quantized evaluation in the golden model's arithmetic."""

from .checkpoint import load_checkpoint, resolve_model
from .paths import smollm2_gguf_path

__all__ = ["load_checkpoint", "resolve_model", "smollm2_gguf_path"]
