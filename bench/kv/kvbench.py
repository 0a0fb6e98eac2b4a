#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/kv/kvbench.py - genpool-kv against memcached, side by side.

usage: kvbench.py BUILD_DIR [--quick] [--reps N] [--secs S] [--out FILE.json]
                  [--only throughput,memory,idle]

throughput  genpool-kvload (closed loop, every latency measured) and
            memcaslap, 90% get / 10% set, 100 B and 4 KiB values, 1..256
            connections; servers with the same threads and memory.  Per
            point: ops/s, p50, p99, and the server's CPU time per
            operation (user + system, from /proc: the least noisy figure
            on a shared machine).  The two servers alternate, rep by rep;
            the table shows medians.
memory      the same --memory / -m: 100-500 B values until well past full,
            then 2-8 KiB values; items held, bytes of live values and the
            hit rate of the second phase, for both
idle        resident memory with 10 000 idle connections, for both

Without memcached installed its columns say so and only genpool-kv runs.
"""
import argparse
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tests', 'kv'))
from kvlib import Client  # noqa: E402

THREADS = 2
CLK = os.sysconf('SC_CLK_TCK')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Srv:
    """One server process: genpool-kv or memcached, same threads and memory."""

    def __init__(self, kind, build, mib, extra=()):
        self.kind = kind
        if kind == 'genpool-kv':
            cmd = [os.path.join(build, 'examples', 'kv', 'genpool-kv'), '--port', '0',
                   '--listen', '127.0.0.1', '--threads', str(THREADS), '--memory', str(mib)]
        else:
            self.port = free_port()
            cmd = ['memcached', '-u', 'nobody', '-l', '127.0.0.1', '-p', str(self.port),
                   '-U', '0', '-t', str(THREADS), '-m', str(mib), '-c', '20000']
        self.proc = subprocess.Popen(cmd + list(extra), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        if kind == 'genpool-kv':
            line = self.proc.stdout.readline()
            self.port = int(re.search(r':(\d+) ', line).group(1))
        for _ in range(200):
            try:
                Client(self.port).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f'{kind} did not start')

    def cpu(self):
        """Seconds of CPU (user + system) the server has used."""
        with open(f'/proc/{self.proc.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK

    def rss(self):
        with open(f'/proc/{self.proc.pid}/status') as f:
            return int(re.search(r'VmRSS:\s+(\d+)', f.read()).group(1)) * 1024

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def kvload(build, port, conns, value, secs, keys):
    exe = os.path.join(build, 'examples', 'kv', 'genpool-kvload')
    out = subprocess.run([exe, '-p', str(port), '-c', str(conns), '-T', '2', '-t', str(secs),
                          '-w', '0.5', '-v', str(value), '-k', str(keys)],
                         capture_output=True, text=True, timeout=secs + 120).stdout
    return {k: float(v) for k, v in re.findall(r'(\w+)=([\d.]+)', out)}


def memcaslap(port, conns, value, secs):
    if not shutil.which('memcaslap'):
        return None
    threads = min(2, conns)
    out = subprocess.run(['memcaslap', '-s', f'127.0.0.1:{port}', '-T', str(threads),
                          '-c', str(conns - conns % threads), '-X', str(value),
                          '-t', f'{secs}s'], capture_output=True, text=True,
                         timeout=secs + 60).stdout
    m = re.search(r'TPS: (\d+)', out)
    return float(m.group(1)) if m else None


def throughput(build, kinds, quick, reps, secs):
    points = [(c, v) for v in (100, 4096) for c in ((1, 16, 256) if quick else (1, 4, 16, 64, 256))]
    rows = []
    for conns, value in points:
        keys = 10000 if value == 100 else 5000
        res = {k: [] for k in kinds}
        for rep in range(reps):
            for kind in (kinds if rep % 2 == 0 else kinds[::-1]):
                srv = Srv(kind, build, 1024)
                try:
                    c0 = srv.cpu()
                    r = kvload(build, srv.port, conns, value, secs, keys)
                    r['cpu_us'] = (srv.cpu() - c0) / max(1, r['ops_per_s'] * (secs + 0.5)) * 1e6
                    r['memcaslap'] = None if quick else memcaslap(srv.port, conns, value, secs)
                    res[kind].append(r)
                finally:
                    srv.stop()
        row = {'conns': conns, 'value': value}
        for kind in kinds:
            for f in ('ops_per_s', 'p50_us', 'p99_us', 'cpu_us', 'memcaslap'):
                vals = [r[f] for r in res[kind] if r.get(f) is not None]
                row[f'{kind}:{f}'] = statistics.median(vals) if vals else None
        rows.append(row)
        print_row(row, kinds)
    return rows


def print_row(row, kinds):
    def fmt(v, spec):
        return format(v, spec) if v is not None else '-'
    g = 'genpool-kv'
    line = f"{row['conns']:>5} {row['value']:>5} |"
    for kind in kinds:
        line += (f" {fmt(row[f'{kind}:ops_per_s'], '9.0f')} {fmt(row[f'{kind}:p50_us'], '7.1f')}"
                 f" {fmt(row[f'{kind}:p99_us'], '8.1f')} {fmt(row[f'{kind}:cpu_us'], '5.1f')} |")
    if 'memcached' in kinds:
        ratio = row[f'{g}:ops_per_s'] / row['memcached:ops_per_s']
        p99 = row[f'{g}:p99_us'] / row['memcached:p99_us']
        cpu = row[f'{g}:cpu_us'] / row['memcached:cpu_us']
        line += f' {ratio:5.2f}x {p99:5.2f}x {cpu:5.2f}x'
    print(line, flush=True)


def phase(c, prefix, count, sizes, rnd):
    """Write @count keys, pipelined with noreply; returns {key: length}."""
    written = {}
    for start in range(0, count, 500):
        req = []
        for i in range(start, min(count, start + 500)):
            n = rnd.randint(*sizes)
            key = b'%s%d' % (prefix, i)
            written[key] = n
            req.append(b'set %s 0 0 %d noreply\r\n%s\r\n' % (key, n, b'v' * n))
        c.send(b''.join(req))
        c.until_version()
    return written


def live(c, keys):
    found = {}
    keys = list(keys)
    for i in range(0, len(keys), 200):
        for k, v in c.get_many(keys[i:i + 200]).items():
            found[k] = len(v)
    return found


def memory(build, kinds, quick):
    mib = 32 if quick else 64
    limit = mib << 20
    rows = []
    for kind in kinds:
        srv = Srv(kind, build, mib)
        try:
            c = Client(srv.port, timeout=60)
            rnd = random.Random(1)
            small = phase(c, b's', 3 * limit // 300, (100, 500), rnd)
            held_small = live(c, small)
            large = phase(c, b'L', 3 * limit // 5120, (2048, 8192), rnd)
            held = live(c, list(small) + list(large))
            held_large = {k: n for k, n in held.items() if k.startswith(b'L')}
            st = c.stats()
            row = {'server': kind, 'memory_mib': mib,
                   'small_items': len(held_small), 'small_bytes': sum(held_small.values()),
                   'items': len(held), 'live_bytes': sum(held.values()),
                   'large_items': len(held_large), 'large_bytes': sum(held_large.values()),
                   'hit_rate': len(held_large) / len(large),
                   'rss': srv.rss(), 'evictions': int(st.get('evictions', 0)),
                   'fragmentation': st.get('genpool_fragmentation', '-')}
            rows.append(row)
            print(f"{kind:>10} {mib:>4} MiB | small phase: {row['small_items']:>7} items "
                  f"{row['small_bytes'] / limit:5.1%} | after: {row['items']:>6} items, live "
                  f"{row['live_bytes']:>9} B ({row['live_bytes'] / limit:5.1%}), large hit rate "
                  f"{row['hit_rate']:6.1%} | RSS {row['rss'] >> 20} MiB", flush=True)
        finally:
            srv.stop()
    if len(rows) == 2:
        print(f"genpool-kv / memcached live bytes after the phase change: "
              f"{rows[0]['live_bytes'] / max(1, rows[1]['live_bytes']):.2f}x")
    return rows


def idle(build, kinds, quick):
    n = 2000 if quick else 10000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = min(n, hard - 100)
    rows = []
    for kind in kinds:
        srv = Srv(kind, build, 64)
        try:
            c = Client(srv.port)
            c.set(b'k', b'v' * 100)
            time.sleep(0.2)
            before = srv.rss()
            conns = []
            for _ in range(n):
                s = socket.create_connection(('127.0.0.1', srv.port))
                s.sendall(b'get k\r\n')   # one request each, then idle
                conns.append(s)
            for s in conns:
                s.settimeout(10)
                s.recv(4096)
            time.sleep(0.5)
            after = srv.rss()
            rows.append({'server': kind, 'conns': n, 'rss_before': before, 'rss_after': after,
                         'per_conn': (after - before) / n})
            print(f"{kind:>10}: {n} idle connections: RSS {before >> 20} -> {after >> 20} MiB, "
                  f"{(after - before) / n:.0f} B per connection", flush=True)
            for s in conns:
                s.close()
        finally:
            srv.stop()
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('build')
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--secs', type=float, default=5)
    ap.add_argument('--out')
    ap.add_argument('--only', default='throughput,memory,idle')
    a = ap.parse_args()
    kinds = ['genpool-kv']
    if shutil.which('memcached'):
        kinds.append('memcached')
    else:
        print('kvbench: memcached is not installed (Debian: memcached): genpool-kv alone')
    result = {'threads': THREADS, 'cpu': open('/proc/cpuinfo').read().split('model name')[1]
              .split('\n')[0].strip(' :'), 'kinds': kinds}
    only = a.only.split(',')
    if 'throughput' in only:
        print(f"\nthroughput: {THREADS} server threads, 90% get / 10% set, kvload 2 threads, "
              f"{a.secs:g} s, medians of {a.reps}")
        hdr = '''conns value |'''
        for kind in kinds:
            hdr += f' {kind + " ops/s":>9} {"p50 us":>7} {"p99 us":>8} {"cpu/op":>5} |'
        if len(kinds) == 2:
            hdr += ' ops/s  p99    cpu'
        print(hdr)
        result['throughput'] = throughput(a.build, kinds, a.quick, a.reps, a.secs)
    if 'memory' in only:
        print('\nmemory efficiency: 100-500 B values (3x the memory), then 2-8 KiB (3x)')
        result['memory'] = memory(a.build, kinds, a.quick)
    if 'idle' in only:
        print('\nidle connections')
        result['idle'] = idle(a.build, kinds, a.quick)
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
