// Controller: accepts one vector of N_IN input codes (valid/ready), runs the
// N_STAGES engines one after the other (start pulse, wait for done), then
// streams the N_OUT output words (valid/ready, out_last on the final word)
// from the addresses in OUT_FILE, and waits for the next vector.
// Input code j is stored at address j.
`include "spin_engine.vh"

module spin_sequencer #(
    parameter integer AW = 8,
    parameter integer W = 32,
    parameter integer N_STAGES = 1,
    parameter integer SW = 1,
    parameter integer N_IN = 1,
    parameter integer N_OUT = 1,
    parameter OUT_FILE = "outputs.hex"
) (
    input wire clk,
    input wire rst,
    input wire in_valid,
    output wire in_ready,
    input wire [7:0] in_data,
    output wire out_valid,
    input wire out_ready,
    output wire [W-1:0] out_data,
    output wire out_last,
    output wire [N_STAGES-1:0] start,
    input wire [N_STAGES-1:0] done,
    output wire [SW-1:0] sel,
    `SPIN_READ_PORT([W-1:0]),
    `SPIN_WRITE_PORT(wire)
);
    localparam integer CB = $clog2((N_IN > N_OUT ? N_IN : N_OUT) + 1);
    localparam integer STB = $clog2(N_STAGES + 1);
    localparam [1:0] LOAD = 2'd0, RUN = 2'd1, STREAM = 2'd2;

    // ROMs are padded to a power of two so that the index width is exact.
    localparam integer OB = (N_OUT > 1) ? $clog2(N_OUT) : 1;
    reg [AW-1:0] out_rom [0:(1 << OB)-1];
    initial $readmemh(OUT_FILE, out_rom);

    reg [1:0] state;
    reg [CB-1:0] count;
    reg [STB-1:0] stage;
    reg kick;                          // first cycle of a stage: pulse its start

    assign in_ready = (state == LOAD);
    assign wr_en = in_valid && in_ready;
    assign wr_addr = AW'(count);
    assign wr_data = W'(in_data);
    assign out_valid = (state == STREAM);
    assign rd_addr = out_rom[OB'(count)];
    assign out_data = rd_data;
    assign out_last = out_valid && (count == CB'(N_OUT - 1));
    assign sel = (state == RUN) ? SW'(stage) + SW'(1) : {SW{1'b0}};
    wire stage_done = |(done & (N_STAGES'(1) << stage));
    assign start = kick ? (N_STAGES'(1) << stage) : {N_STAGES{1'b0}};

    always @(posedge clk) begin
        kick <= 1'b0;
        if (rst) begin
            state <= LOAD;
            count <= {CB{1'b0}};
        end else begin
            case (state)
                LOAD: if (in_valid) begin
                    if (count == CB'(N_IN - 1)) begin
                        count <= {CB{1'b0}};
                        stage <= {STB{1'b0}};
                        kick <= 1'b1;
                        state <= RUN;
                    end else begin
                        count <= count + 1'b1;
                    end
                end
                RUN: if (stage_done) begin
                    if (stage == STB'(N_STAGES - 1)) begin
                        state <= STREAM;
                    end else begin
                        stage <= stage + 1'b1;
                        kick <= 1'b1;
                    end
                end
                STREAM: if (out_ready) begin
                    if (count == CB'(N_OUT - 1)) begin
                        count <= {CB{1'b0}};
                        state <= LOAD;
                    end else begin
                        count <= count + 1'b1;
                    end
                end
                default: state <= LOAD;
            endcase
        end
    end
endmodule
