// sfu_len: beat/pass bookkeeping shared by every SFU block.
// Tracks how many elements of the current pass are still to come, so the
// block knows which lanes of a beat are real (lane i valid iff i < rem) and
// when a pass ends, without dividing cfg_n by SFU_LANES (any lane count works).
module sfu_len #(
    parameter SFU_LANES = 4
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 load,      // start of a pass: rem <= n
    input  wire [31:0]          n,
    input  wire                 step,      // one beat of this pass accepted
    output reg  [31:0]          rem,       // elements not yet accepted in this pass
    output wire                 last,      // the current beat is the last of the pass
    output wire [SFU_LANES-1:0] mask       // lanes of the current beat holding elements
);
    assign last = (rem <= SFU_LANES);
    genvar i;
    generate
        for (i = 0; i < SFU_LANES; i = i + 1) begin : g_mask
            assign mask[i] = (rem > i);
        end
    endgenerate
    always @(posedge clk) begin
        if (!rst_n)
            rem <= 32'd0;
        else if (load)
            rem <= n;
        else if (step)
            rem <= last ? 32'd0 : rem - SFU_LANES;
    end
endmodule
