// sfu_add: residual add, out = saturate_int32(a + b), SFU_LANES lanes per beat.
// One register stage (P_ADD = 1): cycles start..done = B + 2, B = ceil(n / SFU_LANES).
module sfu_add #(
    parameter SFU_LANES = 4
) (
    input  wire                      clk,
    input  wire                      rst_n,
    input  wire                      start,
    input  wire [31:0]               cfg_n,
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
            wire signed [32:0] s = $signed({in_a[i*32+31], in_a[i*32 +: 32]})
                                 + $signed({in_b[i*32+31], in_b[i*32 +: 32]});
            wire pos_ovf = (s[32:31] == 2'b01);
            wire neg_ovf = (s[32:31] == 2'b10);
            assign sum[i*32 +: 32] = !mask[i] ? 32'd0
                                   : pos_ovf ? 32'h7fffffff
                                   : neg_ovf ? 32'h80000000 : s[31:0];
        end
    endgenerate

    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0; accepting <= 1'b0;
            out_valid <= 1'b0; out_last <= 1'b0; out_data <= {SFU_LANES*32{1'b0}};
        end else begin
            if (start && !busy) begin
                busy <= 1'b1; accepting <= 1'b1;
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
