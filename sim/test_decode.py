"""codesign_decode against codesign.isa.encoding: random instructions (every opcode, fields at
their extremes, signed fields negative) encoded by the Python encoder, driven into `ir`; every
field output must equal the encoded value, `unsupported` must follow docs/RTL.md's error list, and
the derived geometry must match the formulas the sequencer used inline before the split.

Parameters (env, as the build's): ROWS, COLS, WBITS, WBITS_HI (second weight mode, 0: none), KVBITS,
GROUP, ZP, NM_N, NM_M.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import cocotb
from cocotb.triggers import Timer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from codesign.isa.encoding import WORDS, encode  # noqa: E402
from codesign.quant.pack import stream_geometry  # noqa: E402
from codesign.isa.instr import FUNC_ACT_SWIGLU, FUNC_GEMV_PLAIN, FUNC_NORM_RMS, LAYER_OPS, OPCODES, Instr  # noqa: E402

FIELDS = {"op": "op", "func": "func", "slot": "slot", "m": "m", "n": "n", "k": "k", "heads": "heads",
          "kv_heads": "kvh", "head_dim": "hd", "shift": "shift", "ctx": "ctx", "src": "src", "src2": "src2",
          "dst": "dst", "addr": "addr", "mult": "mult", "imm": "imm", "wbits": "wbits"}


def rand_instr(rng: random.Random) -> Instr:
    def u(bits):
        return rng.choice([0, 1, (1 << bits) - 1, rng.randrange(1 << bits), rng.randrange(1 << min(bits, 12))])

    def s(bits):
        return rng.choice([-(1 << (bits - 1)), -1, 0, (1 << (bits - 1)) - 1, rng.randrange(-(1 << (bits - 1)), 1 << (bits - 1))])

    return Instr(op=rng.choice(OPCODES), func=rng.choice([0, 0, 1, 2, u(8)]), slot=rng.choice([0, 0, 1, u(8)]),
                 layer_op=rng.choice(LAYER_OPS), m=u(32), n=u(32), k=u(32), heads=u(16), kv_heads=u(16),
                 head_dim=u(16), shift=s(16), ctx=u(32), src=u(32), src2=u(32), dst=u(32),
                 addr=rng.choice([0, (1 << 64) - 1, rng.randrange(1 << 64)]), mult=u(32), imm=s(32),
                 wbits=rng.choice([0, 0, 2, 4, 8, 16, u(8)]))


def modes(p: dict) -> set:
    """Instr.wbits values the build runs: 0 (= WBITS), WBITS and the second mode WBITS_HI (if any)."""
    return {0, p["WBITS"]} | ({p["WBITS_HI"]} if p["WBITS_HI"] else set())


def rep_of(ins: Instr, p: dict) -> int | None:
    """Query heads per KV head when the attention unit holds the group (heads = kv_heads x rep,
    rep <= MAX_REP); None otherwise. kv_heads 0 reads as one head per group."""
    if ins.kv_heads == 0:
        return 1
    rep, rest = divmod(ins.heads, ins.kv_heads)
    return rep if rest == 0 and 1 <= rep <= p["MAX_REP"] else None


def unsupported(ins: Instr, p: dict) -> bool:
    if ins.op == "ATTN":
        return rep_of(ins, p) is None
    if ins.op in ("ADD", "ACT"):
        return ins.slot != 0 or (ins.op == "ACT" and ins.func != FUNC_ACT_SWIGLU)
    if ins.op == "NORM":
        return ins.func != FUNC_NORM_RMS
    if ins.op == "GEMV":
        return ins.slot != 0 or ins.func != FUNC_GEMV_PLAIN or ins.wbits not in modes(p)
    return False


def wide(ins: Instr, p: dict) -> bool:
    return p["WBITS_HI"] != 0 and ins.wbits == p["WBITS_HI"]


def geometry(ins: Instr, p: dict) -> dict:
    m32, m64 = (1 << 32) - 1, (1 << 64) - 1
    bi = p["COLS"] * p["NM_M"] // p["NM_N"]           # inputs per beat (N:M sparse; dense COLS)
    ib = (p["NM_M"] - 1).bit_length()                 # index bits per lane
    kstep = max(bi, p["GROUP"])
    w = p["WBITS_HI"] if wide(ins, p) else p["WBITS"]   # the instruction's weight mode
    beat_bytes = (p["ROWS"] * p["COLS"] * (w + ib) + 7) // 8
    kpad = (((ins.k + kstep - 1) & m32) // kstep * kstep) & m32
    ngroups = kpad // p["GROUP"]
    nbeats = kpad // bi
    sc = (((p["ROWS"] * ngroups * 2 + 63) & m32) >> 6) << 6 & m32
    zp = ((((p["ROWS"] * ngroups + 63) & m32) >> 6) << 6 & m32) if p["ZP"] else 0
    wb = (((nbeats * beat_bytes + 63) & m32) >> 6) << 6 & m32
    kv_row = ((ins.head_dim * p["KVBITS"] + 7) & m32) >> 3
    cap = ins.imm & m32
    return {"rep": rep_of(ins, p) or 1, "half": ins.head_dim >> 1,
            "kv_row": kv_row, "cap": cap, "kv_data_bytes": (ins.kv_heads * cap * kv_row) & m64, "kpad": kpad,
            "ngroups": ngroups, "tiles": ((ins.n + p["ROWS"] - 1) & m32) // p["ROWS"], "nbeats": nbeats,
            "sc_bytes": sc, "zp_bytes": zp, "wb_bytes": wb, "tile_bytes": (sc + zp + wb) & m32,
            "w_hi": int(wide(ins, p)), "beat_bits": beat_bytes * 8}


@cocotb.test()
async def decode_matches_the_encoder(dut):
    p = {k: int(os.environ[k]) for k in ("ROWS", "COLS", "WBITS", "KVBITS", "GROUP", "ZP")}
    p.update({k: int(os.environ.get(k, 1)) for k in ("NM_N", "NM_M")})
    p["WBITS_HI"] = int(os.environ.get("WBITS_HI", 0))
    p["MAX_REP"] = int(os.environ.get("MAX_REP", 8))
    rng = random.Random(13)
    signed = {name for *_, name, sg in WORDS if sg}
    instrs = [rand_instr(rng) for _ in range(400)]
    # every opcode with its supported and unsupported variants
    instrs += [Instr(op=op, func=f, slot=sl) for op in OPCODES for f in (0, 1, 2) for sl in (0, 1)]
    # ATTN groups: heads = kv_heads x j around MAX_REP, and heads that are not a multiple
    instrs += [Instr(op="ATTN", heads=kvh * j + extra, kv_heads=kvh, head_dim=64)
               for kvh in (0, 1, 3, 5) for j in range(1, p["MAX_REP"] + 3) for extra in (0, 1)]
    # every weight mode of a GEMV, the build's and others
    instrs += [Instr(op="GEMV", n=40, k=200, wbits=w) for w in (0, 2, 4, 8, 16, 255)]
    for ins in instrs:
        words = encode([ins])
        dut.ir.value = sum(int(w) << (32 * i) for i, w in enumerate(words))
        await Timer(1, unit="ns")
        for field, port in FIELDS.items():
            h = getattr(dut, port).value
            got = h.to_signed() if field in signed else h.to_unsigned()
            want = OPCODES.index(ins.op) if field == "op" else getattr(ins, field)
            assert got == want, f"{ins}: {port} = {got}, encoded {want}"
        assert int(dut.unsupported.value) == unsupported(ins, p), f"{ins}: unsupported = {dut.unsupported.value}"
        if ins.m < 4096 and ins.k < (1 << 24) and ins.n < (1 << 24) and ins.head_dim < 4096:
            for name, want in geometry(ins, p).items():
                got = int(getattr(dut, name).value)
                assert got == want, f"{ins}: {name} = {got}, expected {want}"
        if ins.op == "GEMV" and 0 < ins.k < (1 << 16) and 0 < ins.n < (1 << 16):
            # the packer's own definition of the stream (pack.stream_geometry), sparse or dense
            sp = "dense" if p["NM_N"] == p["NM_M"] else f"{p['NM_N']}:{p['NM_M']}"
            w = p["WBITS_HI"] if wide(ins, p) else p["WBITS"]
            g = stream_geometry(ins.n, ins.k, w, p["GROUP"], p["ZP"], p["ROWS"], p["COLS"], sp)
            for name, key in (("kpad", "k_pad"), ("nbeats", "beats"), ("ngroups", "groups"),
                              ("tiles", "tiles"), ("tile_bytes", "tile_bytes"), ("wb_bytes", "weight_bytes")):
                got = int(getattr(dut, name).value)
                assert got == int(g[key]), f"{ins}: {name} = {got}, stream_geometry {key} = {g[key]}"
