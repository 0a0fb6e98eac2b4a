#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_engine.c into corpus-engine/.

Each seed: 2 bytes of size, the bitmap's bytes, then 4-byte operations
(kind, nr - 1, align shift, start byte); see fuzz_engine.c.
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus-engine')


def seed(name, nbits, fill, ops):
    size = nbits - 1
    data = bytes([size & 0xff, size >> 8]) + bytes(fill((nbits + 7) // 8))
    for op in ops:
        data += bytes(op)
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def main():
    rng = random.Random(1)
    os.makedirs(OUT, exist_ok=True)
    every = [(k, n, a, s) for k in range(5) for n in (0, 3, 15, 63)
             for a, s in ((0, 0), (3, 100), (6, 200))]
    seed('01-empty', 4096, lambda n: [0] * n, every)
    seed('02-full', 2048, lambda n: [0xff] * n, every)
    seed('03-random50', 8000, lambda n: [rng.randrange(256) for _ in range(n)],
         every)
    seed('04-sparse-holes', 8192,
         lambda n: [0x00 if rng.random() < 0.1 else 0xff for _ in range(n)],
         every + [(0x80 | k, n, a, s) for k, n, a, s in every])
    seed('05-block-edges', 1537,
         lambda n: [0xff if (i // 32) % 2 else 0x00 for i in range(n)], every)
    seed('06-churn', 3000, lambda n: [0] * n,
         [(3 + i % 2, rng.randrange(64), 0, rng.randrange(256))
          for i in range(200)] + every)
    # claims and releases of class-boundary lengths at block edges
    seed('07-edges', 8192, lambda n: [0] * n,
         [(0x60 | (3 + i % 2), rng.randrange(34), 0, rng.randrange(256))
          for i in range(300)] + every)


if __name__ == '__main__':
    main()
