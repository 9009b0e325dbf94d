// sfu_softmax: softmax_int of codesign/quant/numerics.py over one row of n int32 scores.
//   pass 1: mx = max s
//   pass 2: u = -(((s - mx) * LOG2E_Q) >> 15)            (base-2 exponent, Q.16, >= 0)
//           ev = EXP_LUT[u[15:8]] >> min(u >> 16, 31)    (unsigned Q0.15)
//           total = sum ev (>= 2^15); then recip = floor(2^47 / total) (sfu_div, 34 cycles)
//   pass 3: the same scores again, ev recomputed, p = (ev * recip + 2^31) >> 32 (uint16 Q0.15)
// The block keeps scalars only; the sequencer streams the score row three times.
module sfu_softmax #(
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
    input  wire [SFU_LANES*32-1:0]   in_data,
    output reg                       out_valid,
    input  wire                      out_ready,
    output reg  [SFU_LANES*32-1:0]   out_data
);
    localparam [15:0] LOG2E_Q = 16'd47274;    // numerics.LOG2E_Q = round(log2(e) * 2^15)
    localparam S_IDLE = 3'd0, S_MAX = 3'd1, S_SUM = 3'd2, S_SUMW = 3'd3, S_DIV = 3'd4,
               S_NORM = 3'd5, S_OUT = 3'd6;

    reg [2:0] state;
    reg [31:0] cfg_n_q;
    reg signed [31:0] mx;
    reg [47:0] total;
    reg [32:0] recip;
    reg v1, l1, v2, l2, out_last;
    wire [31:0] rem;
    wire last;
    wire [SFU_LANES-1:0] mask;

    wire en = !out_valid || out_ready;        // pipeline advances together
    assign in_ready = (state == S_MAX) || ((state == S_SUM || state == S_NORM) && en);
    wire take = in_valid && in_ready;
    assign done = out_valid && out_ready && out_last;
    assign idle = (state == S_IDLE);

    wire go = start && idle;
    wire [31:0] n_now = go ? cfg_n : cfg_n_q;
    wire div_start = (state == S_SUMW) && !v1;
    wire div_done;
    wire [32:0] div_q;
    sfu_len #(.SFU_LANES(SFU_LANES)) u_len (
        .clk(clk), .rst_n(rst_n),
        .load(go || (state == S_MAX && take && last) || div_done), .n(n_now),
        .step(take), .rem(rem), .last(last), .mask(mask));

    sfu_div #(.W(48), .QB(33)) u_div (
        .clk(clk), .rst_n(rst_n), .start(div_start), .num(48'h8000_0000_0000), .den(total),
        .done(div_done), .busy(), .q(div_q), .r());

    // ---- pass 1: running max over the valid lanes
    reg signed [31:0] beat_max;
    integer j;
    always @(*) begin
        beat_max = mx;
        for (j = 0; j < SFU_LANES; j = j + 1)
            if (mask[j] && $signed(in_data[j*32 +: 32]) > beat_max)
                beat_max = $signed(in_data[j*32 +: 32]);
    end

    // ---- passes 2/3: per lane exponent (stage 1), exp (stage 2 comb), probability
    wire [SFU_LANES*16-1:0] ev_now;       // from the stage-1 registers
    wire [SFU_LANES*32-1:0] p_all;        // probabilities from the stage-2 registers
    reg  [19:0] ev_sum;                   // sum of this beat's ev (<= SFU_LANES * 2^15)
    genvar i;
    generate
        for (i = 0; i < SFU_LANES; i = i + 1) begin : g_lane
            wire signed [32:0] d = $signed({in_data[i*32 + 31], in_data[i*32 +: 32]})
                                 - $signed({mx[31], mx});                 // <= 0
            wire signed [49:0] prod = d * $signed({1'b0, LOG2E_Q});
            wire signed [49:0] fl = prod >>> 15;                         // floor
            wire [34:0] u = -fl[34:0];                                   // >= 0, < 2^34
            reg  [34:0] r_u;
            reg  r_m;
            wire [15:0] lut;
            sfu_exp_lut u_lut (.idx(r_u[15:8]), .val(lut));
            wire [4:0] ip = (r_u[34:16] > 19'd31) ? 5'd31 : r_u[20:16];
            assign ev_now[i*16 +: 16] = r_m ? (lut >> ip) : 16'd0;
            reg [15:0] r_ev;
            wire [48:0] pr = r_ev * recip + 49'h0_8000_0000;            // ev * recip + 2^31
            assign p_all[i*32 +: 32] = {16'd0, pr[47:32]};
            always @(posedge clk) begin
                if (en) begin
                    if (take) begin r_u <= u; r_m <= mask[i]; end
                    if (v1) r_ev <= ev_now[i*16 +: 16];
                end
            end
        end
    endgenerate
    integer k;
    always @(*) begin
        ev_sum = 20'd0;
        for (k = 0; k < SFU_LANES; k = k + 1) ev_sum = ev_sum + ev_now[k*16 +: 16];
    end

    always @(posedge clk) begin
        if (!rst_n) begin
            state <= S_IDLE; mx <= 32'sh80000000; total <= 48'd0; recip <= 33'd0;
            v1 <= 1'b0; l1 <= 1'b0; v2 <= 1'b0; l2 <= 1'b0;
            out_valid <= 1'b0; out_last <= 1'b0; cfg_n_q <= 32'd0;
        end else begin
            case (state)
                S_IDLE: if (start) begin
                            state <= S_MAX; cfg_n_q <= cfg_n; mx <= 32'sh80000000; total <= 48'd0;
                        end
                S_MAX:  if (take) begin mx <= beat_max; if (last) state <= S_SUM; end
                S_SUM:  if (take && last) state <= S_SUMW;
                S_SUMW: if (!v1) state <= S_DIV;
                S_DIV:  if (div_done) begin recip <= div_q; state <= S_NORM; end
                S_NORM: if (take && last) state <= S_OUT;
                default: if (done) state <= S_IDLE;
            endcase
            // pass 2: the exps of the beat in stage 1 go into the row sum
            if (v1 && (state == S_SUM || state == S_SUMW)) total <= total + ev_sum;
            if (en) begin
                v1 <= take && (state != S_MAX);  l1 <= take && last;
                v2 <= v1 && (state == S_NORM || state == S_OUT);  l2 <= l1;
                out_valid <= v2; out_last <= l2;
                if (v2) out_data <= p_all;
            end
        end
    end
endmodule
