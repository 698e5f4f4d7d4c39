"""The typed netlist model and its printer."""

from __future__ import annotations

import pytest

from spintron_nn.backends.verilog.netlist import (
    Assign, Concat, Const, Instance, Module, Port, Ref, Slice, print_expr, print_module,
)


def test_expressions_print_as_verilog():
    assert print_expr(Const(8, 5)) == "8'd5"
    assert print_expr(Slice("bus", 3, 1)) == "bus[3]"
    assert print_expr(Slice("bus", 8, 8)) == "bus[15:8]"
    assert print_expr(Concat((Ref("a"), Slice("b", 0, 2)))) == "{a, b[1:0]}"


def test_const_rejects_values_that_do_not_fit():
    with pytest.raises(ValueError):
        Const(4, 16)


def test_module_prints_ports_wires_assigns_and_instances():
    top = Module("top", ports=[Port("clk", "input"), Port("q", "output", 4)], parameters={"W": 4})
    top.wire("t", 4)
    top.assigns.append(Assign("q", Ref("t")))
    top.instances.append(Instance("cell", "u0", {"N": 3, "FILE": "a.hex", "M": Const(32, 7)},
                                  {"clk": Ref("clk"), "y": Ref("t")}, comment="one cell"))
    text = print_module(top)
    assert "module top #(\n    parameter integer W = 4\n) (" in text
    assert "    output wire [3:0] q\n);" in text
    assert "    wire [3:0] t;" in text
    assert "    assign q = t;" in text
    assert "    // one cell\n    cell #(" in text
    assert '.FILE("a.hex")' in text and ".M(32'd7)" in text
    assert text.rstrip().endswith("endmodule")


def test_duplicate_names_are_rejected():
    top = Module("top", ports=[Port("a", "input")])
    top.wire("a")
    with pytest.raises(ValueError, match="duplicate"):
        print_module(top)
