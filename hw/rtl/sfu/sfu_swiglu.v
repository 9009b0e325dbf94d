// sfu_swiglu: ACT SWIGLU, out = swiglu(gate, up) of codesign/quant/numerics.py:
//   sig  = sigmoid_fixed(gate): SIG_LUT (513 entries, step 2^-5 on [-8, 8)) with linear
//          interpolation, 0 below -8, 2^16 at and above 8          (unsigned Q0.16)
//   silu = sat32((gate * sig + 2^15) >> 16)
//   out  = sat32((silu * up + 2^15) >> 16)                         (int32, ACT_FRAC = 16)
// Pipeline: LUT read | interpolate + gate*sig | silu*up, then the output register:
// cycles start..done = B + 4.
module sfu_swiglu #(
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
    input  wire [SFU_LANES*32-1:0]   in_gate,
    input  wire [SFU_LANES*32-1:0]   in_up,
    output reg                       out_valid,
    input  wire                      out_ready,
    output reg  [SFU_LANES*32-1:0]   out_data
);
    reg busy, accepting;
    reg v1, l1, v2, l2, out_last;
    wire [31:0] rem;
    wire last;
    wire [SFU_LANES-1:0] mask;

    wire en = !out_valid || out_ready;        // the whole pipeline advances together
    assign in_ready = accepting && en;
    wire take = in_valid && in_ready;
    assign done = out_valid && out_ready && out_last;
    assign idle = !busy;

    sfu_len #(.SFU_LANES(SFU_LANES)) u_len (
        .clk(clk), .rst_n(rst_n), .load(start && !busy), .n(cfg_n), .step(take),
        .rem(rem), .last(last), .mask(mask));

    wire [SFU_LANES*32-1:0] lane_out;
    genvar i;
    generate
        for (i = 0; i < SFU_LANES; i = i + 1) begin : g_lane
            // ---- stage 1: clamp, table index, fraction, both table entries
            wire signed [31:0] g = in_gate[i*32 +: 32];
            wire below = (g < -32'sd524288);               // g < -8 * 2^16
            wire above = (g >= 32'sd524288);               // g >=  8 * 2^16
            wire [19:0] off = below ? 20'd0 : above ? 20'hFFFFF : (g[19:0] ^ 20'h80000);  // g + 2^19
            wire [15:0] lut_i, lut_i1;
            sfu_sig_lut u_lut0 (.idx({1'b0, off[19:11]}), .val(lut_i));
            sfu_sig_lut u_lut1 (.idx({1'b0, off[19:11]} + 10'd1), .val(lut_i1));
            reg [15:0] r_li, r_li1;
            reg [10:0] r_f;
            reg r_below, r_above, r_m1, r_m2;
            reg signed [31:0] r_g, r_up1, r_up2;
            // ---- stage 2: interpolate the sigmoid, silu = sat32((g * sig + 2^15) >> 16)
            wire signed [28:0] dprod = $signed({1'b0, r_li1} - {1'b0, r_li}) * $signed({1'b0, r_f});
            wire signed [28:0] interp = (dprod + 29'sd1024) >>> 11;
            wire signed [17:0] sig_w = r_above ? 18'sd65536 : r_below ? 18'sd0
                                     : $signed({2'b00, r_li}) + interp[17:0];
            wire signed [50:0] gs = r_g * sig_w;
            wire signed [50:0] gs_r = (gs + 51'sd32768) >>> 16;
            wire signed [31:0] silu = (gs_r > 51'sd2147483647) ? 32'sh7fffffff
                                    : (gs_r < -51'sd2147483648) ? 32'sh80000000 : gs_r[31:0];
            reg signed [31:0] r_silu;
            // ---- stage 3: out = sat32((silu * up + 2^15) >> 16)
            wire signed [63:0] su = r_silu * r_up2;
            wire signed [64:0] su_r = ($signed({su[63], su}) + 65'sd32768) >>> 16;
            assign lane_out[i*32 +: 32] = !r_m2 ? 32'd0
                                        : (su_r > 65'sd2147483647) ? 32'h7fffffff
                                        : (su_r < -65'sd2147483648) ? 32'h80000000 : su_r[31:0];
            always @(posedge clk) begin
                if (en) begin
                    if (take) begin
                        r_li <= lut_i; r_li1 <= lut_i1; r_f <= off[10:0];
                        r_below <= below; r_above <= above; r_g <= g;
                        r_up1 <= in_up[i*32 +: 32]; r_m1 <= mask[i];
                    end
                    if (v1) begin r_silu <= silu; r_up2 <= r_up1; r_m2 <= r_m1; end
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0; accepting <= 1'b0; v1 <= 1'b0; l1 <= 1'b0; v2 <= 1'b0; l2 <= 1'b0;
            out_valid <= 1'b0; out_last <= 1'b0; out_data <= {SFU_LANES*32{1'b0}};
        end else begin
            if (start && !busy) begin busy <= 1'b1; accepting <= 1'b1; end
            if (take && last) accepting <= 1'b0;
            if (en) begin
                v1 <= take; l1 <= take && last;
                v2 <= v1;   l2 <= l1;
                out_valid <= v2; out_last <= l2;
                if (v2) out_data <= lane_out;
            end
            if (done) busy <= 1'b0;
        end
    end
endmodule
