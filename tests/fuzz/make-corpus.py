#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of tests/fuzz/fuzz_ops.c.

Each file is one operation sequence in the target's byte format:
  byte 0: pool order (< 208: order = b % 13)
  byte 1: search path (% 5: auto, reference, word, avx2, avx512)
  ops:    selector % 10 -> 0 add, 1-3 alloc, 4-5 free, 6 bad free, 7 query,
          8 bulk alloc, 9 bulk free
    add       u16 units, u8 offset (units), u8 flags (bit0: no phys,
              bit7: overlap attempt)
    alloc     u8 kind (% 7: first, align, order-align, best, fixed, pool
              algo, set pool algo), u8 size kind, u16 size value,
              u8 align byte, u16 fixed offset
    free      u8 selector
    bad free  u8 kind (% 6), u8 argument
    query     u8 selector, u16 argument
    bulk alloc  u8 count, u8 size kind, u16 size value (the pool's algo)
    bulk free   u8 count, u8 mix (bad ones among them), u8 argument
Usage: make-corpus.py [DIR]   (default: the corpus/ folder next to it)
"""
import os
import struct
import sys


def add(units, off=0, flags=1):
    return bytes([0]) + struct.pack('<HBB', units, off, flags)


def alloc(kind, units, sizekind=3, align=0, fixed=0):
    # sizekind 3: v % max_bits + 1 units; 4..7: v % 32 + 1 units
    return bytes([1, kind, sizekind]) + struct.pack('<HBH', units - 1, align, fixed)


def free(sel=0):
    return bytes([4, sel])


def bad(kind, arg=0):
    return bytes([6, kind, arg])


def query(sel=0, arg=0):
    return bytes([7, sel]) + struct.pack('<H', arg)


def bulk_alloc(count, units, sizekind=3):
    return bytes([8, count - 1, sizekind]) + struct.pack('<H', units - 1)


def bulk_free(count, mix=0, arg=0):
    return bytes([9, count - 1, mix, arg])


def seeds():
    s = {}
    s['01-first-fit'] = bytes([0]) + add(64) + alloc(0, 4) + alloc(0, 8) + free() + alloc(0, 2) + query()
    s['02-align'] = bytes([3]) + add(100, 3) + alloc(1, 2, align=6) + alloc(1, 1, align=9) + query(1, 5)
    s['03-order-align'] = bytes([6]) + add(128, 5) + alloc(2, 3) + alloc(2, 5) + alloc(2, 1) + free(1) + alloc(2, 7)
    s['04-best-fit'] = (bytes([0]) + add(32) + alloc(0, 4) + alloc(0, 2) + alloc(0, 6) + alloc(0, 2)
                        + free(0) + free(1) + alloc(3, 2) + query())
    s['05-fixed'] = bytes([12]) + add(16, 1) + alloc(4, 2, fixed=4) + alloc(4, 2, fixed=5) + alloc(4, 1, fixed=0x8003)
    s['06-multi-chunk'] = (bytes([3]) + add(8) + add(16, 2) + add(32, 7, 0)
                           + alloc(0, 8) + alloc(0, 16) + alloc(0, 8) + alloc(0, 30) + query(2, 3))
    s['07-sizes'] = (bytes([6]) + add(40) + bytes([1, 0, 0, 0, 0, 0, 0, 0])   # size 0
                     + bytes([1, 0, 1, 5, 0, 0, 0, 0])                    # SIZE_MAX - 5
                     + bytes([1, 0, 2, 3, 0, 0, 0, 0])                    # too big
                     + alloc(0, 40))
    s['08-bad-frees'] = (bytes([3]) + add(64) + alloc(0, 3) + alloc(0, 5) + free(0)
                         + bad(0, 1) + bad(1, 0) + bad(2, 0) + bad(3, 0) + bad(4, 0) + bad(5, 1) + bad(5, 2))
    s['09-double-free'] = bytes([0]) + add(16) + alloc(0, 4) + free(0) + bad(2, 0) + alloc(0, 4) + bad(2, 0)
    s['10-overlap-add'] = bytes([3]) + add(32) + add(8, 0, 0x81) + alloc(0, 4) + query()
    s['11-set-algo'] = (bytes([3]) + add(64, 1) + alloc(6, 2, align=3) + alloc(5, 3)
                        + alloc(6, 1, align=2) + alloc(5, 4) + alloc(6, 2, align=4, fixed=8) + alloc(5, 2))
    s['12-large-order'] = bytes([208 + 27]) + add(4) + alloc(0, 1) + alloc(3, 2) + query(0, 1) + free()   # order 40
    s['13-phys'] = bytes([3]) + add(64, 9, 0x10) + add(32, 4, 1) + query(0, 7) + query(1, 0x0105) + query(0xc0, 2)
    s['14-fill-empty'] = (bytes([0]) + add(16) + alloc(0, 16) + alloc(0, 1) + free(0)
                          + alloc(3, 16) + bad(1, 0x80))
    s['15-no-chunk'] = bytes([5]) + alloc(0, 1) + bad(0, 0) + query() + add(8) + alloc(0, 1)
    s['16-many-chunks'] = bytes([0]) + b''.join(add(8 + i, i, i) for i in range(9)) + alloc(0, 8) + alloc(3, 9)
    s['17-bulk'] = (bytes([6]) + add(300) + bulk_alloc(40, 1) + alloc(0, 3) + bulk_alloc(20, 2)
                    + bulk_free(30) + bulk_alloc(64, 1) + bulk_free(64, 0x49, 3) + query())
    s['18-bulk-bad'] = (bytes([0]) + add(200) + bulk_alloc(50, 1) + free(3) + free(7)
                        + bulk_free(50, 0x9c, 1) + bulk_free(10, 0x12, 0) + bulk_alloc(9, 5)
                        + alloc(6, 1, align=2) + bulk_alloc(9, 3) + bulk_free(9, 0x24, 2))
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    os.makedirs(out, exist_ok=True)
    for i, (name, data) in enumerate(sorted(seeds().items())):
        # insert the search path after the order byte, cycling the paths
        data = data[:1] + bytes([i % 5]) + data[1:]
        with open(os.path.join(out, name), 'wb') as fp:
            fp.write(data)
    print(f'{len(seeds())} seeds written to {out}')


if __name__ == '__main__':
    main()
