// sfu_job.v -- the SFU job engine of the LLM processor: runs one job of sfu_top over `n`
// elements in `passes` passes of `beats` beats (SFU_LANES elements a beat), docs/RTL.md.
//
// The sequencer (codesign_core) writes the job (its registers: op, n, arg, passes, beats and the
// buffer offsets it keeps itself) together with a one-cycle `start`; from the next cycle this
// engine offers the input beats the core feeds from its buffers (`fb`: the beat it wants now),
// counts the output beats the core writes back (`ob`; `out_fire`: one leaves this cycle), and
// when sfu_top is done holds `done` until the sequencer takes it (`ack`) with the quantizer's
// output shift in `e_cap` (XQUANT: e0; AQUANT/KVQUANT: the vector's exponent).
`default_nettype none
module sfu_job #(
    parameter integer SFU_LANES = 4,
    parameter integer ABITS = 8,
    parameter integer KVBITS = 8,
    parameter integer GROUP = 32,
    // block exponents XQUANT closes per beat: the NS sfu_top derives (the core passes its SF_NS)
    parameter integer NS = 1
) (
    input  wire                    clk,
    input  wire                    rst_n,
    // the job (registers of the sequencer, written with start)
    input  wire                    start,
    input  wire [2:0]              op,
    input  wire [31:0]             n,
    input  wire [31:0]             arg,
    input  wire [31:0]             passes,
    input  wire [31:0]             beats,
    input  wire [31:0]             imm,        // NORM eps (Instr.imm)
    input  wire [15:0]             shift,      // NORM gamma fraction bits (Instr.shift)
    input  wire                    ack,        // the sequencer takes `done` this cycle
    output reg                     busy,
    output reg                     done,       // sticky: the job finished
    output reg  [5:0]              e_cap,
    // input beats (the core's buffers, beat fb)
    output reg  [31:0]             fb,
    input  wire [SFU_LANES*32-1:0] in_a,
    input  wire [SFU_LANES*32-1:0] in_b,
    input  wire [SFU_LANES*16-1:0] in_c,
    input  wire [SFU_LANES*16-1:0] in_d,
    input  wire [SFU_LANES*6-1:0]  in_e,
    // output beats (beat ob; out_fire: it is taken this cycle)
    output reg  [31:0]             ob,
    input  wire                    out_ready,
    output wire                    out_valid,
    output wire                    out_fire,
    output wire [SFU_LANES*32-1:0] out_a,
    output wire [SFU_LANES*32-1:0] out_b,
    // XQUANT pass 1: block exponents e_idx + s -> e[s] (e_fire[s]: write it this cycle)
    output wire [NS-1:0]           e_fire,
    output wire [31:0]             e_idx,
    output wire [NS*6-1:0]         e
);
    reg         in_valid;
    reg  [31:0] fp;               // feed pass
    wire        in_ready, sf_done, sf_idle;
    wire [5:0]  sf_shift;
    wire [NS-1:0] sf_ev;
    sfu_top #(.SFU_LANES(SFU_LANES), .ABITS(ABITS), .KVBITS(KVBITS), .GROUP(GROUP)) u_sfu (
        .clk(clk), .rst_n(rst_n), .start(start), .cfg_op(op), .cfg_n(n), .cfg_arg(arg),
        .cfg_imm(imm), .cfg_shift(shift),
        .idle(sf_idle), .done(sf_done), .in_valid(in_valid), .in_ready(in_ready),
        .in_a(in_a), .in_b(in_b), .in_c(in_c), .in_d(in_d), .in_e(in_e), .out_valid(out_valid),
        .out_ready(out_ready), .out_a(out_a), .out_b(out_b), .out_shift(sf_shift),
        .out_e_valid(sf_ev), .out_e_idx(e_idx), .out_e(e));
    assign out_fire = busy && out_valid && out_ready;
    assign e_fire = busy ? sf_ev : {NS{1'b0}};

    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0; done <= 1'b0; e_cap <= 0; in_valid <= 1'b0; fp <= 0; fb <= 0; ob <= 0;
        end else begin
            if (start) begin
                // inputs from the cycle after start
                busy <= 1'b1; done <= 1'b0; in_valid <= 1'b1; fp <= 0; fb <= 0; ob <= 0;
            end else if (busy) begin
                if (in_valid && in_ready) begin
                    if (fb + 1 == beats) begin
                        fb <= 0;
                        fp <= fp + 1;
                        if (fp + 1 == passes) in_valid <= 1'b0;
                    end else fb <= fb + 1;
                end
                if (out_fire) ob <= ob + 1;
                if (sf_done) begin
                    busy <= 1'b0;
                    done <= 1'b1;
                    e_cap <= sf_shift;
                end
            end
            if (ack) done <= 1'b0;
        end
    end
endmodule
`default_nettype wire
