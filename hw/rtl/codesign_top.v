// codesign_top.v -- the processor with the port protocol of a Vitis HLS kernel (ap_ctrl_hs):
// ap_clk, ap_rst_n, interrupt, AXI4-Lite `s_axi_control` (register map in axil_control.v) and
// AXI4 masters `m_axi_gmem_w`, `m_axi_gmem_kv`, `m_axi_gmem_io` (signals m_axi_<bundle>_<CH><SIG>).
// The same cocotb regression drives this top and an HLS-exported one (codesign verify --rtl-dir).
// gmem_w is only read: its write channels are present and idle. IDs are one bit, constant 0.
`default_nettype none
module codesign_top #(
    parameter integer ROWS = 4,
    parameter integer COLS = 8,
    parameter integer WBITS = 4,
    parameter integer WBITS_HI = 0,      // second run-time weight mode (mixed precision; 0: none)
    parameter integer ABITS = 8,
    parameter integer KVBITS = 8,
    parameter integer GROUP = 32,
    parameter integer ZP = 0,
    parameter integer NM_N = 1,          // N:M sparse weights (dense: 1, 1)
    parameter integer NM_M = 1,
    parameter integer SCALE_BITS = 16,
    parameter integer SFU_LANES = 4,
    parameter integer WBUF_DEPTH = 2,
    parameter integer ABUF_DEPTH = 4096,
    parameter integer KVBUF_DEPTH = 256,
    parameter integer PORT_BITS = 64,
    parameter integer MAX_HD = 128,
    parameter integer MAX_REP = 8,
    parameter integer BANKED = 0,        // buffers as banked distributed RAM (lane_ram.v): synthesis
    parameter integer C_S_AXI_CONTROL_ADDR_WIDTH = 7
) (
    input  wire ap_clk,
    input  wire ap_rst_n,
    output wire interrupt,
    output wire m_axi_gmem_w_ARVALID,
    input  wire m_axi_gmem_w_ARREADY,
    output wire [63:0] m_axi_gmem_w_ARADDR,
    output wire [7:0] m_axi_gmem_w_ARLEN,
    output wire [2:0] m_axi_gmem_w_ARSIZE,
    output wire [1:0] m_axi_gmem_w_ARBURST,
    input  wire m_axi_gmem_w_RVALID,
    output wire m_axi_gmem_w_RREADY,
    input  wire [PORT_BITS-1:0] m_axi_gmem_w_RDATA,
    input  wire m_axi_gmem_w_RLAST,
    input  wire [1:0] m_axi_gmem_w_RRESP,
    output wire m_axi_gmem_w_AWVALID,
    input  wire m_axi_gmem_w_AWREADY,
    output wire [63:0] m_axi_gmem_w_AWADDR,
    output wire [7:0] m_axi_gmem_w_AWLEN,
    output wire [2:0] m_axi_gmem_w_AWSIZE,
    output wire [1:0] m_axi_gmem_w_AWBURST,
    output wire m_axi_gmem_w_WVALID,
    input  wire m_axi_gmem_w_WREADY,
    output wire [PORT_BITS-1:0] m_axi_gmem_w_WDATA,
    output wire [PORT_BITS/8-1:0] m_axi_gmem_w_WSTRB,
    output wire m_axi_gmem_w_WLAST,
    input  wire m_axi_gmem_w_BVALID,
    output wire m_axi_gmem_w_BREADY,
    input  wire [1:0] m_axi_gmem_w_BRESP,
    output wire [0:0] m_axi_gmem_w_AWID,
    input  wire [0:0] m_axi_gmem_w_BID,
    output wire [0:0] m_axi_gmem_w_ARID,
    input  wire [0:0] m_axi_gmem_w_RID,
    output wire m_axi_gmem_kv_ARVALID,
    input  wire m_axi_gmem_kv_ARREADY,
    output wire [63:0] m_axi_gmem_kv_ARADDR,
    output wire [7:0] m_axi_gmem_kv_ARLEN,
    output wire [2:0] m_axi_gmem_kv_ARSIZE,
    output wire [1:0] m_axi_gmem_kv_ARBURST,
    input  wire m_axi_gmem_kv_RVALID,
    output wire m_axi_gmem_kv_RREADY,
    input  wire [PORT_BITS-1:0] m_axi_gmem_kv_RDATA,
    input  wire m_axi_gmem_kv_RLAST,
    input  wire [1:0] m_axi_gmem_kv_RRESP,
    output wire m_axi_gmem_kv_AWVALID,
    input  wire m_axi_gmem_kv_AWREADY,
    output wire [63:0] m_axi_gmem_kv_AWADDR,
    output wire [7:0] m_axi_gmem_kv_AWLEN,
    output wire [2:0] m_axi_gmem_kv_AWSIZE,
    output wire [1:0] m_axi_gmem_kv_AWBURST,
    output wire m_axi_gmem_kv_WVALID,
    input  wire m_axi_gmem_kv_WREADY,
    output wire [PORT_BITS-1:0] m_axi_gmem_kv_WDATA,
    output wire [PORT_BITS/8-1:0] m_axi_gmem_kv_WSTRB,
    output wire m_axi_gmem_kv_WLAST,
    input  wire m_axi_gmem_kv_BVALID,
    output wire m_axi_gmem_kv_BREADY,
    input  wire [1:0] m_axi_gmem_kv_BRESP,
    output wire [0:0] m_axi_gmem_kv_AWID,
    input  wire [0:0] m_axi_gmem_kv_BID,
    output wire [0:0] m_axi_gmem_kv_ARID,
    input  wire [0:0] m_axi_gmem_kv_RID,
    output wire m_axi_gmem_io_ARVALID,
    input  wire m_axi_gmem_io_ARREADY,
    output wire [63:0] m_axi_gmem_io_ARADDR,
    output wire [7:0] m_axi_gmem_io_ARLEN,
    output wire [2:0] m_axi_gmem_io_ARSIZE,
    output wire [1:0] m_axi_gmem_io_ARBURST,
    input  wire m_axi_gmem_io_RVALID,
    output wire m_axi_gmem_io_RREADY,
    input  wire [PORT_BITS-1:0] m_axi_gmem_io_RDATA,
    input  wire m_axi_gmem_io_RLAST,
    input  wire [1:0] m_axi_gmem_io_RRESP,
    output wire m_axi_gmem_io_AWVALID,
    input  wire m_axi_gmem_io_AWREADY,
    output wire [63:0] m_axi_gmem_io_AWADDR,
    output wire [7:0] m_axi_gmem_io_AWLEN,
    output wire [2:0] m_axi_gmem_io_AWSIZE,
    output wire [1:0] m_axi_gmem_io_AWBURST,
    output wire m_axi_gmem_io_WVALID,
    input  wire m_axi_gmem_io_WREADY,
    output wire [PORT_BITS-1:0] m_axi_gmem_io_WDATA,
    output wire [PORT_BITS/8-1:0] m_axi_gmem_io_WSTRB,
    output wire m_axi_gmem_io_WLAST,
    input  wire m_axi_gmem_io_BVALID,
    output wire m_axi_gmem_io_BREADY,
    input  wire [1:0] m_axi_gmem_io_BRESP,
    output wire [0:0] m_axi_gmem_io_AWID,
    input  wire [0:0] m_axi_gmem_io_BID,
    output wire [0:0] m_axi_gmem_io_ARID,
    input  wire [0:0] m_axi_gmem_io_RID,
    input  wire s_axi_control_AWVALID,
    output wire s_axi_control_AWREADY,
    input  wire [C_S_AXI_CONTROL_ADDR_WIDTH-1:0] s_axi_control_AWADDR,
    input  wire s_axi_control_WVALID,
    output wire s_axi_control_WREADY,
    input  wire [31:0] s_axi_control_WDATA,
    input  wire [3:0] s_axi_control_WSTRB,
    output wire s_axi_control_BVALID,
    input  wire s_axi_control_BREADY,
    output wire [1:0] s_axi_control_BRESP,
    input  wire s_axi_control_ARVALID,
    output wire s_axi_control_ARREADY,
    input  wire [C_S_AXI_CONTROL_ADDR_WIDTH-1:0] s_axi_control_ARADDR,
    output wire s_axi_control_RVALID,
    input  wire s_axi_control_RREADY,
    output wire [31:0] s_axi_control_RDATA,
    output wire [1:0] s_axi_control_RRESP
);
    assign m_axi_gmem_w_AWVALID = 0;
    assign m_axi_gmem_w_AWADDR = 0;
    assign m_axi_gmem_w_AWLEN = 0;
    assign m_axi_gmem_w_AWSIZE = 0;
    assign m_axi_gmem_w_AWBURST = 0;
    assign m_axi_gmem_w_WVALID = 0;
    assign m_axi_gmem_w_WDATA = 0;
    assign m_axi_gmem_w_WSTRB = 0;
    assign m_axi_gmem_w_WLAST = 0;
    assign m_axi_gmem_w_BREADY = 0;
    assign m_axi_gmem_w_AWID = 1'b0;
    assign m_axi_gmem_w_ARID = 1'b0;
    assign m_axi_gmem_kv_AWID = 1'b0;
    assign m_axi_gmem_kv_ARID = 1'b0;
    assign m_axi_gmem_io_AWID = 1'b0;
    assign m_axi_gmem_io_ARID = 1'b0;

    wire        ap_start, ap_idle, core_done, core_err;
    wire [63:0] arg_w, arg_kv, arg_io;
    wire [31:0] arg_n_instr, cycles, pc;
    wire [15:0] err_code;
    wire        retire;

    axil_control #(.ADDR_W(C_S_AXI_CONTROL_ADDR_WIDTH)) u_ctrl (
        .clk(ap_clk), .rst_n(ap_rst_n),
        .s_axi_awvalid(s_axi_control_AWVALID), .s_axi_awready(s_axi_control_AWREADY), .s_axi_awaddr(s_axi_control_AWADDR),
        .s_axi_wvalid(s_axi_control_WVALID), .s_axi_wready(s_axi_control_WREADY), .s_axi_wdata(s_axi_control_WDATA),
        .s_axi_wstrb(s_axi_control_WSTRB), .s_axi_bvalid(s_axi_control_BVALID), .s_axi_bready(s_axi_control_BREADY),
        .s_axi_bresp(s_axi_control_BRESP), .s_axi_arvalid(s_axi_control_ARVALID), .s_axi_arready(s_axi_control_ARREADY),
        .s_axi_araddr(s_axi_control_ARADDR), .s_axi_rvalid(s_axi_control_RVALID), .s_axi_rready(s_axi_control_RREADY),
        .s_axi_rdata(s_axi_control_RDATA), .s_axi_rresp(s_axi_control_RRESP),
        .interrupt(interrupt), .ap_start(ap_start), .ap_done(core_done), .ap_idle(ap_idle),
        .arg_w(arg_w), .arg_kv(arg_kv), .arg_io(arg_io), .arg_n_instr(arg_n_instr), .cycles(cycles),
        .status({core_err, 15'd0, err_code}));

    codesign_core #(
        .ROWS(ROWS), .COLS(COLS), .WBITS(WBITS), .WBITS_HI(WBITS_HI), .ABITS(ABITS), .KVBITS(KVBITS), .GROUP(GROUP),
        .ZP(ZP), .NM_N(NM_N), .NM_M(NM_M), .SCALE_BITS(SCALE_BITS), .SFU_LANES(SFU_LANES), .ABUF_DEPTH(ABUF_DEPTH),
        .KVBUF_DEPTH(KVBUF_DEPTH), .PORT_BITS(PORT_BITS), .MAX_HD(MAX_HD), .MAX_REP(MAX_REP),
        .WBUF_DEPTH(WBUF_DEPTH), .BANKED(BANKED)
    ) u_core (
        .clk(ap_clk), .rst_n(ap_rst_n), .start(ap_start & ap_idle), .w_base(arg_w), .kv_base(arg_kv),
        .io_base(arg_io), .n_instr(arg_n_instr), .idle(ap_idle), .done(core_done), .err(core_err),
        .err_code(err_code), .cycles(cycles), .retire(retire), .pc(pc),
        .w_arvalid(m_axi_gmem_w_ARVALID), .w_arready(m_axi_gmem_w_ARREADY), .w_araddr(m_axi_gmem_w_ARADDR),
        .w_arlen(m_axi_gmem_w_ARLEN), .w_arsize(m_axi_gmem_w_ARSIZE), .w_arburst(m_axi_gmem_w_ARBURST),
        .w_rvalid(m_axi_gmem_w_RVALID), .w_rready(m_axi_gmem_w_RREADY), .w_rdata(m_axi_gmem_w_RDATA),
        .w_rlast(m_axi_gmem_w_RLAST), .w_rresp(m_axi_gmem_w_RRESP), .kv_arvalid(m_axi_gmem_kv_ARVALID),
        .kv_arready(m_axi_gmem_kv_ARREADY), .kv_araddr(m_axi_gmem_kv_ARADDR), .kv_arlen(m_axi_gmem_kv_ARLEN),
        .kv_arsize(m_axi_gmem_kv_ARSIZE), .kv_arburst(m_axi_gmem_kv_ARBURST), .kv_rvalid(m_axi_gmem_kv_RVALID),
        .kv_rready(m_axi_gmem_kv_RREADY), .kv_rdata(m_axi_gmem_kv_RDATA), .kv_rlast(m_axi_gmem_kv_RLAST),
        .kv_rresp(m_axi_gmem_kv_RRESP), .kv_awvalid(m_axi_gmem_kv_AWVALID), .kv_awready(m_axi_gmem_kv_AWREADY),
        .kv_awaddr(m_axi_gmem_kv_AWADDR), .kv_awlen(m_axi_gmem_kv_AWLEN), .kv_awsize(m_axi_gmem_kv_AWSIZE),
        .kv_awburst(m_axi_gmem_kv_AWBURST), .kv_wvalid(m_axi_gmem_kv_WVALID), .kv_wready(m_axi_gmem_kv_WREADY),
        .kv_wdata(m_axi_gmem_kv_WDATA), .kv_wstrb(m_axi_gmem_kv_WSTRB), .kv_wlast(m_axi_gmem_kv_WLAST),
        .kv_bvalid(m_axi_gmem_kv_BVALID), .kv_bready(m_axi_gmem_kv_BREADY), .kv_bresp(m_axi_gmem_kv_BRESP),
        .io_arvalid(m_axi_gmem_io_ARVALID), .io_arready(m_axi_gmem_io_ARREADY), .io_araddr(m_axi_gmem_io_ARADDR),
        .io_arlen(m_axi_gmem_io_ARLEN), .io_arsize(m_axi_gmem_io_ARSIZE), .io_arburst(m_axi_gmem_io_ARBURST),
        .io_rvalid(m_axi_gmem_io_RVALID), .io_rready(m_axi_gmem_io_RREADY), .io_rdata(m_axi_gmem_io_RDATA),
        .io_rlast(m_axi_gmem_io_RLAST), .io_rresp(m_axi_gmem_io_RRESP), .io_awvalid(m_axi_gmem_io_AWVALID),
        .io_awready(m_axi_gmem_io_AWREADY), .io_awaddr(m_axi_gmem_io_AWADDR), .io_awlen(m_axi_gmem_io_AWLEN),
        .io_awsize(m_axi_gmem_io_AWSIZE), .io_awburst(m_axi_gmem_io_AWBURST), .io_wvalid(m_axi_gmem_io_WVALID),
        .io_wready(m_axi_gmem_io_WREADY), .io_wdata(m_axi_gmem_io_WDATA), .io_wstrb(m_axi_gmem_io_WSTRB),
        .io_wlast(m_axi_gmem_io_WLAST), .io_bvalid(m_axi_gmem_io_BVALID), .io_bready(m_axi_gmem_io_BREADY),
        .io_bresp(m_axi_gmem_io_BRESP));
endmodule
`default_nettype wire
