// sfu_rope: rotary position embedding of n (x0, x1) pairs, table driven.
// y0 = sat32((x0*cos - x1*sin + 2^(ROPE_FRAC-1)) >>> ROPE_FRAC)
// y1 = sat32((x0*sin + x1*cos + 2^(ROPE_FRAC-1)) >>> ROPE_FRAC)
// cos/sin are signed 16-bit Q1.ROPE_FRAC table entries streamed with the pairs.
// Two pipeline stages (products, then sum/round/saturate): cycles start..done = B + 3.
module sfu_rope #(
    parameter SFU_LANES = 4,
    parameter ROPE_FRAC = 14
) (
    input  wire                      clk,
    input  wire                      rst_n,
    input  wire                      start,
    input  wire [31:0]               cfg_n,
    output wire                      idle,
    output wire                      done,
    input  wire                      in_valid,
    output wire                      in_ready,
    input  wire [SFU_LANES*32-1:0]   in_x0,
    input  wire [SFU_LANES*32-1:0]   in_x1,
    input  wire [SFU_LANES*16-1:0]   in_cos,
    input  wire [SFU_LANES*16-1:0]   in_sin,
    output reg                       out_valid,
    input  wire                      out_ready,
    output reg  [SFU_LANES*32-1:0]   out_y0,
    output reg  [SFU_LANES*32-1:0]   out_y1
);
    reg busy, accepting;
    reg v1, l1, out_last;                 // stage-1 valid/last, output last
    reg [SFU_LANES-1:0] m1;               // stage-1 lane mask
    reg signed [47:0] p_xc0 [0:SFU_LANES-1];
    reg signed [47:0] p_xs1 [0:SFU_LANES-1];
    reg signed [47:0] p_xs0 [0:SFU_LANES-1];
    reg signed [47:0] p_xc1 [0:SFU_LANES-1];
    wire [31:0] rem;
    wire last;
    wire [SFU_LANES-1:0] mask;

    wire en = !out_valid || out_ready;    // the whole pipeline advances together
    assign in_ready = accepting && en;
    wire take = in_valid && in_ready;
    assign done = out_valid && out_ready && out_last;
    assign idle = !busy;

    sfu_len #(.SFU_LANES(SFU_LANES)) u_len (
        .clk(clk), .rst_n(rst_n), .load(start && !busy), .n(cfg_n), .step(take),
        .rem(rem), .last(last), .mask(mask));

    // stage 2 combinational: sum, round half up, saturate to int32
    localparam signed [48:0] HALF = 49'sd1 <<< (ROPE_FRAC - 1);
    reg [SFU_LANES*32-1:0] y0, y1;
    reg signed [48:0] s0, s1, r0, r1;
    integer i;
    always @(*) begin
        for (i = 0; i < SFU_LANES; i = i + 1) begin
            s0 = $signed({p_xc0[i][47], p_xc0[i]}) - $signed({p_xs1[i][47], p_xs1[i]}) + HALF;
            s1 = $signed({p_xs0[i][47], p_xs0[i]}) + $signed({p_xc1[i][47], p_xc1[i]}) + HALF;
            r0 = s0 >>> ROPE_FRAC;
            r1 = s1 >>> ROPE_FRAC;
            y0[i*32 +: 32] = !m1[i] ? 32'd0 : (r0 > 49'sh7fffffff) ? 32'h7fffffff
                           : (r0 < -49'sh80000000) ? 32'h80000000 : r0[31:0];
            y1[i*32 +: 32] = !m1[i] ? 32'd0 : (r1 > 49'sh7fffffff) ? 32'h7fffffff
                           : (r1 < -49'sh80000000) ? 32'h80000000 : r1[31:0];
        end
    end

    integer j;
    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0; accepting <= 1'b0; v1 <= 1'b0; l1 <= 1'b0; m1 <= {SFU_LANES{1'b0}};
            out_valid <= 1'b0; out_last <= 1'b0;
            out_y0 <= {SFU_LANES*32{1'b0}}; out_y1 <= {SFU_LANES*32{1'b0}};
        end else begin
            if (start && !busy) begin busy <= 1'b1; accepting <= 1'b1; end
            if (take && last) accepting <= 1'b0;
            if (en) begin
                // stage 1: the four products per lane
                v1 <= take; l1 <= take && last; m1 <= mask;
                if (take)
                    for (j = 0; j < SFU_LANES; j = j + 1) begin
                        p_xc0[j] <= $signed(in_x0[j*32 +: 32]) * $signed(in_cos[j*16 +: 16]);
                        p_xs1[j] <= $signed(in_x1[j*32 +: 32]) * $signed(in_sin[j*16 +: 16]);
                        p_xs0[j] <= $signed(in_x0[j*32 +: 32]) * $signed(in_sin[j*16 +: 16]);
                        p_xc1[j] <= $signed(in_x1[j*32 +: 32]) * $signed(in_cos[j*16 +: 16]);
                    end
                // stage 2: output register
                out_valid <= v1; out_last <= l1;
                if (v1) begin out_y0 <= y0; out_y1 <= y1; end
            end
            if (done) busy <= 1'b0;
        end
    end
endmodule
