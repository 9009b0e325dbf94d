"""codesign: hardware/software co-design explorer for LLM inference on FPGAs."""

__version__ = "0.1.0"
