"""Binary encoding of instructions: 16 little-endian 32-bit words (512 bits, one beat of a
512-bit AXI port) per instruction. Field by field: docs/ISA.md (the table there is ``WORDS``)."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ..errors import CodesignError
from .instr import LAYER_OPS, OPCODES, Instr

WORDS_PER_INSTR = 16
INSTR_BYTES = 4 * WORDS_PER_INSTR   # one instruction as fetched from gmem_io (docs/ISA.md)

# (word, lsb, width, field, signed). Unlisted bits are reserved and must be zero.
WORDS = (
    (0, 0, 8, "op", False),
    (0, 8, 8, "func", False),
    (0, 16, 8, "slot", False),
    (0, 24, 8, "layer_op", False),
    (1, 0, 32, "m", False),
    (2, 0, 32, "n", False),
    (3, 0, 32, "k", False),
    (4, 0, 16, "heads", False),
    (4, 16, 16, "kv_heads", False),
    (5, 0, 16, "head_dim", False),
    (5, 16, 16, "shift", True),
    (6, 0, 32, "ctx", False),
    (7, 0, 32, "src", False),
    (8, 0, 32, "src2", False),
    (9, 0, 32, "dst", False),
    (10, 0, 32, "addr", False),      # addr bits [31:0]
    (11, 0, 32, "addr_hi", False),   # addr bits [63:32]
    (12, 0, 32, "mult", False),
    (13, 0, 32, "imm", True),
    (14, 0, 8, "wbits", False),      # GEMV: weight bits of the matrix (0: the build's WBITS)
)


def _field_values(ins: Instr) -> dict[str, int]:
    v = {name: getattr(ins, name) for _, _, _, name, _ in WORDS if name not in ("op", "layer_op", "addr", "addr_hi")}
    v["op"] = OPCODES.index(ins.op)
    v["layer_op"] = LAYER_OPS.index(ins.layer_op)
    if not 0 <= ins.addr < (1 << 64):
        raise CodesignError(f"addr {ins.addr} does not fit 64 bits", field="addr")
    v["addr"] = ins.addr & 0xFFFFFFFF
    v["addr_hi"] = ins.addr >> 32
    return v


def encode(instrs: Iterable[Instr]) -> np.ndarray:
    """Instructions -> uint32 words (16 per instruction)."""
    instrs = list(instrs)
    out = np.zeros((len(instrs), WORDS_PER_INSTR), dtype=np.uint64)
    for i, ins in enumerate(instrs):
        vals = _field_values(ins)
        for word, lsb, width, name, signed in WORDS:
            val = vals[name]
            lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
            if not lo <= val <= hi:
                raise CodesignError(f"instruction {i} ({ins.op} {ins.layer_op}): {name}={val} does not fit "
                                    f"{'signed ' if signed else ''}{width} bits", field=name)
            out[i, word] |= np.uint64((val & ((1 << width) - 1)) << lsb)
    return out.astype(np.uint32).reshape(-1)


def decode(words: Sequence[int] | np.ndarray) -> list[Instr]:
    """uint32 words -> instructions; rejects a partial instruction, unknown codes, reserved bits."""
    w = np.asarray(words, dtype=np.uint64).reshape(-1)
    if w.size % WORDS_PER_INSTR:
        raise CodesignError(f"{w.size} words is not a multiple of {WORDS_PER_INSTR}", field="words")
    w = w.reshape(-1, WORDS_PER_INSTR)
    used = np.zeros(WORDS_PER_INSTR, dtype=np.uint64)
    for word, lsb, width, _, _ in WORDS:
        used[word] |= np.uint64(((1 << width) - 1) << lsb)
    out = []
    for i, row in enumerate(w):
        if np.any(row & ~used):
            raise CodesignError(f"instruction {i}: reserved bits set", field="words")
        vals = {}
        for word, lsb, width, name, signed in WORDS:
            val = (int(row[word]) >> lsb) & ((1 << width) - 1)
            if signed and val >> (width - 1):
                val -= 1 << width
            vals[name] = val
        if vals["op"] >= len(OPCODES):
            raise CodesignError(f"instruction {i}: unknown opcode {vals['op']}", field="words")
        if vals["layer_op"] >= len(LAYER_OPS):
            raise CodesignError(f"instruction {i}: unknown layer_op id {vals['layer_op']}", field="words")
        vals["op"] = OPCODES[vals["op"]]
        vals["layer_op"] = LAYER_OPS[vals["layer_op"]]
        vals["addr"] = vals["addr"] | (vals.pop("addr_hi") << 32)
        out.append(Instr(**vals))
    return out
