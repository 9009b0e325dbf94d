// mpe.v -- matrix processing engine: ROWS x COLS multiply-accumulate lanes.
//
// One GEMV tile: ROWS output features, reduction length cfg_k. Each accepted beat brings
// COLS activations (ABITS signed, shared by all rows) and a ROWS x COLS weight tile
// (WBITS each). Numerics (docs/NUMERICS.md, GEMV):
//   per group g:  acc_g = sum_{c in g} (w - z) * x_q           exact, GACC_W bits
//   per row:      total = sum_g wrap64((acc_g * scale_g) << rel_g)   int64, two's-complement wrap
//                 (bits shifted or carried past bit 63 are dropped, as numerics.gemv_q's int64)
//   output:       y = shift_round_sat32(total, sh)   (numerics.py): sh > 0: sat32((total + 2^(sh-1)) >>> sh)
//                 (round half up); sh <= 0: total << -sh, saturated to int32 (never wraps)
// z = 0 when ZP = 0 (symmetric, signed W-bit weights); with ZP = 1 weights and zero points
// are unsigned W-bit. scale_g is an unsigned SCALE_BITS-bit mantissa. Activations carry one
// power-of-two exponent e_g per block of GROUP inputs (= per weight group, MX-style):
// rel_g = e_g - e0 >= 0 (e0 = min over the token's real blocks) is the group's relative exponent
// (REL_BITS unsigned; e_g <= 32 - (ABITS-1) <= 29 for ABITS >= 4, so 5 bits hold every value), and
// sh = Instr.shift - e0 (per-tensor weight shift and e0 folded in by the sequencer).
// Blocks that lie wholly in the zero padding past the real k have acc_g = 0: any rel_g will do.
//
// Groups and beats: SUB = min(COLS, GROUP) lanes form one group slice; a beat carries
// NSUB = COLS / SUB group slices; a group spans BPG = GROUP / SUB beats. One of COLS, GROUP
// must divide the other (emit-rtl checks). Scales/zero points of the NSUB groups in flight
// ride along every beat of the group (in_scale, in_zero, in_rel); they are used on its last beat.
// cfg_k must be a multiple of COLS and GROUP: the mover zero-pads x (and w) past the
// real k, which leaves every sum unchanged.
//
// N:M sparse weights (NM_N < NM_M; dense: NM_N = NM_M = 1, which is the text above exactly):
// docs/NUMERICS.md "N:M sparse weight stream". A lane field is LW = WBITS + IB bits (IB =
// clog2(NM_M)): bits [0, WBITS) a kept weight, bits [WBITS, LW) its index i in its block of NM_M
// inputs. One beat covers BI = COLS*NM_M/NM_N inputs (in_x holds BI activations): lane c holds
// slot c % NM_N of block c / NM_N, so it multiplies its weight by activation (c/NM_N)*NM_M + i of
// the beat (an NM_M:1 mux per lane: the sparse decoder). Pruned inputs have w = z: they add 0,
// so the group sums equal the dense ones. Group slices count inputs: SUB = min(BI, GROUP) inputs
// (SUB*NM_N/NM_M lanes) per slice, NSUB = BI / SUB, BPG = GROUP / SUB; cfg_k is a multiple of
// BI and GROUP, nbeats = cfg_k / BI.
//
// Timing: one beat per cycle; result of a tile 3 cycles after its last beat
// (product/tree register, group close, requantize). Tiles stream back to back:
// cycles per tile = K/BI (dense: K/COLS), plus MPE_LAT = 3 once per instruction.
// in_ready is low only while a finished result waits on out_ready.
`default_nettype none
module mpe #(
    parameter integer ROWS = 4,
    parameter integer COLS = 8,
    parameter integer WBITS = 4,
    parameter integer ABITS = 8,
    parameter integer GROUP = 32,
    parameter integer SCALE_BITS = 16,
    parameter integer ZP = 0,
    parameter integer REL_BITS = 5,
    parameter integer NM_N = 1,          // N:M sparsity: kept weights per block of NM_M inputs
    parameter integer NM_M = 1,          // (dense: 1, 1)
    // derived (do not override): inputs per beat, lane field bits, group slices per beat
    parameter integer BI = COLS * NM_M / NM_N,
    parameter integer LW = WBITS + $clog2(NM_M),
    parameter integer NSUB = (BI < GROUP) ? 1 : BI / GROUP
) (
    input  wire                           clk,
    input  wire                           rst_n,
    input  wire [31:0]                    cfg_k,      // reduction length (multiple of BI, GROUP)
    input  wire signed [7:0]              cfg_shift,  // requantization shift, -63..63
    input  wire                           in_valid,
    output wire                           in_ready,
    input  wire [BI*ABITS-1:0]            in_x,
    input  wire [ROWS*COLS*LW-1:0]        in_w,       // row r, lane c at [(r*COLS+c)*LW +: LW]
    input  wire [ROWS*NSUB*SCALE_BITS-1:0] in_scale,  // row r, slice j at [(r*NSUB+j)*SCALE_BITS +: ...]
    input  wire [ROWS*NSUB*WBITS-1:0]     in_zero,
    input  wire [NSUB*REL_BITS-1:0]       in_rel,     // slice j at [j*REL_BITS +: REL_BITS] (all rows)
    output reg                            out_valid,
    input  wire                           out_ready,
    output reg  [ROWS*32-1:0]             out_data,
    output wire                           busy        // a tile is in the pipeline
);
    localparam integer SUB = (BI < GROUP) ? BI : GROUP;   // inputs per group slice
    localparam integer SUBL = SUB * NM_N / NM_M;          // lanes per group slice
    localparam integer BPG = GROUP / SUB;
    localparam integer DW = WBITS + 1;                  // (w - z) fits WBITS+1 signed bits
    localparam integer PW = DW + ABITS;                 // one product
    localparam integer GACC_W = PW + $clog2(GROUP) + 1; // exact group sum
    localparam integer SW = SCALE_BITS + 1;             // scale as a non-negative signed number

    // ---------------------------------------------------------------- beat counters
    reg  [31:0] beat;          // beat index within the tile
    reg  [31:0] gbeat;         // beat index within the group
    wire        accept = in_valid & in_ready;
    wire [31:0] nbeats = cfg_k / BI;
    wire        last_beat = (beat == nbeats - 1);
    wire        group_end = (gbeat == BPG - 1);

    // ---------------------------------------------------------------- stage 1: products, slice sums
    reg  signed [GACC_W-1:0] s1_sum [0:ROWS*NSUB-1];
    reg  [ROWS*NSUB*SCALE_BITS-1:0] s1_scale;
    reg  [NSUB*REL_BITS-1:0] s1_rel;
    reg  s1_valid, s1_gend, s1_last;

    integer r, j, c;
    reg signed [GACC_W-1:0] t;
    reg signed [DW-1:0] d;
    reg signed [ABITS-1:0] xa;
    reg [WBITS-1:0] wv, zv;
    reg [LW-1:0] wf;
    reg [31:0] xi;
    always @(posedge clk) begin
        if (!rst_n) begin
            s1_valid <= 1'b0; s1_gend <= 1'b0; s1_last <= 1'b0;
            beat <= 0; gbeat <= 0;
        end else begin
            s1_valid <= accept;
            s1_gend  <= accept & group_end;
            s1_last  <= accept & last_beat;
            if (accept) begin
                beat  <= last_beat ? 32'd0 : beat + 1;
                gbeat <= (group_end | last_beat) ? 32'd0 : gbeat + 1;
                s1_scale <= in_scale;
                s1_rel <= in_rel;
                for (r = 0; r < ROWS; r = r + 1)
                    for (j = 0; j < NSUB; j = j + 1) begin
                        t = 0;
                        for (c = 0; c < SUBL; c = c + 1) begin
                            // lane field: weight, then (sparse) its index in the block of NM_M
                            wf = in_w[(r*COLS + j*SUBL + c)*LW +: LW];
                            wv = wf[WBITS-1:0];
                            xi = j*SUB + (c / NM_N) * NM_M + ((NM_M > 1) ? (wf >> WBITS) : 0);
                            zv = (ZP != 0) ? in_zero[(r*NSUB + j)*WBITS +: WBITS] : {WBITS{1'b0}};
                            if (ZP != 0) d = $signed({1'b0, wv}) - $signed({1'b0, zv});
                            else         d = $signed({wv[WBITS-1], wv});
                            xa = in_x[xi*ABITS +: ABITS];   // the lane's NM_M:1 activation mux
                            t = t + d * xa;
                        end
                        s1_sum[r*NSUB + j] <= t;
                    end
            end
        end
    end

    // ---------------------------------------------------------------- stage 2: group and row accumulators
    reg signed [GACC_W-1:0] gacc [0:ROWS*NSUB-1];
    reg signed [63:0]       total [0:ROWS-1];
    reg signed [63:0]       s2_total [0:ROWS-1];
    reg s2_valid;
    integer r2, j2;
    reg signed [GACC_W-1:0] g;
    reg signed [63:0] acc, prod;
    always @(posedge clk) begin
        if (!rst_n) begin
            s2_valid <= 1'b0;
            for (r2 = 0; r2 < ROWS; r2 = r2 + 1) total[r2] <= 64'sd0;
            for (r2 = 0; r2 < ROWS*NSUB; r2 = r2 + 1) gacc[r2] <= 0;
        end else begin
            s2_valid <= s1_valid & s1_last;
            if (s1_valid)
                for (r2 = 0; r2 < ROWS; r2 = r2 + 1) begin
                    acc = total[r2];
                    for (j2 = 0; j2 < NSUB; j2 = j2 + 1) begin
                        g = gacc[r2*NSUB + j2] + s1_sum[r2*NSUB + j2];
                        if (s1_gend) begin
                            // group close: the scaled group sum, moved to the token's common
                            // exponent e0 (barrel shift by rel_g), wraps at 64 bits
                            prod = g * $signed({1'b0, s1_scale[(r2*NSUB + j2)*SCALE_BITS +: SCALE_BITS]});
                            acc = acc + (prod <<< s1_rel[j2*REL_BITS +: REL_BITS]);
                            gacc[r2*NSUB + j2] <= 0;
                        end else
                            gacc[r2*NSUB + j2] <= g;
                    end
                    if (s1_last) begin
                        s2_total[r2] <= acc;
                        total[r2] <= 64'sd0;
                    end else
                        total[r2] <= acc;
                end
        end
    end

    // ---------------------------------------------------------------- stage 3: requantize + saturate
    // Results go into a 2-entry output queue (out_data is its head). A tile's last beat is
    // accepted only while fewer than 2 results are pending (accepted last beats not yet
    // taken), so a result never finds the queue full.
    reg signed [64:0] rq;
    reg signed [63:0] v, lim;
    reg [7:0] lsh;
    reg [ROWS*32-1:0] q1, res;
    integer r3;
    reg [1:0] qcnt;      // results in the queue
    reg [1:0] pending;   // last beats accepted - results taken
    wire take = out_valid & out_ready;
    always @(*) begin
        res = {ROWS*32{1'b0}};
        for (r3 = 0; r3 < ROWS; r3 = r3 + 1) begin
            v = s2_total[r3];
            if (cfg_shift > 0) begin
                rq = ($signed({v[63], v}) + (65'sd1 <<< (cfg_shift - 1))) >>> cfg_shift;
                if (rq > 65'sd2147483647)       res[r3*32 +: 32] = 32'h7fffffff;
                else if (rq < -65'sd2147483648) res[r3*32 +: 32] = 32'h80000000;
                else                            res[r3*32 +: 32] = rq[31:0];
            end else begin
                // saturating left shift: lim = I32_MAX >> lsh (golden: lsh capped at 62)
                lsh = -cfg_shift;
                lim = 64'sh7fffffff >>> ((lsh > 62) ? 62 : lsh);
                if (v > lim)             res[r3*32 +: 32] = 32'h7fffffff;
                else if (v < -lim - 1)   res[r3*32 +: 32] = 32'h80000000;
                else                     res[r3*32 +: 32] = v[31:0] << ((lsh > 31) ? 31 : lsh);
            end
        end
    end
    always @(posedge clk) begin
        if (!rst_n) begin
            out_valid <= 1'b0;
            out_data <= 0;
            q1 <= 0;
            qcnt <= 2'd0;
            pending <= 2'd0;
        end else begin
            pending <= pending + (accept & last_beat) - take;
            case ({s2_valid, take})
                2'b10: begin
                    if (qcnt == 0) begin out_data <= res; out_valid <= 1'b1; end
                    else q1 <= res;
                    qcnt <= qcnt + 1;
                end
                2'b01: begin
                    out_data <= q1;
                    out_valid <= (qcnt == 2);
                    qcnt <= qcnt - 1;
                end
                2'b11: begin
                    if (qcnt == 1) out_data <= res;
                    else begin out_data <= q1; q1 <= res; end
                end
                default: ;
            endcase
        end
    end

    assign in_ready = ~(last_beat & (pending == 2'd2));
    assign busy = s1_valid | s2_valid | (beat != 0) | (pending != 0);
endmodule
`default_nettype wire
