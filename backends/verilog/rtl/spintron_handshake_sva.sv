// Handshake assertions for spintron_top, attached with `bind` so the RTL
// stays free of them (Verilator checks them with --assert):
//   * a word offered on out_valid stays offered, unchanged, until taken;
//   * out_last only accompanies out_valid;
//   * the design never offers output while it accepts input.
module spintron_handshake_sva #(
    parameter integer W = 32
) (
    input wire clk,
    input wire rst,
    input wire in_valid,
    input wire in_ready,
    input wire out_valid,
    input wire out_ready,
    input wire [W-1:0] out_data,
    input wire out_last
);
    output_held: assert property (@(posedge clk) disable iff (rst)
        (out_valid && !out_ready) |=> (out_valid && $stable(out_data) && $stable(out_last)))
        else $error("out_valid dropped or out_data changed before out_ready");
    last_with_valid: assert property (@(posedge clk) disable iff (rst) out_last |-> out_valid)
        else $error("out_last without out_valid");
    one_direction: assert property (@(posedge clk) disable iff (rst) !(in_ready && out_valid))
        else $error("in_ready and out_valid at once");
    // in_valid belongs to the producer; it is part of the interface watched here.
    wire unused_in_valid = in_valid;
endmodule

bind spintron_top spintron_handshake_sva #(.W(W)) handshake (
    .clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready),
    .out_valid(out_valid), .out_ready(out_ready), .out_data(out_data), .out_last(out_last)
);
