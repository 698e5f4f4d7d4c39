"""The xDSL context with every dialect this project reads and writes."""

from xdsl.context import Context
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.func import Func


def make_context() -> Context:
    # Imported here so that importing the context does not pull in dialects
    # that a light-weight caller (e.g. the CLI's --help) never needs.
    from spintron_nn.ir.nn import NN

    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(Func)
    ctx.load_dialect(NN)
    try:
        from spintron_nn.ir.spin import SPIN
    except ImportError:  # the spin dialect lands with the quantizer
        pass
    else:
        ctx.load_dialect(SPIN)
    return ctx
