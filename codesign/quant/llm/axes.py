"""What `codesign accuracy` measures by default, in a torch-free module (the CLI parser reads it)."""

# The quantization axes of issue 4: W in {2,3,4,8}, A in {4,8,16}, KV in {4,8,16}, group in {32,64,128}.
AXES = {"wbits": (2, 3, 4, 8), "abits": (4, 8, 16), "kvbits": (4, 8, 16), "group": (32, 64, 128)}
DEFAULT_WINDOWS = 4    # perplexity windows of 256 tokens: the committed table's sample (16: 4x the time, tighter figures)
