"""Benchmark of the C crossbar kernel (issue 8); prints ratios measured in one run.

    python benchmarks/bench_kernel.py [--batch 64] [--repeats 5] [--skip-reference-network]

1. One 128x128 tile, W8A8, 2-bit cells (4 slices), 6-bit ADC, a batch of inputs:
   the C kernel (1 thread) vs the numpy reference (1 BLAS thread); vs the fastest
   numpy/BLAS formulation of the same semantics written here (float32 sgemm per
   bit-plane and slice, 1 BLAS thread); C with 2 threads vs 1.
2. A ResNet-18-sized layer set on one 224x224 image: every conv/fc of ResNet-18 as an
   im2col matrix on 128x128 tiles (W8A8, 2-bit cells, 6-bit ADC), each tile called on
   all output positions of the image, as the simulator does.
3. The simulator itself (``run_spin``) on a ResNet-18 (torch, random weights) compiled
   with the same options: seconds per 224x224 image with SPINTRON_KERNEL=c (1 and 2
   threads) and =numpy, outputs compared (needs torch; --skip-simulator).

Every timing is the median of --repeats runs; the spread (min..max) is printed too
because other processes share the machine.  Every result is checked bit for bit
against the reference before it is timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from spintron_nn.backends.sim import reference
from spintron_nn.runtime import kernel

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # benchmarks still run, BLAS then uses its default threads
    threadpool_limits = None

INPUT_BITS, CELL_BITS, WEIGHT_BITS, ADC_BITS, ADC_SHIFT = 8, 2, 8, 6, 2
TILE = 128


def timed(function, repeats: int) -> tuple[float, float, float]:
    """(median, min, max) seconds of ``function()`` over ``repeats`` runs after a warm-up."""
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples), max(samples)


def thread_cpu_seconds() -> dict[str, float]:
    """CPU time of every thread of this process (Linux schedstat, ns resolution)."""
    times = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as handle:
                times[tid] = int(handle.read().split()[0]) * 1e-9
        except OSError:  # thread ended meanwhile
            pass
    return times


def projected_two_thread_speedup(function, repeats: int) -> float | None:
    """1-thread CPU time / CPU time of the busiest thread with 2 threads.

    On a loaded machine the second core is rarely free, so wall-clock time cannot
    show what 2 threads give (with sched_autogroup a session's share does not grow
    with its thread count).  This measures how the work and its overhead split over
    the two threads instead: the speedup the call would have with both cores free.
    """
    if not os.path.isdir("/proc/self/task"):
        return None
    busiest = {}
    for threads in (1, 2):
        kernel.set_threads(threads)
        function()
        before = thread_cpu_seconds()
        for _ in range(repeats):
            function()
        after = thread_cpu_seconds()
        busiest[threads] = max(after[t] - before.get(t, 0.0) for t in after)
    kernel.set_threads(0)
    return busiest[1] / busiest[2]


def blas_threads(count: int):
    if threadpool_limits is None:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=count, user_api="blas")


def fastest_numpy(x, levels_pos, levels_neg, *, input_bits, cell_bits, adc_bits, adc_shift):
    """The tile contract as BLAS sgemm: exact because every partial sum is < 2**24.

    bit-planes [B*nb, R] float32 @ (Lp - Ln) [R, S*C] float32, the ADC on float32
    (round half up = floor(I / 2**k + 1/2), exact for these magnitudes), then the
    shift-add as one float64 contraction (values < 2**53).
    """
    batch, rows = x.shape
    slices, _, cols = levels_pos.shape
    difference = (levels_pos.astype(np.float32) - levels_neg.astype(np.float32))
    difference = difference.transpose(1, 0, 2).reshape(rows, slices * cols)
    bit_index = np.arange(input_bits, dtype=x.dtype)
    planes = ((x[:, None, :] >> bit_index[None, :, None]) & 1).astype(np.float32)
    currents = planes.reshape(batch * input_bits, rows) @ difference
    codes = np.floor(currents * np.float32(2.0**-adc_shift) + np.float32(0.5))
    np.clip(codes, -(2 ** (adc_bits - 1)), 2 ** (adc_bits - 1) - 1, out=codes)
    weights = np.exp2(adc_shift + bit_index[:, None] + cell_bits * np.arange(slices)[None, :])
    codes = codes.reshape(batch, input_bits * slices, cols).astype(np.float64)
    return np.einsum("k,bkc->bc", weights.reshape(-1), codes, optimize=True).astype(np.int64)


def random_tile(rng, rows=TILE, cols=TILE):
    limit = 2 ** (WEIGHT_BITS - 1) - 1
    weights = rng.integers(-limit, limit + 1, (rows, cols))
    return reference.slice_weights(weights, WEIGHT_BITS, CELL_BITS)


def bench_tile(batch: int, repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    levels_pos, levels_neg = random_tile(rng)
    x = rng.integers(0, 2**INPUT_BITS, (batch, TILE)).astype(np.uint8)
    options = dict(input_bits=INPUT_BITS, cell_bits=CELL_BITS, adc_bits=ADC_BITS,
                   adc_shift=ADC_SHIFT)
    expected = reference.tile_matvec(x, levels_pos, levels_neg, **options)
    assert np.array_equal(fastest_numpy(x, levels_pos, levels_neg, **options), expected)
    results = {}
    with blas_threads(1):
        results["reference"] = timed(
            lambda: reference.tile_matvec(x, levels_pos, levels_neg, **options), repeats)
        results["numpy-blas"] = timed(
            lambda: fastest_numpy(x, levels_pos, levels_neg, **options), repeats)
        for threads in (1, 2):
            kernel.set_threads(threads)
            assert np.array_equal(kernel.tile_matvec(x, levels_pos, levels_neg, **options), expected)
            results[f"c-{threads}t"] = timed(
                lambda: kernel.tile_matvec(x, levels_pos, levels_neg, **options), repeats)
        big_x = rng.integers(0, 2**INPUT_BITS, (16 * batch, TILE)).astype(np.uint8)
        projected = projected_two_thread_speedup(
            lambda: kernel.tile_matvec(big_x, levels_pos, levels_neg, **options), 4 * repeats)
    kernel.set_threads(0)
    macs = batch * INPUT_BITS * levels_pos.size
    print(f"\n1. one {TILE}x{TILE} tile, {levels_pos.shape[0]} slices, batch {batch} "
          f"({macs / 1e6:.1f} M bit-plane MACs), kernel {kernel.isa()}")
    for name, (median, low, high) in results.items():
        print(f"   {name:<11} {median * 1e3:9.3f} ms  (spread {low * 1e3:.3f}..{high * 1e3:.3f})"
              f"  {macs / median / 1e9:6.1f} GMAC/s")
    summary = {name: value[0] for name, value in results.items()}
    if projected:
        print(f"   2 threads vs 1 projected from per-thread CPU time (batch {16 * batch}): "
              f"{projected:.2f}x")
        summary["projected-2t"] = projected
    return summary


def resnet18_layers() -> list[tuple[str, int, int, int, int]]:
    """(name, im2col rows K, output channels N, output positions per image, count)."""
    layers = [("conv1 7x7/2", 3 * 49, 64, 112 * 112, 1)]
    size, channels = 56, 64
    for stage, out_channels in enumerate((64, 128, 256, 512), start=1):
        if stage > 1:
            size //= 2
            layers.append((f"layer{stage}.0 3x3/2", channels * 9, out_channels, size * size, 1))
            layers.append((f"layer{stage}.0 down 1x1", channels, out_channels, size * size, 1))
            layers.append((f"layer{stage} 3x3", out_channels * 9, out_channels, size * size, 3))
        else:
            layers.append((f"layer{stage} 3x3", channels * 9, out_channels, size * size, 4))
        channels = out_channels
    layers.append(("fc", 512, 1000, 1, 1))
    return layers


def network_tiles(rng):
    """For every layer: its positions and its tiles (row block, column block, levels)."""
    network = []
    for name, rows, cols, positions, count in resnet18_layers():
        levels_pos, levels_neg = random_tile(rng, rows, cols)
        tiles = [(row_block, col_block, np.ascontiguousarray(levels_pos[:, row_block, col_block]),
                  np.ascontiguousarray(levels_neg[:, row_block, col_block]))
                 for row_block, col_block in reference.tile_grid(rows, cols, TILE, TILE)]
        network.append((name, rows, cols, positions, count, tiles))
    return network


def run_network(network, activations, tile_matvec) -> list[np.ndarray]:
    """One image through every layer: a tile call per (layer instance, tile)."""
    options = dict(input_bits=INPUT_BITS, cell_bits=CELL_BITS, adc_bits=ADC_BITS,
                   adc_shift=ADC_SHIFT)
    outputs = []
    for (name, rows, cols, positions, count, tiles), x in zip(network, activations):
        for _ in range(count):
            acc = np.zeros((positions, cols), dtype=np.int64)
            for row_block, col_block, levels_pos, levels_neg in tiles:
                acc[:, col_block] += tile_matvec(x[:, row_block], levels_pos, levels_neg, **options)
        outputs.append(acc)
    return outputs


def bench_network(repeats: int, with_reference: bool) -> dict[str, float]:
    rng = np.random.default_rng(1)
    network = network_tiles(rng)
    activations = [rng.integers(0, 2**INPUT_BITS, (positions, rows)).astype(np.uint8)
                   for _, rows, _, positions, _, _ in network]
    tile_count = sum(len(tiles) * count for *_, count, tiles in network)
    macs = sum(rows * cols * positions * count for _, rows, cols, positions, count, _ in network)
    print(f"\n2. ResNet-18 layer set, one 224x224 image: {len(network)} distinct layers, "
          f"{tile_count} tile calls, {macs / 1e9:.2f} G weight MACs "
          f"(x {INPUT_BITS} bits x 4 slices on the crossbars)")
    results = {}
    with blas_threads(1):
        c_outputs = None
        for threads in (1, 2):
            kernel.set_threads(threads)
            outputs = run_network(network, activations, kernel.tile_matvec)
            if c_outputs is not None:
                assert all(np.array_equal(a, b) for a, b in zip(outputs, c_outputs))
            c_outputs = outputs
            results[f"c-{threads}t"] = timed(
                lambda: run_network(network, activations, kernel.tile_matvec), repeats)
        projected = projected_two_thread_speedup(
            lambda: run_network(network, activations, kernel.tile_matvec), repeats)
        if with_reference:
            start = time.perf_counter()
            reference_outputs = run_network(network, activations, reference.tile_matvec)
            elapsed = time.perf_counter() - start
            assert all(np.array_equal(a, b) for a, b in zip(reference_outputs, c_outputs))
            results["reference"] = (elapsed, elapsed, elapsed)
    for name, (median, low, high) in results.items():
        print(f"   {name:<11} {median:8.3f} s per image  (spread {low:.3f}..{high:.3f})")
    summary = {name: value[0] for name, value in results.items()}
    if projected:
        print(f"   2 threads vs 1 projected from per-thread CPU time: {projected:.2f}x")
        summary["projected-2t"] = projected
    return summary


def resnet18_model():
    """ResNet-18 (He et al. 2016) for 224x224 inputs, random weights, eval mode."""
    import torch

    def block(cin, cout, stride):
        class BasicBlock(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = torch.nn.Sequential(
                    torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False), torch.nn.BatchNorm2d(cout),
                    torch.nn.ReLU(), torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                    torch.nn.BatchNorm2d(cout))
                self.shortcut = torch.nn.Identity() if stride == 1 and cin == cout else torch.nn.Sequential(
                    torch.nn.Conv2d(cin, cout, 1, stride, bias=False), torch.nn.BatchNorm2d(cout))

            def forward(self, x):
                return torch.relu(self.body(x) + self.shortcut(x))
        return BasicBlock()

    torch.manual_seed(0)
    layers = [torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False), torch.nn.BatchNorm2d(64),
              torch.nn.ReLU(), torch.nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [block(cin, cout, stride), block(cout, cout, 1)]
        cin = cout
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(512, 1000)]
    return torch.nn.Sequential(*layers).eval()


def bench_simulator(repeats: int) -> dict[str, float]:
    import torch

    from spintron_nn.backends.sim.executor import run_spin
    from spintron_nn.frontend import load_model
    from spintron_nn.passes.flows import quantize_and_lower

    images = np.random.default_rng(2).random((2, 3, 224, 224), dtype=np.float32)
    start = time.perf_counter()
    design = quantize_and_lower(
        load_model(resnet18_model(), example_input=torch.from_numpy(images[:1])), [images],
        weight_bits=WEIGHT_BITS, activation_bits=INPUT_BITS, cell_bits=CELL_BITS,
        adc_bits=ADC_BITS, rows=TILE, cols=TILE)
    print(f"\n3. simulator (run_spin) on ResNet-18, one 224x224 image "
          f"(compiled in {time.perf_counter() - start:.0f} s)")
    previous = os.environ.get("SPINTRON_KERNEL")
    results, outputs = {}, {}
    try:
        os.environ["SPINTRON_KERNEL"] = "c"
        for threads in (1, 2):
            kernel.set_threads(threads)
            outputs["c"] = run_spin(design, [images[:1]])[0]
            results[f"c-{threads}t"] = timed(lambda: run_spin(design, [images[:1]]), repeats)
        kernel.set_threads(0)
        os.environ["SPINTRON_KERNEL"] = "numpy"
        start = time.perf_counter()
        outputs["numpy"] = run_spin(design, [images[:1]])[0]
        elapsed = time.perf_counter() - start
        results["reference"] = (elapsed, elapsed, elapsed)
    finally:
        if previous is None:
            os.environ.pop("SPINTRON_KERNEL", None)
        else:
            os.environ["SPINTRON_KERNEL"] = previous
    assert np.array_equal(outputs["c"], outputs["numpy"]), "C and numpy simulations differ"
    for name, (median, low, high) in results.items():
        print(f"   {name:<11} {median:8.3f} s per image  (spread {low:.3f}..{high:.3f})")
    return {name: value[0] for name, value in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="inputs per tile call in part 1")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-reference-network", action="store_true",
                        help="do not time the numpy reference on the ResNet-18 layer set (slow)")
    parser.add_argument("--skip-simulator", action="store_true",
                        help="do not compile and simulate ResNet-18 (part 3, about 2 minutes)")
    args = parser.parse_args()
    if not kernel.is_built():
        raise SystemExit(f"C kernel not built: {kernel.load_error()}")
    from spintron_nn.runtime import kernel_info
    print(kernel_info(), "| supported:", ", ".join(kernel.supported_isas()))
    print("load average at start (1, 5, 15 min): %.1f %.1f %.1f on %d CPUs"
          % (*os.getloadavg(), os.cpu_count() or 1))
    tile = bench_tile(args.batch, args.repeats)
    network = bench_network(max(1, args.repeats // 2), not args.skip_reference_network)
    simulator = None
    if not args.skip_simulator:
        try:
            simulator = bench_simulator(max(1, args.repeats // 2))
        except ImportError as error:
            print(f"\n3. simulator skipped: {error}")
    print("\nratios (higher = C faster)")
    print(f"   C 1 thread vs numpy reference (1 thread):        {tile['reference'] / tile['c-1t']:7.1f}x  (target >= 5)")
    print(f"   C 1 thread vs fastest numpy/BLAS (1 thread):     {tile['numpy-blas'] / tile['c-1t']:7.2f}x  (target >= 1.0)")
    print(f"   C 2 threads vs 1 thread, one tile:               {tile['c-1t'] / tile['c-2t']:7.2f}x  (target >= 1.7)")
    print(f"   C 2 threads vs 1 thread, ResNet-18 image:        {network['c-1t'] / network['c-2t']:7.2f}x")
    for label, part in (("one tile x16 batch", tile), ("ResNet-18 layer set", network)):
        if "projected-2t" in part:
            print(f"   2 vs 1 thread projected (CPU time), {label + ':':<21}{part['projected-2t']:5.2f}x"
                  "  (if both cores were free)")
    if "reference" in network:
        print(f"   ResNet-18 image, C 1 thread vs reference:        {network['reference'] / network['c-1t']:7.1f}x")
    if simulator:
        print(f"   ResNet-18 simulator, C 1 thread vs numpy:         {simulator['reference'] / simulator['c-1t']:7.1f}x")
        print(f"   ResNet-18 simulator, C 2 threads vs 1 thread:     {simulator['c-1t'] / simulator['c-2t']:7.2f}x")
    print("load average at end: %.1f %.1f %.1f (other processes share these cores)" % os.getloadavg())


if __name__ == "__main__":
    main()
