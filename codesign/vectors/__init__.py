"""codesign.vectors: golden test vectors, the stage above ``isa`` and ``quant``.

It compiles a decoder layer (``codesign.isa``), packs its memory images and runs the golden integer
model on them (``codesign.quant``), and writes what every later stage checks itself against: the
HLS C-simulation (gen/hls), the RTL regression (gen/rtl, sim/) and the exported projects.
"""

from .golden_vectors import (LayerSource, random_config, random_source, read_vectors, real_source, replay,
                             write_vectors)

__all__ = ["LayerSource", "random_config", "random_source", "read_vectors", "real_source", "replay", "write_vectors"]
