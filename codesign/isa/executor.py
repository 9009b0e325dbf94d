"""The golden executor: runs encoded instruction words over the memory images with the golden integer
ops (``codesign.quant.numerics``), the way the processor does. It knows only what the hardware knows:
the build-time parameters (bit-widths, group, zero points, MPE rows x cols) and the images.
Every instruction's result (the on-chip tensor it wrote, or the KV rows it stored) is recorded, so
the test vectors can give the expected state after each instruction."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..design import Quant
from ..errors import CodesignError
from ..quant import numerics as N
from ..quant import pack
from .encoding import decode
from .instr import (FUNC_ACT_SWIGLU, FUNC_GEMV_PLAIN, FUNC_GEMV_ROUTER, FUNC_NORM_RMS, Instr)


@dataclass
class StepResult:
    index: int
    instr: Instr
    kind: str               # "buf": on-chip tensor at instr dst; "kv": KV rows; "io": bytes written to gmem_io
    offset: int             # element offset (buf) or byte address (kv / io)
    data: np.ndarray        # int64 values (buf) or uint8 bytes (kv / io)
    offset2: int | None = None       # ROPE: the K tensor rotated in place at src2
    data2: np.ndarray | None = None


@dataclass
class Executor:
    quant: Quant
    rows: int
    cols: int
    gmem_w: bytes
    gmem_kv: bytearray
    gmem_io: bytearray
    buffer_elems: int
    buf: np.ndarray = field(init=False)
    routing: tuple | None = field(init=False, default=None)
    _wcache: dict = field(init=False, default_factory=dict)

    def __post_init__(self):
        self.buf = np.zeros(self.buffer_elems, dtype=np.int64)
        self.gmem_kv = bytearray(self.gmem_kv)
        self.gmem_io = bytearray(self.gmem_io)

    # ------------------------------------------------------------------ helpers
    def _get(self, off: int, count: int) -> np.ndarray:
        if off + count > self.buf.size:
            raise CodesignError(f"activation buffer overflow: {off}+{count} > {self.buf.size}", field="abuf_depth")
        return self.buf[off:off + count].copy()

    def _put(self, off: int, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.int64).reshape(-1)
        if off + v.size > self.buf.size:
            raise CodesignError(f"activation buffer overflow: {off}+{v.size} > {self.buf.size}", field="abuf_depth")
        self.buf[off:off + v.size] = v
        return v

    def _wbits(self, i: int, ins: Instr) -> int:
        """The GEMV's weight width: its instruction field, within the build's modes (0: quant.wbits)."""
        modes = self.quant.weight_modes()
        if ins.wbits and ins.wbits not in modes:
            raise CodesignError(f"instruction {i} ({ins.op} {ins.layer_op}): got {ins.wbits}; allowed: 0 or "
                                f"{', '.join(map(str, modes))} (the build's weight modes)", field="wbits")
        return ins.wbits or self.quant.wbits

    def _matrix(self, addr: int, n: int, k: int, shift: int, bits: int) -> N.WeightQ:
        key = (addr, n, k, shift, bits)
        if key not in self._wcache:
            q = self.quant
            size = pack.matrix_bytes(n, k, bits, q.group, q.zero_point, self.rows, self.cols, q.sparsity)
            self._wcache[key] = pack.unpack_matrix(self.gmem_w[addr:addr + size], n, k, bits, q.group,
                                                   q.zero_point, shift, self.rows, self.cols, q.sparsity)
        return self._wcache[key]

    # ------------------------------------------------------------------ one instruction
    def step(self, i: int, ins: Instr) -> StepResult:
        q, m = self.quant, ins.m
        op = ins.op
        if op == "LOAD":
            v = pack.get_i32(self.gmem_io, ins.addr, m * ins.n)
            return StepResult(i, ins, "buf", ins.dst, self._put(ins.dst, v))
        if op == "STORE":
            v = self._get(ins.src, m * ins.n)
            pack.put_i32(self.gmem_io, ins.addr, v)
            return StepResult(i, ins, "io", ins.addr, np.frombuffer(bytes(self.gmem_io[ins.addr:ins.addr + 4 * v.size]),
                                                                    dtype=np.uint8).copy())
        if op == "GEMV":
            x = self._get(ins.src, m * ins.k).reshape(m, ins.k)
            bits = self._wbits(i, ins)
            if ins.slot == 0:
                y = N.gemv(self._matrix(ins.addr, ins.n, ins.k, ins.shift, bits), x, q.abits)
            else:
                if self.routing is None:
                    raise CodesignError(f"instruction {i}: expert slot {ins.slot} before a router GEMV", field="slot")
                experts = self.routing[0][:, ins.slot - 1]
                size = pack.matrix_bytes(ins.n, ins.k, bits, q.group, q.zero_point, self.rows, self.cols,
                                         q.sparsity)
                y = np.zeros((m, ins.n), dtype=np.int64)
                for t in range(m):
                    wq = self._matrix(ins.addr + int(experts[t]) * size, ins.n, ins.k, ins.shift, bits)
                    y[t] = N.gemv(wq, x[t:t + 1], q.abits)[0]
            if ins.func == FUNC_GEMV_ROUTER:
                self.routing = N.route_topk(y, ins.imm)   # router GEMV: imm = top_k
            elif ins.func != FUNC_GEMV_PLAIN:
                raise CodesignError(f"instruction {i}: unknown GEMV func {ins.func}", field="func")
            return StepResult(i, ins, "buf", ins.dst, self._put(ins.dst, y))
        if op == "NORM":
            if ins.func != FUNC_NORM_RMS:
                raise CodesignError(f"instruction {i}: NORM func {ins.func} (LayerNorm) is not in the golden model",
                                    field="func")
            x = self._get(ins.src, m * ins.n).reshape(m, ins.n)
            gamma = pack.get_i16(self.gmem_io, ins.addr, ins.n)
            return StepResult(i, ins, "buf", ins.dst, self._put(ins.dst, N.rmsnorm(x, gamma, ins.shift, ins.mult, ins.imm)))
        if op == "ROPE":
            hd, half = ins.head_dim, ins.head_dim // 2
            need = (ins.ctx + m) * half * 2
            tab = pack.get_i16(self.gmem_io, ins.addr, need).reshape(ins.ctx + m, half, 2)
            pos = np.arange(ins.ctx, ins.ctx + m)
            qv = self._get(ins.src, m * ins.heads * hd).reshape(m, ins.heads, hd)
            kv = self._get(ins.src2, m * ins.kv_heads * hd).reshape(m, ins.kv_heads, hd)
            k_rot = self._put(ins.src2, N.rope(kv, tab, pos))
            return StepResult(i, ins, "buf", ins.dst, self._put(ins.dst, N.rope(qv, tab, pos)), ins.src2, k_rot)
        if op == "KVSTORE":
            hd, KV, cap = ins.head_dim, ins.kv_heads, ins.imm
            k = self._get(ins.src, m * KV * hd).reshape(m, KV, hd)
            v = self._get(ins.src2, m * KV * hd).reshape(m, KV, hd)
            for which, t_ in (("k", k), ("v", v)):
                qq, ee = N.quantize_kv(t_, q.kvbits)
                for t in range(m):
                    for h in range(KV):
                        pack.kv_write(self.gmem_kv, ins.addr, which, h, ins.ctx + t, qq[t, h], ee[t, h], KV, cap, hd,
                                      q.kvbits)
            size = pack.kv_region_bytes(KV, cap, hd, q.kvbits)
            return StepResult(i, ins, "kv", ins.addr,
                              np.frombuffer(bytes(self.gmem_kv[ins.addr:ins.addr + size]), dtype=np.uint8).copy())
        if op == "ATTN":
            hd, KV, H, cap, n = ins.head_dim, ins.kv_heads, ins.heads, ins.imm, ins.ctx
            qv = self._get(ins.src, m * H * hd).reshape(m, H, hd)
            kq, ke = pack.kv_read(self.gmem_kv, ins.addr, "k", n, KV, cap, hd, q.kvbits)
            vq, ve = pack.kv_read(self.gmem_kv, ins.addr, "v", n, KV, cap, hd, q.kvbits)
            n_valid = np.arange(n - m + 1, n + 1)
            o = N.attention(qv, kq, ke, vq, ve, n_valid, q.abits, ins.mult)
            return StepResult(i, ins, "buf", ins.dst, self._put(ins.dst, o))
        if op == "ACT":
            if ins.func != FUNC_ACT_SWIGLU:
                raise CodesignError(f"instruction {i}: ACT func {ins.func} is not in the golden model (SwiGLU only)",
                                    field="func")
            g = self._get(ins.src, m * ins.n)
            u = self._get(ins.src2, m * ins.n)
            return StepResult(i, ins, "buf", ins.dst, self._put(ins.dst, N.swiglu(g, u)))
        if op == "ADD":
            a = self._get(ins.src, m * ins.n).reshape(m, ins.n)
            b = self._get(ins.src2, m * ins.n).reshape(m, ins.n)
            if ins.slot == 0:
                y = N.add_sat(a, b)
            else:
                y = N.add_weighted(a, b, self.routing[1][:, ins.slot - 1:ins.slot])
            return StepResult(i, ins, "buf", ins.dst, self._put(ins.dst, y))
        raise CodesignError(f"instruction {i}: unknown opcode {op}", field="op")

    def run(self, words) -> list[StepResult]:
        return [self.step(i, ins) for i, ins in enumerate(decode(words))]


def run_images(images, quant: Quant, rows: int, cols: int, n_instr: int,
               buffer_elems: int) -> tuple[list[StepResult], "Executor"]:
    """Fetch ``n_instr`` instruction words from gmem_io at 0 and run them."""
    io = images["gmem_io"]
    words = np.frombuffer(bytes(io[:n_instr * 64]), dtype="<u4")
    ex = Executor(quant, rows, cols, bytes(images["gmem_w"]), images["gmem_kv"], images["gmem_io"], buffer_elems)
    return ex.run(words), ex
