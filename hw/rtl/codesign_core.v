// codesign_core.v -- the LLM processor: instruction sequencer, on-chip buffers, MPE, SFU,
// memory movers on three AXI4 masters (gmem_w weights, gmem_kv KV cache, gmem_io
// instructions / activations / gamma / RoPE tables). docs/RTL.md describes the design;
// docs/ISA.md the instructions; docs/NUMERICS.md the arithmetic and the memory images.
//
// Run: `start` (one cycle, while idle) with the three image base addresses and the
// instruction count. The sequencer fetches instruction i (64 bytes at io_base + 64*i),
// executes it, retires it (`retire` pulse, `pc` = its index), and after the last one
// pulses `done`. An instruction the core does not implement stops the run with `err`
// set (err_code = 1 + opcode; see docs/RTL.md) -- never a silent skip.
//
// On-chip buffers are register arrays indexed per element (several reads per cycle): exact,
// simple, and the same on both simulators. They are what a tool maps to banked BRAM/URAM;
// the MPE and SFU (the blocks Yosys reports) are written for synthesis proper.
//
// Blocks: codesign_decode (instruction fields, unsupported variants, per-instruction geometry),
// sfu_job (SFU job engine around sfu_top), mpe (GEMV), attn_row (ATTN scores, P.V accumulators),
// the memory movers; this module keeps the buffers, the stream consumers and the sequencer.
`default_nettype none
module codesign_core #(
    parameter integer ROWS = 4,
    parameter integer COLS = 8,
    parameter integer WBITS = 4,
    parameter integer WBITS_HI = 0,      // second run-time weight mode of a mixed-precision build (0: none)
    parameter integer ABITS = 8,
    parameter integer KVBITS = 8,
    parameter integer GROUP = 32,
    parameter integer ZP = 0,
    parameter integer NM_N = 1,          // N:M sparse weight stream: kept weights per block of NM_M
    parameter integer NM_M = 1,          // inputs (dense: 1, 1); docs/NUMERICS.md
    parameter integer SCALE_BITS = 16,   // uint16 mantissas in the weight stream (NUMERICS.md)
    parameter integer SFU_LANES = 4,
    parameter integer ABUF_DEPTH = 4096, // activation buffer, int32 elements
    parameter integer KVBUF_DEPTH = 256, // keys per attention row (scores, probabilities, exponents)
    parameter integer PORT_BITS = 64,
    parameter integer MAX_HD = 128,      // largest head_dim
    parameter integer MAX_REP = 8,       // largest query heads per KV head (GQA)
    parameter integer WBUF_DEPTH = 2,    // (weights stream through stream_unpack; kept for the design map)
    parameter integer MAX_BURST = 16,
    parameter integer BANKED = 0         // buffers as banked distributed RAM (lane_ram.v), for synthesis
) (
    input  wire         clk,
    input  wire         rst_n,
    input  wire         start,
    input  wire [63:0]  w_base,
    input  wire [63:0]  kv_base,
    input  wire [63:0]  io_base,
    input  wire [31:0]  n_instr,
    output wire         idle,
    output reg          done,
    output reg          err,
    output reg  [15:0]  err_code,
    output reg  [31:0]  cycles,
    output reg          retire,
    output reg  [31:0]  pc,
    // gmem_w (read only)
    output wire w_arvalid, input wire w_arready, output wire [63:0] w_araddr, output wire [7:0] w_arlen,
    output wire [2:0] w_arsize, output wire [1:0] w_arburst,
    input wire w_rvalid, output wire w_rready, input wire [PORT_BITS-1:0] w_rdata, input wire w_rlast,
    input wire [1:0] w_rresp,
    // gmem_kv
    output wire kv_arvalid, input wire kv_arready, output wire [63:0] kv_araddr, output wire [7:0] kv_arlen,
    output wire [2:0] kv_arsize, output wire [1:0] kv_arburst,
    input wire kv_rvalid, output wire kv_rready, input wire [PORT_BITS-1:0] kv_rdata, input wire kv_rlast,
    input wire [1:0] kv_rresp,
    output wire kv_awvalid, input wire kv_awready, output wire [63:0] kv_awaddr, output wire [7:0] kv_awlen,
    output wire [2:0] kv_awsize, output wire [1:0] kv_awburst,
    output wire kv_wvalid, input wire kv_wready, output wire [PORT_BITS-1:0] kv_wdata,
    output wire [PORT_BITS/8-1:0] kv_wstrb, output wire kv_wlast,
    input wire kv_bvalid, output wire kv_bready, input wire [1:0] kv_bresp,
    // gmem_io
    output wire io_arvalid, input wire io_arready, output wire [63:0] io_araddr, output wire [7:0] io_arlen,
    output wire [2:0] io_arsize, output wire [1:0] io_arburst,
    input wire io_rvalid, output wire io_rready, input wire [PORT_BITS-1:0] io_rdata, input wire io_rlast,
    input wire [1:0] io_rresp,
    output wire io_awvalid, input wire io_awready, output wire [63:0] io_awaddr, output wire [7:0] io_awlen,
    output wire [2:0] io_awsize, output wire [1:0] io_awburst,
    output wire io_wvalid, input wire io_wready, output wire [PORT_BITS-1:0] io_wdata,
    output wire [PORT_BITS/8-1:0] io_wstrb, output wire io_wlast,
    input wire io_bvalid, output wire io_bready, input wire [1:0] io_bresp
);
    // opcodes, func variants, instruction fields: generated from codesign.isa (docs/ISA.md)
`include "codesign_isa.vh"

    // ------------------------------------------------------------------ geometry
    localparam integer L = SFU_LANES;
    localparam integer PB = PORT_BITS / 8;             // bytes per port word
    localparam integer LGPB = $clog2(PB);
    localparam integer BI = COLS * NM_M / NM_N;        // inputs one weight beat covers (dense: COLS)
    localparam integer IB = $clog2(NM_M);              // index bits of an N:M lane (dense: 0)
    localparam integer LW = WBITS + IB;                // lane field: weight (+ index in its block)
    localparam integer SUB = (BI < GROUP) ? BI : GROUP;
    localparam integer NSUB = BI / SUB;
    localparam integer BEAT_BITS = ((ROWS * COLS * LW + 7) / 8) * 8;  // one packed weight beat (a weight word)
    // Run-time weight precision (mixed precision, docs/RTL.md "Weight modes"): the MPE lanes are WM
    // bits wide; weight_beat widens a WBITS beat or gathers a WBITS_HI beat from weight words.
    localparam integer WM = (WBITS_HI > WBITS) ? WBITS_HI : WBITS;
    localparam integer LWM = WM + IB;
    localparam integer MAXG = ABUF_DEPTH / GROUP + 1;            // groups of the longest k
    localparam integer W_OUT = (BEAT_BITS > PORT_BITS) ? BEAT_BITS : PORT_BITS;
    localparam integer KV_ROW_MAX = ((MAX_HD * KVBITS + 7) / 8) * 8;
    localparam integer KV_OUT = (KV_ROW_MAX > PORT_BITS) ? KV_ROW_MAX : PORT_BITS;
    localparam integer IO_OUT = (PORT_BITS > ISA_BITS) ? PORT_BITS : ISA_BITS;
    localparam integer PK_IN = (L * 32 > PORT_BITS) ? L * 32 : PORT_BITS;   // packer push width

    // sfu_top ops (hw/rtl/sfu/README.md)
    localparam [2:0] SF_ADD = 0, SF_ACT = 1, SF_ROPE = 2, SF_NORM = 3, SF_SOFTMAX = 4,
                     SF_AQUANT = 5, SF_KVQUANT = 6, SF_XQUANT = 7;
    // block exponents the SFU's XQUANT can close per beat (sfu_top / sfu_quant NS)
    localparam integer SF_NS = (GROUP % SFU_LANES == 0) ? 1 :
                               (SFU_LANES % GROUP == 0) ? SFU_LANES / GROUP :
                               (SFU_LANES + GROUP - 2) / GROUP + 1;
    localparam integer REL_BITS = 5;   // MPE relative exponent (mpe.v header: e_g - e0 <= 29)

    // bit offset of a byte address inside its port word (unaligned starts)
    function [15:0] skip_of(input [63:0] a);
        skip_of = (a % PB) * 8;
    endfunction

    // ------------------------------------------------------------------ buffers
    // abuf (activations, int32 ACT_FRAC), xq (GEMV input, quantized) and pbuf (gamma for NORM,
    // the cos/sin row for ROPE) are lane_ram buffers (instances below): each write or read is a run
    // of consecutive elements, one lane group per source and sink
    localparam integer ATT_L = MAX_REP * MAX_HD;
    localparam integer AB_WL = (L > ROWS ? L : ROWS) > (PORT_BITS / 32 > ATT_L ? PORT_BITS / 32 : ATT_L) ?
                               (L > ROWS ? L : ROWS) : (PORT_BITS / 32 > ATT_L ? PORT_BITS / 32 : ATT_L);
    localparam integer AB_RL = (L > PK_IN / 32) ? L : PK_IN / 32;
    localparam integer AB_WG = 4 + MAX_REP;
    wire [3*AB_RL*32-1:0] ab_rd;               // abuf reads: SFU a, SFU b, STORE
    wire [BI*ABITS-1:0]   xq_rd;               // xq read: the MPE's input lanes
    wire [2*L*16-1:0]     pb_rd;               // pbuf read: gamma, or cos/sin pairs
    reg [5:0]         xe   [0:MAXG-1];              // xq's exponent per block of GROUP inputs
    reg [15:0]        sbuf [0:MAXG*ROWS-1];         // weight scales of the current row tile [g][r]
    reg [7:0]         zbuf [0:MAXG*ROWS-1];         // zero points [g][r]
    reg [ABITS-1:0]   qq   [0:MAX_REP*MAX_HD-1];    // ATTN: quantized query heads of one KV group
    reg [5:0]         eq   [0:MAX_REP-1];           // their exponents
    reg signed [31:0] scb  [0:MAX_REP*KVBUF_DEPTH-1]; // ATTN: scores [j][t]
    reg [15:0]        prb  [0:MAX_REP*KVBUF_DEPTH-1]; // ATTN: probabilities Q0.15 [j][t]
    reg [7:0]         ebuf [0:KVBUF_DEPTH-1];       // ATTN: K or V exponents of the rows

    // ------------------------------------------------------------------ instruction register, decode
    reg [ISA_BITS-1:0] ir;
    wire [F_OP_W-1:0]    i_op;
    wire [F_FUNC_W-1:0]  i_func;
    wire [F_SLOT_W-1:0]  i_slot;
    wire [F_M_W-1:0]     i_m;
    wire [F_N_W-1:0]     i_n;
    wire [F_K_W-1:0]     i_k;
    wire [F_HEADS_W-1:0] i_heads;
    wire [F_KV_HEADS_W-1:0] i_kvh;
    wire [F_HEAD_DIM_W-1:0] i_hd;
    wire signed [F_SHIFT_W-1:0] i_shift;
    wire [F_CTX_W-1:0]   i_ctx;
    wire [F_SRC_W-1:0]   i_src;
    wire [F_SRC2_W-1:0]  i_src2;
    wire [F_DST_W-1:0]   i_dst;
    wire [F_ADDR_HI_W+F_ADDR_W-1:0] i_addr;
    wire [F_MULT_W-1:0]  i_mult;
    wire signed [F_IMM_W-1:0] i_imm;
    wire [F_WBITS_W-1:0] i_wbits;
    // The fields are slices of ir. The quantities derived from them (a divider, address products)
    // are decoded from the word being fetched and registered with ir, so that no path runs from
    // ir through them into the sequencer's address arithmetic in one cycle: the ECP5 build's
    // critical path was ir.kv_heads -> heads / kv_heads -> the SFU job's source address
    // (docs/EXPORT.md). Same values, same cycle as before: they are read from S_DISPATCH on.
    reg         i_unsupported;
    reg         w_hi;              // this GEMV runs at WBITS_HI
    reg  [31:0] beat_bits;
    reg  [31:0] rep, half, kv_row, cap, kpad, ngroups, tiles, nbeats, sc_bytes, zp_bytes, wb_bytes, tile_bytes;
    reg  [63:0] kv_data_bytes;
    codesign_decode #(.ROWS(ROWS), .COLS(COLS), .WBITS(WBITS), .WBITS_HI(WBITS_HI), .KVBITS(KVBITS),
                      .GROUP(GROUP), .ZP(ZP), .NM_N(NM_N), .NM_M(NM_M), .MAX_REP(MAX_REP)) u_dec (
        .ir(ir), .op(i_op), .func(i_func), .slot(i_slot), .m(i_m), .n(i_n), .k(i_k), .heads(i_heads),
        .kvh(i_kvh), .hd(i_hd), .shift(i_shift), .ctx(i_ctx), .src(i_src), .src2(i_src2), .dst(i_dst),
        .addr(i_addr), .mult(i_mult), .imm(i_imm), .wbits(i_wbits), .unsupported(), .rep(), .half(),
        .kv_row(), .cap(), .kv_data_bytes(), .kpad(), .ngroups(), .tiles(), .nbeats(), .sc_bytes(),
        .zp_bytes(), .wb_bytes(), .tile_bytes(), .w_hi(), .beat_bits());
    // ------------------------------------------------------------------ memory movers
    // gmem_io
    reg         io_rcmd_v;  reg [63:0] io_rcmd_a;  reg [31:0] io_rcmd_n;
    wire        io_rcmd_rdy, io_rd_done;
    wire        io_s_valid, io_s_ready;  wire [PORT_BITS-1:0] io_s_data;
    axi_read_master #(.DATA_W(PORT_BITS), .MAX_BURST(MAX_BURST)) u_io_rd (
        .clk(clk), .rst_n(rst_n), .cmd_valid(io_rcmd_v), .cmd_ready(io_rcmd_rdy), .cmd_addr(io_rcmd_a),
        .cmd_bytes(io_rcmd_n), .done(io_rd_done), .out_valid(io_s_valid), .out_ready(io_s_ready),
        .out_data(io_s_data), .m_axi_arvalid(io_arvalid), .m_axi_arready(io_arready),
        .m_axi_araddr(io_araddr), .m_axi_arlen(io_arlen), .m_axi_arsize(io_arsize),
        .m_axi_arburst(io_arburst), .m_axi_rvalid(io_rvalid), .m_axi_rready(io_rready),
        .m_axi_rdata(io_rdata), .m_axi_rlast(io_rlast), .m_axi_rresp(io_rresp));
    reg io_uclr; reg [15:0] io_uskip; reg [31:0] io_pop;
    wire [IO_OUT-1:0] io_u; wire [31:0] io_avail;
    stream_unpack #(.IN_W(PORT_BITS), .OUT_W(IO_OUT)) u_io_unpack (
        .clk(clk), .rst_n(rst_n), .clear(io_uclr), .cfg_skip(io_uskip), .in_valid(io_s_valid),
        .in_ready(io_s_ready), .in_data(io_s_data), .out_data(io_u), .avail(io_avail), .pop(io_pop));
    // the fetched word's derived quantities, registered with ir (above)
    wire        f_unsupported, f_w_hi;
    wire [31:0] f_beat_bits, f_rep, f_half, f_kv_row, f_cap, f_kpad, f_ngroups, f_tiles, f_nbeats, f_sc_bytes,
                f_zp_bytes, f_wb_bytes, f_tile_bytes;
    wire [63:0] f_kv_data_bytes;
    codesign_decode #(.ROWS(ROWS), .COLS(COLS), .WBITS(WBITS), .WBITS_HI(WBITS_HI), .KVBITS(KVBITS),
                      .GROUP(GROUP), .ZP(ZP), .NM_N(NM_N), .NM_M(NM_M), .MAX_REP(MAX_REP)) u_dec_fetch (
        .ir(io_u[ISA_BITS-1:0]), .op(), .func(), .slot(), .m(), .n(), .k(), .heads(), .kvh(), .hd(), .shift(),
        .ctx(), .src(), .src2(), .dst(), .addr(), .mult(), .imm(), .wbits(), .unsupported(f_unsupported),
        .rep(f_rep), .half(f_half), .kv_row(f_kv_row), .cap(f_cap), .kv_data_bytes(f_kv_data_bytes),
        .kpad(f_kpad), .ngroups(f_ngroups), .tiles(f_tiles), .nbeats(f_nbeats), .sc_bytes(f_sc_bytes),
        .zp_bytes(f_zp_bytes), .wb_bytes(f_wb_bytes), .tile_bytes(f_tile_bytes), .w_hi(f_w_hi),
        .beat_bits(f_beat_bits));


    reg         io_wcmd_v;  reg [63:0] io_wcmd_a;  reg [31:0] io_wcmd_n;
    wire        io_wcmd_rdy, io_wr_done, io_wr_err;
    wire        io_p_valid, io_p_ready;  wire [PORT_BITS-1:0] io_p_data;
    axi_write_master #(.DATA_W(PORT_BITS), .MAX_BURST(MAX_BURST)) u_io_wr (
        .clk(clk), .rst_n(rst_n), .cmd_valid(io_wcmd_v), .cmd_ready(io_wcmd_rdy), .cmd_addr(io_wcmd_a),
        .cmd_bytes(io_wcmd_n), .done(io_wr_done), .err(io_wr_err), .in_valid(io_p_valid),
        .in_ready(io_p_ready), .in_data(io_p_data), .m_axi_awvalid(io_awvalid),
        .m_axi_awready(io_awready), .m_axi_awaddr(io_awaddr), .m_axi_awlen(io_awlen),
        .m_axi_awsize(io_awsize), .m_axi_awburst(io_awburst), .m_axi_wvalid(io_wvalid),
        .m_axi_wready(io_wready), .m_axi_wdata(io_wdata), .m_axi_wstrb(io_wstrb),
        .m_axi_wlast(io_wlast), .m_axi_bvalid(io_bvalid), .m_axi_bready(io_bready),
        .m_axi_bresp(io_bresp));
    reg io_pclr, io_flush, io_push; reg [15:0] io_poff; reg [31:0] io_pbits; reg [PK_IN-1:0] io_pdata;
    wire io_push_rdy, io_pk_empty;
    stream_pack #(.OUT_W(PORT_BITS), .IN_W(PK_IN)) u_io_pack (
        .clk(clk), .rst_n(rst_n), .clear(io_pclr), .cfg_offset(io_poff), .flush(io_flush),
        .push(io_push), .push_bits(io_pbits), .push_data(io_pdata), .push_ready(io_push_rdy),
        .out_valid(io_p_valid), .out_ready(io_p_ready), .out_data(io_p_data), .empty(io_pk_empty));

    // gmem_w
    reg         w_rcmd_v;  reg [63:0] w_rcmd_a;  reg [31:0] w_rcmd_n;
    wire        w_rcmd_rdy, w_rd_done;
    wire        w_s_valid, w_s_ready;  wire [PORT_BITS-1:0] w_s_data;
    axi_read_master #(.DATA_W(PORT_BITS), .MAX_BURST(MAX_BURST)) u_w_rd (
        .clk(clk), .rst_n(rst_n), .cmd_valid(w_rcmd_v), .cmd_ready(w_rcmd_rdy), .cmd_addr(w_rcmd_a),
        .cmd_bytes(w_rcmd_n), .done(w_rd_done), .out_valid(w_s_valid), .out_ready(w_s_ready),
        .out_data(w_s_data), .m_axi_arvalid(w_arvalid), .m_axi_arready(w_arready),
        .m_axi_araddr(w_araddr), .m_axi_arlen(w_arlen), .m_axi_arsize(w_arsize),
        .m_axi_arburst(w_arburst), .m_axi_rvalid(w_rvalid), .m_axi_rready(w_rready),
        .m_axi_rdata(w_rdata), .m_axi_rlast(w_rlast), .m_axi_rresp(w_rresp));
    reg w_uclr; reg [31:0] w_pop;
    wire [W_OUT-1:0] w_u; wire [31:0] w_avail;
    // sparse beats (ROWS*COLS*(W+IB) bits) are rarely a multiple of the port: one word of slack
    // keeps the read stream at a word per cycle (dense designs: the plain FIFO, cycles unchanged)
    stream_unpack #(.IN_W(PORT_BITS), .OUT_W(W_OUT), .EXTRA_W((NM_N < NM_M) ? PORT_BITS : 0)) u_w_unpack (
        .clk(clk), .rst_n(rst_n), .clear(w_uclr), .cfg_skip(16'd0), .in_valid(w_s_valid),
        .in_ready(w_s_ready), .in_data(w_s_data), .out_data(w_u), .avail(w_avail), .pop(w_pop));

    // gmem_kv
    reg         kv_rcmd_v;  reg [63:0] kv_rcmd_a;  reg [31:0] kv_rcmd_n;
    wire        kv_rcmd_rdy, kv_rd_done;
    wire        kv_s_valid, kv_s_ready;  wire [PORT_BITS-1:0] kv_s_data;
    axi_read_master #(.DATA_W(PORT_BITS), .MAX_BURST(MAX_BURST)) u_kv_rd (
        .clk(clk), .rst_n(rst_n), .cmd_valid(kv_rcmd_v), .cmd_ready(kv_rcmd_rdy), .cmd_addr(kv_rcmd_a),
        .cmd_bytes(kv_rcmd_n), .done(kv_rd_done), .out_valid(kv_s_valid), .out_ready(kv_s_ready),
        .out_data(kv_s_data), .m_axi_arvalid(kv_arvalid), .m_axi_arready(kv_arready),
        .m_axi_araddr(kv_araddr), .m_axi_arlen(kv_arlen), .m_axi_arsize(kv_arsize),
        .m_axi_arburst(kv_arburst), .m_axi_rvalid(kv_rvalid), .m_axi_rready(kv_rready),
        .m_axi_rdata(kv_rdata), .m_axi_rlast(kv_rlast), .m_axi_rresp(kv_rresp));
    reg kv_uclr; reg [15:0] kv_uskip; reg [31:0] kv_pop;
    wire [KV_OUT-1:0] kv_u; wire [31:0] kv_avail;
    stream_unpack #(.IN_W(PORT_BITS), .OUT_W(KV_OUT)) u_kv_unpack (
        .clk(clk), .rst_n(rst_n), .clear(kv_uclr), .cfg_skip(kv_uskip), .in_valid(kv_s_valid),
        .in_ready(kv_s_ready), .in_data(kv_s_data), .out_data(kv_u), .avail(kv_avail), .pop(kv_pop));

    reg         kv_wcmd_v;  reg [63:0] kv_wcmd_a;  reg [31:0] kv_wcmd_n;
    wire        kv_wcmd_rdy, kv_wr_done, kv_wr_err;
    wire        kv_p_valid, kv_p_ready;  wire [PORT_BITS-1:0] kv_p_data;
    axi_write_master #(.DATA_W(PORT_BITS), .MAX_BURST(MAX_BURST)) u_kv_wr (
        .clk(clk), .rst_n(rst_n), .cmd_valid(kv_wcmd_v), .cmd_ready(kv_wcmd_rdy), .cmd_addr(kv_wcmd_a),
        .cmd_bytes(kv_wcmd_n), .done(kv_wr_done), .err(kv_wr_err), .in_valid(kv_p_valid),
        .in_ready(kv_p_ready), .in_data(kv_p_data), .m_axi_awvalid(kv_awvalid),
        .m_axi_awready(kv_awready), .m_axi_awaddr(kv_awaddr), .m_axi_awlen(kv_awlen),
        .m_axi_awsize(kv_awsize), .m_axi_awburst(kv_awburst), .m_axi_wvalid(kv_wvalid),
        .m_axi_wready(kv_wready), .m_axi_wdata(kv_wdata), .m_axi_wstrb(kv_wstrb),
        .m_axi_wlast(kv_wlast), .m_axi_bvalid(kv_bvalid), .m_axi_bready(kv_bready),
        .m_axi_bresp(kv_bresp));
    reg kv_pclr, kv_flush, kv_push; reg [15:0] kv_poff; reg [31:0] kv_pbits; reg [PK_IN-1:0] kv_pdata;
    wire kv_push_rdy, kv_pk_empty;
    stream_pack #(.OUT_W(PORT_BITS), .IN_W(PK_IN)) u_kv_pack (
        .clk(clk), .rst_n(rst_n), .clear(kv_pclr), .cfg_offset(kv_poff), .flush(kv_flush),
        .push(kv_push), .push_bits(kv_pbits), .push_data(kv_pdata), .push_ready(kv_push_rdy),
        .out_valid(kv_p_valid), .out_ready(kv_p_ready), .out_data(kv_p_data), .empty(kv_pk_empty));

    // ------------------------------------------------------------------ SFU (job engine + sfu_top)
    reg         sf_start;                            // the job: written by start_job with sf_start
    reg  [2:0]  sf_op;
    reg  [31:0] sf_n, sf_arg;
    reg  [L*32-1:0] sf_a, sf_b;
    reg  [L*16-1:0] sf_c, sf_d;
    reg  [L*6-1:0]  sf_ein;                          // XQUANT pass 2: each lane's block exponent
    wire [SF_NS-1:0]   sf_ev;                        // XQUANT pass 1: block sf_eidx + s -> sf_eo[s]
    wire [31:0]        sf_eidx;
    wire [SF_NS*6-1:0] sf_eo;
    wire        sf_out_ready, sf_out_valid, sf_out_fire;
    wire [L*32-1:0] sf_oa, sf_ob;
    wire        jb_busy, jb_done, jb_ack;
    wire [5:0]  e_cap;            // exponent captured from the quantizer (XQUANT: e0, min over blocks)
    wire [31:0] fb, ob;           // feed beat, output beat of the running job
    reg  [31:0] jn, ja, jb, jo, jo2, jpass, jbeats;
    sfu_job #(.SFU_LANES(L), .ABITS(ABITS), .KVBITS(KVBITS), .GROUP(GROUP), .NS(SF_NS)) u_job (
        .clk(clk), .rst_n(rst_n), .start(sf_start), .op(sf_op), .n(sf_n), .arg(sf_arg), .passes(jpass),
        .beats(jbeats), .imm(i_imm), .shift(i_shift), .ack(jb_ack), .busy(jb_busy), .done(jb_done),
        .e_cap(e_cap), .fb(fb), .in_a(sf_a), .in_b(sf_b), .in_c(sf_c), .in_d(sf_d), .in_e(sf_ein),
        .ob(ob), .out_ready(sf_out_ready), .out_valid(sf_out_valid), .out_fire(sf_out_fire),
        .out_a(sf_oa), .out_b(sf_ob), .e_fire(sf_ev), .e_idx(sf_eidx), .e(sf_eo));

    // ------------------------------------------------------------------ MPE
    reg         mp_in_valid;
    wire        mp_in_ready, mp_out_valid, mp_busy;
    reg  [BI*ABITS-1:0]             mp_x;
    reg  [ROWS*NSUB*SCALE_BITS-1:0] mp_scale;
    reg  [ROWS*NSUB*WM-1:0]         mp_zero;
    wire [ROWS*COLS*LWM-1:0]        mp_w;       // the beat, lanes widened to WM bits
    reg  [NSUB*REL_BITS-1:0]        mp_rel;
    wire [ROWS*32-1:0]              mp_out;
    reg  [31:0] mp_k;
    reg  signed [7:0] mp_shift;
    mpe #(.ROWS(ROWS), .COLS(COLS), .WBITS(WM), .ABITS(ABITS), .GROUP(GROUP),
          .SCALE_BITS(SCALE_BITS), .ZP(ZP), .NM_N(NM_N), .NM_M(NM_M)) u_mpe (
        .clk(clk), .rst_n(rst_n), .cfg_k(mp_k), .cfg_shift(mp_shift), .in_valid(mp_in_valid),
        .in_ready(mp_in_ready), .in_x(mp_x), .in_w(mp_w), .in_scale(mp_scale),
        .in_zero(mp_zero), .in_rel(mp_rel), .out_valid(mp_out_valid), .out_ready(1'b1), .out_data(mp_out),
        .busy(mp_busy));

    // ------------------------------------------------------------------ sequencer state
    localparam [5:0] S_IDLE = 0, S_FETCH = 1, S_DISPATCH = 2, S_RETIRE = 3, S_FINISH = 4,
                     S_LOAD = 5, S_STORE = 6, S_STORE_WAIT = 7, S_LD16 = 8, S_SFU = 9,
                     S_NEXT = 10, S_GEMV = 11, S_KVW_WAIT = 12, S_KVEXP = 13, S_KVEXP_WAIT = 14,
                     S_AT_E = 15, S_AT_K = 16, S_AT_V = 17, S_AT_OUT = 18, S_DRAIN_IO = 19,
                     S_DRAIN_KV = 20, S_ADVANCE = 21;
    reg [5:0] st;
    reg [31:0] cnt, rem;          // element counters of the running phase
    reg [31:0] tok;               // token loop
    reg [31:0] hh;                // head loop (ROPE: q heads then kv heads; ATTN: kv head)
    reg [31:0] jj;                // ATTN: query head within the KV group
    reg [3:0]  step;              // op-specific sub-step
    reg        which;             // KVSTORE: 0 = K, 1 = V
    reg        rd_started;
    assign idle = (st == S_IDLE);

    // per-instruction quantities that follow the loops (the rest: codesign_decode)
    wire [31:0] n_valid_keys = i_ctx - i_m + tok + 1;              // ATTN: keys of token tok
    wire [63:0] kv_exp_addr = kv_base + i_addr + 2 * kv_data_bytes + which * i_kvh * cap + hh * cap +
                              i_ctx + tok;                          // KVSTORE: exponent byte

    // ------------------------------------------------------------------ SFU jobs: buffers side
    // A job streams `jn` elements (passes x beats, sfu_job counts them) from the buffers into
    // sfu_top and sinks the outputs. Sources: a/b = abuf (or scores for softmax), c/d = pbuf
    // (gamma or cos/sin); beat fb is fed, beat ob written back.
    localparam [2:0] D_ABUF = 0, D_XQ = 1, D_QQ = 2, D_KVPACK = 3, D_PROB = 4;
    localparam [1:0] C_NONE = 0, C_GAMMA = 1, C_ROPE = 2;
    reg        jb_scores;
    reg [2:0]  jdst;
    reg [1:0]  jc;
    assign sf_out_ready = (jdst != D_KVPACK) | kv_push_rdy;
    assign jb_ack = (st == S_SFU) && jb_done;    // the sequencer takes the finished job

    integer i, r, j, c, t, d;
    reg [31:0] idx, idx2, g, oidx;   // oidx: the clocked output index (one driver per reg)
    // feed data (combinational from the buffers)
    always @(*) begin
        sf_a = 0; sf_b = 0; sf_c = 0; sf_d = 0; sf_ein = 0;
        for (i = 0; i < L; i = i + 1) begin
            idx = fb * L + i;
            if (idx < jn) begin
                if (jdst == D_XQ) sf_ein[i*6 +: 6] = xe[idx / GROUP];
                if (jb_scores) sf_a[i*32 +: 32] = scb[ja + idx];
                else begin
                    sf_a[i*32 +: 32] = ab_rd[i*32 +: 32];
                    sf_b[i*32 +: 32] = ab_rd[(AB_RL + i)*32 +: 32];
                end
                if (jc == C_GAMMA) sf_c[i*16 +: 16] = pb_rd[i*16 +: 16];
                if (jc == C_ROPE) begin
                    sf_c[i*16 +: 16] = pb_rd[(2 * i)*16 +: 16];
                    sf_d[i*16 +: 16] = pb_rd[(2 * i + 1)*16 +: 16];
                end
            end
        end
    end

    // ------------------------------------------------------------------ MPE feed (combinational)
    reg [31:0] gb;               // GEMV: beat index within the row tile
    reg [31:0] gtile, gout;      // tiles parsed / tiles written back
    reg [2:0]  gph;              // parse phase: 0 scales, 1 scale pad, 2 zeros, 3 zero pad, 4 beats, 5 beat pad
    reg [31:0] gcnt;             // entries (phase 0/2) or bits (pads) done in the phase
    // the MPE's beat at the GEMV's weight mode (weight_beat.v: lanes widened, or a WBITS_HI beat
    // gathered from WPARTS weight words, one per cycle)
    wire        wb_in_ready, wb_out_valid;
    wire [31:0] wb_in_bits;
    wire        wb_in_valid = (st == S_GEMV) && (gph == 3'd4) && (w_avail >= wb_in_bits);
    weight_beat #(.ROWS(ROWS), .COLS(COLS), .WBITS(WBITS), .WBITS_HI(WBITS_HI), .ZP(ZP), .NM_M(NM_M)) u_wbeat (
        .clk(clk), .rst_n(rst_n), .clear(st != S_GEMV), .hi(w_hi), .in_valid(wb_in_valid), .in_ready(wb_in_ready),
        .in_bits(wb_in_bits), .in_data(w_u[BEAT_BITS-1:0]), .out_valid(wb_out_valid), .out_ready(mp_in_ready),
        .out_beat(mp_w));
    always @(*) begin
        mp_x = 0; mp_scale = 0; mp_zero = 0; mp_rel = 0;
        for (c = 0; c < BI; c = c + 1) begin
            idx2 = gb * BI + c;
            if (idx2 < i_k) mp_x[c*ABITS +: ABITS] = xq_rd[c*ABITS +: ABITS];
        end
        for (r = 0; r < ROWS; r = r + 1)
            for (j = 0; j < NSUB; j = j + 1) begin
                g = (gb * BI + j * SUB) / GROUP;
                mp_scale[(r*NSUB + j)*SCALE_BITS +: SCALE_BITS] = sbuf[g * ROWS + r];
                mp_zero[(r*NSUB + j)*WM +: WM] = zbuf[g * ROWS + r][WM-1:0];
            end
        // each group slice's activation exponent relative to the token's e0 (blocks wholly in
        // the padding past k: 0, their inputs are 0)
        for (j = 0; j < NSUB; j = j + 1) begin
            g = (gb * BI + j * SUB) / GROUP;
            if (g * GROUP < i_k) mp_rel[j*REL_BITS +: REL_BITS] = xe[g] - e_cap;
        end
        mp_in_valid = wb_out_valid;
    end

    // ------------------------------------------------------------------ ATTN row datapath
    // attn_row: the current K row's scores for the group's query heads, the P.V accumulators
    // (V rows) and the rounded outputs; q, their exponents and the row's probabilities from here.
    wire [MAX_REP*MAX_HD*ABITS-1:0] at_q;
    wire [MAX_REP*6-1:0]            at_eq;
    wire [MAX_REP*16-1:0]           at_p;
    wire [MAX_REP*32-1:0]           at_score;
    wire [MAX_REP*MAX_HD*32-1:0]    at_out;
    genvar gq, gj;
    generate
        for (gq = 0; gq < MAX_REP * MAX_HD; gq = gq + 1) begin : g_atq
            assign at_q[gq*ABITS +: ABITS] = qq[gq];
        end
        for (gj = 0; gj < MAX_REP; gj = gj + 1) begin : g_atj
            assign at_eq[gj*6 +: 6] = eq[gj];
            assign at_p[gj*16 +: 16] = prb[gj * KVBUF_DEPTH + cnt];
        end
    endgenerate
    attn_row #(.ABITS(ABITS), .KVBITS(KVBITS), .MAX_HD(MAX_HD), .MAX_REP(MAX_REP), .ROW_W(KV_OUT)) u_attn (
        .clk(clk), .row(kv_u), .hd(i_hd), .rep(rep), .mult(i_mult), .q(at_q), .eq(at_eq), .e_row(ebuf[cnt]),
        .p(at_p), .acc_en(rst_n && st == S_AT_V && kv_fire), .acc_clear_all(rst_n && st == S_IDLE && start),
        .acc_clear_used(rst_n && st == S_AT_OUT), .score(at_score), .out(at_out));

    // ------------------------------------------------------------------ stream consumers (combinational)
    // Every pop/push happens in the cycle its data is looked at: `*_fire` says the consumer
    // takes `*_take` elements now; the sequencer below updates its counters with the same signals.
    reg        io_fire, w_fire, kv_fire;
    reg [31:0] io_take, w_take, kv_take;
    reg [31:0] pad_bits;
    always @(*) begin
        io_fire = 1'b0; io_take = 0; io_pop = 0;
        w_fire = 1'b0; w_take = 0; w_pop = 0;
        kv_fire = 1'b0; kv_take = 0; kv_pop = 0;
        io_push = 1'b0; io_pbits = 0; io_pdata = 0;
        kv_push = 1'b0; kv_pbits = 0; kv_pdata = 0;
        pad_bits = 0;
        case (st)
        S_FETCH: if (rd_started && !io_uclr && io_avail >= ISA_BITS) begin
            io_fire = 1'b1; io_pop = ISA_BITS;
        end
        S_LOAD, S_LD16: if (!io_uclr && rem != 0) begin
            io_take = (st == S_LOAD) ? ((rem < PORT_BITS / 32) ? rem : PORT_BITS / 32)
                                     : ((rem < PORT_BITS / 16) ? rem : PORT_BITS / 16);
            if (io_avail >= io_take * ((st == S_LOAD) ? 32 : 16)) begin
                io_fire = 1'b1; io_pop = io_take * ((st == S_LOAD) ? 32 : 16);
            end
        end
        S_DRAIN_IO: io_pop = io_avail;
        S_STORE: if (!io_pclr && rem != 0) begin
            io_take = (rem < PK_IN / 32) ? rem : PK_IN / 32;
            for (i = 0; i < PK_IN / 32; i = i + 1)
                if (i < io_take) io_pdata[i*32 +: 32] = ab_rd[(2*AB_RL + i)*32 +: 32];
            io_pbits = io_take * 32;
            io_push = 1'b1;
            io_fire = io_push_rdy;
        end
        S_GEMV: if (!w_uclr && gtile < tiles) begin
            case (gph)
            3'd0: begin
                w_take = ROWS * ngroups - gcnt;
                if (w_take > PORT_BITS / 16) w_take = PORT_BITS / 16;
                if (w_avail >= w_take * 16) begin w_fire = 1'b1; w_pop = w_take * 16; end
            end
            3'd2: begin
                w_take = ROWS * ngroups - gcnt;
                if (w_take > PORT_BITS / 8) w_take = PORT_BITS / 8;
                if (w_avail >= w_take * 8) begin w_fire = 1'b1; w_pop = w_take * 8; end
            end
            // a weight word into weight_beat: it completes a beat (w_fire) or is gathered
            3'd4: if (wb_in_valid && wb_in_ready) begin w_fire = wb_out_valid; w_pop = wb_in_bits; end
            default: begin   // 1, 3, 5: padding to 64 bytes, dropped
                pad_bits = (gph == 3'd1) ? (sc_bytes * 8 - ROWS * ngroups * 16) :
                           (gph == 3'd3) ? (zp_bytes * 8 - ROWS * ngroups * 8) :
                                           (wb_bytes * 8 - nbeats * beat_bits);
                w_take = pad_bits - gcnt;
                if (w_take > W_OUT) w_take = W_OUT;
                if (w_take > w_avail) w_take = w_avail;
                w_fire = 1'b1; w_pop = w_take;
            end
            endcase
        end
        S_AT_E: if (!kv_uclr && rem != 0) begin
            kv_take = (rem < PORT_BITS / 8) ? rem : PORT_BITS / 8;
            if (kv_avail >= kv_take * 8) begin kv_fire = 1'b1; kv_pop = kv_take * 8; end
        end
        S_AT_K, S_AT_V: if (!kv_uclr && rem != 0 && kv_avail >= kv_row * 8) begin
            kv_fire = 1'b1; kv_pop = kv_row * 8; kv_take = 1;
        end
        S_DRAIN_KV: kv_pop = kv_avail;
        S_KVEXP: if (!kv_pclr) begin
            kv_push = 1'b1; kv_pbits = 8; kv_pdata[7:0] = {2'b0, e_cap};
        end
        default: ;
        endcase
        // quantized K/V lanes of a KVSTORE job go straight into the packer
        if (jb_busy && jdst == D_KVPACK && sf_out_valid) begin
            kv_push = 1'b1;
            for (i = 0; i < L; i = i + 1)
                kv_pdata[i*KVBITS +: KVBITS] = sf_oa[i*32 +: KVBITS];
            kv_pbits = ((jn - ob * L) < L ? (jn - ob * L) : L) * KVBITS;
        end
    end

    // ------------------------------------------------------------------ the sequencer
    reg io_wr_seen, kv_wr_seen;   // sticky write-complete flags (cleared when a write is issued)
    always @(posedge clk) begin
        if (!rst_n) begin
            st <= S_IDLE; done <= 1'b0; err <= 1'b0; err_code <= 0; cycles <= 0; retire <= 1'b0;
            pc <= 0; ir <= 0; cnt <= 0; rem <= 0; tok <= 0; hh <= 0; jj <= 0; step <= 0; which <= 0;
            rd_started <= 0; io_wr_seen <= 0; kv_wr_seen <= 0;
            io_rcmd_v <= 0; io_wcmd_v <= 0; w_rcmd_v <= 0; kv_rcmd_v <= 0; kv_wcmd_v <= 0;
            io_uclr <= 0; w_uclr <= 0; kv_uclr <= 0; io_pclr <= 0; kv_pclr <= 0;
            io_flush <= 0; kv_flush <= 0; io_uskip <= 0; kv_uskip <= 0; io_poff <= 0; kv_poff <= 0;
            io_rcmd_a <= 0; io_rcmd_n <= 0; io_wcmd_a <= 0; io_wcmd_n <= 0; w_rcmd_a <= 0; w_rcmd_n <= 0;
            kv_rcmd_a <= 0; kv_rcmd_n <= 0; kv_wcmd_a <= 0; kv_wcmd_n <= 0;
            sf_start <= 0; sf_op <= 0; sf_n <= 0; sf_arg <= 0;
            jb_scores <= 0; jn <= 0; ja <= 0; jb <= 0; jo <= 0; jo2 <= 0; jpass <= 0;
            jbeats <= 0; jdst <= 0; jc <= 0;
            gb <= 0; gtile <= 0; gout <= 0; gph <= 0; gcnt <= 0; mp_k <= 0; mp_shift <= 0;
        end else begin
            // one-cycle pulses
            done <= 1'b0; retire <= 1'b0; sf_start <= 1'b0;
            io_rcmd_v <= 1'b0; io_wcmd_v <= 1'b0; w_rcmd_v <= 1'b0; kv_rcmd_v <= 1'b0; kv_wcmd_v <= 1'b0;
            io_uclr <= 1'b0; w_uclr <= 1'b0; kv_uclr <= 1'b0; io_pclr <= 1'b0; kv_pclr <= 1'b0;
            io_flush <= 1'b0; kv_flush <= 1'b0;
            if (st != S_IDLE) cycles <= cycles + 1;
            if (io_wr_done) io_wr_seen <= 1'b1;
            if (kv_wr_done) kv_wr_seen <= 1'b1;
            if (io_wcmd_v) io_wr_seen <= 1'b0;
            if (kv_wcmd_v) kv_wr_seen <= 1'b0;

            // ---------------- SFU job outputs into the buffers (beside the op states; sfu_job counts)
            if (sf_out_fire) begin
                for (i = 0; i < L; i = i + 1) begin
                    oidx = ob * L + i;
                    if (oidx < jn) begin
                        case (jdst)
                            D_ABUF, D_XQ: ;   // lane_ram write groups (below)
                            D_QQ: qq[jo + oidx] <= sf_oa[i*32 +: ABITS];
                            D_PROB: prb[jo + oidx] <= sf_oa[i*32 +: 16];
                            default: ;
                        endcase
                    end
                end
            end
            // XQUANT pass 1: the block exponents into the exponent buffer
            if (jdst == D_XQ)
                for (i = 0; i < SF_NS; i = i + 1)
                    if (sf_ev[i]) xe[sf_eidx + i] <= sf_eo[i*6 +: 6];
            // MPE results -> activation buffer (lane_ram write group 2)
            if (mp_out_valid) gout <= gout + 1;

            case (st)
            S_IDLE: if (start) begin
                pc <= 0; cycles <= 0; err <= 1'b0; err_code <= 0;   // (attn_row clears its accumulators)
                if (n_instr == 0) done <= 1'b1;
                else begin st <= S_FETCH; rd_started <= 1'b0; end
            end
            // ---------------- fetch ISA_BITS/8 (64) bytes at io_base + 64*pc
            S_FETCH: begin
                if (!rd_started) begin
                    io_rcmd_v <= 1'b1; io_rcmd_a <= io_base + pc * (ISA_BITS / 8); io_rcmd_n <= ISA_BITS / 8;
                    io_uclr <= 1'b1; io_uskip <= skip_of(io_base); rd_started <= 1'b1;
                end else if (io_fire) begin
                    ir <= io_u[ISA_BITS-1:0];
                    i_unsupported <= f_unsupported; w_hi <= f_w_hi; beat_bits <= f_beat_bits;
                    rep <= f_rep; half <= f_half; kv_row <= f_kv_row; cap <= f_cap;
                    kv_data_bytes <= f_kv_data_bytes; kpad <= f_kpad; ngroups <= f_ngroups;
                    tiles <= f_tiles; nbeats <= f_nbeats; sc_bytes <= f_sc_bytes; zp_bytes <= f_zp_bytes;
                    wb_bytes <= f_wb_bytes; tile_bytes <= f_tile_bytes;
                    st <= S_DISPATCH;
                end
            end
            S_DISPATCH: begin
                tok <= 0; hh <= 0; jj <= 0; step <= 0; cnt <= 0; which <= 0; rd_started <= 1'b0;
                // variants this core does not implement (codesign_decode): stop, never skip
                if (i_unsupported) begin err <= 1'b1; err_code <= 16'd1 + i_op; st <= S_FINISH; end
                else case (i_op)
                    OP_LOAD: begin
                        io_rcmd_v <= 1'b1; io_rcmd_a <= io_base + i_addr; io_rcmd_n <= i_m * i_n * 4;
                        io_uclr <= 1'b1; io_uskip <= skip_of(io_base + i_addr);
                        rem <= i_m * i_n;
                        st <= S_LOAD;
                    end
                    OP_STORE: begin
                        io_wcmd_v <= 1'b1; io_wcmd_a <= io_base + i_addr; io_wcmd_n <= i_m * i_n * 4;
                        io_pclr <= 1'b1; io_poff <= skip_of(io_base + i_addr);
                        rem <= i_m * i_n;
                        st <= S_STORE;
                    end
                    OP_ADD, OP_ACT: begin
                        start_job(i_op == OP_ADD ? SF_ADD : SF_ACT, i_m * i_n, 1, i_src, i_src2, i_dst, 0,
                                  D_ABUF, C_NONE, 0, 1'b0);
                        st <= S_SFU;
                    end
                    OP_NORM: begin start_ld16(i_addr, i_n); st <= S_LD16; end
                    OP_GEMV: begin
                        start_job(SF_XQUANT, i_k, 2, i_src, 0, 0, 0, D_XQ, C_NONE, 0, 1'b0);
                        st <= S_SFU;
                    end
                    OP_ROPE: begin
                        start_ld16(i_addr + i_ctx * i_hd * 2, i_hd);
                        st <= S_LD16;
                    end
                    OP_KVSTORE: begin
                        kv_write_row(0, 0, 1'b0);
                        st <= S_SFU;
                    end
                    OP_ATTN: begin
                        start_job(SF_AQUANT, i_hd, 2, i_src, 0, 0, 0, D_QQ, C_NONE, 0, 1'b0);
                        st <= S_SFU;
                    end
                    default: ;   // unreachable: unknown opcodes are unsupported
                endcase
            end
            // ---------------- LOAD: io words -> abuf; NORM gamma / ROPE row: int16 -> pbuf
            S_LOAD, S_LD16: begin
                if (io_fire) begin
                    // the words go to abuf (S_LOAD) or pbuf (S_LD16): lane_ram write groups
                    cnt <= cnt + io_take;
                    rem <= rem - io_take;
                end
                if (!io_uclr && rem == 0) st <= S_DRAIN_IO;
            end
            // read out the rest of the last word until the mover is idle
            S_DRAIN_IO: if (io_rcmd_rdy && !io_s_valid && !io_uclr && !io_rcmd_v)
                st <= (i_op == OP_LOAD) ? S_RETIRE : S_NEXT;
            // ---------------- STORE: abuf -> packer -> io words
            S_STORE: begin
                if (io_fire) begin
                    cnt <= cnt + io_take;
                    rem <= rem - io_take;
                end
                if (!io_pclr && rem == 0) begin
                    io_flush <= 1'b1;
                    st <= S_STORE_WAIT;
                end
            end
            S_STORE_WAIT: if (io_wr_seen) st <= S_RETIRE;
            // ---------------- an SFU job is running
            S_SFU: if (jb_done) st <= S_NEXT;   // jb_ack takes it
            // ---------------- what follows a finished phase (per opcode)
            S_NEXT: begin
                case (i_op)
                    OP_ADD, OP_ACT: st <= S_RETIRE;
                    OP_NORM: begin
                        // step 0: gamma is in; then one rmsnorm job per token
                        if (step == 0) begin
                            step <= 1;
                            start_job(SF_NORM, i_n, 2, i_src, 0, i_dst, 0, D_ABUF, C_GAMMA, i_mult, 1'b0);
                            st <= S_SFU;
                        end else if (tok + 1 < i_m) begin
                            tok <= tok + 1;
                            start_job(SF_NORM, i_n, 2, i_src + (tok + 1) * i_n, 0, i_dst + (tok + 1) * i_n, 0,
                                      D_ABUF, C_GAMMA, i_mult, 1'b0);
                            st <= S_SFU;
                        end else st <= S_RETIRE;
                    end
                    OP_GEMV: begin
                        // the token's activations are quantized (xq, block exponents xe, e0 = e_cap):
                        // stream the matrix; the MPE gets shift - e0 and e_g - e0 per group
                        mp_k <= kpad;
                        mp_shift <= i_shift - $signed({10'd0, e_cap});
                        w_rcmd_v <= 1'b1; w_rcmd_a <= w_base + i_addr; w_rcmd_n <= tiles * tile_bytes;
                        w_uclr <= 1'b1;
                        gb <= 0; gtile <= 0; gout <= 0; gph <= 0; gcnt <= 0;
                        st <= S_GEMV;
                    end
                    OP_ROPE: begin
                        // heads 0..H-1 of Q, then 0..KV-1 of K; then the next token
                        if (hh == i_heads + i_kvh) begin
                            if (tok + 1 == i_m) st <= S_RETIRE;
                            else begin
                                tok <= tok + 1; hh <= 0;
                                start_ld16(i_addr + (i_ctx + tok + 1) * i_hd * 2, i_hd);
                                st <= S_LD16;
                            end
                        end else begin
                            hh <= hh + 1;
                            if (hh < i_heads)
                                start_job(SF_ROPE, half, 1, i_src + (tok * i_heads + hh) * i_hd,
                                          i_src + (tok * i_heads + hh) * i_hd + half,
                                          i_src + (tok * i_heads + hh) * i_hd,
                                          i_src + (tok * i_heads + hh) * i_hd + half, D_ABUF, C_ROPE, 0, 1'b0);
                            else
                                start_job(SF_ROPE, half, 1, i_src2 + (tok * i_kvh + hh - i_heads) * i_hd,
                                          i_src2 + (tok * i_kvh + hh - i_heads) * i_hd + half,
                                          i_src2 + (tok * i_kvh + hh - i_heads) * i_hd,
                                          i_src2 + (tok * i_kvh + hh - i_heads) * i_hd + half,
                                          D_ABUF, C_ROPE, 0, 1'b0);
                            st <= S_SFU;
                        end
                    end
                    OP_ATTN: begin
                        // per KV group: 0 query heads quantized; 1 K exponents in; 2 scores done,
                        // softmax per head; 3 V exponents in; 4 outputs written
                        case (step)
                        4'd0: begin
                            eq[jj] <= e_cap;
                            if (jj + 1 < rep) begin
                                jj <= jj + 1;
                                start_job(SF_AQUANT, i_hd, 2, i_src + (tok * i_heads + hh * rep + jj + 1) * i_hd,
                                          0, (jj + 1) * MAX_HD, 0, D_QQ, C_NONE, 0, 1'b0);
                                st <= S_SFU;
                            end else begin
                                jj <= 0; step <= 1;
                                start_kv_read(i_addr + 2 * kv_data_bytes + hh * cap, n_valid_keys, n_valid_keys);
                                st <= S_AT_E;
                            end
                        end
                        4'd1: begin
                            start_kv_read(i_addr + hh * cap * kv_row, n_valid_keys * kv_row, n_valid_keys);
                            st <= S_AT_K;
                        end
                        4'd2: begin
                            if (jj < rep) begin
                                jj <= jj + 1;
                                start_job(SF_SOFTMAX, n_valid_keys, 3, jj * KVBUF_DEPTH, 0, jj * KVBUF_DEPTH, 0,
                                          D_PROB, C_NONE, 0, 1'b1);
                                st <= S_SFU;
                            end else begin
                                jj <= 0; step <= 3;
                                start_kv_read(i_addr + 2 * kv_data_bytes + i_kvh * cap + hh * cap, n_valid_keys,
                                              n_valid_keys);
                                st <= S_AT_E;
                            end
                        end
                        4'd3: begin
                            start_kv_read(i_addr + kv_data_bytes + hh * cap * kv_row, n_valid_keys * kv_row,
                                          n_valid_keys);
                            st <= S_AT_V;
                        end
                        default: begin
                            if (hh + 1 < i_kvh || tok + 1 < i_m) begin
                                if (hh + 1 < i_kvh) hh <= hh + 1;
                                else begin hh <= 0; tok <= tok + 1; end
                                step <= 0; jj <= 0;
                                start_job(SF_AQUANT, i_hd, 2,
                                          i_src + (((hh + 1 < i_kvh) ? tok : tok + 1) * i_heads +
                                                   ((hh + 1 < i_kvh) ? hh + 1 : 0) * rep) * i_hd,
                                          0, 0, 0, D_QQ, C_NONE, 0, 1'b0);
                                st <= S_SFU;
                            end else st <= S_RETIRE;
                        end
                        endcase
                    end
                    OP_KVSTORE: begin
                        // the row's lanes are in the packer: flush, wait for the write
                        kv_flush <= 1'b1;
                        st <= S_KVW_WAIT;
                    end
                    default: st <= S_RETIRE;
                endcase
            end
            // ---------------- GEMV: parse the weight stream, feed the MPE
            S_GEMV: begin
                if (w_fire) begin
                    case (gph)
                    3'd0: begin
                        for (i = 0; i < PORT_BITS / 16; i = i + 1)
                            if (i < w_take) sbuf[gcnt + i] <= w_u[i*16 +: 16];
                        if (gcnt + w_take == ROWS * ngroups) begin gph <= 3'd1; gcnt <= 0; end
                        else gcnt <= gcnt + w_take;
                    end
                    3'd2: begin
                        for (i = 0; i < PORT_BITS / 8; i = i + 1)
                            if (i < w_take) zbuf[gcnt + i] <= w_u[i*8 +: 8];
                        if (gcnt + w_take == ROWS * ngroups) begin gph <= 3'd3; gcnt <= 0; end
                        else gcnt <= gcnt + w_take;
                    end
                    3'd4: begin
                        if (gb + 1 == nbeats) begin gph <= 3'd5; gcnt <= 0; end
                        gb <= gb + 1;
                    end
                    default: begin
                        if (gcnt + w_take == pad_bits) begin
                            gcnt <= 0;
                            if (gph == 3'd1) gph <= (ZP != 0) ? 3'd2 : 3'd4;
                            else if (gph == 3'd3) gph <= 3'd4;
                            else begin gph <= 3'd0; gtile <= gtile + 1; gb <= 0; end
                        end else gcnt <= gcnt + w_take;
                    end
                    endcase
                end
                if (!w_uclr && !w_rcmd_v && gtile == tiles && gout == tiles && !mp_busy && w_rcmd_rdy) begin
                    if (tok + 1 < i_m) begin
                        tok <= tok + 1;
                        start_job(SF_XQUANT, i_k, 2, i_src + (tok + 1) * i_k, 0, 0, 0, D_XQ, C_NONE, 0, 1'b0);
                        st <= S_SFU;
                    end else st <= S_RETIRE;
                end
            end
            // ---------------- KVSTORE: wait for the row write, then the exponent byte
            S_KVW_WAIT: if (kv_wr_seen && !kv_wcmd_v) begin
                kv_wcmd_v <= 1'b1;
                kv_wcmd_a <= kv_exp_addr;
                kv_wcmd_n <= 1;
                kv_pclr <= 1'b1;
                kv_poff <= skip_of(kv_exp_addr);
                st <= S_KVEXP;
            end
            S_KVEXP: if (!kv_pclr && kv_push_rdy) begin   // the byte is pushed this cycle
                kv_flush <= 1'b1;
                st <= S_KVEXP_WAIT;
            end
            S_KVEXP_WAIT: if (kv_wr_seen && !kv_wcmd_v && !kv_flush) begin
                // next: V of this head, then K of the next head, then the next token
                if (which == 0) begin which <= 1; kv_write_row(tok, hh, 1'b1); st <= S_SFU; end
                else if (hh + 1 < i_kvh) begin which <= 0; hh <= hh + 1; kv_write_row(tok, hh + 1, 1'b0); st <= S_SFU; end
                else if (tok + 1 < i_m) begin which <= 0; hh <= 0; tok <= tok + 1; kv_write_row(tok + 1, 0, 1'b0); st <= S_SFU; end
                else st <= S_RETIRE;
            end
            // ---------------- ATTN: exponents of the KV group's rows -> ebuf
            S_AT_E: begin
                if (kv_fire) begin
                    for (i = 0; i < PORT_BITS / 8; i = i + 1)
                        if (i < kv_take) ebuf[cnt + i] <= kv_u[i*8 +: 8];
                    cnt <= cnt + kv_take;
                    rem <= rem - kv_take;
                end
                if (!kv_uclr && rem == 0) st <= S_DRAIN_KV;
            end
            S_DRAIN_KV: if (kv_rcmd_rdy && !kv_s_valid && !kv_uclr && !kv_rcmd_v) st <= S_NEXT;
            // ---------------- ATTN: one K row per cycle -> the group's scores
            S_AT_K: begin
                if (kv_fire) begin
                    for (j = 0; j < MAX_REP; j = j + 1)
                        if (j < rep) scb[j * KVBUF_DEPTH + cnt] <= at_score[j*32 +: 32];
                    cnt <= cnt + 1;
                    rem <= rem - 1;
                end
                if (!kv_uclr && rem == 0) begin
                    step <= 2; jj <= 0;
                    st <= S_DRAIN_KV;
                end
            end
            // ---------------- ATTN: one V row per cycle -> P.V accumulators (attn_row, acc_en)
            S_AT_V: begin
                if (kv_fire) begin
                    cnt <= cnt + 1;
                    rem <= rem - 1;
                end
                if (!kv_uclr && rem == 0) st <= S_AT_OUT;
            end
            S_AT_OUT: begin
                // the group's outputs go to abuf (lane_ram write groups 4 ..); attn_row clears the
                // accumulators it gave (acc_clear_used)
                step <= 4;
                st <= S_DRAIN_KV;
            end
            // ---------------- retire, next instruction
            // retire is high (registered) in the cycle after S_RETIRE, while pc still names the
            // retired instruction: S_ADVANCE moves on
            S_RETIRE: begin
                retire <= 1'b1;
                st <= S_ADVANCE;
            end
            S_ADVANCE: begin
                if (pc + 1 == n_instr) st <= S_FINISH;
                else begin
                    pc <= pc + 1;
                    rd_started <= 1'b0;
                    st <= S_FETCH;
                end
            end
            S_FINISH: begin
                done <= 1'b1;
                st <= S_IDLE;
            end
            default: st <= S_IDLE;
            endcase
        end
    end
`ifdef CODESIGN_TRACE
    reg [5:0] st_q;
    always @(posedge clk) begin
        st_q <= st;
        if (st != st_q) $display("%0t core: pc=%0d op=%0s st %0d -> %0d tok=%0d hh=%0d jj=%0d step=%0d",
                                 $time, pc, isa_op_name(i_op), st_q, st, tok, hh, jj, step);
        if (sf_start) $display("%0t core: sfu op=%0d n=%0d", $time, sf_op, sf_n);
        if (jb_busy && u_job.sf_done) $display("%0t core: sfu done shift=%0d", $time, u_job.sf_shift);
    end
`endif

    // ------------------------------------------------------------------ tasks (called from the sequencer)
    task start_job(input [2:0] op, input [31:0] n, input [31:0] passes, input [31:0] a, input [31:0] b,
                   input [31:0] o, input [31:0] o2, input [2:0] dst, input [1:0] csel, input [31:0] arg,
                   input scores);
        begin
            sf_start <= 1'b1; sf_op <= op; sf_n <= n; sf_arg <= arg;   // sfu_job starts it
            jb_scores <= scores;
            jn <= n; ja <= a; jb <= b; jo <= o; jo2 <= o2; jpass <= passes;
            jbeats <= (n + L - 1) / L; jdst <= dst; jc <= csel;
        end
    endtask

    task start_ld16(input [63:0] addr, input [31:0] n);
        begin
            io_rcmd_v <= 1'b1; io_rcmd_a <= io_base + addr; io_rcmd_n <= n * 2;
            io_uclr <= 1'b1; io_uskip <= skip_of(io_base + addr);
            rem <= n; cnt <= 0;
        end
    endtask

    // read `nbytes` of the KV image; the consumer counts `items` (bytes or rows)
    task start_kv_read(input [63:0] addr, input [31:0] nbytes, input [31:0] items);
        begin
            kv_rcmd_v <= 1'b1; kv_rcmd_a <= kv_base + addr; kv_rcmd_n <= nbytes;
            kv_uclr <= 1'b1; kv_uskip <= skip_of(kv_base + addr);
            rem <= items;
            cnt <= 0;
        end
    endtask

    // KVSTORE: quantize K (v = 0) or V (v = 1) of head h, token t into the packer, which
    // writes the row at its place in the cache: [K|V][kv_head][cap] rows of R bytes.
    task kv_write_row(input [31:0] t, input [31:0] h, input v);
        reg [63:0] a;
        begin
            a = kv_base + i_addr + v * kv_data_bytes + (h * cap + i_ctx + t) * kv_row;
            kv_wcmd_v <= 1'b1; kv_wcmd_a <= a; kv_wcmd_n <= kv_row;
            kv_pclr <= 1'b1; kv_poff <= skip_of(a);
            start_job(SF_KVQUANT, i_hd, 2, (v ? i_src2 : i_src) + (t * i_kvh + h) * i_hd, 0, 0, 0,
                      D_KVPACK, C_NONE, 0, 1'b0);
        end
    endtask
    // ------------------------------------------------------------------ the lane_ram buffers
    // Write groups, later ones winning a same-element write as the statements they replace did:
    // abuf: 0 SFU output a, 1 SFU output b (ROPE's second half), 2 MPE results, 3 LOAD words,
    // 4 + j ATTN outputs of query head j of the group. Reads: 0 SFU input a, 1 SFU input b, 2 STORE.
    function [31:0] clip(input [31:0] total, input [31:0] done_, input [31:0] lanes);
        clip = (total > done_) ? ((total - done_ < lanes) ? total - done_ : lanes) : 32'd0;
    endfunction
    wire [31:0] sf_wcnt = clip(jn, ob * L, L);    // lanes of the SFU output beat (abuf a/b, xq)
    reg  [AB_WG-1:0]          ab_we;
    reg  [AB_WG*32-1:0]       ab_wbase, ab_wcnt;
    reg  [AB_WG*AB_WL*32-1:0] ab_wd;
    reg  [L*ABITS-1:0]        xq_wd;
    wire sf_to_abuf = rst_n && sf_out_fire && jdst == D_ABUF;
    integer lg, ll;
    always @(*) begin
        ab_we = 0; ab_wbase = 0; ab_wcnt = 0; ab_wd = 0; xq_wd = 0;
        ab_we[0] = sf_to_abuf;
        ab_wbase[0 +: 32] = jo + ob * L;
        ab_wcnt[0 +: 32] = sf_wcnt;
        ab_we[1] = sf_to_abuf && sf_op == SF_ROPE;
        ab_wbase[32 +: 32] = jo2 + ob * L;
        ab_wcnt[32 +: 32] = sf_wcnt;
        for (ll = 0; ll < L; ll = ll + 1) begin
            ab_wd[(0 * AB_WL + ll)*32 +: 32] = sf_oa[ll*32 +: 32];
            ab_wd[(1 * AB_WL + ll)*32 +: 32] = sf_ob[ll*32 +: 32];
            xq_wd[ll*ABITS +: ABITS] = sf_oa[ll*32 +: ABITS];
        end
        ab_we[2] = rst_n && mp_out_valid;
        ab_wbase[64 +: 32] = i_dst + tok * i_n + gout * ROWS;
        ab_wcnt[64 +: 32] = clip(i_n, gout * ROWS, ROWS);
        for (ll = 0; ll < ROWS; ll = ll + 1) ab_wd[(2 * AB_WL + ll)*32 +: 32] = mp_out[ll*32 +: 32];
        ab_we[3] = rst_n && io_fire && st == S_LOAD;
        ab_wbase[96 +: 32] = i_dst + cnt;
        ab_wcnt[96 +: 32] = (io_take < PORT_BITS / 32) ? io_take : PORT_BITS / 32;
        for (ll = 0; ll < PORT_BITS / 32; ll = ll + 1) ab_wd[(3 * AB_WL + ll)*32 +: 32] = io_u[ll*32 +: 32];
        for (lg = 0; lg < MAX_REP; lg = lg + 1) begin
            ab_we[4 + lg] = rst_n && st == S_AT_OUT && lg < rep;
            ab_wbase[(4 + lg)*32 +: 32] = i_dst + (tok * i_heads + hh * rep + lg) * i_hd;
            ab_wcnt[(4 + lg)*32 +: 32] = (i_hd < MAX_HD) ? i_hd : MAX_HD;
            for (ll = 0; ll < MAX_HD; ll = ll + 1)
                ab_wd[((4 + lg) * AB_WL + ll)*32 +: 32] = at_out[(lg * MAX_HD + ll)*32 +: 32];
        end
    end
    lane_ram #(.W(32), .DEPTH(ABUF_DEPTH), .LANES(AB_WL), .RLANES(AB_RL), .WG(AB_WG), .RG(3), .BANKED(BANKED)) u_abuf (
        .clk(clk), .wr_en(ab_we), .wr_base(ab_wbase), .wr_count(ab_wcnt), .wr_data(ab_wd),
        .rd_base({i_src + cnt, jb + fb * L, ja + fb * L}), .rd_data(ab_rd));
    lane_ram #(.W(ABITS), .DEPTH(ABUF_DEPTH), .LANES(L), .RLANES(BI), .WG(1), .RG(1), .BANKED(BANKED)) u_xq (
        .clk(clk), .wr_en(rst_n && sf_out_fire && jdst == D_XQ), .wr_base(ob * L), .wr_count(sf_wcnt),
        .wr_data(xq_wd), .rd_base(gb * BI), .rd_data(xq_rd));
    lane_ram #(.W(16), .DEPTH(ABUF_DEPTH), .LANES(PORT_BITS / 16), .RLANES(2 * L), .WG(1), .RG(1),
               .BANKED(BANKED)) u_pbuf (
        .clk(clk), .wr_en(rst_n && io_fire && st == S_LD16), .wr_base(cnt),
        .wr_count((io_take < PORT_BITS / 16) ? io_take : PORT_BITS / 16), .wr_data(io_u[PORT_BITS-1:0]),
        .rd_base((jc == C_ROPE) ? 2 * fb * L : fb * L), .rd_data(pb_rd));
endmodule
`default_nettype wire
