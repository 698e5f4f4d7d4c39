// What every engine shares with the generated top (lower.py connects these
// ports by name): the start/done handshake with the sequencer and one read
// and one write port into spin_memory, written once here so that the engines
// cannot drift apart.  Each engine's own ports stand between the macros.
//   SPIN_HANDSHAKE_PORTS(K)  clk, rst, start in; done out, declared K (reg
//                            when the engine's FSM drives it, wire when
//                            spin_element_loop does)
//   SPIN_READ_PORT(R)        rd_addr out; rd_data in with range R, e.g. [W-1:0]
//   SPIN_WRITE_PORT(K)       wr_en, wr_addr, wr_data out, declared K
//   SPIN_ELEMENT_LOOP        in a one-element-a-cycle engine: `active` and
//                            `index` from a spin_element_loop over N elements
//                            that answers the handshake (needs NB)
// They use the module's AW (address bits) and W (word bits) parameters.
`ifndef SPIN_ENGINE_VH
`define SPIN_ENGINE_VH

`define SPIN_HANDSHAKE_PORTS(K) \
    input wire clk, \
    input wire rst, \
    input wire start, \
    output K done

`define SPIN_READ_PORT(R) \
    output wire [AW-1:0] rd_addr, \
    input wire R rd_data

`define SPIN_WRITE_PORT(K) \
    output K wr_en, \
    output K [AW-1:0] wr_addr, \
    output K [W-1:0] wr_data

`define SPIN_ELEMENT_LOOP \
    wire active; \
    wire [NB-1:0] index; \
    spin_element_loop #(.N(N), .NB(NB)) loop ( \
        .clk(clk), .rst(rst), .start(start), .active(active), .index(index), .done(done) \
    );

`endif
