// Elementwise code map through a 256-entry table: LUT activations (sigmoid,
// tanh), unfused ReLU/Clip and rescale are all "q_out = TABLE[q_in]", the
// table computed at compile time from docs/semantics.md section 9.
module spin_map #(
    parameter integer AW = 8,
    parameter integer W = 32,
    parameter integer N = 1,
    parameter integer SRC = 0,
    parameter integer DST = 0,
    parameter TABLE_FILE = "table.hex"
) (
    input wire clk,
    input wire rst,
    input wire start,
    output reg done,
    output wire [AW-1:0] rd_addr,
    input wire [7:0] rd_data,
    output reg wr_en,
    output reg [AW-1:0] wr_addr,
    output reg [W-1:0] wr_data
);
    localparam integer NB = $clog2(N + 1);
    localparam [1:0] IDLE = 2'd0, RUN = 2'd1, FINISH = 2'd2;

    reg [7:0] table_rom [0:255];
    initial $readmemh(TABLE_FILE, table_rom);

    reg [1:0] state;
    reg [NB-1:0] index;
    assign rd_addr = AW'(SRC) + AW'(index);

    always @(posedge clk) begin
        done <= 1'b0;
        wr_en <= 1'b0;
        if (rst) begin
            state <= IDLE;
        end else begin
            case (state)
                IDLE: if (start) begin
                    index <= {NB{1'b0}};
                    state <= RUN;
                end
                RUN: begin
                    wr_en <= 1'b1;
                    wr_addr <= AW'(DST) + AW'(index);
                    wr_data <= W'(table_rom[rd_data]);
                    index <= index + 1'b1;
                    if (index == NB'(N - 1)) state <= FINISH;
                end
                FINISH: begin
                    done <= 1'b1;
                    state <= IDLE;
                end
                default: state <= IDLE;
            endcase
        end
    end
endmodule
