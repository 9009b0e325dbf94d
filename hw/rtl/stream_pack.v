// stream_pack.v -- bit FIFO from a producer that pushes a variable number of bits per cycle
// to a memory write stream of OUT_W-bit words. clear empties it and pre-fills `cfg_offset`
// zero bits, so the first pushed bit lands at the byte lane of an unaligned start address.
// flush: after the last push, emits the final partial word (zero padded; the write mover's
// strobes keep the padding out of memory).
`default_nettype none
module stream_pack #(
    parameter integer OUT_W = 64,
    parameter integer IN_W = 512
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              clear,
    input  wire [15:0]       cfg_offset,
    input  wire              flush,
    input  wire              push,
    input  wire [31:0]       push_bits,   // <= IN_W
    input  wire [IN_W-1:0]   push_data,
    output wire              push_ready,  // room for IN_W more bits
    output wire              out_valid,
    input  wire              out_ready,
    output wire [OUT_W-1:0]  out_data,
    output wire              empty
);
    localparam integer BUFW = IN_W + OUT_W;
    reg [BUFW-1:0] fifo;
    reg [31:0] cnt;
    reg flushing;
    assign out_data = fifo[OUT_W-1:0];
    assign out_valid = (cnt >= OUT_W) | (flushing & (cnt != 0));
    assign push_ready = ~clear & (cnt + IN_W <= BUFW);
    assign empty = (cnt == 0);
    wire take = out_valid & out_ready;
    wire [31:0] after = take ? ((cnt > OUT_W) ? cnt - OUT_W : 0) : cnt;
    wire [BUFW-1:0] masked = {{OUT_W{1'b0}}, push_data} & ((({{(BUFW-1){1'b0}}, 1'b1}) << push_bits) - 1);
    always @(posedge clk) begin
        if (!rst_n || clear) begin
            fifo <= {BUFW{1'b0}};
            cnt <= rst_n ? cfg_offset : 0;
            flushing <= 1'b0;
        end else begin
            if (flush) flushing <= 1'b1;
            if (push & push_ready) begin
                fifo <= (take ? fifo >> OUT_W : fifo) | (masked << after);
                cnt <= after + push_bits;
            end else begin
                fifo <= take ? fifo >> OUT_W : fifo;
                cnt <= after;
            end
        end
    end
endmodule
`default_nettype wire
