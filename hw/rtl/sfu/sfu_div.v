// sfu_div: unsigned restoring divider, one quotient bit per cycle.
// q = floor(num / den), r = num - q*den, for den != 0 (den == 0 gives q = all ones).
// start samples num/den; done pulses W + 1 cycles after start (q, r hold until the next start).
module sfu_div #(
    parameter W = 32          // width of num, den, q, r
) (
    input  wire         clk,
    input  wire         rst_n,
    input  wire         start,
    input  wire [W-1:0] num,
    input  wire [W-1:0] den,
    output reg          done,
    output wire         busy,
    output reg  [W-1:0] q,
    output wire [W-1:0] r
);
    reg [W-1:0] d;
    reg [W:0]   acc;                  // partial remainder
    reg [W-1:0] n_sh;                 // dividend bits still to bring down
    reg [$clog2(W+1)-1:0] cnt;
    reg run;
    assign busy = run;
    assign r = acc[W-1:0];
    wire [W:0] trial = {acc[W-1:0], n_sh[W-1]} - {1'b0, d};
    always @(posedge clk) begin
        if (!rst_n) begin
            run <= 1'b0; done <= 1'b0; cnt <= 0; acc <= 0; q <= 0; n_sh <= 0; d <= 0;
        end else begin
            done <= 1'b0;
            if (start && !run) begin
                run <= 1'b1; cnt <= W; acc <= 0; n_sh <= num; d <= den; q <= 0;
            end else if (run) begin
                if (!trial[W]) begin
                    acc <= trial; q <= {q[W-2:0], 1'b1};
                end else begin
                    acc <= {acc[W-1:0], n_sh[W-1]}; q <= {q[W-2:0], 1'b0};
                end
                n_sh <= {n_sh[W-2:0], 1'b0};
                cnt <= cnt - 1'b1;
                if (cnt == 1) begin run <= 1'b0; done <= 1'b1; end
            end
        end
    end
endmodule
