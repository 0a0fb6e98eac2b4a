#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/kv/kv_memory.py BINARY TEST - the memory limit, eviction, fragmentation.

  eviction       --memory 8: write 3x that in 1000-byte values; the newest
                 survive, the oldest are gone, what stats say is what a get
                 of every key finds, and nothing is over the limit
  fragmentation  --memory 16: fill with 100-500 B values, then switch to
                 2-8 KiB values (the phase change that strands a slab
                 allocator's memory); every large set is stored, and live
                 values keep most of the memory
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvlib import Server, check, stat_int  # noqa: E402


def fill(c, prefix, sizes, count, batch=200):
    """Set @count keys prefix0.. of sizes from @sizes, pipelined; returns
    {key: length}.  Every reply must be STORED."""
    lengths = {}
    for start in range(0, count, batch):
        req = []
        for i in range(start, min(count, start + batch)):
            key = b'%s%d' % (prefix, i)
            n = sizes(i)
            lengths[key] = n
            req.append(b'set %s %d 0 %d\r\n%s\r\n' % (key, i, n, (key * (n // len(key) + 1))[:n]))
        c.send(b''.join(req))
        for _ in req:
            r = c.readline()
            check(r == b'STORED\r\n', f'set: {r!r}')
    return lengths


def found(c, keys):
    """The keys a get finds, checking each value is the one written."""
    hits = {}
    keys = list(keys)
    for i in range(0, len(keys), 100):
        for k, v in c.get_many(keys[i:i + 100]).items():
            check(v == (k * (len(v) // len(k) + 1))[:len(v)], f'value of {k!r}')
            hits[k] = len(v)
    return hits


def consistent(c, hits, limit):
    st = c.stats()
    items, used = stat_int(st, 'curr_items'), stat_int(st, 'kv_used_bytes')
    check(items == len(hits), f'curr_items {items}, a get finds {len(hits)}')
    check(stat_int(st, 'bytes') <= used <= limit == stat_int(st, 'limit_maxbytes'),
          f'bytes {st["bytes"]} <= used {used} <= limit {limit}')
    check(stat_int(st, 'genpool_pool_in_use') <= limit, 'pool within the limit')
    check(stat_int(st, 'evict_failures') == 0, 'no store failed')
    return st


def eviction(binary):
    mib = 8
    with Server(binary, '--memory', mib) as srv:
        c = srv.connect()
        n = 3 * (mib << 20) // 1000
        lengths = fill(c, b'ev', lambda i: 1000, n)
        hits = found(c, lengths)
        st = consistent(c, hits, mib << 20)
        keys = [b'ev%d' % i for i in range(n)]
        newest = keys[-len(hits) // 2:]
        check(all(k in hits for k in newest), 'the newest half of what fits survives')
        check(not any(k in hits for k in keys[:n // 2]), 'the oldest half is gone')
        check(stat_int(st, 'evictions') == n - len(hits), 'evictions counted')
        print(f'kv: eviction: {n} x 1000 B into {mib} MiB: {len(hits)} held '
              f'({stat_int(st, "bytes") / (mib << 20):.0%} of the limit in item bytes), '
              f'{st["evictions"]} evicted, newest kept')
        c.cmd(b'flush_all\r\n')
        st = c.stats()
        check(stat_int(st, 'genpool_items_in_use') == 0 and
              stat_int(st, 'kv_used_bytes') == stat_int(st, 'kv_rbuf_bytes'),
              'flush_all gives every byte back (the receive buffers stay)')


def fragmentation(binary):
    mib = 16
    limit = mib << 20
    rnd = random.Random(11)
    with Server(binary, '--memory', mib) as srv:
        c = srv.connect()
        small = fill(c, b's', lambda i: rnd.randint(100, 500), 2 * limit // 300)
        st = consistent(c, found(c, small), limit)
        before = stat_int(st, 'bytes')
        large = fill(c, b'L', lambda i: rnd.randint(2048, 8192), 2 * limit // 5120)
        hits = found(c, list(small) + list(large))
        st = consistent(c, hits, limit)
        live = sum(hits.values())
        recent = list(large)[-len(large) // 4:]
        hit_rate = sum(k in hits for k in recent) / len(recent)
        print(f'kv: fragmentation: small phase {before / limit:.0%} of {mib} MiB in items; '
              f'after 2-8 KiB: {len(hits)} items, live values {live} B '
              f'({live / limit:.0%}), hit rate of the newest quarter {hit_rate:.0%}, '
              f'pool fragmentation {st["genpool_fragmentation"]}')
        check(live >= 0.75 * limit, f'live values {live / limit:.0%} of the limit, want >= 75%')
        check(hit_rate == 1.0, 'the newest large values are all held')


if __name__ == '__main__':
    {'eviction': eviction, 'fragmentation': fragmentation}[sys.argv[2]](sys.argv[1])
