// stream_unpack.v -- bit FIFO between a memory read stream (IN_W-bit words) and a consumer
// that takes a variable number of bits per cycle (elements of 8/16/32 bits, weight beats,
// KV rows). Bits leave in stream order (little end first): out_data[0] is the oldest bit.
// clear: empties the FIFO and arms `cfg_skip` bits to drop from the front of the next words
// (the byte offset of an unaligned start address). pop (<= avail, <= OUT_W) removes bits.
// EXTRA_W: more room past IN_W + OUT_W bits (in_ready looks at the fill before this cycle's pop,
// so a consumer whose pops are no multiple of IN_W, e.g. N:M sparse weight beats of W+IB-bit
// lanes, would stall the read stream one word in three without it; 0 keeps the plain FIFO).
`default_nettype none
module stream_unpack #(
    parameter integer IN_W = 64,
    parameter integer OUT_W = 512,
    parameter integer EXTRA_W = 0
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              clear,
    input  wire [15:0]       cfg_skip,
    input  wire              in_valid,
    output wire              in_ready,
    input  wire [IN_W-1:0]   in_data,
    output wire [OUT_W-1:0]  out_data,
    output wire [31:0]       avail,
    input  wire [31:0]       pop
);
    localparam integer BUFW = IN_W + OUT_W + EXTRA_W;
    reg [BUFW-1:0] fifo;
    reg [31:0] cnt;
    reg [15:0] skip;
    assign out_data = fifo[OUT_W-1:0];
    assign avail = cnt;
    assign in_ready = ~clear & (cnt + IN_W <= BUFW);
    wire take = in_valid & in_ready;
    wire [15:0] drop = (skip > IN_W) ? IN_W : skip;    // bits of this word to drop
    wire [BUFW-1:0] word = {{OUT_W{1'b0}}, in_data} >> drop;
    wire [31:0] after_pop = cnt - pop;
    always @(posedge clk) begin
        if (!rst_n || clear) begin
            fifo <= {BUFW{1'b0}};
            cnt <= 0;
            skip <= rst_n ? cfg_skip : 16'd0;
        end else begin
            if (take) begin
                fifo <= (fifo >> pop) | (word << after_pop);
                cnt <= after_pop + (IN_W - drop);
                skip <= skip - drop;
            end else begin
                fifo <= fifo >> pop;
                cnt <= after_pop;
            end
        end
    end
endmodule
`default_nettype wire
