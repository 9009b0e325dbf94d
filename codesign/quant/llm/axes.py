"""What `codesign accuracy` measures by default, in a torch-free module (the CLI parser reads it)."""

# The quantization axes of issue 4: W in {2,3,4,8}, A in {4,8,16}, KV in {4,8,16}, group in {32,64,128}.
AXES = {"wbits": (2, 3, 4, 8), "abits": (4, 8, 16), "kvbits": (4, 8, 16), "group": (32, 64, 128)}
# Perplexity windows of 256 tokens: 33 x 255 = 8,415 scored tokens (issue 15: at least 8,192).
DEFAULT_WINDOWS = 33
TEXTS = ("alice29", "stdlib-docstrings")   # text_sample.PROSE keys, then text_sample.DOCSTRINGS
DEFAULT_TEXT = "alice29"
