"""PyTorch reference for the trainer benchmark (NOT a dependency of distrinas).

Trains har-s (16/32 channels) and har-m (64/128) on BasicMotions exactly like
`benches/train.rs`: 40 training cases standardised per channel, batch 16, Adam 1e-3,
shuffled every epoch, CPU, `torch.set_num_threads(THREADS)`. Prints training samples/s
(forward + backward + optimiser step, evaluation excluded) and the test accuracy after
100 epochs.

    python3 benches/pytorch/train_har.py [THREADS]
"""
import sys
import time

import numpy as np
import torch
from torch import nn


def load_ts(path):
    xs, ys, classes, data = [], [], None, False
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not data:
            low = line.lower()
            if low.startswith("@classlabel"):
                classes = line.split()[2:]
            if low.startswith("@data"):
                data = True
            continue
        *dims, label = line.split(":")
        xs.append([[float(v) for v in d.split(",")] for d in dims])  # [C, T]
        ys.append(classes.index(label))
    return np.array(xs, dtype=np.float32), np.array(ys)


def har(c1, c2):
    return nn.Sequential(
        nn.Conv1d(6, c1, 5), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(c1, c2, 5), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        nn.Linear(c2, 4),
    )


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xtr, ytr = load_ts("data/BasicMotions/BasicMotions_TRAIN.ts")
    xte, yte = load_ts("data/BasicMotions/BasicMotions_TEST.ts")
    mean = xtr.mean(axis=(0, 2), keepdims=True)
    std = xtr.std(axis=(0, 2), keepdims=True)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    xtr, ytr = torch.from_numpy(xtr), torch.from_numpy(ytr)
    xte, yte = torch.from_numpy(xte), torch.from_numpy(yte)
    # har-s twice: the first pass also pays one-off start-up costs (oneDNN kernels).
    for name, (c1, c2) in [("har-s (warm-up)", (16, 32)), ("har-s", (16, 32)), ("har-m", (64, 128))]:
        model = har(c1, c2)
        params = sum(p.numel() for p in model.parameters())
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        times = []
        for epoch in range(100):
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
        med = sorted(times[5:])[len(times[5:]) // 2]
        print(f"{name}: {params} params, {len(ytr) * 95 / sum(times[5:]):.0f} samples/s mean, "
              f"{len(ytr) / med:.0f} median epoch "
              f"({threads} threads, torch {torch.__version__}), test accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
