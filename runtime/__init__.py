"""The runtime: the C crossbar kernel and its loader (``kernel.py``).

``kernel_info()`` is what ``spintronc --version`` prints about it.
"""

from spintron_nn.errors import SpintronError


def kernel_info() -> str:
    """Which crossbar kernel the simulator uses now, its instruction set and threads."""
    from spintron_nn.runtime import kernel

    try:
        active = kernel.active_kernel()
        if active == "c":
            return f"crossbar kernel: C, {kernel.isa()}, {kernel.threads()} thread(s)"
        if kernel.is_built():
            return (f"crossbar kernel: numpy reference ({kernel.KERNEL_ENV}=numpy; "
                    f"C kernel {kernel.isa()} available)")
    except SpintronError as error:
        return f"crossbar kernel: unusable ({error})"
    return f"crossbar kernel: numpy reference (C kernel not built: {kernel.load_error()})"
