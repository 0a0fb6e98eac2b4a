#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/percpu/make-cache-corpus.py - the seed corpus of fuzz_cache: a
# header (cache_ops.c's layout) for each interesting configuration, then
# operations drawn with a fixed seed, biased the way each file is named.
import os
import random
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), 'corpus-cache')
os.makedirs(out, exist_ok=True)
rng = random.Random(8)

# name: (order, flags, magazine, batch, cap, chunks, units), op weights
# over (alloc, pool alloc, free, cpu switch, drain, reap, alloc many,
# free all) as selector ranges of cache_ops.c
ranges = [(0, 90), (90, 100), (100, 180), (180, 215), (215, 225),
          (225, 232), (232, 248), (248, 256)]
configs = {
    'default': ((6, 0, 126, 0, 0, 0, 40), (6, 1, 5, 2, 1, 1, 1, 0)),
    'checked': ((6, 1, 30, 5, 0, 1, 20), (6, 1, 5, 2, 1, 1, 1, 0)),
    'exhaust': ((4, 0, 62, 31, 0, 0, 0), (6, 0, 3, 2, 0, 0, 3, 0)),
    'tinycap': ((8, 8, 14, 3, 0, 2, 10), (5, 1, 5, 3, 1, 0, 1, 1)),
    'classes': ((5, 4, 0x33, 4, 0, 2, 30), (6, 1, 5, 2, 1, 1, 1, 0)),
    'maxunits': ((7, 2, 20, 7, 0, 0, 60), (6, 1, 5, 2, 1, 1, 1, 0)),
    'reap': ((6, 0, 40, 10, 0, 0, 50), (4, 0, 3, 3, 1, 4, 0, 0)),
}
for name, (hdr, weights) in configs.items():
    ops = bytearray(hdr)
    picks = [r for r, w in zip(ranges, weights) for _ in range(w)]
    for _ in range(600):
        lo, hi = rng.choice(picks)
        ops.append(rng.randrange(lo, hi))
        ops.extend(rng.randrange(256) for _ in range(2))
    with open(os.path.join(out, name), 'wb') as f:
        f.write(ops)
