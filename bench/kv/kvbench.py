#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/kv/kvbench.py - genpool-kv against memcached, side by side.

usage: kvbench.py BUILD_DIR [--quick] [--reps N] [--secs S] [--out FILE.json]
                  [--only throughput,memory,idle]
       kvbench.py --markdown FILE.json    (the tables of bench/RESULTS.md)

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
    points = [(c, v) for v in (100, 4096) for c in ((16,) if quick else (1, 4, 16, 64, 256))]
    rows = []
    for conns, value in points:
        keys = 10000 if value == 100 else 5000
        res = {k: [] for k in kinds}
        for rep in range(reps):
            for kind in (kinds if rep % 2 == 0 else kinds[::-1]):
                srv = Srv(kind, build, 256 if quick else 1024)
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


def phase(c, prefix, count, sizes, rnd, first=0, until=None):
    """Write keys prefix<first>.. (@count, or until the clock says @until),
    pipelined with noreply; returns {key: length} in write order."""
    written = {}
    i = first
    while (i < first + count) if until is None else (time.monotonic() < until):
        req = []
        for i in range(i, i + 500):
            n = rnd.randint(*sizes)
            key = b'%s%d' % (prefix, i)
            written[key] = n
            req.append(b'set %s 0 0 %d noreply\r\n%s\r\n' % (key, n, b'v' * n))
        i += 1
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


def measure(c, small, large, limit):
    """Held items and bytes; the new phase's bytes; the hit rate of a client
    of the new phase asking for what was written in the last 1x memory."""
    held = live(c, list(small) + list(large))
    new = {k: n for k, n in held.items() if k.startswith(b'L')}
    recent, total = [], 0
    for k in reversed(list(large)):
        recent.append(k)
        total += large[k]
        if total >= limit:
            break
    return {'items': len(held), 'live_bytes': sum(held.values()),
            'new_items': len(new), 'new_bytes': sum(new.values()),
            'hit_rate': sum(k in held for k in recent) / len(recent)}


