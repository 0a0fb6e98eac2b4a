#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/kv/kv_commands.py BINARY - every command and every error reply.

Each case sends a request and then 'version'; what came back before the
VERSION line must be exactly the reply memcached 1.6 gives (noreply: none).
The few cases where genpool-kv answers otherwise say so with a third
element, memcached's reply (None: not compared); with `--memcached`, the
same table runs against a real memcached, checking that claim.
Then expiry (relative, absolute, negative, touch, gat, delayed flush_all),
values on each send path (copied, sent from item memory, zero-copy),
requests split at every byte, a pipeline of 2000 commands, a get of
thousands of keys on one line, and the stats.
"""
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvlib import Client, Server, check, skip, stat_int  # noqa: E402

BAD_FORMAT = b'CLIENT_ERROR bad command line format\r\n'
DELETE_USAGE = (b'CLIENT_ERROR bad command line format.  '
                b'Usage: delete <key> [noreply]\r\n')
K251 = b'k' * 251

CASES = [
    # retrieval and storage
    (b'get nothing\r\n', b'END\r\n'),
    (b'set a 5 0 3\r\nabc\r\n', b'STORED\r\n'),
    (b'get a nothing a\r\n', b'VALUE a 5 3\r\nabc\r\nVALUE a 5 3\r\nabc\r\nEND\r\n'),
    (b'add a 0 0 1\r\nx\r\n', b'NOT_STORED\r\n'),
    (b'add b 0 0 1\r\nx\r\n', b'STORED\r\n'),
    (b'replace nothing 0 0 1\r\nx\r\n', b'NOT_STORED\r\n'),
    (b'replace b 7 0 2\r\nyz\r\n', b'STORED\r\n'),
    (b'get b\r\n', b'VALUE b 7 2\r\nyz\r\nEND\r\n'),
    (b'append a 9 9 2\r\nde\r\n', b'STORED\r\n'),
    (b'prepend a 9 9 1\r\n_\r\n', b'STORED\r\n'),
    (b'get a\r\n', b'VALUE a 5 6\r\n_abcde\r\nEND\r\n'),   # flags kept
    (b'append nothing 0 0 1\r\nx\r\n', b'NOT_STORED\r\n'),
    (b'prepend nothing 0 0 1\r\nx\r\n', b'NOT_STORED\r\n'),
    (b'set empty 0 0 0\r\n\r\n', b'STORED\r\n'),
    (b'get empty\r\n', b'VALUE empty 0 0\r\n\r\nEND\r\n'),
    (b'set  sp   1  0  1  \r\nx\r\n', b'STORED\r\n'),        # extra blanks
    (b'get sp\n', b'VALUE sp 1 1\r\nx\r\nEND\r\n'),          # bare LF
    (b'set a 0 0 1 junk\r\nq\r\n', b'STORED\r\n'),           # not "noreply"
    (b'set f 4294967295 0 1\r\nx\r\n', b'STORED\r\n'),
    (b'get f\r\n', b'VALUE f 4294967295 1\r\nx\r\nEND\r\n'),
    # noreply: nothing comes back, errors included
    (b'set n 0 0 1 noreply\r\nx\r\n', b''),
    (b'add n 0 0 1 noreply\r\nx\r\n', b''),
    (b'replace n 0 0 1 noreply\r\ny\r\n', b''),
    (b'append n 0 0 1 noreply\r\nz\r\n', b''),
    (b'prepend n 0 0 1 noreply\r\nw\r\n', b''),
    (b'get n\r\n', b'VALUE n 0 3\r\nwyz\r\nEND\r\n'),
    (b'set n 0 0 1 noreply\r\nxyz\r\n', b'ERROR\r\n'),       # bad chunk hidden
    (b'delete n noreply\r\n', b''),
    (b'delete n 0 noreply\r\n', b''),
    (b'verbosity 1 noreply\r\n', b''),
    (b'verbosity noreply\r\n', b''),
    # cas
    (b'set c 0 0 1\r\nx\r\n', b'STORED\r\n'),
    (b'cas nothing 0 0 1 1\r\nx\r\n', b'NOT_FOUND\r\n'),
    (b'cas c 0 0 1 0\r\nx\r\n', b'EXISTS\r\n'),
    (b'cas c 0 0 1\r\nx\r\n', b'ERROR\r\nERROR\r\n'),
    (b'cas c 0 0 1 abc\r\nx\r\n', BAD_FORMAT + b'ERROR\r\n'),
    # delete
    (b'delete c\r\n', b'DELETED\r\n'),
    (b'delete c\r\n', b'NOT_FOUND\r\n'),
    (b'delete\r\n', b'ERROR\r\n'),
    (b'delete a 10\r\n', DELETE_USAGE),
    (b'delete a b c d e\r\n', b'ERROR\r\n'),
    (b'delete sp 0\r\n', b'DELETED\r\n'),
    (b'delete ' + K251 + b'\r\n', BAD_FORMAT),
    # incr / decr
    (b'set i 0 0 2\r\n10\r\n', b'STORED\r\n'),
    (b'incr i 5\r\n', b'15\r\n'),
    (b'decr i 100\r\n', b'0\r\n'),                           # stops at 0
    (b'incr i 007\r\n', b'7\r\n'),
    (b'incr i 1 noreply\r\n', b''),
    (b'get i\r\n', b'VALUE i 0 2\r\n8 \r\nEND\r\n'),   # keeps its length
    (b'set i 0 0 20\r\n18446744073709551615\r\n', b'STORED\r\n'),
    (b'incr i 1\r\n', b'0\r\n'),                             # wraps
    (b'set i 0 0 3\r\n 12\r\n', b'STORED\r\n'),
    (b'incr i 1\r\n', b'13\r\n'),
    (b'incr nothing 1\r\n', b'NOT_FOUND\r\n'),
    (b'decr nothing 1\r\n', b'NOT_FOUND\r\n'),
    (b'incr a 1\r\n', b'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n'),
    (b'incr i -1\r\n', b'CLIENT_ERROR invalid numeric delta argument\r\n'),
    (b'incr i abc\r\n', b'CLIENT_ERROR invalid numeric delta argument\r\n'),
    (b'incr i 18446744073709551616\r\n', b'CLIENT_ERROR invalid numeric delta argument\r\n'),
    (b'incr i\r\n', b'ERROR\r\n'),
    (b'incr\r\n', b'ERROR\r\n'),
    (b'set big 0 0 21\r\n123456789012345678901\r\n', b'STORED\r\n'),
    (b'incr big 1\r\n', b'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n'),
    # touch, gat, gats
    (b'touch a 100\r\n', b'TOUCHED\r\n'),
    (b'touch nothing 100\r\n', b'NOT_FOUND\r\n'),
    (b'touch a\r\n', b'ERROR\r\n'),
    (b'touch a abc\r\n', b'CLIENT_ERROR invalid exptime argument\r\n'),
    (b'touch a 100 noreply\r\n', b''),
    (b'gat 100 b nothing\r\n', b'VALUE b 7 2\r\nyz\r\nEND\r\n'),
    (b'gat 100\r\n', b'END\r\n'),
    (b'gat\r\n', b'ERROR\r\n'),
    (b'gat abc b\r\n', b'CLIENT_ERROR invalid exptime argument\r\n'),
    # malformed commands
    (b'bogus\r\n', b'ERROR\r\n'),
    (b'GET a\r\n', b'ERROR\r\n'),
    (b'\r\n', b'ERROR\r\n'),
    (b'get\r\n', b'ERROR\r\n'),
    (b'gets\r\n', b'ERROR\r\n'),
    (b'set a 0 0\r\n', b'ERROR\r\n'),
    (b'set a 0 0 1 noreply x\r\nx\r\n', b'ERROR\r\nERROR\r\n'),
    (b'set a 0 0 -1\r\n', BAD_FORMAT),
    (b'set a 0 0 abc\r\n', BAD_FORMAT),
    (b'set a abc 0 1\r\nx\r\n', BAD_FORMAT + b'ERROR\r\n'),
    (b'set a -1 0 1\r\nx\r\n', BAD_FORMAT + b'ERROR\r\n'),
    (b'set a 4294967296 0 1\r\nx\r\n', BAD_FORMAT + b'ERROR\r\n',
     b'STORED\r\n'),          # flags are 32 bits; memcached 1.6.18 takes more
    (b'set a 0 abc 1\r\nx\r\n', BAD_FORMAT + b'ERROR\r\n'),
    (b'set ' + K251 + b' 0 0 1\r\nx\r\n', BAD_FORMAT + b'ERROR\r\n'),
    (b'get a ' + K251 + b'\r\n', BAD_FORMAT),
    (b'set a 0 0 1\r\nxy\r\n', b'CLIENT_ERROR bad data chunk\r\nERROR\r\n'),
    (b'set q 0 0 1\nx\nget q\n', b'CLIENT_ERROR bad data chunk\r\nERROR\r\n'),
    (b'set huge 0 0 2000000\r\n' + b'x' * 2000002 + b'get huge\r\n',
     b'SERVER_ERROR object too large for cache\r\nEND\r\n'),
    (b'set huge 0 0 2000000 noreply\r\n' + b'x' * 2000002, b''),
    (b'set max 0 0 1048576\r\n' + b'm' * 1048576 + b'\r\n', b'STORED\r\n',
     b'SERVER_ERROR object too large for cache\r\n'),  # our limit: value bytes
    (b'set max 0 0 1048577\r\n' + b'm' * 1048579, b'SERVER_ERROR object too large for cache\r\n'),
    # the rest
    (b'flush_all noreply\r\n', b''),
    (b'get a b\r\n', b'END\r\n'),
    (b'flush_all abc\r\n', b'CLIENT_ERROR invalid exptime argument\r\n'),
    (b'flush_all 1 2 3\r\n', b'ERROR\r\n'),
    (b'verbosity\r\n', b'ERROR\r\n'),
    (b'verbosity 1 2 3\r\n', b'ERROR\r\n'),
    (b'verbosity abc\r\n', BAD_FORMAT),
    (b'verbosity 1\r\n', b'OK\r\n'),
    (b'shutdown\r\n', b'ERROR: shutdown not enabled\r\n'),
    (b'stats bogus\r\n', b'ERROR\r\n'),
    (b'stats slabs\r\n', b'END\r\n', None),    # no slab classes to list
    (b'stats reset\r\n', b'RESET\r\n'),
    (b'flush_all\r\n', b'OK\r\n'),
    (b'get a b\r\n', b'END\r\n'),
]


def run_table(c, theirs):
    """Every case on one connection; @theirs: expect memcached's replies."""
    for i, (req, want, *diff) in enumerate(CASES):
        if theirs and diff:
            if diff[0] is None:
                continue
            want = diff[0]
        c.send(req)
        got = c.until_version()
        check(got == want, f'case {i}: {req[:60]!r}: want {want!r}, got {got[:200]!r}')


