// axi_ram.v -- an AXI4 slave memory in on-chip block RAM, for board builds without an external
// memory controller (codesign/export/ecp5.py: the ULX3S self-test holds a reduced layer's
// weight, KV and I/O images in ECP5 DP16KD block RAM).
//
// One synchronous read port and one write port (the BRAM's two ports), so a read burst and a
// write burst proceed independently (the processor's movers may have both in flight on one
// bundle). Reads take two cycles per beat (address, then registered data: no prefetch; speed is
// not the point of an on-chip image). INCR bursts only, full-width beats; the word index is the
// byte address over DATA_W/8, wrapped to DEPTH (images are sized to fit). Byte strobes honoured.
// chk_*: a read port for the board's result check, used only while the AXI side is idle.
// The contents start from INIT ($readmemh, one DATA_W-bit word per line; "" leaves them 0).
`default_nettype none
module axi_ram #(
    parameter integer DATA_W = 64,
    parameter integer DEPTH = 512,          // words; a power of two
    parameter INIT = ""
) (
    input  wire                   clk,
    input  wire                   rst_n,
    input  wire                   arvalid,
    output wire                   arready,
    input  wire [63:0]            araddr,
    input  wire [7:0]             arlen,
    output reg                    rvalid,
    input  wire                   rready,
    output wire [DATA_W-1:0]      rdata,
    output wire                   rlast,
    output wire [1:0]             rresp,
    input  wire                   awvalid,
    output wire                   awready,
    input  wire [63:0]            awaddr,
    input  wire [7:0]             awlen,
    input  wire                   wvalid,
    output wire                   wready,
    input  wire [DATA_W-1:0]      wdata,
    input  wire [DATA_W/8-1:0]    wstrb,
    input  wire                   wlast,
    output reg                    bvalid,
    input  wire                   bready,
    output wire [1:0]             bresp,
    input  wire                   chk_en,
    input  wire [$clog2(DEPTH)-1:0] chk_addr,
    output wire [DATA_W-1:0]      chk_data
);
    localparam integer AWI = $clog2(DEPTH);
    localparam integer LSB = $clog2(DATA_W / 8);

    reg [DATA_W-1:0] mem [0:DEPTH-1];
    initial if (INIT != "") $readmemh(INIT, mem);

    // ---------------------------------------------------------------- read
    reg          rd_busy, rd_wait;
    reg [AWI-1:0] ra;
    reg [7:0]    rcnt;
    reg [DATA_W-1:0] q;
    assign arready = ~rd_busy;
    assign rdata = q;
    assign rlast = (rcnt == 8'd0);
    assign rresp = 2'b00;
    assign chk_data = q;
    wire [AWI-1:0] rd_index = chk_en ? chk_addr : ra;
    always @(posedge clk) q <= mem[rd_index];
    always @(posedge clk) begin
        if (!rst_n) begin
            rd_busy <= 1'b0; rd_wait <= 1'b0; rvalid <= 1'b0; ra <= 0; rcnt <= 8'd0;
        end else if (arvalid & arready) begin
            rd_busy <= 1'b1; rd_wait <= 1'b1; rvalid <= 1'b0;
            ra <= araddr[LSB +: AWI]; rcnt <= arlen;
        end else if (rd_busy) begin
            if (rd_wait) begin
                rd_wait <= 1'b0; rvalid <= 1'b1;        // q now holds mem[ra]
            end else if (rvalid & rready) begin
                rvalid <= 1'b0;
                if (rcnt == 8'd0) rd_busy <= 1'b0;
                else begin rcnt <= rcnt - 8'd1; ra <= ra + 1'b1; rd_wait <= 1'b1; end
            end
        end
    end

    // ---------------------------------------------------------------- write
    reg          wr_busy;
    reg [AWI-1:0] wa;
    assign awready = ~wr_busy & ~bvalid;
    assign wready = wr_busy;
    assign bresp = 2'b00;
    wire we = wvalid & wready;
    always @(posedge clk) begin
        if (!rst_n) begin
            wr_busy <= 1'b0; bvalid <= 1'b0; wa <= 0;
        end else begin
            if (awvalid & awready) begin wr_busy <= 1'b1; wa <= awaddr[LSB +: AWI]; end
            if (we) begin
                wa <= wa + 1'b1;
                if (wlast) begin wr_busy <= 1'b0; bvalid <= 1'b1; end
            end
            if (bvalid & bready) bvalid <= 1'b0;
        end
    end
    integer b;
    always @(posedge clk)
        if (we)
            for (b = 0; b < DATA_W / 8; b = b + 1)
                if (wstrb[b]) mem[wa][b*8 +: 8] <= wdata[b*8 +: 8];
endmodule

// sync_rom -- a block-RAM ROM with one registered read port (the board check's expected image).
module sync_rom #(
    parameter integer DATA_W = 64,
    parameter integer DEPTH = 512,
    parameter INIT = ""
) (
    input  wire                     clk,
    input  wire [$clog2(DEPTH)-1:0] addr,
    output reg  [DATA_W-1:0]        data
);
    reg [DATA_W-1:0] mem [0:DEPTH-1];
    initial if (INIT != "") $readmemh(INIT, mem);
    always @(posedge clk) data <= mem[addr];
endmodule
`default_nettype wire
