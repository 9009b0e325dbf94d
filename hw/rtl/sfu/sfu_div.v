// sfu_div: unsigned restoring divider, one quotient bit per cycle.
// q = floor(num / den), r = num - q*den, computed over the low QB bits of the quotient:
// requires num >> QB < den (then q < 2^QB); QB = W always holds (den != 0).
// Softmax uses W = 48, QB = 33: num = 2^47, den = sum of exps >= 2^15.
// start samples num/den; done pulses QB + 1 cycles after start (q, r hold until the next start).
module sfu_div #(
    parameter W  = 32,        // width of num, den, r
    parameter QB = W          // quotient bits computed (q has QB bits)
) (
    input  wire          clk,
    input  wire          rst_n,
    input  wire          start,
    input  wire [W-1:0]  num,
    input  wire [W-1:0]  den,
    output reg           done,
    output wire          busy,
    output reg  [QB-1:0] q,
    output wire [W-1:0]  r
);
    reg [W-1:0] d;
    reg [W:0]   acc;                  // partial remainder (< d)
    reg [QB-1:0] n_sh;                // dividend bits still to bring down, MSB first
    reg [$clog2(QB+1)-1:0] cnt;
    reg run;
    assign busy = run;
    assign r = acc[W-1:0];
    wire [W:0] trial = {acc[W-1:0], n_sh[QB-1]} - {1'b0, d};
    wire [W-1:0] num_hi = num >> QB;
    always @(posedge clk) begin
        if (!rst_n) begin
            run <= 1'b0; done <= 1'b0; cnt <= 0; acc <= 0; q <= 0; n_sh <= 0; d <= 0;
        end else begin
            done <= 1'b0;
            if (start && !run) begin
                run <= 1'b1; cnt <= QB; acc <= {1'b0, num_hi}; n_sh <= num[QB-1:0]; d <= den;
                q <= 0;
            end else if (run) begin
                if (!trial[W]) begin
                    acc <= trial; q <= {q[QB-2:0], 1'b1};
                end else begin
                    acc <= {acc[W-1:0], n_sh[QB-1]}; q <= {q[QB-2:0], 1'b0};
                end
                n_sh <= {n_sh[QB-2:0], 1'b0};
                cnt <= cnt - 1'b1;
                if (cnt == 1) begin run <= 1'b0; done <= 1'b1; end
            end
        end
    end
endmodule
