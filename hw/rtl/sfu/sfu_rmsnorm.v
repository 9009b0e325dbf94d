// sfu_rmsnorm: rmsnorm of codesign/quant/numerics.py for one token of n int32 values.
//   pass 1: ss = sum x*x exactly (Q.32, 80-bit accumulator: n <= 2^18)
//   scalar: mean = (ss * mult) >> 32 (three 32x32 partial products); v = max(mean + eps, 1)
//           j = ceil((bitlen(v) - 30) / 2); m = v >> 2j (or << -2j), in [2^28, 2^30)
//           y = ISQRT_LUT[m >> 24]; 2 Newton steps
//             y2 = (y*y) >> 28; my = (m*y2) >> 28; y = (y * ((3 << 28) - my)) >> 29
//   pass 2: t = shift_round_sat32(x * y, 28 + s) with s = j - 2;
//           out = shift_round_sat32(t * gamma, gamma_shift)
// cfg_mult = Instr.mult (round(2^32 / n)), cfg_eps = Instr.imm (eps in Q.32), cfg_shift = Instr.shift.
// One lane multiplier serves x*x (pass 1) and x*y (pass 2); the scalar chain shares one
// 33x33 multiplier, one operation per cycle (every Newton operand is in [0, 2^30): checked
// exhaustively at the LUT bucket edges, see README).
module sfu_rmsnorm #(
    parameter SFU_LANES = 4
) (
    input  wire                      clk,
    input  wire                      rst_n,
    input  wire                      start,
    input  wire [31:0]               cfg_n,
    input  wire [31:0]               cfg_mult,
    input  wire [31:0]               cfg_eps,
    input  wire [15:0]               cfg_shift,
    output wire                      idle,
    output wire                      done,
    input  wire                      in_valid,
    output wire                      in_ready,
    input  wire [SFU_LANES*32-1:0]   in_x,
    input  wire [SFU_LANES*16-1:0]   in_gamma,
    output reg                       out_valid,
    input  wire                      out_ready,
    output reg  [SFU_LANES*32-1:0]   out_data
);
    localparam S_IDLE = 4'd0, S_P1 = 4'd1, S_P1W = 4'd2, S_M0 = 4'd3, S_M1 = 4'd4, S_M2 = 4'd5,
               S_NRM = 4'd6, S_Y2 = 4'd7, S_MY = 4'd8, S_Y = 4'd9, S_P2 = 4'd10, S_OUT = 4'd11;

    // numerics.shift_round_sat32 for sh in [-63, 63]: sh > 0: sat32((v + 2^(sh-1)) >>> sh);
    // sh <= 0: v << -sh with saturation
    function [31:0] shift_round_sat32;
        input signed [63:0] v;
        input signed [7:0]  sh;
        reg signed [63:0] r, lim;
        reg [6:0] lsh;
        begin
            if (sh > 0) begin
                r = (v + (64'sd1 <<< (sh - 1))) >>> sh;
            end else begin
                lsh = -sh;
                lim = 64'sh7fffffff >>> ((lsh > 62) ? 62 : lsh);
                if (v > lim) r = 64'sh7fffffff;
                else if (v < -lim - 1) r = -64'sh80000000;
                else r = v <<< ((lsh > 31) ? 31 : lsh);
            end
            shift_round_sat32 = (r > 64'sh7fffffff) ? 32'h7fffffff
                              : (r < -64'sh80000000) ? 32'h80000000 : r[31:0];
        end
    endfunction

    reg [3:0] state;
    reg [1:0] newton;                     // Newton steps left
    reg [31:0] cfg_n_q, mult_q;
    reg signed [31:0] eps_q;
    reg signed [7:0] gsh_q;
    reg [79:0] ss;                        // sum of squares, Q.32
    reg [95:0] macc;                      // ss * mult >> 32, assembled from partial products
    reg signed [63:0] v, m, y, t2;
    reg signed [7:0] j;
    reg v1, l1, v2, l2, out_last;
    wire [31:0] rem;
    wire last;
    wire [SFU_LANES-1:0] mask;

    wire en = !out_valid || out_ready;
    assign in_ready = (state == S_P1) || (state == S_P2 && en);
    wire take = in_valid && in_ready;
    assign done = out_valid && out_ready && out_last;
    assign idle = (state == S_IDLE);
    wire go = start && idle;
    wire pass2 = (state == S_P2) || (state == S_OUT);

    sfu_len #(.SFU_LANES(SFU_LANES)) u_len (
        .clk(clk), .rst_n(rst_n), .load(go || (state == S_Y && newton == 2'd1)),
        .n(go ? cfg_n : cfg_n_q), .step(take), .rem(rem), .last(last), .mask(mask));

    // ---- scalar chain: one shared 33x33 multiplier (operands non-negative, < 2^32)
    reg signed [32:0] mul_a, mul_b;
    wire signed [65:0] mul_w = mul_a * mul_b;
    wire signed [63:0] mul_p = mul_w[63:0];
    wire signed [63:0] three_minus = (64'sd3 <<< 28) - t2;
    always @(*) begin
        case (state)
            S_M0:    begin mul_a = {1'b0, ss[31:0]};       mul_b = {1'b0, mult_q}; end
            S_M1:    begin mul_a = {1'b0, ss[63:32]};      mul_b = {1'b0, mult_q}; end
            S_M2:    begin mul_a = {17'd0, ss[79:64]};     mul_b = {1'b0, mult_q}; end
            S_Y2:    begin mul_a = y[32:0];                mul_b = y[32:0]; end
            S_MY:    begin mul_a = m[32:0];                mul_b = t2[32:0]; end
            default: begin mul_a = y[32:0];                mul_b = three_minus[32:0]; end
        endcase
    end
    wire [95:0] mean = macc + {mul_w[63:0], 32'd0};       // + (ss[79:64] * mult) << 32
    wire signed [63:0] ve = $signed(mean[63:0]) + eps_q;  // mean < 2^63 (<= 2^62 + n*2^29)
    reg [6:0] bl;                                        // bitlen(v), v >= 1
    integer b;
    always @(*) begin
        bl = 7'd0;
        for (b = 0; b < 63; b = b + 1) if (v[b]) bl = b + 1;
    end
    wire signed [7:0] jn = ($signed({1'b0, bl}) - 8'sd29) >>> 1;  // ceil((bl - 30) / 2)
    wire signed [63:0] mn = (jn >= 0) ? (v >>> (2 * jn)) : (v <<< (-2 * jn));
    wire [28:0] seed;
    sfu_isqrt_lut u_seed (.idx(mn[29:24]), .val(seed));

    // ---- lanes: x*x (pass 1) or x*y (pass 2), then round/shift and gamma
    wire [SFU_LANES*64-1:0] sq_now;       // x*x of the beat in stage 1 (pass 1), <= 2^62
    wire [SFU_LANES*32-1:0] y_out;
    genvar i;
    generate
        for (i = 0; i < SFU_LANES; i = i + 1) begin : g_lane
            wire signed [31:0] x = in_x[i*32 +: 32];
            // 32x32 signed: y < 2^30 in pass 2 (Newton bound), so y[31:0] is y
            wire signed [31:0] opb = pass2 ? y[31:0] : x;
            wire signed [63:0] prod = x * opb;
            reg signed [63:0] r_p;
            reg signed [15:0] r_g;
            reg r_m1, r_m2;
            reg signed [63:0] r_tg;
            assign sq_now[i*64 +: 64] = r_m1 ? r_p : 64'd0;
            wire signed [31:0] t = shift_round_sat32(r_p, 8'sd26 + j);   // 28 + s, s = j - 2
            assign y_out[i*32 +: 32] = r_m2 ? shift_round_sat32(r_tg, gsh_q) : 32'd0;
            always @(posedge clk) begin
                if (en) begin
                    if (take) begin r_p <= prod; r_g <= in_gamma[i*16 +: 16]; r_m1 <= mask[i]; end
                    if (v1) begin r_tg <= t * r_g; r_m2 <= r_m1; end
                end
            end
        end
    endgenerate
    reg [79:0] sq_sum;
    integer k;
    always @(*) begin
        sq_sum = 80'd0;
        for (k = 0; k < SFU_LANES; k = k + 1) sq_sum = sq_sum + {16'd0, sq_now[k*64 +: 64]};
    end

    always @(posedge clk) begin
        if (!rst_n) begin
            state <= S_IDLE; newton <= 2'd0; ss <= 80'd0; v1 <= 1'b0; l1 <= 1'b0;
            v2 <= 1'b0; l2 <= 1'b0; out_valid <= 1'b0; out_last <= 1'b0;
            cfg_n_q <= 32'd0; mult_q <= 32'd0; eps_q <= 32'sd0; gsh_q <= 8'sd0; j <= 8'sd0;
        end else begin
            case (state)
                S_IDLE: if (start) begin
                            state <= S_P1; ss <= 80'd0; cfg_n_q <= cfg_n; mult_q <= cfg_mult;
                            eps_q <= cfg_eps;
                            // |gamma_shift| <= 63 (numerics.MAX_SHIFT); Instr.shift is 16 bits
                            gsh_q <= ($signed(cfg_shift) > 63) ? 8'sd63
                                   : ($signed(cfg_shift) < -63) ? -8'sd63 : cfg_shift[7:0];
                        end
                S_P1:   if (take && last) state <= S_P1W;
                S_P1W:  state <= S_M0;        // the last pass-1 beat is summed this cycle
                S_M0:   begin macc <= {64'd0, mul_w[63:32]}; state <= S_M1; end
                S_M1:   begin macc <= macc + {32'd0, mul_w[63:0]}; state <= S_M2; end
                S_M2:   begin v <= (ve < 64'sd1) ? 64'sd1 : ve; state <= S_NRM; end
                S_NRM:  begin m <= mn; j <= jn; y <= {35'd0, seed}; newton <= 2'd2; state <= S_Y2; end
                S_Y2:   begin t2 <= mul_p >>> 28; state <= S_MY; end
                S_MY:   begin t2 <= mul_p >>> 28; state <= S_Y; end
                S_Y:    begin
                            y <= mul_p >>> 29; newton <= newton - 2'd1;
                            state <= (newton == 2'd1) ? S_P2 : S_Y2;
                        end
                S_P2:   if (take && last) state <= S_OUT;
                default: if (done) state <= S_IDLE;
            endcase
            if (v1 && (state == S_P1 || state == S_P1W)) ss <= ss + sq_sum;
            if (en) begin
                v1 <= take; l1 <= take && last;
                v2 <= v1 && pass2; l2 <= l1;
                out_valid <= v2; out_last <= l2;
                if (v2) out_data <= y_out;
            end
        end
    end
endmodule
