// Control of the one-element-a-cycle engines (requant, map, add): a start
// pulse makes `index` count 0..N-1 with `active` high (the engine writes
// element `index` on each of those edges), then `done` pulses once.
module spin_element_loop #(
    parameter integer N = 1,
    parameter integer NB = 1
) (
    input wire clk,
    input wire rst,
    input wire start,
    output reg active,
    output reg [NB-1:0] index,
    output reg done
);
    reg finishing;

    always @(posedge clk) begin
        done <= 1'b0;
        if (rst) begin
            active <= 1'b0;
            finishing <= 1'b0;
        end else if (active) begin
            index <= index + 1'b1;
            if (index == NB'(N - 1)) begin
                active <= 1'b0;
                finishing <= 1'b1;
            end
        end else if (finishing) begin
            finishing <= 1'b0;
            done <= 1'b1;
        end else if (start) begin
            active <= 1'b1;
            index <= {NB{1'b0}};
        end
    end
endmodule
