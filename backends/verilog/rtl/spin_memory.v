// Activation buffer: one word array for every tensor of one vector (codes
// zero-extended, accumulators signed), two asynchronous read ports and one
// write port, owned at any time by the client that `sel` names (the
// sequencer is client 0, engine i is client i+1).
module spin_memory #(
    parameter integer AW = 8,
    parameter integer W = 32,
    parameter integer DEPTH = 1,
    parameter integer CLIENTS = 1,
    parameter integer SW = 1
) (
    input wire clk,
    input wire [SW-1:0] sel,
    input wire [CLIENTS*AW-1:0] rd0_addrs,
    input wire [CLIENTS*AW-1:0] rd1_addrs,
    input wire [CLIENTS-1:0] wr_ens,
    input wire [CLIENTS*AW-1:0] wr_addrs,
    input wire [CLIENTS*W-1:0] wr_datas,
    output wire [W-1:0] rd0_data,
    output wire [W-1:0] rd1_data
);
    reg [W-1:0] words [0:DEPTH-1];

    wire [AW-1:0] rd0_addr = rd0_addrs[32'(sel)*AW +: AW];
    wire [AW-1:0] rd1_addr = rd1_addrs[32'(sel)*AW +: AW];
    wire wr_en = wr_ens[sel];
    wire [AW-1:0] wr_addr = wr_addrs[32'(sel)*AW +: AW];
    wire [W-1:0] wr_data = wr_datas[32'(sel)*W +: W];

    assign rd0_data = words[rd0_addr];
    assign rd1_data = words[rd1_addr];

    always @(posedge clk) begin
        if (wr_en) words[wr_addr] <= wr_data;
    end
endmodule
