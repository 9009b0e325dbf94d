import numpy as np
import pytest

from codesign.errors import CodesignError
from codesign.isa.encoding import WORDS_PER_INSTR, decode, encode
from codesign.isa.instr import LAYER_OPS, OPCODES, Instr


def _random_instrs(rng, count):
    out = []
    for _ in range(count):
        out.append(Instr(op=str(rng.choice(OPCODES)), m=int(rng.integers(1, 1 << 20)), n=int(rng.integers(0, 1 << 31)),
                         k=int(rng.integers(0, 1 << 31)), heads=int(rng.integers(0, 1 << 16)),
                         kv_heads=int(rng.integers(0, 1 << 16)), head_dim=int(rng.integers(0, 1 << 16)),
                         ctx=int(rng.integers(0, 1 << 31)), src=int(rng.integers(0, 1 << 32)),
                         src2=int(rng.integers(0, 1 << 32)), dst=int(rng.integers(0, 1 << 32)),
                         addr=int(rng.integers(0, 1 << 62)), layer_op=str(rng.choice(LAYER_OPS)),
                         func=int(rng.integers(0, 3)), slot=int(rng.integers(0, 9)),
                         shift=int(rng.integers(-(1 << 15), 1 << 15)), mult=int(rng.integers(0, 1 << 32)),
                         imm=int(rng.integers(-(1 << 31), 1 << 31)), wbits=int(rng.choice([0, 4, 8]))))
    return out


def test_round_trip_random():
    rng = np.random.default_rng(1)
    instrs = _random_instrs(rng, 200)
    words = encode(instrs)
    assert words.dtype == np.uint32 and words.size == 200 * WORDS_PER_INSTR
    assert decode(words) == instrs


def test_field_positions_documented():
    # op in word 0 bits [7:0], m in word 1, addr split over words 10/11, shift signed in word 5 [31:16]
    w = encode([Instr("ATTN", m=3, addr=(5 << 32) | 7, shift=-2, layer_op="attn")])
    assert w[0] & 0xFF == OPCODES.index("ATTN")
    assert (w[0] >> 24) == LAYER_OPS.index("attn")
    assert w[1] == 3 and w[10] == 7 and w[11] == 5
    assert (w[5] >> 16) == 0xFFFE
    # a GEMV's weight bits in word 14 [7:0]; 0 (the build's WBITS) leaves every uniform instruction word as before
    w = encode([Instr("GEMV", wbits=8), Instr("GEMV")])
    assert w[14] == 8 and w[16 + 14] == 0


def test_errors():
    with pytest.raises(CodesignError):
        encode([Instr("GEMV", n=1 << 32)])
    with pytest.raises(CodesignError):
        decode(np.zeros(15, dtype=np.uint32))
    bad = encode([Instr("ADD")])
    for word, value in ((14, 1 << 8), (15, 1)):   # reserved: word 14 above wbits, word 15
        bad = encode([Instr("ADD")])
        bad[word] = value
        with pytest.raises(CodesignError):
            decode(bad)
    bad = encode([Instr("ADD")])
    bad[0] = 200
    with pytest.raises(CodesignError):
        decode(bad)
    with pytest.raises(ValueError):
        Instr("FOO")
