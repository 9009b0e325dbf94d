// attn_row.v -- the attention row datapath of the LLM processor (ATTN, docs/RTL.md "Datapath"):
// for one K or V row of the cache (KVBITS per element, head_dim `hd` elements) and the query
// heads of one KV group (`rep` heads, quantized, exponents `eq`):
//
//   score[j] = shift_round_sat32(dot(q_j, k) * mult, 31 - e_q[j] - e_k)   (combinational, K rows)
//   acc[j][d] += p[j] * (v[d] << e_v)                                     (`acc_en`, V rows)
//   out[j][d] = shift_round_sat32(acc[j][d], 15)                          (combinational)
//
// numerics.attention bit for bit (docs/NUMERICS.md). The sequencer (codesign_core) streams one row
// per cycle, writes the scores and the outputs into its buffers, and clears the accumulators:
// `acc_clear_all` at the start of a run, `acc_clear_used` after the outputs of a group are taken
// (the entries j < rep, d < hd). The accumulators are not reset by rst_n (as before the split:
// every run clears them first).
`default_nettype none
module attn_row #(
    parameter integer ABITS = 8,
    parameter integer KVBITS = 8,
    parameter integer MAX_HD = 128,
    parameter integer MAX_REP = 8,
    parameter integer ROW_W = 1024               // bits of the row input (>= MAX_HD * KVBITS)
) (
    input  wire                          clk,
    input  wire [ROW_W-1:0]              row,    // K or V row, element d at [d*KVBITS +: KVBITS]
    input  wire [15:0]                   hd,
    input  wire [31:0]                   rep,
    input  wire [31:0]                   mult,   // score scale (Instr.mult)
    input  wire [MAX_REP*MAX_HD*ABITS-1:0] q,    // quantized query heads, [j][d]
    input  wire [MAX_REP*6-1:0]          eq,     // their exponents
    input  wire [7:0]                    e_row,  // the row's exponent (K: e_k, V: e_v)
    input  wire [MAX_REP*16-1:0]         p,      // V rows: the row's probability per head (Q0.15)
    input  wire                          acc_en,
    input  wire                          acc_clear_all,
    input  wire                          acc_clear_used,
    output reg  [MAX_REP*32-1:0]         score,
    output reg  [MAX_REP*MAX_HD*32-1:0]  out
);
    // numerics.shift_round_sat32 of one int64 value (rounding in 65 bits)
    function [31:0] srs32(input signed [63:0] v, input signed [15:0] sh);
        reg signed [64:0] r;
        reg signed [63:0] lim;
        reg [15:0] lsh;
        begin
            if (sh > 0) begin
                r = ($signed({v[63], v}) + (65'sd1 <<< (sh - 1))) >>> sh;
                if (r > 65'sd2147483647) srs32 = 32'h7fffffff;
                else if (r < -65'sd2147483648) srs32 = 32'h80000000;
                else srs32 = r[31:0];
            end else begin
                lsh = -sh;
                lim = 64'sh7fffffff >>> ((lsh > 62) ? 62 : lsh);
                if (v > lim) srs32 = 32'h7fffffff;
                else if (v < -lim - 1) srs32 = 32'h80000000;
                else srs32 = v[31:0] << ((lsh > 31) ? 31 : lsh);
            end
        end
    endfunction

    reg signed [63:0] acc [0:MAX_REP*MAX_HD-1];   // P.V accumulators [j][d]

    // ---------------------------------------------------------------- K row: the group's scores
    // The dot product is held at its exact width (MAX_HD products of ABITS x KVBITS bits) rather than
    // 64 bits: the value is the same, and the scale multiply is then DOT_W x 33 bits instead of 64 x 64
    // (what synthesis can map to a few multiplier blocks; an ECP5 has 156 of 18x18).
    localparam integer DOT_W = ABITS + KVBITS + $clog2(MAX_HD + 1);
    integer j, d;
    reg signed [DOT_W-1:0] dotv;
    reg signed [KVBITS-1:0] kvv;
    reg signed [ABITS-1:0] qv;
    reg signed [63:0] scaled;
    always @(*) begin
        score = 0;
        for (j = 0; j < MAX_REP; j = j + 1) begin
            dotv = 0;
            for (d = 0; d < MAX_HD; d = d + 1)
                if (d < hd) begin
                    kvv = row[d*KVBITS +: KVBITS];
                    qv = q[(j * MAX_HD + d) * ABITS +: ABITS];
                    dotv = dotv + qv * kvv;
                end
            scaled = dotv * $signed({1'b0, mult});
            score[j*32 +: 32] = srs32(scaled,
                                      16'sd31 - $signed({10'd0, eq[j*6 +: 6]}) - $signed({8'd0, e_row}));
        end
    end

    // ---------------------------------------------------------------- V row: accumulate P.V
    // p * (v << e_v) modulo 2^64 is (p * v) << e_v: the 17 x KVBITS-bit product, then the shift
    integer ja, da;
    reg signed [KVBITS-1:0] kva;
    reg signed [KVBITS+16:0] pv;
    reg signed [63:0] prodv;
    always @(posedge clk) begin
        if (acc_clear_all) begin
            for (ja = 0; ja < MAX_REP * MAX_HD; ja = ja + 1) acc[ja] <= 0;
        end else if (acc_en) begin
            for (ja = 0; ja < MAX_REP; ja = ja + 1)
                for (da = 0; da < MAX_HD; da = da + 1)
                    if (ja < rep && da < hd) begin
                        kva = row[da*KVBITS +: KVBITS];
                        pv = $signed({1'b0, p[ja*16 +: 16]}) * kva;
                        prodv = pv;
                        prodv = prodv <<< e_row;
                        acc[ja * MAX_HD + da] <= acc[ja * MAX_HD + da] + prodv;
                    end
        end else if (acc_clear_used) begin
            for (ja = 0; ja < MAX_REP; ja = ja + 1)
                for (da = 0; da < MAX_HD; da = da + 1)
                    if (ja < rep && da < hd) acc[ja * MAX_HD + da] <= 0;
        end
    end

    // ---------------------------------------------------------------- outputs of the group
    integer jo;
    always @(*) begin
        for (jo = 0; jo < MAX_REP * MAX_HD; jo = jo + 1)
            out[jo*32 +: 32] = srs32(acc[jo], 16'sd15);
    end
endmodule
`default_nettype wire
