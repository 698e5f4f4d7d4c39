// Requant engine (docs/semantics.md section 7), one element a cycle over a
// [rows, CH] accumulator matrix, channel = element mod CH:
//   acc' = acc + OFFSET[ch]                  (OFFSET = bias - input_zp * column_sum)
//   q    = clamp(ZP + round_half_up(acc' * MULT[ch], SHIFT[ch]), QMIN, QMAX)
// The semantics require |acc'| < 2**31 (the simulator rejects larger ones)
// and MULT < 2**31, so acc' is 32 bits and the product a 32x32 multiply.
`include "spin_engine.vh"

module spin_requant #(
    parameter integer AW = 8,
    parameter integer W = 32,
    parameter integer WA = 32,         // accumulator bits read (W, at most 32)
    parameter integer N = 1,           // elements per vector
    parameter integer CH = 1,          // output channels (columns)
    parameter integer SRC = 0,
    parameter integer DST = 0,
    parameter integer ZP = 0,
    parameter integer QMIN = 0,
    parameter integer QMAX = 255,
    parameter OFFSET_FILE = "offset.hex",
    parameter MULT_FILE = "mult.hex",
    parameter SHIFT_FILE = "shift.hex"
) (
    `SPIN_HANDSHAKE_PORTS(wire),
    `SPIN_READ_PORT([WA-1:0]),
    `SPIN_WRITE_PORT(reg)
);
    localparam integer NB = $clog2(N + 1);
    localparam integer HB = $clog2(CH + 1);

    localparam integer XB = (CH > 1) ? $clog2(CH) : 1;  // ROMs padded to 2**XB
    reg [31:0] offsets [0:(1 << XB)-1];
    reg [31:0] multipliers [0:(1 << XB)-1];
    reg [7:0] shifts [0:(1 << XB)-1];
    initial begin
        $readmemh(OFFSET_FILE, offsets);
        $readmemh(MULT_FILE, multipliers);
        $readmemh(SHIFT_FILE, shifts);
    end

    `SPIN_ELEMENT_LOOP
    reg [HB-1:0] channel;
    assign rd_addr = AW'(SRC) + AW'(index);

    wire signed [31:0] acc = 32'($signed(rd_data)) + $signed(offsets[XB'(channel)]);
    wire signed [32:0] multiplier = $signed({1'b0, multipliers[XB'(channel)]});
    wire signed [63:0] product = 64'(acc) * 64'(multiplier);
    wire [7:0] shift = shifts[XB'(channel)];
    wire signed [63:0] half = (shift == 8'd0) ? 64'sd0 : (64'sd1 <<< (shift - 8'd1));
    wire signed [63:0] rounded = (product + half) >>> shift;
    wire signed [63:0] shifted = rounded + 64'(ZP);
    wire [W-1:0] clamped = W'((shifted < 64'(QMIN)) ? 64'(QMIN) : (shifted > 64'(QMAX)) ? 64'(QMAX) : shifted);

    always @(posedge clk) begin
        wr_en <= active;
        wr_addr <= AW'(DST) + AW'(index);
        wr_data <= clamped;
        if (!active) channel <= {HB{1'b0}};
        else channel <= (channel == HB'(CH - 1)) ? {HB{1'b0}} : channel + 1'b1;
    end
endmodule
