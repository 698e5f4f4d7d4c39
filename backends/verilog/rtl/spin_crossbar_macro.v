// Behavioural crossbar macro: one physical tile (docs/semantics.md section 4).
//
// The clean analog interface: a bit-plane of the inputs goes in (row r is
// driven iff row_bits[r]), and one clock later the integer column current of
// every slice and column comes out, in level units:
//   sums[(s*C + c)*WI +: WI] = sum_r row_bits[r] * (pos[s][r][c] - neg[s][r][c])
// The levels live in two ROMs loaded with $readmemh (one cell a line, index
// (s*R + r)*C + c).  A real analog array with its sense amplifiers can replace
// this module; synthesis treats it as a blackbox.
module spin_crossbar_macro #(
    parameter integer R = 1,           // used rows
    parameter integer C = 1,           // used columns
    parameter integer S = 1,           // weight slices
    parameter integer CB = 1,          // bits per cell
    parameter integer WI = 2,          // width of one signed column sum
    parameter POS_FILE = "pos.hex",
    parameter NEG_FILE = "neg.hex"
) (
    input wire clk,
    input wire read,
    input wire [R-1:0] row_bits,
    output reg [S*C*WI-1:0] sums  // valid the cycle after read
);
    reg [CB-1:0] pos [0:S*R*C-1];
    reg [CB-1:0] neg [0:S*R*C-1];
`ifndef SYNTHESIS  // synthesis keeps the macro as a blackbox (the analog array)
    initial begin
        $readmemh(POS_FILE, pos);
        $readmemh(NEG_FILE, neg);
    end
`endif

    // A function evaluated once per read (not a combinational block, whose
    // sensitivity to every ROM word makes simulators slow to build).  The walk
    // is row-major so that undriven rows (about half of them) cost nothing;
    // the sums are two's complement, so unsigned part-selects add correctly.
    function [S*C*WI-1:0] column_sums(input [R-1:0] plane);
        integer s, r, c;
        begin
            column_sums = {S*C*WI{1'b0}};
            for (r = 0; r < R; r = r + 1) begin
                if (plane[r]) begin
                    for (s = 0; s < S; s = s + 1) begin
                        for (c = 0; c < C; c = c + 1) begin
                            column_sums[(s*C + c)*WI +: WI] = column_sums[(s*C + c)*WI +: WI]
                                + {{(WI-CB){1'b0}}, pos[(s*R + r)*C + c]}
                                - {{(WI-CB){1'b0}}, neg[(s*R + r)*C + c]};
                        end
                    end
                end
            end
        end
    endfunction

    always @(posedge clk) begin
        if (read) sums <= column_sums(row_bits);
    end
endmodule