def test_table(srv):
    c = srv.connect()
    run_table(c, False)
    c.send(b'version foo\r\n')
    check(c.readline().startswith(b'VERSION 1.6'), 'version with arguments')
    c.send(b'get a\r\nquit\r\nget a\r\n')
    check(c.readline() == b'END\r\n', 'reply before quit')
    check(c.closed(), 'quit closes the connection')
    print(f'kv: {len(CASES)} command cases as memcached replies')


def test_cas_and_paths(srv):
    c = srv.connect()
    c.set(b'k', b'v1')
    c.send(b'gets k\r\n')
    line = c.readline()
    cas = int(line.split()[4])
    check(c.read(4) == b'v1\r\n' and c.readline() == b'END\r\n', 'gets value')
    check(c.cmd(b'cas k 0 0 2 %d\r\nv2\r\n' % cas) == b'STORED\r\n', 'cas hit')
    check(c.cmd(b'cas k 0 0 2 %d\r\nv3\r\n' % cas) == b'EXISTS\r\n', 'cas stale')
    c.send(b'gats 0 k\r\n')
    check(int(c.readline().split()[4]) > cas, 'cas grows')
    c.read(4), c.readline()
    # one value per send path: copied (small), from item memory, zero-copy
    for size in (100, 400, 600, 5000, 16383, 16384, 100000, 1048576):
        val = bytes((i * 7 + size) % 251 for i in range(size))
        check(c.set(b'p%d' % size, val) == b'STORED\r\n', f'set {size}')
        check(c.get(b'p%d' % size) == val, f'get {size}')
        got = c.get_many([b'p%d' % size], b'gets')
        check(got.get(b'p%d' % size) == val, f'gets {size}')
    keys = [b'p%d' % s for s in (100, 600, 100000, 16384, 400)]
    got = c.get_many(keys + [b'nothing'])
    check(sorted(got) == sorted(keys), 'multi-get across paths')
    print('kv: cas and every send path checked')


