// weight_beat.v -- the MPE's weight beat at the GEMV's run-time precision (mixed precision,
// docs/RTL.md "Weight modes"; docs/ISA.md Instr.wbits).
//
// A weight word is one packed beat of the build's WBITS: ROWS x COLS lane fields of LW = WBITS + IB
// bits (IB index bits of an N:M sparse stream; dense: 0), as the stream unpacker hands it over.
// The MPE's lanes are WM = max(WBITS, WBITS_HI) bits wide:
//   hi = 0: each WBITS lane is widened to WM bits (sign-extended symmetric weights, zero-extended
//           with zero points; the index bits move above it): one word, one beat, same cycle;
//   hi = 1: a WBITS_HI beat (lane fields of WBITS_HI + IB bits) spans WPARTS weight words: the first
//           WPARTS - 1 are gathered here, one per cycle; the last (LAST_BITS wide) goes to the MPE
//           together with them. A WBITS_HI beat takes WPARTS cycles, as docs/MODEL.md prices it
//           (ceil(W_hi / W) buffer words per beat, one word per cycle).
// Handshake: the producer offers `in_bits` bits (in_valid) and they are taken on in_valid && in_ready;
// a gathered word never waits on the MPE (in_ready = 1 while gathering); the completing word waits on
// out_ready. `clear` (instruction start) and reset drop a half-gathered beat.
// A one-mode build (WBITS_HI = 0) is the widening wire with WM = WBITS (the identity).
`default_nettype none
module weight_beat #(
    parameter integer ROWS = 4,
    parameter integer COLS = 8,
    parameter integer WBITS = 4,
    parameter integer WBITS_HI = 0,
    parameter integer ZP = 0,
    parameter integer NM_M = 1,
    // derived (do not override)
    parameter integer IB = $clog2(NM_M),
    parameter integer LW = WBITS + IB,
    parameter integer WM = (WBITS_HI > WBITS) ? WBITS_HI : WBITS,
    parameter integer LWM = WM + IB,
    parameter integer BEAT_BITS = ((ROWS * COLS * LW + 7) / 8) * 8
) (
    input  wire                     clk,
    input  wire                     rst_n,
    input  wire                     clear,
    input  wire                     hi,
    input  wire                     in_valid,
    output wire                     in_ready,
    output wire [31:0]              in_bits,
    input  wire [BEAT_BITS-1:0]     in_data,
    output wire                     out_valid,
    input  wire                     out_ready,
    output wire [ROWS*COLS*LWM-1:0] out_beat
);
    localparam integer BEAT_BITS_HI = ((ROWS * COLS * (WBITS_HI + IB) + 7) / 8) * 8;
    localparam integer WPARTS = (WBITS_HI > 0) ? (BEAT_BITS_HI + BEAT_BITS - 1) / BEAT_BITS : 1;
    localparam integer LAST_BITS = (WBITS_HI > 0) ? BEAT_BITS_HI - (WPARTS - 1) * BEAT_BITS : BEAT_BITS;
    localparam integer WASM_W = (WPARTS > 1) ? (WPARTS - 1) * BEAT_BITS : 1;

    reg [7:0]        part;     // words of the WBITS_HI beat gathered
    reg [WASM_W-1:0] wasm;
    wire wide = hi && (WBITS_HI > 0);
    wire gathering = wide && (part != WPARTS - 1);

    assign in_bits = (wide && !gathering) ? LAST_BITS : BEAT_BITS;
    assign in_ready = gathering ? 1'b1 : out_ready;
    assign out_valid = in_valid && !gathering;

    always @(posedge clk) begin
        if (!rst_n || clear) part <= 0;
        else if (in_valid && in_ready) part <= gathering ? part + 1 : 0;
    end

    // one register slot per gathered word, written when it is the word taken (a clock enable per
    // slot: no shifter over the beat)
    genvar gp, gl;
    generate
        for (gp = 0; gp < WPARTS - 1; gp = gp + 1) begin : g_slot
            always @(posedge clk)
                if (in_valid && in_ready && gathering && part == gp)
                    wasm[gp*BEAT_BITS +: BEAT_BITS] <= in_data;
        end
        for (gl = 0; gl < ROWS * COLS; gl = gl + 1) begin : g_lane
            wire [LW-1:0] lo = in_data[gl*LW +: LW];
            wire [WBITS-1:0] lo_u = lo[WBITS-1:0];
            wire signed [WBITS-1:0] lo_s = lo[WBITS-1:0];
            wire [WM-1:0] lo_z = lo_u;           // zero-extended (zero points: unsigned weights)
            wire signed [WM-1:0] lo_x = lo_s;    // sign-extended (symmetric: two's complement)
            wire [WM-1:0] lo_w = (ZP != 0) ? lo_z : lo_x;
            wire [LWM-1:0] lo_lane;
            if (IB > 0) begin : g_ix
                assign lo_lane = {lo[LW-1:WBITS], lo_w};
            end else begin : g_noix
                assign lo_lane = lo_w;
            end
            if (WPARTS > 1) begin : g_hi
                wire [WPARTS*BEAT_BITS-1:0] hi_beat = {in_data, wasm};
                assign out_beat[gl*LWM +: LWM] = wide ? hi_beat[gl*LWM +: LWM] : lo_lane;
            end else begin : g_one
                assign out_beat[gl*LWM +: LWM] = lo_lane;
            end
        end
    endgenerate
endmodule
`default_nettype wire
