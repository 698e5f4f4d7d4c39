"""Torch thread count for small layers.

Fake-quantized layers are small matrix products plus numpy work between them;
on a shared machine torch's intra-op threads cost far more than they give
(measured: 11 ms instead of 250 ms per training step of a 64-48-10 MLP on 2 busy
cores), so the examples and tests run with one thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def single_torch_thread() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)``, restoring the count after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
