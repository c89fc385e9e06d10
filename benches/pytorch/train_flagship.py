"""PyTorch reference for the trainer on the flagship networks (NOT a dependency).

Trains, like the search trains a candidate (batch 16, Adam 3e-3, per-channel
standardisation fitted on the training set, shuffled every epoch, CPU,
`torch.set_num_threads(THREADS)`):

- `models/nets/mnist1d-cnn.ron` (the MNIST-1D paper's CNN, 5,210 parameters) on the
  4,000 MNIST-1D training series, 20 epochs;
- `models/nets/mnist-cnn.ron` (3 × [3×3 conv, ReLU, 2×2 max-pool] with 8/16/32 channels,
  global average pooling, 6,218 parameters) on the 4,000 MNIST-5k training images,
  5 epochs.

Prints training samples/s (forward + backward + Adam step; evaluation excluded; epochs
after the first) and the test accuracy.

    python3 benches/pytorch/train_flagship.py [THREADS]
"""
import gzip
import sys
import time

import numpy as np
import torch
from torch import nn


def load_ts(path):
    xs, ys, data = [], [], False
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not data:
            data = line.lower().startswith("@data")
            continue
        *dims, label = line.split(":")
        xs.append([[float(v) for v in d.split(",")] for d in dims])  # [C, T]
        ys.append(int(label))
    return np.array(xs, dtype=np.float32), np.array(ys)


def load_images(path):
    a = np.loadtxt(gzip.open(path, "rt"), delimiter=",", dtype=np.float32)
    return a[:, :-1].reshape(-1, 1, 28, 28), a[:, -1].astype(np.int64)


def mnist1d_cnn():
    # Same padding for 40 → 20 → 10 → 5 (PyTorch: padding 2, 1, 1 with stride 2).
    return nn.Sequential(
        nn.Conv1d(1, 25, 5, stride=2, padding=2), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(125, 10),
    )


def mnist_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )


def run(name, model, xtr, ytr, xte, yte, epochs, threads):
    axes = (0, 2) if xtr.ndim == 3 else (0, 2, 3)
    mean = xtr.mean(axis=axes, keepdims=True)
    std = xtr.std(axis=axes, keepdims=True)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    xtr, ytr = torch.from_numpy(xtr), torch.from_numpy(ytr)
    xte, yte = torch.from_numpy(xte), torch.from_numpy(yte)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        perm = torch.randperm(len(ytr))
        t0 = time.perf_counter()
        for i in range(0, len(ytr), 16):
            idx = perm[i:i + 16]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    rate = len(ytr) * (epochs - 1) / sum(times[1:])
    print(f"{name}: {params} params, {rate:.0f} samples/s ({threads} threads, "
          f"torch {torch.__version__}), test accuracy {acc:.3f} after {epochs} epochs")


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xtr, ytr = load_ts("data/MNIST1D/MNIST1D_TRAIN.ts")
    xte, yte = load_ts("data/MNIST1D/MNIST1D_TEST.ts")
    run("mnist1d-cnn", mnist1d_cnn(), xtr, ytr, xte, yte, 20, threads)
    xtr, ytr = load_images("data/mnist/mnist_5k_train.csv.gz")
    xte, yte = load_images("data/mnist/mnist_5k_test.csv.gz")
    run("mnist-cnn", mnist_cnn(), xtr, ytr, xte, yte, 5, threads)


if __name__ == "__main__":
    main()
