// sfu_top: every SFU block behind one command + stream port set, for the sequencer.
// cfg_op (sampled with start) selects the block; only that block sees start and
// the input stream, and its outputs drive out_*. Ops (README "sfu_top"):
//   0 ADD  1 ACT (SwiGLU)  2 ROPE  3 NORM  4 SOFTMAX  5 AQUANT (ABITS)  6 KVQUANT (KVBITS)
//   7 XQUANT (ABITS, one exponent per GROUP block: the GEMV input; runs on the AQUANT block)
// Quantized outputs come sign-extended to 32-bit lanes on out_a. XQUANT's block exponents leave
// on out_e* (pass 1) and come back per lane on in_e (pass 2) from the sequencer's buffer.
module sfu_top #(
    parameter SFU_LANES = 4,
    parameter ABITS     = 8,
    parameter KVBITS    = 8,
    parameter GROUP     = 32,   // XQUANT block size (the weight group)
    // derived (do not override): block exponents per beat (sfu_quant NS)
    parameter NS = (GROUP % SFU_LANES == 0) ? 1 :
                   (SFU_LANES % GROUP == 0) ? SFU_LANES / GROUP :
                   (SFU_LANES + GROUP - 2) / GROUP + 1
) (
    input  wire                      clk,
    input  wire                      rst_n,
    input  wire                      start,
    input  wire [2:0]                cfg_op,
    input  wire [31:0]               cfg_n,
    input  wire [31:0]               cfg_arg,     // NORM: Instr.mult; ADD: {weighted, w[15:0]}
    input  wire [31:0]               cfg_imm,     // NORM: Instr.imm (eps, Q.32)
    input  wire [15:0]               cfg_shift,   // NORM: Instr.shift (gamma fraction bits)
    output wire                      idle,
    output wire                      done,
    input  wire                      in_valid,
    output wire                      in_ready,
    input  wire [SFU_LANES*32-1:0]   in_a,
    input  wire [SFU_LANES*32-1:0]   in_b,
    input  wire [SFU_LANES*16-1:0]   in_c,
    input  wire [SFU_LANES*16-1:0]   in_d,
    input  wire [SFU_LANES*6-1:0]    in_e,        // XQUANT pass 2: exponent of each lane's block
    output wire                      out_valid,
    input  wire                      out_ready,
    output wire [SFU_LANES*32-1:0]   out_a,
    output wire [SFU_LANES*32-1:0]   out_b,
    output wire [5:0]                out_shift,
    output wire [NS-1:0]             out_e_valid, // XQUANT pass 1: block out_e_idx + s -> out_e[s]
    output wire [31:0]               out_e_idx,
    output wire [NS*6-1:0]           out_e
);
    localparam NOPS = 7;
    localparam AQW = (ABITS > 8) ? 16 : 8;
    localparam KQW = (KVBITS > 8) ? 16 : 8;

    localparam [2:0] OP_AQUANT = 3'd5, OP_KVQUANT = 3'd6, OP_XQUANT = 3'd7;
    reg  [2:0] op;                 // op of the running (or last) command
    wire [NOPS-1:0] b_idle, b_done, b_in_ready, b_out_valid;
    wire all_idle = &b_idle;
    assign idle = all_idle;
    wire go = start && all_idle;
    // XQUANT runs on the AQUANT block (index 5)
    wire [2:0] blk_cmd = (cfg_op == OP_XQUANT) ? OP_AQUANT : cfg_op;
    wire [2:0] blk_op  = (op == OP_XQUANT) ? OP_AQUANT : op;
    wire [2:0] sel = go ? blk_cmd : blk_op;
    always @(posedge clk)
        if (!rst_n) op <= 3'd0;
        else if (go) op <= cfg_op;

    wire [NOPS-1:0] b_start = go ? ({{NOPS-1{1'b0}}, 1'b1} << blk_cmd) : {NOPS{1'b0}};
    wire [NOPS-1:0] b_in_valid = in_valid ? ({{NOPS-1{1'b0}}, 1'b1} << sel) : {NOPS{1'b0}};
    wire [NOPS-1:0] b_out_ready = out_ready ? ({{NOPS-1{1'b0}}, 1'b1} << sel) : {NOPS{1'b0}};

    assign done      = b_done[sel];
    assign in_ready  = b_in_ready[sel];
    assign out_valid = b_out_valid[sel];

    wire [SFU_LANES*32-1:0] add_out;
    sfu_add #(.SFU_LANES(SFU_LANES)) u_add (
        .clk(clk), .rst_n(rst_n), .start(b_start[0]), .cfg_n(cfg_n),
        .cfg_weighted(cfg_arg[16]), .cfg_w(cfg_arg[15:0]), .idle(b_idle[0]),
        .done(b_done[0]), .in_valid(b_in_valid[0]), .in_ready(b_in_ready[0]),
        .in_a(in_a), .in_b(in_b), .out_valid(b_out_valid[0]), .out_ready(b_out_ready[0]),
        .out_data(add_out));

    wire [SFU_LANES*32-1:0] act_out;
    sfu_swiglu #(.SFU_LANES(SFU_LANES)) u_act (
        .clk(clk), .rst_n(rst_n), .start(b_start[1]), .cfg_n(cfg_n), .idle(b_idle[1]),
        .done(b_done[1]), .in_valid(b_in_valid[1]), .in_ready(b_in_ready[1]),
        .in_gate(in_a), .in_up(in_b), .out_valid(b_out_valid[1]), .out_ready(b_out_ready[1]),
        .out_data(act_out));

    wire [SFU_LANES*32-1:0] norm_out;
    sfu_rmsnorm #(.SFU_LANES(SFU_LANES)) u_norm (
        .clk(clk), .rst_n(rst_n), .start(b_start[3]), .cfg_n(cfg_n), .cfg_mult(cfg_arg),
        .cfg_eps(cfg_imm), .cfg_shift(cfg_shift), .idle(b_idle[3]),
        .done(b_done[3]), .in_valid(b_in_valid[3]), .in_ready(b_in_ready[3]),
        .in_x(in_a), .in_gamma(in_c), .out_valid(b_out_valid[3]), .out_ready(b_out_ready[3]),
        .out_data(norm_out));

    wire [SFU_LANES*32-1:0] sm_out;
    sfu_softmax #(.SFU_LANES(SFU_LANES)) u_softmax (
        .clk(clk), .rst_n(rst_n), .start(b_start[4]), .cfg_n(cfg_n), .idle(b_idle[4]),
        .done(b_done[4]), .in_valid(b_in_valid[4]), .in_ready(b_in_ready[4]),
        .in_data(in_a), .out_valid(b_out_valid[4]), .out_ready(b_out_ready[4]),
        .out_data(sm_out));

    wire [SFU_LANES*32-1:0] rope_y0, rope_y1;
    sfu_rope #(.SFU_LANES(SFU_LANES)) u_rope (
        .clk(clk), .rst_n(rst_n), .start(b_start[2]), .cfg_n(cfg_n), .idle(b_idle[2]),
        .done(b_done[2]), .in_valid(b_in_valid[2]), .in_ready(b_in_ready[2]),
        .in_x0(in_a), .in_x1(in_b), .in_cos(in_c), .in_sin(in_d),
        .out_valid(b_out_valid[2]), .out_ready(b_out_ready[2]),
        .out_y0(rope_y0), .out_y1(rope_y1));

    wire [SFU_LANES*AQW-1:0] aq_out;
    wire [5:0] aq_shift;
    sfu_quant #(.SFU_LANES(SFU_LANES), .QBITS(ABITS), .QW(AQW), .GROUP(GROUP)) u_aquant (
        .clk(clk), .rst_n(rst_n), .start(b_start[5]), .cfg_n(cfg_n),
        .cfg_blocked(cfg_op == OP_XQUANT), .idle(b_idle[5]),
        .done(b_done[5]), .in_valid(b_in_valid[5]), .in_ready(b_in_ready[5]),
        .in_data(in_a), .in_e(in_e), .out_valid(b_out_valid[5]), .out_ready(b_out_ready[5]),
        .out_data(aq_out), .out_shift(aq_shift), .out_e_valid(out_e_valid), .out_e_idx(out_e_idx),
        .out_e(out_e));

    wire [SFU_LANES*KQW-1:0] kq_out;
    wire [5:0] kq_shift;
    // KV rows: one exponent per vector (the blocked mode is not built)
    wire kq_ev_unused;
    wire [31:0] kq_eidx_unused;
    wire [5:0] kq_e_unused;
    sfu_quant #(.SFU_LANES(SFU_LANES), .QBITS(KVBITS), .QW(KQW), .GROUP(GROUP), .BLOCKS(0)) u_kvquant (
        .clk(clk), .rst_n(rst_n), .start(b_start[6]), .cfg_n(cfg_n), .cfg_blocked(1'b0),
        .idle(b_idle[6]),
        .done(b_done[6]), .in_valid(b_in_valid[6]), .in_ready(b_in_ready[6]),
        .in_data(in_a), .in_e({SFU_LANES*6{1'b0}}), .out_valid(b_out_valid[6]),
        .out_ready(b_out_ready[6]), .out_data(kq_out), .out_shift(kq_shift),
        .out_e_valid(kq_ev_unused), .out_e_idx(kq_eidx_unused), .out_e(kq_e_unused));

    // output mux, quantized lanes sign-extended to 32 bits
    reg [SFU_LANES*32-1:0] oa;
    integer i;
    always @(*) begin
        oa = add_out;
        if (op == 3'd1)
            oa = act_out;
        else if (op == 3'd2)
            oa = rope_y0;
        else if (op == 3'd3)
            oa = norm_out;
        else if (op == 3'd4)
            oa = sm_out;
        else if (op == OP_AQUANT || op == OP_XQUANT)
            for (i = 0; i < SFU_LANES; i = i + 1)
                oa[i*32 +: 32] = {{(32-AQW){aq_out[i*AQW+AQW-1]}}, aq_out[i*AQW +: AQW]};
        else if (op == OP_KVQUANT)
            for (i = 0; i < SFU_LANES; i = i + 1)
                oa[i*32 +: 32] = {{(32-KQW){kq_out[i*KQW+KQW-1]}}, kq_out[i*KQW +: KQW]};
    end
    assign out_a = oa;
    assign out_b = (op == 3'd2) ? rope_y1 : {SFU_LANES*32{1'b0}};
    assign out_shift = (op == OP_KVQUANT) ? kq_shift : aq_shift;
endmodule
