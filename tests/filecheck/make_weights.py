"""Write the ``.npz`` beside the ``.mlir`` lit tests of the float-graph passes.

    python tests/filecheck/make_weights.py          # (re)write them
    python tests/filecheck/make_weights.py --check  # exit 1 if any is stale

Only the folders in ``FOLDERS`` are managed (other passes' tests may make
their weights another way).  Each ``#nn.weight<"key">`` of an ``nn.constant`` gets an array of the
constant's result type.  The key's first component says what the test needs:

    zero.*  all zeros          one.*  all ones
    pos.*   uniform in [0.5, 1.5) (e.g. BatchNorm variances)
    absent.* none: left out of the file (tests of a missing weight)
    other   standard normal

Values are seeded by the key (crc32), so the files are reproducible and a
test's weights do not change when another test is added.  The part of a key
from an ``@`` on is ignored: ``fc.w@copy`` holds the same data as ``fc.w``.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FOLDERS = ("canonicalize", "fold-batchnorm", "fold-constants", "fuse-activations", "shape-inference")
# One constant per line, as the printer writes it:
#   %1 = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<4x3xf32>
CONSTANT = re.compile(
    r'"nn\.constant"\(\) <\{value = #nn\.weight<"(?P<key>[^"]+)">\}> : \(\) -> tensor<(?P<type>[^>]*)>'
)


def _shape_and_dtype(type_text: str) -> tuple[tuple[int, ...], np.dtype]:
    *dims, element = type_text.split("x")
    dtype = {"f32": np.float32, "i64": np.int64}[element]
    return tuple(int(d) for d in dims), np.dtype(dtype)


def make_array(key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    key = key.split("@")[0]
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    kind = key.split(".")[0]
    if kind == "zero":
        array = np.zeros(shape)
    elif kind == "one":
        array = np.ones(shape)
    elif kind == "pos":
        array = rng.uniform(0.5, 1.5, shape)
    elif dtype.kind == "i":
        array = rng.integers(-4, 5, shape)
    else:
        array = rng.standard_normal(shape)
    return array.astype(dtype)


def weights_for(mlir: Path) -> dict[str, np.ndarray]:
    table: dict[str, np.ndarray] = {}
    # Only the IR, not the CHECK lines (which name the weights a pass makes).
    ir_lines = [line for line in mlir.read_text().splitlines() if not line.lstrip().startswith("//")]
    for match in CONSTANT.finditer("\n".join(ir_lines)):
        if match["key"].startswith("absent."):
            continue
        shape, dtype = _shape_and_dtype(match["type"])
        table[match["key"]] = make_array(match["key"], shape, dtype)
    return table


def _same(path: Path, table: dict[str, np.ndarray]) -> bool:
    if not path.exists():
        return False
    with np.load(path, allow_pickle=False) as data:
        if sorted(data.files) != sorted(table):
            return False
        return all(
            data[k].dtype == v.dtype and np.array_equal(data[k], v)
            for k, v in table.items()
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    stale = []
    for mlir in sorted(m for folder in FOLDERS for m in (HERE / folder).glob("*.mlir")):
        table = weights_for(mlir)
        npz = mlir.with_suffix(".npz")
        if not table or _same(npz, table):
            continue
        stale.append(npz)
        if not args.check:
            buffer = io.BytesIO()
            np.savez(buffer, **dict(sorted(table.items())))
            npz.write_bytes(buffer.getvalue())
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path.relative_to(HERE)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
