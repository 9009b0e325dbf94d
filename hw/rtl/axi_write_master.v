// axi_write_master.v -- memory mover: writes cmd_bytes from an input word stream to
// cmd_addr over an AXI4 master write channel.
//
// cmd_addr may be unaligned: the mover writes the aligned words that cover
// [cmd_addr, cmd_addr + cmd_bytes) and strobes only those bytes. The stream supplies those words
// with the data already at its byte lanes (byte j of the transfer in lane (cmd_addr + j) mod
// DATA_W/8 of its word; stream_pack's offset does this). Bursts: INCR, full
// width, <= MAX_BURST beats, never across a 4 KiB boundary. The AW and W sides run
// independently (both split the transfer the same way; AXI allows W data ahead of its
// address), up to MAX_OUTSTANDING bursts wait for their B response.
// done: one-cycle pulse when the last B response has arrived (the data is in memory).
// err: sticky until the next command when any BRESP was not OKAY.
`default_nettype none
module axi_write_master #(
    parameter integer DATA_W = 64,
    parameter integer ADDR_W = 64,
    parameter integer MAX_BURST = 16,
    parameter integer MAX_OUTSTANDING = 4
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              cmd_valid,
    output wire              cmd_ready,
    input  wire [ADDR_W-1:0] cmd_addr,
    input  wire [31:0]       cmd_bytes,
    output reg               done,
    output reg               err,
    input  wire              in_valid,
    output wire              in_ready,
    input  wire [DATA_W-1:0] in_data,
    output reg               m_axi_awvalid,
    input  wire              m_axi_awready,
    output reg  [ADDR_W-1:0] m_axi_awaddr,
    output reg  [7:0]        m_axi_awlen,
    output wire [2:0]        m_axi_awsize,
    output wire [1:0]        m_axi_awburst,
    output wire              m_axi_wvalid,
    input  wire              m_axi_wready,
    output wire [DATA_W-1:0] m_axi_wdata,
    output wire [DATA_W/8-1:0] m_axi_wstrb,
    output wire              m_axi_wlast,
    input  wire              m_axi_bvalid,
    output wire              m_axi_bready,
    input  wire [1:0]        m_axi_bresp
);
    localparam integer BYTES = DATA_W / 8;
    localparam integer LG = $clog2(BYTES);
    localparam integer PAGE_WORDS = 4096 / BYTES;

    assign m_axi_awsize = LG[2:0];
    assign m_axi_awburst = 2'b01;

    reg busy;
    reg [31:0] aw_left, w_left, b_left;  // words to address / words to send / bursts to acknowledge
    reg [ADDR_W-1:0] aw_addr, w_addr;
    reg [31:0] w_in_burst;               // words left in the W side's current burst (0: start one)
    reg [LG:0] last_bytes;               // bytes valid in the final word (1..BYTES)
    reg [LG-1:0] first_off;              // first valid byte lane of the first word
    reg first_word;
    reg [7:0] outstanding;               // bursts addressed but not acknowledged
    assign cmd_ready = ~busy;

    function [31:0] burst_len(input [ADDR_W-1:0] addr, input [31:0] left);
        reg [31:0] to_page, lim;
        begin
            to_page = PAGE_WORDS - (addr[11:0] >> LG);
            lim = (MAX_BURST < to_page) ? MAX_BURST : to_page;
            burst_len = (left < lim) ? left : lim;
        end
    endfunction

    wire [31:0] end_sum = cmd_bytes + cmd_addr[LG-1:0];
    wire [LG-1:0] end_lane = end_sum[LG-1:0];
    wire [31:0] aw_blen = burst_len(aw_addr, aw_left);
    wire [31:0] w_blen = burst_len(w_addr, w_left);
    wire aw_fire = m_axi_awvalid & m_axi_awready;
    wire aw_issue = busy & (aw_left != 0) & (~m_axi_awvalid | m_axi_awready) &
                    (outstanding < MAX_OUTSTANDING);
    wire w_fire = m_axi_wvalid & m_axi_wready;
    wire b_fire = m_axi_bvalid & m_axi_bready;
    wire [31:0] w_cur = (w_in_burst != 0) ? w_in_burst : w_blen;  // words left in this burst

    assign m_axi_wvalid = busy & (w_left != 0) & in_valid;
    assign in_ready = busy & (w_left != 0) & m_axi_wready;
    assign m_axi_wdata = in_data;
    assign m_axi_wlast = (w_cur == 1);
    genvar gi;
    generate for (gi = 0; gi < BYTES; gi = gi + 1) begin : strb
        assign m_axi_wstrb[gi] = ((w_left != 1) | (gi < last_bytes)) & (~first_word | (gi >= first_off));
    end endgenerate
    assign m_axi_bready = busy;

    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0; done <= 1'b0; err <= 1'b0;
            aw_left <= 0; w_left <= 0; b_left <= 0; aw_addr <= 0; w_addr <= 0;
            w_in_burst <= 0; last_bytes <= 0; outstanding <= 0; first_off <= 0; first_word <= 1'b0;
            m_axi_awvalid <= 1'b0; m_axi_awaddr <= 0; m_axi_awlen <= 0;
        end else begin
            done <= 1'b0;
            if (cmd_valid & ~busy) begin
                busy <= (cmd_bytes != 0);
                done <= (cmd_bytes == 0);
                err <= 1'b0;
                aw_addr <= {cmd_addr[ADDR_W-1:LG], {LG{1'b0}}};
                w_addr <= {cmd_addr[ADDR_W-1:LG], {LG{1'b0}}};
                aw_left <= (cmd_bytes + cmd_addr[LG-1:0] + BYTES - 1) >> LG;
                w_left <= (cmd_bytes + cmd_addr[LG-1:0] + BYTES - 1) >> LG;
                last_bytes <= end_lane == 0 ? BYTES : end_lane;
                first_off <= cmd_addr[LG-1:0];
                first_word <= 1'b1;
                b_left <= 0;
                w_in_burst <= 0;
            end else if (busy) begin
                if (aw_fire) m_axi_awvalid <= 1'b0;
                if (aw_issue) begin
                    m_axi_awvalid <= 1'b1;
                    m_axi_awaddr <= aw_addr;
                    m_axi_awlen <= aw_blen[7:0] - 8'd1;
                    aw_addr <= aw_addr + (aw_blen << LG);
                    aw_left <= aw_left - aw_blen;
                end
                outstanding <= outstanding + (aw_issue ? 8'd1 : 8'd0) - (b_fire ? 8'd1 : 8'd0);
                if (w_fire) begin
                    first_word <= 1'b0;
                    w_left <= w_left - 1;
                    w_in_burst <= w_cur - 1;
                    if (w_in_burst == 0) w_addr <= w_addr + (w_blen << LG);
                end
                // bursts issued - acknowledged; the transfer is over when all words are
                // addressed and every burst is acknowledged
                if (b_fire && m_axi_bresp != 2'b00) err <= 1'b1;
                if (b_fire && aw_left == 0 && outstanding == 1 && !aw_issue) begin
                    busy <= 1'b0;
                    done <= 1'b1;
                end
            end
        end
    end
endmodule
`default_nettype wire