def test_split_and_pipeline(srv):
    """A request split at every byte boundary, and a long pipeline."""
    c = srv.connect()
    val = b'0123456789' * 30
    req = b'set split 3 0 %d\r\n%s\r\nget split\r\n' % (len(val), val)
    want = b'STORED\r\nVALUE split 3 %d\r\n%s\r\nEND\r\n' % (len(val), val)
    for cut in range(1, len(req), 7):
        c.send(req[:cut])
        time.sleep(0.0005)
        c.send(req[cut:])
        check(c.read(len(want)) == want, f'split at {cut}')
    big = bytes(range(256)) * 400          # over many receive buffers
    for step in (1000, 8191, 65536):
        body = b'set bigsplit 0 0 %d\r\n%s\r\n' % (len(big), big)
        for off in range(0, len(body), step):
            c.send(body[off:off + step])
        check(c.readline() == b'STORED\r\n', f'big split {step}')
        check(c.get(b'bigsplit') == big, f'big value {step}')
    n = 2000
    pipe = b''.join(b'set pp%d 0 0 %d\r\n%d\r\nget pp%d\r\n' % (i, len(b'%d' % i), i, i)
                    for i in range(n))
    c.send(pipe)
    for i in range(n):
        check(c.readline() == b'STORED\r\n', f'pipeline set {i}')
        v = b'%d' % i
        check(c.read(len(b'VALUE pp%d 0 %d\r\n%s\r\nEND\r\n' % (i, len(v), v))) ==
              b'VALUE pp%d 0 %d\r\n%s\r\nEND\r\n' % (i, len(v), v), f'pipeline get {i}')
    keys = [b'pp%d' % i for i in range(n)]
    got = c.get_many(keys)                  # one line of ~14 KB, past 2048
    check(len(got) == n and all(got[b'pp%d' % i] == b'%d' % i for i in range(n)),
          'get of 2000 keys on one line')
    c.send(b'gets ' + b' '.join(keys[:500]) + b'\r\n')
    check(c.until_version().count(b'VALUE ') == 500, 'gets of 500 keys')
    c.send(b'set ' + b'x' * 3000)            # no end of line in sight
    check(c.readline() == b'CLIENT_ERROR line too long\r\n', 'too long a line')
    check(c.closed(), 'too long a line closes')
    print(f'kv: splits, a pipeline of {2 * n} commands, a {len(b" ".join(keys))}-byte get line')


