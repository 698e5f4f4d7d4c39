"""Regenerate the bundled example: a small MLP (64-48-10) trained on sklearn's
digits, exported to ONNX, with calibration and test inputs.

    python examples/make_digits_mlp.py

Deterministic (seeded); the files it writes are committed so that the README's
first command works without training anything.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent


def load_split():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # pixel values 0..16 -> 0..1
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)


def train(x_train, y_train, *, epochs: int = 200, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 48), torch.nn.ReLU(), torch.nn.Linear(48, 10)
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    return model.eval()


def main() -> None:
    x_train, x_test, y_train, y_test = load_split()
    model = train(x_train, y_train)
    with torch.no_grad():
        acc = (model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    torch.onnx.export(
        model,
        (torch.from_numpy(x_test[:1]),),
        str(HERE / "digits_mlp.onnx"),
        input_names=["pixels"],
        output_names=["logits"],
        dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    rng = np.random.default_rng(0)
    calib = x_train[rng.choice(len(x_train), 256, replace=False)]
    np.save(HERE / "digits_calibration.npy", calib)
    np.save(HERE / "digits_inputs.npy", x_test[:32])
    np.savez(HERE / "digits_test.npz", x=x_test, y=y_test)
    print(f"float test accuracy {acc:.4f} on {len(y_test)} held-out digits")


if __name__ == "__main__":
    main()
