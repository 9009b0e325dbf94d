// axil_control.v -- AXI4-Lite control slave with the Vitis HLS register map
// (UG1399, "s_axilite" control register map of an ap_ctrl_hs kernel):
//   0x00 CTRL  bit0 ap_start (R/W, cleared by the kernel when it starts), bit1 ap_done
//              (clear on read), bit2 ap_idle (R), bit3 ap_ready (clear on read),
//              bit7 auto_restart (R/W)
//   0x04 GIE   bit0 global interrupt enable
//   0x08 IER   bit0 ap_done, bit1 ap_ready interrupt enables
//   0x0C ISR   bit0 ap_done, bit1 ap_ready interrupt status (toggle on write)
//   0x10/0x14  gmem_w  base address (low/high word)        (64-bit pointer argument)
//   0x1C/0x20  gmem_kv base address
//   0x28/0x2C  gmem_io base address
//   0x34       n_instr (instructions at gmem_io + 0)        (32-bit scalar argument)
//   0x3C       cycles (R): clock cycles of the last run, ap_start to ap_done (not in HLS:
//              the RTL's own counter for the cycle cross-check)
//   0x44       status (R): bit31 error, [15:0] error code of the last run (docs/RTL.md)
// Writes with partial strobes update only the strobed bytes.
`default_nettype none
module axil_control #(
    parameter integer ADDR_W = 7
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              s_axi_awvalid,
    output wire              s_axi_awready,
    input  wire [ADDR_W-1:0] s_axi_awaddr,
    input  wire              s_axi_wvalid,
    output wire              s_axi_wready,
    input  wire [31:0]       s_axi_wdata,
    input  wire [3:0]        s_axi_wstrb,
    output reg               s_axi_bvalid,
    input  wire              s_axi_bready,
    output wire [1:0]        s_axi_bresp,
    input  wire              s_axi_arvalid,
    output wire              s_axi_arready,
    input  wire [ADDR_W-1:0] s_axi_araddr,
    output reg               s_axi_rvalid,
    input  wire              s_axi_rready,
    output reg  [31:0]       s_axi_rdata,
    output wire [1:0]        s_axi_rresp,
    output wire              interrupt,
    // kernel side
    output wire              ap_start,
    input  wire              ap_done,     // one-cycle pulse at the end of a run
    input  wire              ap_idle,
    output reg  [63:0]       arg_w,
    output reg  [63:0]       arg_kv,
    output reg  [63:0]       arg_io,
    output reg  [31:0]       arg_n_instr,
    input  wire [31:0]       cycles,
    input  wire [31:0]       status
);
    reg start_r, done_r, ready_r, auto_restart, gie;
    reg [1:0] ier, isr;
    reg [ADDR_W-1:0] waddr;
    reg aw_seen, w_seen;
    reg [31:0] wdata;
    reg [3:0] wstrb;
    assign ap_start = start_r;
    assign s_axi_bresp = 2'b00;
    assign s_axi_rresp = 2'b00;
    assign interrupt = gie & |(ier & isr);

    // write: address and data may come in either order; respond when both are in
    assign s_axi_awready = ~aw_seen & ~s_axi_bvalid;
    assign s_axi_wready = ~w_seen & ~s_axi_bvalid;
    wire aw_fire = s_axi_awvalid & s_axi_awready;
    wire w_fire = s_axi_wvalid & s_axi_wready;
    wire have_aw = aw_seen | aw_fire;
    wire have_w = w_seen | w_fire;
    wire [ADDR_W-1:0] wa = aw_fire ? s_axi_awaddr : waddr;
    wire [31:0] wd = w_fire ? s_axi_wdata : wdata;
    wire [3:0] ws = w_fire ? s_axi_wstrb : wstrb;
    wire do_write = have_aw & have_w & ~s_axi_bvalid;

    function [31:0] merge(input [31:0] old, input [31:0] d, input [3:0] s);
        integer i;
        begin
            for (i = 0; i < 4; i = i + 1) merge[i*8 +: 8] = s[i] ? d[i*8 +: 8] : old[i*8 +: 8];
        end
    endfunction

    // read
    assign s_axi_arready = ~s_axi_rvalid;
    wire ar_fire = s_axi_arvalid & s_axi_arready;
    wire [ADDR_W-1:0] ra = s_axi_araddr;

    always @(posedge clk) begin
        if (!rst_n) begin
            start_r <= 1'b0; done_r <= 1'b0; ready_r <= 1'b0; auto_restart <= 1'b0;
            gie <= 1'b0; ier <= 2'b0; isr <= 2'b0;
            aw_seen <= 1'b0; w_seen <= 1'b0; waddr <= 0; wdata <= 0; wstrb <= 0;
            s_axi_bvalid <= 1'b0; s_axi_rvalid <= 1'b0; s_axi_rdata <= 0;
            arg_w <= 0; arg_kv <= 0; arg_io <= 0; arg_n_instr <= 0;
        end else begin
            // kernel handshake: ap_start drops when the kernel takes it (ap_ready = start
            // accepted; this kernel is ready when it leaves idle)
            if (start_r & ap_idle) begin
                start_r <= auto_restart;
                ready_r <= 1'b1;
                if (ier[1]) isr[1] <= 1'b1;
            end
            if (ap_done) begin
                done_r <= 1'b1;
                if (ier[0]) isr[0] <= 1'b1;
            end
            // write channel
            if (aw_fire) begin aw_seen <= 1'b1; waddr <= s_axi_awaddr; end
            if (w_fire) begin w_seen <= 1'b1; wdata <= s_axi_wdata; wstrb <= s_axi_wstrb; end
            if (do_write) begin
                aw_seen <= 1'b0; w_seen <= 1'b0;
                s_axi_bvalid <= 1'b1;
                case (wa)
                    7'h00: begin
                        if (ws[0] & wd[0]) start_r <= 1'b1;
                        if (ws[0]) auto_restart <= wd[7];
                    end
                    7'h04: if (ws[0]) gie <= wd[0];
                    7'h08: if (ws[0]) ier <= wd[1:0];
                    7'h0C: if (ws[0]) isr <= isr ^ wd[1:0];
                    7'h10: arg_w[31:0]   <= merge(arg_w[31:0], wd, ws);
                    7'h14: arg_w[63:32]  <= merge(arg_w[63:32], wd, ws);
                    7'h1C: arg_kv[31:0]  <= merge(arg_kv[31:0], wd, ws);
                    7'h20: arg_kv[63:32] <= merge(arg_kv[63:32], wd, ws);
                    7'h28: arg_io[31:0]  <= merge(arg_io[31:0], wd, ws);
                    7'h2C: arg_io[63:32] <= merge(arg_io[63:32], wd, ws);
                    7'h34: arg_n_instr   <= merge(arg_n_instr, wd, ws);
                    default: ;
                endcase
            end
            if (s_axi_bvalid & s_axi_bready) s_axi_bvalid <= 1'b0;
            // read channel
            if (ar_fire) begin
                s_axi_rvalid <= 1'b1;
                case (ra)
                    7'h00: begin
                        s_axi_rdata <= {24'd0, auto_restart, 3'd0, ready_r, ap_idle, done_r | ap_done, start_r};
                        done_r <= 1'b0;       // clear on read
                        ready_r <= 1'b0;
                    end
                    7'h04: s_axi_rdata <= {31'd0, gie};
                    7'h08: s_axi_rdata <= {30'd0, ier};
                    7'h0C: s_axi_rdata <= {30'd0, isr};
                    7'h10: s_axi_rdata <= arg_w[31:0];
                    7'h14: s_axi_rdata <= arg_w[63:32];
                    7'h1C: s_axi_rdata <= arg_kv[31:0];
                    7'h20: s_axi_rdata <= arg_kv[63:32];
                    7'h28: s_axi_rdata <= arg_io[31:0];
                    7'h2C: s_axi_rdata <= arg_io[63:32];
                    7'h34: s_axi_rdata <= arg_n_instr;
                    7'h3C: s_axi_rdata <= cycles;
                    7'h44: s_axi_rdata <= status;
                    default: s_axi_rdata <= 32'd0;
                endcase
            end
            if (s_axi_rvalid & s_axi_rready) s_axi_rvalid <= 1'b0;
        end
    end
endmodule
`default_nettype wire