def test_expiry(srv):
    c = srv.connect()
    now = int(time.time())
    for key, exptime in ((b'e_rel', 1), (b'e_abs', now + 1), (b'e_past', now - 10),
                         (b'e_neg', -1), (b'e_touch', 1), (b'e_gat', 1), (b'e_keep', 0)):
        c.set(key, b'x', exptime=exptime)
    check(c.cmd(b'touch e_touch 100\r\n') == b'TOUCHED\r\n', 'touch')
    check(len(c.get_many([b'e_gat'], b'gat 100')) == 1, 'gat')
    keys = [b'e_rel', b'e_abs', b'e_past', b'e_neg', b'e_touch', b'e_gat', b'e_keep']
    got = sorted(c.get_many(keys))
    check(got == [b'e_abs', b'e_gat', b'e_keep', b'e_rel', b'e_touch'], f'before: {got}')
    time.sleep(2.1)
    got = sorted(c.get_many(keys))
    check(got == [b'e_gat', b'e_keep', b'e_touch'], f'after: {got}')
    check(c.cmd(b'flush_all 1\r\n') == b'OK\r\n', 'delayed flush')
    check(c.get(b'e_keep') == b'x', 'kept until the flush is due')
    time.sleep(2.1)
    check(c.get_many(keys) == {}, 'the delayed flush came')
    c.set(b'e_new', b'x')
    check(c.get(b'e_new') == b'x', 'stored after the flush')
    print('kv: relative, absolute, past, negative expiry; touch, gat, delayed flush')


