// Elementwise code map through 256-entry tables: LUT activations (sigmoid,
// tanh), unfused ReLU/Clip and rescale are all "q_out = TABLE[q_in]", the
// table computed at compile time from docs/semantics.md section 9.  A
// per-channel LUT has CH tables; element i of a [B, CH, INNER] tensor uses
// table (i / INNER) mod CH.
`include "spin_engine.vh"

module spin_map #(
    parameter integer AW = 8,
    parameter integer W = 32,
    parameter integer N = 1,
    parameter integer SRC = 0,
    parameter integer DST = 0,
    parameter integer CH = 1,
    parameter integer INNER = 1,
    parameter TABLE_FILE = "table.hex"
) (
    `SPIN_HANDSHAKE_PORTS(wire),
    `SPIN_READ_PORT([7:0]),
    `SPIN_WRITE_PORT(reg)
);
    localparam integer NB = $clog2(N + 1);

    localparam integer HB = (CH > 1) ? $clog2(CH) : 1;  // ROM padded to 2**HB tables
    localparam integer IB = $clog2(INNER + 1);
    reg [7:0] table_rom [0:(256 << HB)-1];
    initial $readmemh(TABLE_FILE, table_rom);

    `SPIN_ELEMENT_LOOP
    reg [HB-1:0] channel;
    reg [IB-1:0] inner;
    assign rd_addr = AW'(SRC) + AW'(index);

    always @(posedge clk) begin
        wr_en <= active;
        wr_addr <= AW'(DST) + AW'(index);
        wr_data <= W'(table_rom[{channel, rd_data}]);
        if (!active) begin
            channel <= {HB{1'b0}};
            inner <= {IB{1'b0}};
        end else if (inner == IB'(INNER - 1)) begin
            inner <= {IB{1'b0}};
            channel <= (channel == HB'(CH - 1)) ? {HB{1'b0}} : channel + 1'b1;
        end else begin
            inner <= inner + 1'b1;
        end
    end
endmodule
