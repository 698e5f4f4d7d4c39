// Tile engine: drives one crossbar macro over a [M, K_IN] matrix of codes.
//
// Per matrix row m: load the R input codes (columns SRC_COL .. SRC_COL+R-1),
// then for every input bit b (MSB first, Horner's rule) read the macro's column currents,
// digitise them (ADC: round half up by ADC_SHIFT, saturate to ADC_BITS signed;
// ADC_BITS = 0 is the ideal ADC) and shift-add:
//   acc[c] += sum_s code[b][s][c] * 2**(ADC_SHIFT + b + s*CB)
// then write the C accumulators to DST + m*C + c.  docs/semantics.md sections 4-6.
// SIGNED = 1: the codes are two's complement (section 4a), so the top bit plane
// (the first one read) is added with a negative sign.
// Cycles per row: R (load) + 2*IB (read, accumulate) + C (write).
`include "spin_engine.vh"

module spin_tile #(
    parameter integer AW = 8,          // memory address bits
    parameter integer W = 32,          // memory word (accumulator) bits
    parameter integer R = 1,
    parameter integer C = 1,
    parameter integer S = 1,
    parameter integer CB = 1,
    parameter integer IB = 8,
    parameter integer SIGNED = 0,      // 1: two's-complement input codes
    parameter integer WI = 2,          // column-current bits (signed)
    parameter integer ADC_BITS = 0,
    parameter integer ADC_SHIFT = 0,
    parameter integer M = 1,           // matrix rows per vector
    parameter integer K_IN = 1,        // matrix row length (input features)
    parameter integer SRC = 0,         // address of row 0, column row_offset
    parameter integer DST = 0,
    parameter POS_FILE = "pos.hex",
    parameter NEG_FILE = "neg.hex"
) (
    `SPIN_HANDSHAKE_PORTS(reg),
    `SPIN_READ_PORT([IB-1:0]),
    `SPIN_WRITE_PORT(reg)
);
    localparam integer WR = ((WI > ADC_SHIFT + 1) ? WI : ADC_SHIFT + 1) + 1;
    localparam integer RB = $clog2(R + 1);
    localparam integer CW = $clog2(C + 1);
    localparam integer BB = $clog2(IB + 1);
    localparam integer MB = $clog2(M + 1);
    localparam [2:0] IDLE = 3'd0, LOAD = 3'd1, READ = 3'd2, ACC = 3'd3, WRITE = 3'd4, FINISH = 3'd5;

    reg [2:0] state;
    reg [MB-1:0] row;
    reg [RB-1:0] load_index;
    reg [BB-1:0] bit_index;
    reg [CW-1:0] write_index;
    reg [AW-1:0] row_base;             // SRC + row*K_IN
    reg [AW-1:0] out_base;             // DST + row*C
    reg [R*IB-1:0] codes;
    reg [C*W-1:0] acc;
    reg [C*W-1:0] acc_next;
    wire [R-1:0] row_bits;
    wire [S*C*WI-1:0] sums;

    assign rd_addr = row_base + AW'(load_index);

    genvar gr;
    generate
        for (gr = 0; gr < R; gr = gr + 1) begin : plane
            assign row_bits[gr] = codes[gr*IB + 32'(bit_index)];
        end
    endgenerate

    spin_crossbar_macro #(.R(R), .C(C), .S(S), .CB(CB), .WI(WI), .POS_FILE(POS_FILE), .NEG_FILE(NEG_FILE))
        macro (.clk(clk), .read(state == READ), .row_bits(row_bits), .sums(sums));

    // ADC and shift-add of one bit-plane, all columns and slices at once.
    // Bits go MSB first (Horner): acc = 2*acc + sum_s code_s * 2**(ADC_SHIFT + s*CB),
    // the same integer as sum_b 2**b * (...) without a barrel shifter per column.
    localparam signed [WR-1:0] HALF = (ADC_SHIFT > 0) ? WR'(2 ** (ADC_SHIFT - 1)) : {WR{1'b0}};
    localparam signed [W-1:0] CODE_MAX = W'((2 ** (ADC_BITS - 1)) - 1);
    localparam signed [W-1:0] CODE_MIN = -W'(2 ** (ADC_BITS - 1));
    reg signed [WR-1:0] current;
    reg signed [WR-1:0] rounded;
    reg signed [W-1:0] code;
    reg signed [W-1:0] plane_sum;
    // Horner starts from acc = 0 at the top plane, so negating that plane's sum
    // gives it the weight -2**(IB-1) that two's complement asks for.
    wire negate_plane = (SIGNED != 0) && (bit_index == BB'(IB - 1));
    integer s, c;
    always @* begin
        acc_next = acc;
        for (c = 0; c < C; c = c + 1) begin
            plane_sum = {W{1'b0}};
            for (s = 0; s < S; s = s + 1) begin
                current = WR'($signed(sums[(s*C + c)*WI +: WI]));
                rounded = (current + HALF) >>> ADC_SHIFT;
                code = W'(rounded);
                if (ADC_BITS > 0) begin
                    if (code > CODE_MAX) code = CODE_MAX;
                    if (code < CODE_MIN) code = CODE_MIN;
                end
                plane_sum = plane_sum + (code <<< (ADC_SHIFT + s*CB));
            end
            acc_next[c*W +: W] = (acc[c*W +: W] <<< 1) + (negate_plane ? -plane_sum : plane_sum);
        end
    end

    always @(posedge clk) begin
        done <= 1'b0;
        wr_en <= 1'b0;
        if (rst) begin
            state <= IDLE;
        end else begin
            case (state)
                IDLE: if (start) begin
                    row <= {MB{1'b0}};
                    row_base <= AW'(SRC);
                    out_base <= AW'(DST);
                    load_index <= {RB{1'b0}};
                    state <= LOAD;
                end
                LOAD: begin
                    codes[32'(load_index)*IB +: IB] <= rd_data;
                    if (load_index == RB'(R - 1)) begin
                        bit_index <= BB'(IB - 1);
                        acc <= {C*W{1'b0}};
                        state <= READ;
                    end else begin
                        load_index <= load_index + 1'b1;
                    end
                end
                READ: state <= ACC;
                ACC: begin
                    acc <= acc_next;
                    if (bit_index == {BB{1'b0}}) begin
                        write_index <= {CW{1'b0}};
                        state <= WRITE;
                    end else begin
                        bit_index <= bit_index - 1'b1;
                        state <= READ;
                    end
                end
                WRITE: begin
                    wr_en <= 1'b1;
                    wr_addr <= out_base + AW'(write_index);
                    wr_data <= acc[32'(write_index)*W +: W];
                    if (write_index == CW'(C - 1)) begin
                        if (row == MB'(M - 1)) begin
                            state <= FINISH;
                        end else begin
                            row <= row + 1'b1;
                            row_base <= row_base + AW'(K_IN);
                            out_base <= out_base + AW'(C);
                            load_index <= {RB{1'b0}};
                            state <= LOAD;
                        end
                    end else begin
                        write_index <= write_index + 1'b1;
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