def test_stats(srv):
    c = srv.connect()
    c.set(b's1', b'x' * 100)
    c.get(b's1')
    c.get(b'nothing')
    st = c.stats()
    for name in ('pid', 'uptime', 'time', 'version', 'curr_connections',
                 'total_connections', 'cmd_get', 'cmd_set', 'get_hits',
                 'get_misses', 'bytes_read', 'bytes_written', 'limit_maxbytes',
                 'threads', 'bytes', 'curr_items', 'total_items', 'evictions',
                 'genpool_pool_size', 'genpool_pool_avail', 'genpool_fragmentation'):
        check(name in st, f'stats has {name}')
    check(stat_int(st, 'curr_items') >= 1 and stat_int(st, 'get_hits') >= 1 and
          stat_int(st, 'get_misses') >= 1, 'counters count')
    check(abs(int(st['time']) - time.time()) < 5, 'stats time')
    check(stat_int(st, 'genpool_items_in_use') >= stat_int(st, 'bytes'),
          'pool holds at least the item bytes')
    check(stat_int(st, 'genpool_pool_in_use') >= stat_int(st, 'genpool_items_in_use'),
          'in use: items and cached objects')
    check(c.stats(b'settings')['item_size_max'] == '1048576', 'stats settings')
    check(c.cmd(b'stats reset\r\n') == b'RESET\r\n', 'reset')
    st = c.stats()
    check(stat_int(st, 'cmd_get') == 0 and stat_int(st, 'curr_items') >= 1,
          'reset zeroes counters, keeps gauges')
    c.cmd(b'flush_all\r\n')
    st = c.stats()
    check(stat_int(st, 'curr_items') == 0 and stat_int(st, 'bytes') == 0 and
          stat_int(st, 'genpool_items_in_use') == 0 and
          stat_int(st, 'kv_used_bytes') == stat_int(st, 'kv_rbuf_bytes') and
          stat_int(st, 'genpool_pool_in_use') ==
          stat_int(st, 'kv_rbuf_bytes') + stat_int(st, 'genpool_cache_bytes') +
          stat_int(st, 'genpool_io_cache_bytes'),
          f'empty after flush_all (but for the receive buffers): {st}')
    print('kv: stats, stats settings, stats reset, pool figures')


def against_memcached():
    """The table against memcached itself (-I 1m, as our default)."""
    mc = shutil.which('memcached')
    if not mc:
        skip('memcached is not installed')
    with socket.socket() as s:       # a free port (memcached cannot report one)
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([mc, '-u', 'nobody', '-l', '127.0.0.1', '-p', str(port),
                             '-U', '0', '-I', '1m', '-m', '64'],
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                c = Client(port)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError('memcached did not start')
        run_table(c, True)
        print(f'kv: memcached gives the {len(CASES)} replies the table says it does')
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    if sys.argv[1] == '--memcached':
        against_memcached()
        return
    binary = sys.argv[1]
    with Server(binary) as srv:
        for t in (test_table, test_cas_and_paths, test_split_and_pipeline,
                  test_stats, test_expiry):
            t(srv)


if __name__ == '__main__':
    main()
