// axi_read_master.v -- memory mover: reads cmd_bytes from cmd_addr over an AXI4 master
// read channel and streams the words out in address order.
//
// cmd_addr may be unaligned: the mover reads the aligned words covering
// [cmd_addr, cmd_addr + cmd_bytes); the consumer drops the first cmd_addr mod DATA_W/8 bytes
// (stream_unpack's skip) and ignores bytes past the end. Bursts are INCR, full width, at most MAX_BURST beats and
// never cross a 4 KiB boundary (AXI rule). Up to MAX_OUTSTANDING bursts are in flight,
// so reads stream at one word per cycle once the first data returns.
// R data passes through to the output stream (out_* = R channel; out_ready = RREADY).
// done: one-cycle pulse with the last word accepted. Reset drops everything (the AXI
// slave must be reset with it, as in a Vitis kernel sharing ap_rst_n).
`default_nettype none
module axi_read_master #(
    parameter integer DATA_W = 64,
    parameter integer ADDR_W = 64,
    parameter integer MAX_BURST = 16,
    parameter integer MAX_OUTSTANDING = 4
) (
    input  wire              clk,
    input  wire              rst_n,
    // command
    input  wire              cmd_valid,
    output wire              cmd_ready,
    input  wire [ADDR_W-1:0] cmd_addr,
    input  wire [31:0]       cmd_bytes,
    output reg               done,
    // data out
    output wire              out_valid,
    input  wire              out_ready,
    output wire [DATA_W-1:0] out_data,
    // AXI4 read address / data
    output reg               m_axi_arvalid,
    input  wire              m_axi_arready,
    output reg  [ADDR_W-1:0] m_axi_araddr,
    output reg  [7:0]        m_axi_arlen,
    output wire [2:0]        m_axi_arsize,
    output wire [1:0]        m_axi_arburst,
    input  wire              m_axi_rvalid,
    output wire              m_axi_rready,
    input  wire [DATA_W-1:0] m_axi_rdata,
    input  wire              m_axi_rlast,
    input  wire [1:0]        m_axi_rresp
);
    localparam integer BYTES = DATA_W / 8;
    localparam integer LG = $clog2(BYTES);
    localparam integer PAGE_WORDS = 4096 / BYTES;

    assign m_axi_arsize = LG[2:0];
    assign m_axi_arburst = 2'b01;  // INCR

    reg         busy;
    reg [31:0]  ar_left;      // words still to request
    reg [31:0]  r_left;       // words still to receive
    reg [ADDR_W-1:0] next_addr;
    reg [7:0]   outstanding;
    assign cmd_ready = ~busy;

    // burst length: min(words left, MAX_BURST, words to the 4 KiB page end)
    wire [31:0] to_page = PAGE_WORDS - ((next_addr[11:0]) >> LG);
    wire [31:0] lim = (MAX_BURST < to_page) ? MAX_BURST : to_page;
    wire [31:0] blen = (ar_left < lim) ? ar_left : lim;

    wire r_fire = m_axi_rvalid & m_axi_rready;
    wire ar_fire = m_axi_arvalid & m_axi_arready;
    wire burst_end = r_fire & m_axi_rlast;
    wire issue = busy & (ar_left != 0) & (~m_axi_arvalid | m_axi_arready) &
                 (outstanding < MAX_OUTSTANDING);

    assign out_valid = m_axi_rvalid & busy;
    assign out_data = m_axi_rdata;
    assign m_axi_rready = out_ready & busy;

    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0; done <= 1'b0;
            ar_left <= 0; r_left <= 0; next_addr <= 0; outstanding <= 0;
            m_axi_arvalid <= 1'b0; m_axi_araddr <= 0; m_axi_arlen <= 0;
        end else begin
            done <= 1'b0;
            if (cmd_valid & ~busy) begin
                busy <= 1'b1;
                next_addr <= {cmd_addr[ADDR_W-1:LG], {LG{1'b0}}};
                ar_left <= (cmd_bytes + cmd_addr[LG-1:0] + BYTES - 1) >> LG;
                r_left <= (cmd_bytes + cmd_addr[LG-1:0] + BYTES - 1) >> LG;
                if (cmd_bytes == 0) begin busy <= 1'b0; done <= 1'b1; end
            end else if (busy) begin
                // address channel: a burst counts as outstanding from its issue to its RLAST
                if (ar_fire) m_axi_arvalid <= 1'b0;
                if (issue) begin
                    m_axi_arvalid <= 1'b1;
                    m_axi_araddr <= next_addr;
                    m_axi_arlen <= blen[7:0] - 8'd1;
                    next_addr <= next_addr + (blen << LG);
                    ar_left <= ar_left - blen;
                end
                outstanding <= outstanding + (issue ? 8'd1 : 8'd0) - (burst_end ? 8'd1 : 8'd0);
                if (r_fire) begin
                    r_left <= r_left - 1;
                    if (r_left == 1) begin busy <= 1'b0; done <= 1'b1; end
                end
            end
        end
    end
endmodule
`default_nettype wire
