// sfu_add: residual add, out = sat32(a + b) (numerics.add_sat), SFU_LANES lanes per beat.
// MoE combine (cfg_weighted): out = sat32(a + shift_round_sat32(b * w, 15)) with the token's
// Q0.15 routing weight w (numerics.add_weighted).
// One register stage: cycles start..done = B + 2, B = ceil(n / SFU_LANES).
module sfu_add #(
    parameter SFU_LANES = 4
) (
    input  wire                      clk,
    input  wire                      rst_n,
    input  wire                      start,
    input  wire [31:0]               cfg_n,
    input  wire                      cfg_weighted,
    input  wire [15:0]               cfg_w,         // Q0.15 routing weight (<= 2^15)
    output wire                      idle,
    output wire                      done,
    input  wire                      in_valid,
    output wire                      in_ready,
    input  wire [SFU_LANES*32-1:0]   in_a,
    input  wire [SFU_LANES*32-1:0]   in_b,
    output reg                       out_valid,
    input  wire                      out_ready,
    output reg  [SFU_LANES*32-1:0]   out_data
);
    reg busy, accepting, out_last;
    reg weighted;
    reg [15:0] w;
    wire [31:0] rem;
    wire last;
    wire [SFU_LANES-1:0] mask;

    wire en   = !out_valid || out_ready;          // output register free next cycle
    assign in_ready = accepting && en;
    wire take = in_valid && in_ready;
    assign done = out_valid && out_ready && out_last;
    assign idle = !busy;

    sfu_len #(.SFU_LANES(SFU_LANES)) u_len (
        .clk(clk), .rst_n(rst_n), .load(start && !busy), .n(cfg_n), .step(take),
        .rem(rem), .last(last), .mask(mask));

    // Saturating 32-bit add per lane.
    wire [SFU_LANES*32-1:0] sum;
    genvar i;
    generate
        for (i = 0; i < SFU_LANES; i = i + 1) begin : g_lane
            // b * w (int32 x uint16), round half up by 2^15, saturate to int32
            wire signed [48:0] bw = $signed(in_b[i*32 +: 32]) * $signed({1'b0, w});
            wire signed [48:0] bw_r = (bw + 49'sd16384) >>> 15;
            wire signed [31:0] bw_s = (bw_r > 49'sd2147483647) ? 32'sh7fffffff
                                    : (bw_r < -49'sd2147483648) ? 32'sh80000000 : bw_r[31:0];
            wire [31:0] b = weighted ? bw_s : in_b[i*32 +: 32];
            wire signed [32:0] s = $signed({in_a[i*32+31], in_a[i*32 +: 32]})
                                 + $signed({b[31], b});
            wire pos_ovf = (s[32:31] == 2'b01);
            wire neg_ovf = (s[32:31] == 2'b10);
            assign sum[i*32 +: 32] = !mask[i] ? 32'd0
                                   : pos_ovf ? 32'h7fffffff
                                   : neg_ovf ? 32'h80000000 : s[31:0];
        end
    endgenerate

    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0; accepting <= 1'b0; weighted <= 1'b0; w <= 16'd0;
            out_valid <= 1'b0; out_last <= 1'b0; out_data <= {SFU_LANES*32{1'b0}};
        end else begin
            if (start && !busy) begin
                busy <= 1'b1; accepting <= 1'b1; weighted <= cfg_weighted; w <= cfg_w;
            end
            if (take && last) accepting <= 1'b0;
            if (en) begin
                out_valid <= take;
                out_last  <= take && last;
                if (take) out_data <= sum;
            end
            if (done) busy <= 1'b0;
        end
    end
endmodule
