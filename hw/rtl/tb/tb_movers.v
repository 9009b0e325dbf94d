// tb_movers.v -- test harness (simulation only): the read mover feeds the write mover, a
// copy engine on one AXI4 bus (AR/R from the reader, AW/W/B from the writer), so cocotbext-axi's
// AxiRam can serve both with random backpressure on every channel. `stall` gates the link
// between the two movers (random stream backpressure from the test).
`default_nettype none
module tb_movers #(
    parameter integer DATA_W = 64,
    parameter integer MAX_BURST = 16
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              rd_cmd_valid,
    output wire              rd_cmd_ready,
    input  wire [63:0]       rd_cmd_addr,
    input  wire [31:0]       rd_cmd_bytes,
    output wire              rd_done,
    input  wire              wr_cmd_valid,
    output wire              wr_cmd_ready,
    input  wire [63:0]       wr_cmd_addr,
    input  wire [31:0]       wr_cmd_bytes,
    output wire              wr_done,
    output wire              wr_err,
    input  wire              stall,
    output wire [31:0]       words_moved,
    output wire [0:0]        m_axi_awid,
    input  wire [0:0]        m_axi_bid,
    output wire [0:0]        m_axi_arid,
    input  wire [0:0]        m_axi_rid,
    output wire              m_axi_awvalid,
    input  wire              m_axi_awready,
    output wire [63:0]       m_axi_awaddr,
    output wire [7:0]        m_axi_awlen,
    output wire [2:0]        m_axi_awsize,
    output wire [1:0]        m_axi_awburst,
    output wire              m_axi_wvalid,
    input  wire              m_axi_wready,
    output wire [DATA_W-1:0] m_axi_wdata,
    output wire [DATA_W/8-1:0] m_axi_wstrb,
    output wire              m_axi_wlast,
    input  wire              m_axi_bvalid,
    output wire              m_axi_bready,
    input  wire [1:0]        m_axi_bresp,
    output wire              m_axi_arvalid,
    input  wire              m_axi_arready,
    output wire [63:0]       m_axi_araddr,
    output wire [7:0]        m_axi_arlen,
    output wire [2:0]        m_axi_arsize,
    output wire [1:0]        m_axi_arburst,
    input  wire              m_axi_rvalid,
    output wire              m_axi_rready,
    input  wire [DATA_W-1:0] m_axi_rdata,
    input  wire              m_axi_rlast,
    input  wire [1:0]        m_axi_rresp
);
    assign m_axi_awid = 1'b0;   // one ID: in-order responses (the movers rely on it)
    assign m_axi_arid = 1'b0;
    wire s_valid, s_ready;
    wire [DATA_W-1:0] s_data;
    reg [31:0] moved;
    assign words_moved = moved;
    always @(posedge clk)
        if (!rst_n) moved <= 0;
        else if (s_valid & s_ready & ~stall) moved <= moved + 1;

    wire w_in_ready;
    assign s_ready = w_in_ready & ~stall;

    axi_read_master #(.DATA_W(DATA_W), .MAX_BURST(MAX_BURST)) rd (
        .clk(clk), .rst_n(rst_n), .cmd_valid(rd_cmd_valid), .cmd_ready(rd_cmd_ready),
        .cmd_addr(rd_cmd_addr), .cmd_bytes(rd_cmd_bytes), .done(rd_done),
        .out_valid(s_valid), .out_ready(s_ready), .out_data(s_data),
        .m_axi_arvalid(m_axi_arvalid), .m_axi_arready(m_axi_arready), .m_axi_araddr(m_axi_araddr),
        .m_axi_arlen(m_axi_arlen), .m_axi_arsize(m_axi_arsize), .m_axi_arburst(m_axi_arburst),
        .m_axi_rvalid(m_axi_rvalid), .m_axi_rready(m_axi_rready), .m_axi_rdata(m_axi_rdata),
        .m_axi_rlast(m_axi_rlast), .m_axi_rresp(m_axi_rresp));

    axi_write_master #(.DATA_W(DATA_W), .MAX_BURST(MAX_BURST)) wr (
        .clk(clk), .rst_n(rst_n), .cmd_valid(wr_cmd_valid), .cmd_ready(wr_cmd_ready),
        .cmd_addr(wr_cmd_addr), .cmd_bytes(wr_cmd_bytes), .done(wr_done), .err(wr_err),
        .in_valid(s_valid & ~stall), .in_ready(w_in_ready), .in_data(s_data),
        .m_axi_awvalid(m_axi_awvalid), .m_axi_awready(m_axi_awready), .m_axi_awaddr(m_axi_awaddr),
        .m_axi_awlen(m_axi_awlen), .m_axi_awsize(m_axi_awsize), .m_axi_awburst(m_axi_awburst),
        .m_axi_wvalid(m_axi_wvalid), .m_axi_wready(m_axi_wready), .m_axi_wdata(m_axi_wdata),
        .m_axi_wstrb(m_axi_wstrb), .m_axi_wlast(m_axi_wlast),
        .m_axi_bvalid(m_axi_bvalid), .m_axi_bready(m_axi_bready), .m_axi_bresp(m_axi_bresp));
endmodule
`default_nettype wire
