// Self-checking testbench of spintron_top (generic: the sizes are parameters
// set by the Makefile / runner with -P (icarus) or -G (verilator)).
//
// Plusargs: +inputs=FILE   N_VEC*N_IN input codes, one hex byte a line
//           +expected=FILE N_VEC*N_OUT expected words (optional; PASS/FAIL)
//           +outputs=FILE  where the received words are written (hex)
//           +vcd=FILE      dump a VCD trace
//           +no_backpressure  keep out_ready high (cycle counts then match docs/verilog.md)
// Inputs are driven on the falling edge, the DUT samples on the rising edge.
// out_ready is withheld on pseudo-random cycles to exercise back-pressure.
module spintron_tb;
    parameter integer N_IN = 1;
    parameter integer N_OUT = 1;
    parameter integer W = 32;
    parameter integer N_VEC = 1;

    reg clk = 1'b0;
    reg rst = 1'b1;
    reg in_valid = 1'b0;
    reg [7:0] in_data = 8'd0;
    reg out_ready = 1'b0;
    wire in_ready;
    wire out_valid;
    wire [W-1:0] out_data;
    wire out_last;

    spintron_top dut (
        .clk(clk), .rst(rst),
        .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
        .out_valid(out_valid), .out_ready(out_ready), .out_data(out_data), .out_last(out_last)
    );

    initial forever #5 clk = ~clk;

    reg [7:0] inputs [0:N_VEC*N_IN-1];
    reg [W-1:0] expected [0:N_VEC*N_OUT-1];
    reg checking = 1'b0;
    integer out_file = 0;
    integer received = 0;             // words received in total
    integer vector = 0;               // vector being received
    integer vector_errors = 0;
    integer failures = 0;
    integer cycle = 0;
    integer vector_start = 0;
    reg [15:0] lfsr = 16'hace1;       // back-pressure pattern
    reg backpressure = 1'b1;
    string path;

    always @(posedge clk) cycle <= cycle + 1;

    // Receiver: compares every word, reports once per vector.
    wire mismatch = checking && (out_data !== expected[received]);
    wire [31:0] errors = vector_errors + (mismatch ? 1 : 0);
    always @(posedge clk) begin
        if (!rst && out_valid && out_ready) begin
            $fwrite(out_file, "%h\n", out_data);
            if (mismatch) begin
                $display("  vector %0d word %0d: got %h expected %h", vector, received - vector*N_OUT,
                         out_data, expected[received]);
            end
            received <= received + 1;
            vector_errors <= errors;
            if (out_last) begin
                if (!checking) $display("vector %0d: DONE cycles=%0d", vector, cycle - vector_start);
                else if (errors == 0) $display("vector %0d: PASS cycles=%0d", vector, cycle - vector_start);
                else $display("vector %0d: FAIL cycles=%0d", vector, cycle - vector_start);
                if (errors != 0) failures <= failures + 1;
                vector_errors <= 0;
                vector <= vector + 1;
            end
        end
    end

    // Back-pressure: out_ready changes on falling edges only, 3 cycles in 4 on average.
    always @(negedge clk) begin
        lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
        out_ready <= !backpressure || lfsr[1:0] != 2'b00;
    end

    integer v, j;
    initial begin
        if ($test$plusargs("no_backpressure")) backpressure = 1'b0;
        if (!$value$plusargs("inputs=%s", path)) path = "inputs.hex";
        $readmemh(path, inputs);
        if ($value$plusargs("expected=%s", path)) begin
            $readmemh(path, expected);
            checking = 1'b1;
        end
        if (!$value$plusargs("outputs=%s", path)) path = "outputs.hex";
        out_file = $fopen(path, "w");
        if ($value$plusargs("vcd=%s", path)) begin
            $dumpfile(path);
            $dumpvars(0, spintron_tb);
        end
        repeat (2) @(negedge clk);
        rst = 1'b0;
        for (v = 0; v < N_VEC; v = v + 1) begin
            for (j = 0; j < N_IN; j = j + 1) begin
                in_valid = 1'b1;
                in_data = inputs[v*N_IN + j];
                @(posedge clk);
                if (j == 0) vector_start = cycle;
                while (!in_ready) @(posedge clk);
                @(negedge clk);
            end
            in_valid = 1'b0;
            while (received < (v + 1) * N_OUT) @(negedge clk);
        end
        $fclose(out_file);
        $display("total cycles=%0d", cycle);
        if (checking) begin
            if (failures == 0) $display("ALL PASS: %0d vectors", N_VEC);
            else $display("FAILED: %0d of %0d vectors", failures, N_VEC);
        end
        $finish;
    end
endmodule
