// sfu_quant: per-token activation quantizer / per-(token, head) KV quantizer.
// Pass 1 streams the vector and keeps max|x|; a leading-one detector gives the
// power-of-two shift e (smallest e >= 0 with max|x| >> e < 2^(QBITS-1)).
// Pass 2 streams the same vector again: q = clamp(round_half_away(x / 2^e)).
// Cycles start..done = 2*B + 3 (B beats per pass, one cycle to register e,
// one output register stage).
module sfu_quant #(
    parameter SFU_LANES = 4,
    parameter QBITS     = 8,     // quantized width (ABITS or KVBITS)
    parameter QW        = 8      // output lane width (>= QBITS)
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
    output reg  [SFU_LANES*QW-1:0]   out_data,
    output reg  [5:0]                out_shift
);
    localparam [31:0] QMAX = (32'd1 << (QBITS - 1)) - 32'd1;

    // state: 0 idle, 1 pass 1 (max), 2 shift, 3 pass 2 (quantize), 4 drain
    reg [2:0] state;
    reg [31:0] maxabs;
    reg out_last;
    wire [31:0] rem;
    wire last;
    wire [SFU_LANES-1:0] mask;

    reg [31:0] cfg_n_q;   // n of the running operation (pass 2 reloads it)
    // sfu_len samples n on load: at start it must see cfg_n itself
    wire [31:0] n_now = (start && idle) ? cfg_n : cfg_n_q;

    wire en = !out_valid || out_ready;
    assign in_ready = (state == 3'd1) || (state == 3'd3 && en);
    wire take = in_valid && in_ready;
    assign done = out_valid && out_ready && out_last;
    assign idle = (state == 3'd0);

    sfu_len #(.SFU_LANES(SFU_LANES)) u_len (
        .clk(clk), .rst_n(rst_n), .load((start && idle) || state == 3'd2), .n(n_now),
        .step(take), .rem(rem), .last(last), .mask(mask));

    // |x| per lane (|INT32_MIN| = 2^31 fits in 32 unsigned bits), masked lanes 0
    wire [SFU_LANES*32-1:0] absx;
    genvar i;
    generate
        for (i = 0; i < SFU_LANES; i = i + 1) begin : g_abs
            wire [31:0] x = in_data[i*32 +: 32];
            assign absx[i*32 +: 32] = !mask[i] ? 32'd0 : (x[31] ? (~x + 32'd1) : x);
        end
    endgenerate
    // max over the lanes of this beat and the running max
    reg [31:0] beat_max;
    integer j;
    always @(*) begin
        beat_max = maxabs;
        for (j = 0; j < SFU_LANES; j = j + 1)
            if (absx[j*32 +: 32] > beat_max) beat_max = absx[j*32 +: 32];
    end
    // leading-one detector: bit length of maxabs
    reg [5:0] bitlen;
    integer k;
    always @(*) begin
        bitlen = 6'd0;
        for (k = 0; k < 32; k = k + 1)
            if (maxabs[k]) bitlen = k + 1;
    end
    wire [5:0] shift_now = (bitlen > QBITS - 1) ? (bitlen - (QBITS - 1)) : 6'd0;

    // pass 2: round half away from zero of x / 2^e, clamp to +-QMAX
    wire [SFU_LANES*QW-1:0] qv;
    generate
        for (i = 0; i < SFU_LANES; i = i + 1) begin : g_q
            wire        neg = in_data[i*32 + 31];
            wire [32:0] mag = {1'b0, absx[i*32 +: 32]};
            wire [32:0] half = (out_shift == 6'd0) ? 33'd0 : (33'd1 << (out_shift - 6'd1));
            wire [32:0] r = (mag + half) >> out_shift;
            wire [31:0] rc = (r > {1'b0, QMAX}) ? QMAX : r[31:0];
            wire [31:0] sv = neg ? (~rc + 32'd1) : rc;
            assign qv[i*QW +: QW] = mask[i] ? sv[QW-1:0] : {QW{1'b0}};
        end
    endgenerate

    always @(posedge clk) if (start && idle) cfg_n_q <= cfg_n;

    always @(posedge clk) begin
        if (!rst_n) begin
            state <= 3'd0; maxabs <= 32'd0; out_shift <= 6'd0;
            out_valid <= 1'b0; out_last <= 1'b0; out_data <= {SFU_LANES*QW{1'b0}};
        end else begin
            case (state)
                3'd0: if (start) begin state <= 3'd1; maxabs <= 32'd0; end
                3'd1: if (take) begin
                          maxabs <= beat_max;
                          if (last) state <= 3'd2;
                      end
                3'd2: begin out_shift <= shift_now; state <= 3'd3; end
                3'd3: if (take && last) state <= 3'd4;
                default: if (done) state <= 3'd0;
            endcase
            if (en) begin
                out_valid <= (state == 3'd3) && take;
                out_last  <= (state == 3'd3) && take && last;
                if (state == 3'd3 && take) out_data <= qv;
            end
        end
    end
endmodule