def memory(build, kinds, quick):
    """Same limit: 100-500 B values (3x the memory), then 2-8 KiB (3x);
    measured right after, and (full run) after 30 s more of the new phase,
    memcached's slab automover being on by default."""
    mib = 32 if quick else 64
    limit = mib << 20
    rows = []
    for kind in kinds:
        srv = Srv(kind, build, mib)
        try:
            c = Client(srv.port, timeout=60)
            rnd = random.Random(1)
            small = phase(c, b's', 3 * limit // 300, (100, 500), rnd)
            before = live(c, small)
            large = phase(c, b'L', 3 * limit // 5120, (2048, 8192), rnd)
            row = {'server': kind, 'memory_mib': mib, 'small_items': len(before),
                   'small_bytes': sum(before.values()), 'after': measure(c, small, large, limit)}
            if not quick:
                large.update(phase(c, b'L', 0, (2048, 8192), rnd, first=len(large),
                                   until=time.monotonic() + 30))
                row['settled'] = measure(c, small, large, limit)
            row['rss'] = srv.rss()
            st = c.stats()
            row['evictions'] = int(st.get('evictions', 0))
            rows.append(row)
            for when in ('after', 'settled'):
                if when in row:
                    m = row[when]
                    print(f"{kind:>10} {mib} MiB {when:>7}: {m['items']:>6} items, live "
                          f"{m['live_bytes'] / limit:6.1%} of the limit, new-phase values "
                          f"{m['new_bytes'] / limit:6.1%} ({m['new_items']} items), hit rate "
                          f"{m['hit_rate']:6.1%}", flush=True)
            print(f"{kind:>10} small phase: {row['small_items']} items, "
                  f"{row['small_bytes'] / limit:.1%} of the limit; RSS {row['rss'] >> 20} MiB")
        finally:
            srv.stop()
    if len(rows) == 2:
        for when in ('after', 'settled'):
            if when in rows[0]:
                g, m = rows[0][when], rows[1][when]
                print(f"genpool-kv / memcached, {when}: new-phase bytes "
                      f"{g['new_bytes'] / max(1, m['new_bytes']):.2f}x, all live bytes "
                      f"{g['live_bytes'] / max(1, m['live_bytes']):.2f}x, hit rate "
                      f"{g['hit_rate']:.1%} vs {m['hit_rate']:.1%}")
    return rows


def open_idle(port, n):
    """@n connections that each made one request and then went idle."""
    conns = []
    for _ in range(n):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(b'get k\r\n')
        conns.append(s)
    for s in conns:
        s.settimeout(10)
        s.recv(4096)
    time.sleep(0.5)
    return conns


def idle(build, kinds, quick):
    """RSS at n1 and n2 idle connections; the slope is the cost of one
    (fixed costs, such as receive buffers touched once, cancel out)."""
    n1, n2 = (1000, 3000) if quick else (2000, 10000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n2 = min(n2, hard - 100)
    rows = []
    for kind in kinds:
        srv = Srv(kind, build, 64)
        try:
            c = Client(srv.port)
            c.set(b'k', b'v' * 100)
            base = srv.rss()
            conns = open_idle(srv.port, n1)
            at1 = srv.rss()
            conns += open_idle(srv.port, n2 - n1)
            at2 = srv.rss()
            per = (at2 - at1) / (n2 - n1)
            rows.append({'server': kind, 'conns': n2, 'rss_base': base, 'rss_n1': at1,
                         'rss_n2': at2, 'per_conn': per})
            print(f"{kind:>10}: RSS {base >> 20} MiB with 1 connection, {at1 >> 20} MiB with "
                  f"{n1}, {at2 >> 20} MiB with {n2} idle: {per:.0f} B per connection", flush=True)
            for s in conns:
                s.close()
        finally:
            srv.stop()
    return rows


def n(v, spec=',.0f'):
    return format(v, spec).replace(',', ' ') if v is not None else '-'


def markdown(path):
    """The tables of bench/RESULTS.md from a --out JSON file."""
    d = json.load(open(path))
    g, m = 'genpool-kv', 'memcached'
    print('| conns | value | genpool-kv ops/s | p50 µs | p99 µs | cpu/op µs | memcached ops/s '
          '| p50 µs | p99 µs | cpu/op µs | ops/s ratio | p99 ratio | cpu ratio | memcaslap ratio |')
    print('|' + '---:|' * 14)
    for r in d.get('throughput', []):
        ratio = lambda f: (f"{r[f'{g}:{f}'] / r[f'{m}:{f}']:.2f}x"
                           if r.get(f'{g}:{f}') and r.get(f'{m}:{f}') else '-')
        print(f"| {r['conns']} | {r['value']} | {n(r[f'{g}:ops_per_s'])} | "
              f"{n(r[f'{g}:p50_us'], ',.1f')} | {n(r[f'{g}:p99_us'], ',.1f')} | "
              f"{n(r[f'{g}:cpu_us'], '.1f')} | {n(r.get(f'{m}:ops_per_s'))} | "
              f"{n(r.get(f'{m}:p50_us'), ',.1f')} | {n(r.get(f'{m}:p99_us'), ',.1f')} | "
              f"{n(r.get(f'{m}:cpu_us'), '.1f')} | {ratio('ops_per_s')} | {ratio('p99_us')} | "
              f"{ratio('cpu_us')} | {ratio('memcaslap')} |")
    print()
    print('| server | when | items | live values (% of limit) | new-phase values (% of limit) '
          '| hit rate | RSS |')
    print('|---|---|---:|---:|---:|---:|---:|')
    for r in d.get('memory', []):
        limit = r['memory_mib'] << 20
        print(f"| {r['server']} | small phase | {n(r['small_items'])} | "
              f"{r['small_bytes'] / limit:.1%} | – | – | |")
        for when, label in (('after', 'after the switch'), ('settled', 'after 30 s more')):
            if when in r:
                x = r[when]
                print(f"| {r['server']} | {label} | {n(x['items'])} | "
                      f"{x['live_bytes'] / limit:.1%} | {x['new_bytes'] / limit:.1%} | "
                      f"{x['hit_rate']:.1%} | {r['rss'] >> 20 if when == 'settled' else ''} |")
    print()
    print('| server | RSS, 1 connection | n1 | n2 | per connection |')
    print('|---|---:|---:|---:|---:|')
    for r in d.get('idle', []):
        print(f"| {r['server']} | {r['rss_base'] >> 20} MiB | {r['rss_n1'] >> 20} MiB | "
              f"{r['rss_n2'] >> 20} MiB ({r['conns']}) | {r['per_conn']:.0f} B |")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--markdown':
        markdown(sys.argv[2])
        return
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
    cpu = re.search(r'model name\s*:\s*(.*)', open('/proc/cpuinfo').read())
    result = {'threads': THREADS, 'cpu': cpu.group(1) if cpu else '?', 'kinds': kinds,
              'load_before': os.getloadavg()}
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
