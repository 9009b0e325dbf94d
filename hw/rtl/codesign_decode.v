// codesign_decode.v -- instruction decode of the LLM processor (combinational): the fields of
// the 512-bit instruction register, the opcodes this core does not implement, and the
// per-instruction geometry the sequencer derives from the fields and the build parameters
// (GEMV weight-stream layout, attention/KV row sizes). docs/ISA.md (fields), docs/RTL.md.
//
// Field positions, widths and opcode values come from codesign_isa.vh, generated from
// codesign.isa (python -m codesign.gen.rtl.isa); only the `signed` of a field is written here
// (tests/test_rtl_isa.py checks it against the encoding). A GEMV's weight width is its `wbits`
// field within the build's modes (WBITS, and WBITS_HI when the design is mixed precision):
// the beat size and the beat block follow it; any other width is unsupported. Ports are declared in the body
// (Verilog-2001 non-ANSI style) so that their widths can be the include's.
`default_nettype none
module codesign_decode (
    ir, op, func, slot, m, n, k, heads, kvh, hd, shift, ctx, src, src2, dst, addr, mult, imm, wbits,
    unsupported, rep, half, kv_row, cap, kv_data_bytes, kpad, ngroups, tiles, nbeats,
    sc_bytes, zp_bytes, wb_bytes, tile_bytes, w_hi, beat_bits
);
    parameter integer ROWS = 4;
    parameter integer COLS = 8;
    parameter integer WBITS = 4;
    parameter integer WBITS_HI = 0;      // second run-time weight mode (mixed precision; 0: none)
    parameter integer KVBITS = 8;
    parameter integer GROUP = 32;
    parameter integer ZP = 0;
    parameter integer NM_N = 1;          // N:M sparse weight stream (dense: 1, 1)
    parameter integer NM_M = 1;
    parameter integer MAX_REP = 8;       // largest query-head group per KV head the attention unit holds

`include "codesign_isa.vh"

    // pack.stream_geometry: a beat covers BI = COLS*M/N inputs in ROWS x COLS lanes of W + IB bits
    localparam integer BI = COLS * NM_M / NM_N;
    localparam integer IB = $clog2(NM_M);
    localparam integer KSTEP = (BI > GROUP) ? BI : GROUP;       // K' is a multiple of this
    // one packed weight beat at each mode (W + IB bits a lane, whole bytes)
    localparam integer BEAT_BITS = ((ROWS * COLS * (WBITS + IB) + 7) / 8) * 8;
    localparam integer BEAT_BITS_HI = ((ROWS * COLS * (WBITS_HI + IB) + 7) / 8) * 8;

    input  wire [ISA_BITS-1:0] ir;
    // ---------------------------------------------------------------- fields (docs/ISA.md)
    output wire [F_OP_W-1:0]       op;
    output wire [F_FUNC_W-1:0]     func;
    output wire [F_SLOT_W-1:0]     slot;
    output wire [F_M_W-1:0]        m;
    output wire [F_N_W-1:0]        n;
    output wire [F_K_W-1:0]        k;
    output wire [F_HEADS_W-1:0]    heads;
    output wire [F_KV_HEADS_W-1:0] kvh;
    output wire [F_HEAD_DIM_W-1:0] hd;
    output wire signed [F_SHIFT_W-1:0] shift;
    output wire [F_CTX_W-1:0]      ctx;
    output wire [F_SRC_W-1:0]      src;
    output wire [F_SRC2_W-1:0]     src2;
    output wire [F_DST_W-1:0]      dst;
    output wire [F_ADDR_HI_W+F_ADDR_W-1:0] addr;
    output wire [F_MULT_W-1:0]     mult;
    output wire signed [F_IMM_W-1:0] imm;
    output wire [F_WBITS_W-1:0]    wbits;   // GEMV weight bits (0: WBITS)
    // ---------------------------------------------------------------- what the core cannot run
    // (docs/RTL.md, error codes: the run stops with err_code = 1 + op, never a silent skip)
    output wire        unsupported;
    // ---------------------------------------------------------------- derived per instruction
    output wire [31:0] rep;            // query heads per KV head
    output wire [31:0] half;           // head_dim / 2 (RoPE pairs)
    output wire [31:0] kv_row;         // R: bytes of one packed K or V row
    output wire [31:0] cap;            // KV capacity, tokens per head (imm)
    output wire [63:0] kv_data_bytes;  // one of the K, V data regions
    output wire [31:0] kpad;           // K' = k rounded up to max(BI, GROUP) (dense BI = COLS)
    output wire [31:0] ngroups;        // groups of K'
    output wire [31:0] tiles;          // row tiles
    output wire [31:0] nbeats;         // MPE beats per row tile
    output wire [31:0] sc_bytes;       // scale block of a row tile, padded to 64 B
    output wire [31:0] zp_bytes;       // zero-point block (ZP designs), padded to 64 B
    output wire [31:0] wb_bytes;       // beat block, padded to 64 B
    output wire [31:0] tile_bytes;
    output wire        w_hi;           // GEMV at the second mode (WBITS_HI)
    output wire [31:0] beat_bits;      // one packed weight beat at the instruction's mode

    wire signed [F_SHIFT_W-1:0] shift_f = ir[F_SHIFT_LSB +: F_SHIFT_W];
    wire signed [F_IMM_W-1:0]   imm_f   = ir[F_IMM_LSB +: F_IMM_W];
    assign op    = ir[F_OP_LSB +: F_OP_W];
    assign func  = ir[F_FUNC_LSB +: F_FUNC_W];
    assign slot  = ir[F_SLOT_LSB +: F_SLOT_W];
    assign m     = ir[F_M_LSB +: F_M_W];
    assign n     = ir[F_N_LSB +: F_N_W];
    assign k     = ir[F_K_LSB +: F_K_W];
    assign heads = ir[F_HEADS_LSB +: F_HEADS_W];
    assign kvh   = ir[F_KV_HEADS_LSB +: F_KV_HEADS_W];
    assign hd    = ir[F_HEAD_DIM_LSB +: F_HEAD_DIM_W];
    assign shift = shift_f;
    assign ctx   = ir[F_CTX_LSB +: F_CTX_W];
    assign src   = ir[F_SRC_LSB +: F_SRC_W];
    assign src2  = ir[F_SRC2_LSB +: F_SRC2_W];
    assign dst   = ir[F_DST_LSB +: F_DST_W];
    assign addr  = {ir[F_ADDR_HI_LSB +: F_ADDR_HI_W], ir[F_ADDR_LSB +: F_ADDR_W]};
    assign mult  = ir[F_MULT_LSB +: F_MULT_W];
    assign imm   = imm_f;
    assign wbits = ir[F_WBITS_LSB +: F_WBITS_W];

    // MoE routing (GEMV func/slot, ADD slot, ACT slot), LayerNorm, GELU/ReLU, unknown opcodes
    // rep = heads / kv_heads, found by comparing kv_heads x j with heads for j = 1..MAX_REP (a few small
    // constant products) instead of a 16-bit divider: the divider was the ECP5 build's critical path,
    // 228 ns, the whole 4.4 MHz clock (docs/EXPORT.md). An ATTN whose heads are not kv_heads x j for
    // such a j cannot run on the attention unit: it is unsupported (err_code), never a wrong group.
    reg [31:0] rep_j;
    reg        rep_ok;
    integer j;
    always @* begin
        rep_j = 32'd1;
        rep_ok = 1'b0;
        for (j = 1; j <= MAX_REP; j = j + 1)
            if (kvh != 0 && {16'd0, kvh} * j == {16'd0, heads}) begin rep_j = j; rep_ok = 1'b1; end
    end

    assign unsupported =
        (op == OP_ATTN)                ? (kvh != 0 && !rep_ok) :
        (op == OP_ADD || op == OP_ACT) ? (slot != 0 || (op == OP_ACT && func != FUNC_ACT_SWIGLU)) :
        (op == OP_NORM)                ? (func != FUNC_NORM_RMS) :
        (op == OP_GEMV)                ? (slot != 0 || func != FUNC_GEMV_PLAIN ||
                                          !(wbits == 0 || wbits == WBITS || (WBITS_HI != 0 && wbits == WBITS_HI))) :
        !(op == OP_LOAD || op == OP_STORE || op == OP_ROPE || op == OP_KVSTORE || op == OP_ATTN);

    assign rep = rep_j;          // 1 when kv_heads is 0 (as before) or no group fits
    assign half = hd >> 1;
    assign kv_row = (hd * KVBITS + 7) >> 3;
    assign cap = imm;
    assign kv_data_bytes = kvh * cap * kv_row;
    assign kpad = ((k + KSTEP - 1) / KSTEP) * KSTEP;
    assign ngroups = kpad / GROUP;
    assign tiles = (n + ROWS - 1) / ROWS;
    assign nbeats = kpad / BI;
    assign sc_bytes = ((ROWS * ngroups * 2 + 63) >> 6) << 6;
    assign zp_bytes = (ZP != 0) ? (((ROWS * ngroups + 63) >> 6) << 6) : 32'd0;
    assign w_hi = (WBITS_HI != 0) && (wbits == WBITS_HI);
    assign beat_bits = w_hi ? BEAT_BITS_HI : BEAT_BITS;
    assign wb_bytes = ((nbeats * (beat_bits >> 3) + 63) >> 6) << 6;
    assign tile_bytes = sc_bytes + zp_bytes + wb_bytes;
endmodule
`default_nettype wire
