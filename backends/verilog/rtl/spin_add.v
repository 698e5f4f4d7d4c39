// Binary elementwise engine (docs/semantics.md section 9), one output a cycle:
//   add (MUL = 0): q = clamp(ZP + round_half_up((a - ZA)*MA + (b - ZB)*MB, SHIFT), QMIN, QMAX)
//   mul (MUL = 1): q = clamp(ZP + round_half_up((a - ZA)*(b - ZB)*MA, SHIFT), QMIN, QMAX)
// The operands' addresses come from two ROMs, so broadcasting is a table.
`include "spin_engine.vh"

module spin_add #(
    parameter integer AW = 8,
    parameter integer W = 32,
    parameter integer N = 1,
    parameter integer DST = 0,
    parameter integer MUL = 0,
    parameter integer ZA = 0,
    parameter integer ZB = 0,
    parameter [31:0] MA = 0,
    parameter [31:0] MB = 0,
    parameter integer SHIFT = 0,
    parameter integer ZP = 0,
    parameter integer QMIN = 0,
    parameter integer QMAX = 255,
    parameter LHS_FILE = "lhs.hex",
    parameter RHS_FILE = "rhs.hex"
) (
    `SPIN_HANDSHAKE_PORTS(wire),
    `SPIN_READ_PORT([7:0]),
    output wire [AW-1:0] rd1_addr,
    input wire [7:0] rd1_data,
    `SPIN_WRITE_PORT(reg)
);
    localparam integer NB = $clog2(N + 1);
    localparam signed [63:0] HALF = (SHIFT > 0) ? (64'sd1 <<< (SHIFT - 1)) : 64'sd0;

    localparam integer XB = (N > 1) ? $clog2(N) : 1;    // ROMs padded to 2**XB
    reg [AW-1:0] lhs [0:(1 << XB)-1];
    reg [AW-1:0] rhs [0:(1 << XB)-1];
    initial begin
        $readmemh(LHS_FILE, lhs);
        $readmemh(RHS_FILE, rhs);
    end

    `SPIN_ELEMENT_LOOP
    assign rd_addr = lhs[XB'(index)];
    assign rd1_addr = rhs[XB'(index)];

    wire signed [63:0] a = $signed({56'd0, rd_data}) - 64'(ZA);
    wire signed [63:0] b = $signed({56'd0, rd1_data}) - 64'(ZB);
    wire signed [63:0] total = (MUL != 0) ? a * b * $signed({32'd0, MA})
                                          : a * $signed({32'd0, MA}) + b * $signed({32'd0, MB});
    wire signed [63:0] shifted = ((total + HALF) >>> SHIFT) + 64'(ZP);
    wire [W-1:0] clamped = W'((shifted < 64'(QMIN)) ? 64'(QMIN) : (shifted > 64'(QMAX)) ? 64'(QMAX) : shifted);

    always @(posedge clk) begin
        wr_en <= active;
        wr_addr <= AW'(DST) + AW'(index);
        wr_data <= clamped;
    end
endmodule
