// lane_ram.v -- an on-chip buffer of the core (activations, quantized GEMV input, norm/RoPE
// parameters) with several lane groups: each write group stores up to LANES consecutive elements
// per cycle (wr_base + k, k < wr_count), each read group reads LANES consecutive elements
// (rd_base + k, k < RLANES) combinationally. That is how the sequencer uses its buffers (docs/RTL.md).
//
// BANKED = 0: one array with WG x LANES write ports and RG x LANES read ports: what simulators
// like, and what synthesis can only build from flip-flops and multiplexers (a 1024-entry
// activation buffer with 21 write lanes is ~100k LUT4 on an ECP5, more than the LFE5U-85F has).
//
// BANKED = 1: NB = 2^ceil(log2 max(LANES, RLANES)) banks, element e in bank e mod NB at row e / NB. A group's
// LANES consecutive elements fall in distinct banks, so each bank takes at most one write per
// group: the group's lanes are rotated onto the banks (log2 NB mux stages), and each bank is a
// plain memory with ONE write port and one asynchronous read port per read group, which synthesis
// maps to distributed RAM (ECP5 TRELLIS_DPR16X4, Xilinx LUTRAM), replicated per read group.
// Same contents and timing as BANKED = 0, cycle for cycle, provided no two groups write different
// rows of one bank in the same cycle; the sequencer never does (its write groups are one state's,
// and RoPE's two halves of a head lie within NB >= MAX_HD consecutive elements), and simulation
// stops with an error if it ever did. Later groups win a same-element write, as in one always block.
`default_nettype none
module lane_ram #(
    parameter integer W = 32,
    parameter integer DEPTH = 1024,
    parameter integer LANES = 4,     // the widest write group
    parameter integer RLANES = 4,    // the widest read group
    parameter integer WG = 1,        // write groups (later ones win a same-element write)
    parameter integer RG = 1,        // read groups
    parameter integer BANKED = 0
) (
    input  wire                   clk,
    input  wire [WG-1:0]          wr_en,
    input  wire [WG*32-1:0]       wr_base,
    input  wire [WG*32-1:0]       wr_count,   // lanes written (clipped to LANES)
    input  wire [WG*LANES*W-1:0]  wr_data,    // group g, lane k at [(g*LANES + k)*W +: W]
    input  wire [RG*32-1:0]       rd_base,
    output reg  [RG*RLANES*W-1:0] rd_data     // group g, lane k = element rd_base + k
);
    integer fg, fk, rg_, rk;
    // the contents, element e at mem[e]: the storage itself when BANKED = 0; when BANKED = 1 a
    // simulation-only mirror of the banks (testbenches read buffers through it, synthesis drops it)
    reg [W-1:0] mem [0:DEPTH-1];
    generate if (BANKED == 0) begin : g_flat
        always @(posedge clk)
            for (fg = 0; fg < WG; fg = fg + 1)
                if (wr_en[fg])
                    for (fk = 0; fk < LANES; fk = fk + 1)
                        if (fk < wr_count[fg*32 +: 32])
                            mem[wr_base[fg*32 +: 32] + fk] <= wr_data[(fg*LANES + fk)*W +: W];
        always @(*)
            for (rg_ = 0; rg_ < RG; rg_ = rg_ + 1)
                for (rk = 0; rk < RLANES; rk = rk + 1)
                    rd_data[(rg_*RLANES + rk)*W +: W] = mem[rd_base[rg_*32 +: 32] + rk];
    end else begin : g_banked
        localparam integer MAXL = (LANES > RLANES) ? LANES : RLANES;
        localparam integer LNB = (MAXL < 2) ? 1 : $clog2(MAXL);
        localparam integer NB = 1 << LNB;
        localparam integer BD = (DEPTH + NB - 1) / NB;
        localparam integer RW = (BD < 2) ? 1 : $clog2(BD);

        // ------------------------------------------------ writes: rotate each group onto the banks
        reg [WG*NB*W-1:0] wrot;              // group g's lane for bank b at [(g*NB + b)*W +: W]
        reg [NB*W-1:0]  x;
        reg [LNB-1:0]   xsh;
        integer xg, xk, xs;
        always @(*) begin
            for (xg = 0; xg < WG; xg = xg + 1) begin
                x = 0;
                for (xk = 0; xk < LANES; xk = xk + 1) x[xk*W +: W] = wr_data[(xg*LANES + xk)*W +: W];
                xsh = wr_base[xg*32 +: LNB];
                for (xs = 0; xs < LNB; xs = xs + 1)          // bank b takes lane (b - sh) mod NB
                    if (xsh[xs]) x = (x << ((1 << xs) * W)) | (x >> ((NB - (1 << xs)) * W));
                wrot[xg*NB*W +: NB*W] = x;
            end
        end
        reg [NB-1:0]    bwe;
        reg [NB*RW-1:0] bwa;
        reg [NB*W-1:0]  bwd;
        reg [NB-1:0]    clash;              // two groups, one bank, different rows (never legal)
        // per group, once: its first row, the next one (banks below the start offset wrap into it),
        // whether each is inside the buffer, and its lane count clipped to the banks
        reg [31:0]      row0, row1;
        reg             ok0, ok1;
        reg [LNB:0]     n;
        reg [LNB-1:0]   sh, kb;
        integer wg, b;
        always @(*) begin
            bwe = 0; bwa = 0; bwd = 0; clash = 0;
            for (wg = 0; wg < WG; wg = wg + 1) begin
                sh = wr_base[wg*32 +: LNB];
                row0 = wr_base[wg*32 +: 32] >> LNB;
                row1 = row0 + 1;
                ok0 = row0 < BD;
                ok1 = row1 < BD;
                n = (wr_count[wg*32 +: 32] < LANES) ? wr_count[wg*32 +: LNB+1] : LANES;
                for (b = 0; b < NB; b = b + 1) begin
                    kb = b - sh;
                    if (wr_en[wg] && kb < n && ((b < sh) ? ok1 : ok0)) begin
                        if (bwe[b] && bwa[b*RW +: RW] != ((b < sh) ? row1[RW-1:0] : row0[RW-1:0])) clash[b] = 1'b1;
                        bwe[b] = 1'b1;
                        bwa[b*RW +: RW] = (b < sh) ? row1[RW-1:0] : row0[RW-1:0];
                        bwd[b*W +: W] = wrot[(wg*NB + b)*W +: W];
                    end
                end
            end
        end
`ifndef SYNTHESIS
        integer mb;
        always @(posedge clk)
            for (mb = 0; mb < NB; mb = mb + 1)
                if (bwe[mb] && bwa[mb*RW +: RW] * NB + mb < DEPTH) mem[bwa[mb*RW +: RW] * NB + mb] <= bwd[mb*W +: W];
        always @(posedge clk)
            if (|clash) begin
                $display("lane_ram %m: two write groups hit one bank at different rows (banks %b)", clash);
                $fatal(1);
            end
