// sfu_quant: activation / Q-head / KV power-of-two quantizer (numerics.quantize_pow2 and
// numerics.quantize_activation). Two passes over the same vector:
//   pass 1 keeps max|x| per block and, when a block closes, emits its exponent
//          e_b = max(0, bitlen(max|x| over the block) - (QBITS-1)) (leading-one detector);
//   pass 2 quantizes every element with its own block's exponent:
//          q = clamp(round_half_away(x / 2^e_b), +-(2^(QBITS-1)-1)).
// Two modes, chosen per operation with start (cfg_blocked):
//   cfg_blocked = 0: one block = the whole vector (Q heads, KV rows: quantize_pow2);
//   cfg_blocked = 1: blocks of GROUP consecutive elements [b*GROUP, (b+1)*GROUP), the last one
//                    possibly short (GEMV input: quantize_activation with group = GROUP).
// The exponents go to a buffer the SEQUENCER owns (the block keeps scalars only): out_e_valid[s]
// says slot s of out_e holds the exponent of block out_e_idx + s (up to NS blocks close in one
// beat when SFU_LANES > GROUP, or when a beat straddles a block boundary). In pass 2 of a blocked
// operation the sequencer feeds each lane's block exponent on in_e (ignored when cfg_blocked = 0).
// out_shift = e0 = min over the (real) blocks of e_b (= e in whole-vector mode), valid from the
// first pass-2 output until the next start: the GEMV requantizes with Instr.shift - e0 and the
// MPE shifts each group's product left by e_b - e0.
// The last exponents are emitted in the cycle between the passes, so cycles start..done stay
// 2*B + 3 (B beats per pass, one cycle to register e0, one output register stage).
// GROUP is a power of two; SFU_LANES any value >= 1.
module sfu_quant #(
    parameter SFU_LANES = 4,
    parameter QBITS     = 8,     // quantized width (ABITS or KVBITS)
    parameter QW        = 8,     // output lane width (>= QBITS)
    parameter GROUP     = 32,    // block size of the blocked mode (power of two, >= 2)
    parameter BLOCKS    = 1,     // 0: the blocked mode is not built (KV quantizer); cfg_blocked ignored
    // derived (do not override): blocks that can close in one beat
    parameter NS = (BLOCKS == 0 || GROUP % SFU_LANES == 0) ? 1 :
                   (SFU_LANES % GROUP == 0) ? SFU_LANES / GROUP :
                   (SFU_LANES + GROUP - 2) / GROUP + 1
) (
    input  wire                      clk,
    input  wire                      rst_n,
    input  wire                      start,
    input  wire [31:0]               cfg_n,
    input  wire                      cfg_blocked,
    output wire                      idle,
    output wire                      done,
    input  wire                      in_valid,
    output wire                      in_ready,
    input  wire [SFU_LANES*32-1:0]   in_data,
    input  wire [SFU_LANES*6-1:0]    in_e,        // pass 2, blocked: exponent of each lane's block
    output reg                       out_valid,
    input  wire                      out_ready,
    output reg  [SFU_LANES*QW-1:0]   out_data,
    output reg  [5:0]                out_shift,   // e0
    output wire [NS-1:0]             out_e_valid, // block exponents (pass 1)
    output wire [31:0]               out_e_idx,   // block index of slot 0
    output wire [NS*6-1:0]           out_e
);
    localparam L = SFU_LANES;
    localparam [31:0] QMAX = (32'd1 << (QBITS - 1)) - 32'd1;
    localparam integer LG = (GROUP > 1) ? $clog2(GROUP) : 1;
    // lane -> block slot within a beat: 0 (a beat never crosses a block), i / GROUP (beats hold
    // whole blocks), or from the running offset (a beat may straddle a block boundary)
    localparam integer SLOT_MODE = (BLOCKS == 0 || GROUP % L == 0) ? 0 : (L % GROUP == 0) ? 1 : 2;

    // state: 0 idle, 1 pass 1 (max), 2 e0, 3 pass 2 (quantize), 4 drain
    reg [2:0] state;
    reg [31:0] maxabs;        // max|x| of the open block (started in an earlier beat)
    reg [LG-1:0] off;         // element offset of lane 0 inside its block (blocked mode)
    reg [31:0] blk;           // block index of lane 0
    reg blocked;
    reg out_last;
    wire [31:0] rem;
    wire last;
    wire [L-1:0] mask;

    reg [31:0] cfg_n_q;   // n of the running operation (pass 2 reloads it)
    // sfu_len samples n on load: at start it must see cfg_n itself
    wire [31:0] n_now = (start && idle) ? cfg_n : cfg_n_q;

    wire en = !out_valid || out_ready;
    assign in_ready = (state == 3'd1) || (state == 3'd3 && en);
    wire take = in_valid && in_ready;
    wire take1 = take && (state == 3'd1);
    assign done = out_valid && out_ready && out_last;
    assign idle = (state == 3'd0);

    sfu_len #(.SFU_LANES(L)) u_len (
        .clk(clk), .rst_n(rst_n), .load((start && idle) || state == 3'd2), .n(n_now),
        .step(take), .rem(rem), .last(last), .mask(mask));

    // |x| per lane (|INT32_MIN| = 2^31 fits in 32 unsigned bits), masked lanes 0
    wire [L*32-1:0] absx;
    genvar i;
    generate
        for (i = 0; i < L; i = i + 1) begin : g_abs
            wire [31:0] x = in_data[i*32 +: 32];
            assign absx[i*32 +: 32] = !mask[i] ? 32'd0 : (x[31] ? (~x + 32'd1) : x);
        end
    endgenerate

    // ---------------------------------------------------------------- pass 1: block maxima
    function integer slot_of(input integer lane, input [LG-1:0] o);
        begin
            if (SLOT_MODE == 0) slot_of = 0;
            else if (SLOT_MODE == 1) slot_of = lane / GROUP;
            else slot_of = (o + lane) >> LG;
        end
    endfunction

    reg [NS*32-1:0] mb;       // max of this beat's lanes per slot (blocked membership)
    reg [31:0] m_all;         // max of all lanes (whole-vector mode)
    reg [NS*32-1:0] ms;       // slot maxima including the open block (slot 0)
    reg [NS-1:0] closes;      // slot's block ends in this beat
    reg [31:0] m_open;        // max of the block left open after this beat
    integer s, j;
    always @(*) begin
        mb = {NS*32{1'b0}};
        m_all = 32'd0;
        for (s = 0; s < NS; s = s + 1)
            for (j = 0; j < L; j = j + 1)
                if (slot_of(j, off) == s && absx[j*32 +: 32] > mb[s*32 +: 32])
                    mb[s*32 +: 32] = absx[j*32 +: 32];
        for (s = 0; s < NS; s = s + 1)
            if (mb[s*32 +: 32] > m_all) m_all = mb[s*32 +: 32];
        ms = mb;
        ms[31:0] = blocked ? mb[31:0] : m_all;
        if (maxabs > ms[31:0]) ms[31:0] = maxabs;
        closes = {NS{1'b0}};
        m_open = 32'd0;
        if (!blocked)
            closes[0] = last;
        else
            for (s = 0; s < NS; s = s + 1)
                // the slot holds a real element (slot 0 always does: lane 0 of a beat is real)
                // and its block ends inside this beat, or this is the last beat
                if ((s == 0 || (s * GROUP - off < L && mask[(s * GROUP - off) % L])) &&
                    ((s + 1) * GROUP - off <= L || last))
                    closes[s] = 1'b1;
        for (s = 0; s < NS; s = s + 1)
            if ((!blocked ? (s == 0) : (slot_of(L - 1, off) == s)) && !closes[s])
                m_open = ms[s*32 +: 32];
    end

    // exponents of the blocks that closed in the previous cycle's beat
    reg [NS-1:0] ev_q;
    reg [NS*6-1:0] e_q;
    reg [31:0] eblk_q;
    reg [5:0] emin;           // min of the exponents emitted so far
    function [5:0] exp_of(input [31:0] m);
        integer k;
        reg [5:0] bl;
        begin
            bl = 6'd0;
            for (k = 0; k < 32; k = k + 1)
                if (m[k]) bl = k + 1;
            exp_of = (bl > QBITS - 1) ? (bl - (QBITS - 1)) : 6'd0;
        end
    endfunction
    reg [NS*6-1:0] e_beat;    // leading-one detectors of this beat's slot maxima
    reg [5:0] emin_next;
    always @(*) begin
        emin_next = emin;
        for (s = 0; s < NS; s = s + 1) begin
            e_beat[s*6 +: 6] = exp_of(ms[s*32 +: 32]);
            if (ev_q[s] && e_q[s*6 +: 6] < emin_next) emin_next = e_q[s*6 +: 6];
        end
    end
    assign out_e_valid = ev_q;
    assign out_e_idx = eblk_q;
    assign out_e = e_q;

    // ---------------------------------------------------------------- pass 2: quantize
    // round half away from zero of x / 2^e (e: the lane's block exponent, or e0), clamp to +-QMAX
    wire [L*QW-1:0] qv;
    generate
        for (i = 0; i < L; i = i + 1) begin : g_q
            wire [5:0]  sh = blocked ? in_e[i*6 +: 6] : out_shift;
            wire        neg = in_data[i*32 + 31];
            wire [32:0] mag = {1'b0, absx[i*32 +: 32]};
            wire [32:0] half = (sh == 6'd0) ? 33'd0 : (33'd1 << (sh - 6'd1));
            wire [32:0] r = (mag + half) >> sh;
            wire [31:0] rc = (r > {1'b0, QMAX}) ? QMAX : r[31:0];
            wire [31:0] sv = neg ? (~rc + 32'd1) : rc;
            assign qv[i*QW +: QW] = mask[i] ? sv[QW-1:0] : {QW{1'b0}};
        end
    endgenerate

    always @(posedge clk) if (start && idle) cfg_n_q <= cfg_n;

    always @(posedge clk) begin
        if (!rst_n) begin
            state <= 3'd0; maxabs <= 32'd0; out_shift <= 6'd0; blocked <= 1'b0;
            off <= {LG{1'b0}}; blk <= 32'd0; ev_q <= {NS{1'b0}}; e_q <= {NS*6{1'b0}};
            eblk_q <= 32'd0; emin <= 6'd63;
            out_valid <= 1'b0; out_last <= 1'b0; out_data <= {L*QW{1'b0}};
        end else begin
            ev_q <= take1 ? closes : {NS{1'b0}};
            if (take1) begin
                e_q <= e_beat;
                eblk_q <= blk;
            end
            emin <= emin_next;
            case (state)
                3'd0: if (start) begin
                          state <= 3'd1; maxabs <= 32'd0; blocked <= cfg_blocked && (BLOCKS != 0);
                          off <= {LG{1'b0}}; blk <= 32'd0; emin <= 6'd63;
                      end
                3'd1: if (take) begin
                          maxabs <= m_open;
                          if (blocked) begin
                              blk <= blk + ((off + L) >> LG);
                              off <= (off + L) & (GROUP - 1);
                          end
                          if (last) state <= 3'd2;
                      end
                3'd2: begin out_shift <= emin_next; state <= 3'd3; end
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
