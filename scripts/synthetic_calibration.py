#!/usr/bin/env python3
"""Writes data/calibration/synthetic-nrf52840.csv: per-layer latencies of an
nRF52840-like device from known coefficients plus timer noise (docs/calibration.md).

Truth, per layer kind: latency_us = overhead_us + ns_per_mac * macs / 1000
+ ns_per_byte * (in_bytes + out_bytes) / 1000, plus noise uniform in [-5, 5] us.
Seeded: running it again gives the same file.
"""
import random

TRUTH = {  # kind: (overhead_us, ns_per_mac, ns_per_byte)
    "Conv2d": (30.0, 62.5, 1.5),
    "DepthwiseConv2d": (25.0, 110.0, 3.0),
    "Dense": (15.0, 58.0, 1.0),
    "ReLU": (5.0, 0.0, 4.0),
    "MaxPool2d": (8.0, 0.0, 6.0),
}

def main():
    rng = random.Random(20261204)
    lines = ["kind,macs,in_bytes,out_bytes,latency_us"]
    for kind, (o, m, b) in TRUTH.items():
        for _ in range(20):
            macs = rng.randrange(2_000, 400_000) if m > 0 else 0
            inb = rng.randrange(200, 20_000)
            outb = inb if m == 0 else rng.randrange(200, 20_000)
            us = o + m * macs / 1e3 + b * (inb + outb) / 1e3 + rng.uniform(-5.0, 5.0)
            lines.append(f"{kind},{macs},{inb},{outb},{us:.3f}")
    with open("data/calibration/synthetic-nrf52840.csv", "w") as f:
        f.write("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