`endif

        // ------------------------------------------------ reads: each group's row per bank
        reg [RG*NB*RW-1:0] rrow;
        reg [31:0]      rr0, rr1;
        reg [LNB-1:0]   rsh;
        integer ag, ab;
        always @(*)
            for (ag = 0; ag < RG; ag = ag + 1) begin
                rsh = rd_base[ag*32 +: LNB];
                rr0 = rd_base[ag*32 +: 32] >> LNB;
                rr1 = rr0 + 1;
                for (ab = 0; ab < NB; ab = ab + 1)
                    rrow[(ag*NB + ab)*RW +: RW] = (ab < rsh) ? rr1[RW-1:0] : rr0[RW-1:0];
            end
        wire [RG*NB*W-1:0] bout;             // bank b's element for group g at [(g*NB + b)*W +: W]
        genvar gb, gg;
        for (gb = 0; gb < NB; gb = gb + 1) begin : g_bank
            reg [W-1:0] mem [0:BD-1];
            always @(posedge clk)
                if (bwe[gb]) mem[bwa[gb*RW +: RW]] <= bwd[gb*W +: W];
            for (gg = 0; gg < RG; gg = gg + 1) begin : g_rd
                assign bout[(gg*NB + gb)*W +: W] = mem[rrow[(gg*NB + gb)*RW +: RW]];
            end
        end
        reg [NB*W-1:0] y;
        reg [LNB-1:0]  ysh;
        integer yg, yk, ys;
        always @(*)
            for (yg = 0; yg < RG; yg = yg + 1) begin
                y = bout[yg*NB*W +: NB*W];
                ysh = rd_base[yg*32 +: LNB];
                for (ys = 0; ys < LNB; ys = ys + 1)          // lane k takes bank (k + sh) mod NB
                    if (ysh[ys]) y = (y >> ((1 << ys) * W)) | (y << ((NB - (1 << ys)) * W));
                for (yk = 0; yk < RLANES; yk = yk + 1) rd_data[(yg*RLANES + yk)*W +: W] = y[yk*W +: W];
            end
    end endgenerate
endmodule
`default_nettype wire
