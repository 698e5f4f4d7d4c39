// Window engine: every output is a reduction over K table entries.
//
// Entry o*K + j of the ROM is {pad, address}.  One entry a cycle:
//   MODE 0 sum:    total of the entries (gathers with K = 1, shift-add of row tiles)
//   MODE 1 max:    largest value (max pool); pads never win
//   MODE 2 avg:    (2*total + count) / (2*count), total/count rounded half up
//   MODE 3 argmax: index j of the first largest value
// A pad entry contributes PAD_VALUE (and counts) if PAD_COUNTS, else nothing.
// This covers im2col, transpose, rows_to_image, concat, pools, argmax and the
// shift-add of row tiles: each is "which addresses make output o".
`include "spin_engine.vh"

module spin_reduce #(
    parameter integer AW = 8,
    parameter integer W = 32,
    parameter integer N_OUT = 1,
    parameter integer K = 1,
    parameter integer MODE = 0,
    parameter integer PAD_COUNTS = 0,
    parameter integer PAD_VALUE = 0,
    parameter integer DST = 0,
    parameter ROM_FILE = "window.hex"
) (
    `SPIN_HANDSHAKE_PORTS(reg),
    `SPIN_READ_PORT([W-1:0]),
    `SPIN_WRITE_PORT(reg)
);
    localparam integer N = N_OUT * K;
    localparam integer PB = $clog2(N + 1);
    localparam integer KB = $clog2(K + 1);
    localparam [1:0] IDLE = 2'd0, SCAN = 2'd1, FINISH = 2'd2;

    localparam integer XB = (N > 1) ? $clog2(N) : 1;   // ROM padded to 2**XB
    reg [AW:0] rom [0:(1 << XB)-1];
    initial $readmemh(ROM_FILE, rom);

    reg [1:0] state;
    reg [PB-1:0] pointer;              // o*K + j
    reg [KB-1:0] entry;                // j
    reg [AW-1:0] out_addr;
    reg signed [W+1:0] total;
    reg [KB-1:0] count;
    reg signed [W-1:0] best;
    reg [KB-1:0] best_index;
    reg have;

    wire [AW:0] item = rom[XB'(pointer)];
    wire is_pad = item[AW];
    assign rd_addr = item[AW-1:0];
    wire takes = !is_pad || (PAD_COUNTS != 0);
    wire signed [W-1:0] value = is_pad ? W'(PAD_VALUE) : $signed(rd_data);

    // The running reduction including the current entry.
    wire signed [W+1:0] total_next = total + (takes ? (W+2)'(value) : {(W+2){1'b0}});
    wire [KB-1:0] count_next = count + (takes ? KB'(1) : KB'(0));
    wire better = !is_pad && (!have || value > best);
    wire signed [W-1:0] best_next = better ? value : best;
    wire [KB-1:0] best_index_next = better ? entry : best_index;
    wire have_next = have || !is_pad;
    wire [W+1:0] twice_count = (W+2)'({count_next, 1'b0});
    wire [W-1:0] mean = W'(($unsigned(total_next <<< 1) + (W+2)'(count_next)) / twice_count);

    reg [W-1:0] result;
    always @* begin
        case (MODE)
            1: result = best_next;
            2: result = mean;
            3: result = W'(best_index_next);
            default: result = total_next[W-1:0];
        endcase
    end

    always @(posedge clk) begin
        done <= 1'b0;
        wr_en <= 1'b0;
        if (rst) begin
            state <= IDLE;
        end else begin
            case (state)
                IDLE: if (start) begin
                    pointer <= {PB{1'b0}};
                    entry <= {KB{1'b0}};
                    out_addr <= AW'(DST);
                    total <= {(W+2){1'b0}};
                    count <= {KB{1'b0}};
                    have <= 1'b0;
                    state <= SCAN;
                end
                SCAN: begin
                    pointer <= pointer + 1'b1;
                    if (entry == KB'(K - 1)) begin
                        wr_en <= 1'b1;
                        wr_addr <= out_addr;
                        wr_data <= result;
                        out_addr <= out_addr + 1'b1;
                        entry <= {KB{1'b0}};
                        total <= {(W+2){1'b0}};
                        count <= {KB{1'b0}};
                        have <= 1'b0;
                        if (pointer == PB'(N - 1)) state <= FINISH;
                    end else begin
                        entry <= entry + 1'b1;
                        total <= total_next;
                        count <= count_next;
                        best <= best_next;
                        best_index <= best_index_next;
                        have <= have_next;
                    end
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
