#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/kv/kv_hostile.py BINARY TEST - clients that mean harm, or just fail.

  hostile  a 1 GiB length, binary garbage, half a command (or half a value)
           then a disconnect, 3000 connections opened at once and dropped,
           a client that pipelines gets and never reads: each is answered
           or dropped, and a well-behaved client is served all along; after
           it all, no connection, item or pool byte is left behind
  signals  SIGINT and SIGTERM with connections open (idle, mid-command,
           mid-value, a full send queue): exit 0, promptly
"""
import os
import random
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvlib import Client, Server, check, stat_int  # noqa: E402


def healthy(srv, good):
    """The well-behaved client still gets its answers, promptly."""
    t0 = time.monotonic()
    word = b'%08d' % random.randrange(10 ** 8)
    got = good.set(b'good', word)
    check(got == b'STORED\r\n' and good.get(b'good') == word,
          f'the good client was not served: {got!r}')
    check(time.monotonic() - t0 < 5, 'the good client waited')


def raw(srv):
    s = socket.create_connection(('127.0.0.1', srv.port), timeout=10)
    return s


def settle(good, want_conns, baseline_in_use, what):
    """Wait for the server to drop what the clients left; check it did."""
    for _ in range(200):
        st = good.stats()
        if (stat_int(st, 'curr_connections') == want_conns and
                stat_int(st, 'genpool_items_in_use') == baseline_in_use):
            return st
        time.sleep(0.05)
    raise AssertionError(f'{what}: connections {st["curr_connections"]} (want {want_conns}), '
                         f'pool in use {st["genpool_items_in_use"]} (want {baseline_in_use}), '
                         f'{st["curr_items"]} items, {st["evictions"]} evictions')


def huge_length(srv, good):
    s = Client(srv.port)
    s.send(b'set x 0 0 1073741824\r\n' + b'x' * 65536)
    check(s.readline() == b'SERVER_ERROR object too large for cache\r\n', '1 GiB length')
    s.send(b'set x 0 0 99999999999\r\n')
    # (still inside the 1 GiB being swallowed: no reply expected)
    s.close()
    s = Client(srv.port)
    check(s.cmd(b'set x 0 0 99999999999\r\n') ==
          b'CLIENT_ERROR bad command line format\r\n', 'length past 2^31')
    check(s.cmd(b'set x 0 0 2147483645\r\n') ==
          b'SERVER_ERROR object too large for cache\r\n', 'length of 2 GiB')
    s.close()
    healthy(srv, good)


def garbage(srv, good):
    rnd = random.Random(5)
    for _ in range(6):
        s = raw(srv)
        try:
            s.sendall(bytes(rnd.randrange(256) for _ in range(100000)))
        except OSError:
            pass                   # dropped by the server: allowed
        s.settimeout(0.5)          # ERRORs, then the connection stays or goes
        got = b''
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        except OSError:
            pass
        check(not got or got.startswith((b'ERROR', b'CLIENT_ERROR')), f'{got[:80]!r}')
        s.close()
        healthy(srv, good)
    s = raw(srv)                   # a binary-protocol header: not ours
    s.sendall(b'\x80\x01\x00\x05' + b'\x00' * 20 + b'hello\r\n')
    s.settimeout(5)
    check(s.recv(100).startswith(b'ERROR\r\n'), 'binary protocol: ERROR')
    s.close()


def half_requests(srv, good):
    for i in range(400):
        s = raw(srv)
        part = (b'set half%d 0 0 100' % i, b'get hal', b'gets a b c',
                b'set half%d 0 0 200000\r\n' % i + b'v' * 50000,
                b'set half%d 0 0 10\r\n12345' % i)[i % 5]
        s.sendall(part)
        if i % 2:
            s.shutdown(socket.SHUT_WR)
        s.close()
    healthy(srv, good)


def many_connections(srv, good, n=3000):
    conns = []
    for _ in range(n):
        conns.append(raw(srv))
    for _ in range(100):           # connected is not yet accepted
        st = good.stats()
        if stat_int(st, 'curr_connections') > n:
            break
        time.sleep(0.05)
    check(stat_int(st, 'curr_connections') > n, f'{n} open: {st["curr_connections"]}')
    healthy(srv, good)
    for i, s in enumerate(conns):
        if i % 3 == 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
        s.close()                  # (a third reset, not closed)
    healthy(srv, good)


def slow_reader(srv, good):
    value = b'r' * 65536
    check(good.set(b'slow', value) == b'STORED\r\n', 'set slow')
    s = raw(srv)
    s.setblocking(False)
    req = b'get slow\r\n' * 1000
    t0 = time.monotonic()
    sent = 0
    while time.monotonic() - t0 < 2:
        try:
            sent += s.send(req)
        except BlockingIOError:
            break                  # the server stopped reading: pushed back
    check(time.monotonic() - t0 < 2, f'the server kept reading ({sent} bytes sent)')
    healthy(srv, good)
    s.close()
    healthy(srv, good)


def half_close(srv, good):
    s = raw(srv)
    s.sendall(b'set hc 0 0 2\r\nok\r\nget hc\r\n')
    s.shutdown(socket.SHUT_WR)
    got = b''
    while True:
        d = s.recv(4096)
        if not d:
            break
        got += d
    check(got == b'STORED\r\nVALUE hc 0 2\r\nok\r\nEND\r\n', f'half-closed client: {got!r}')
    s.close()


def hostile(binary):
    with Server(binary, '--memory', 16) as srv:
        good = srv.connect()
        good.set(b'keep', b'me')
        healthy(srv, good)
        st = good.stats()
        items, in_use = stat_int(st, 'curr_items'), stat_int(st, 'genpool_items_in_use')
        for case in (huge_length, garbage, half_requests, many_connections,
                     slow_reader, half_close):
            t0 = time.monotonic()
            case(srv, good)
            for k in (b'slow', b'hc', b'x'):
                good.cmd(b'delete %s\r\n' % k)
            st = settle(good, 1, in_use, case.__name__)
            print(f'kv: {case.__name__}: handled in {time.monotonic() - t0:.1f} s')
        check(stat_int(st, 'curr_items') == items, 'nothing left behind')
        print(f'kv: after it all: {st["total_connections"]} connections served, '
              f'{st["curr_connections"]} open, pool in use {st["genpool_pool_in_use"]} B')


def signals(binary):
    for sig in (signal.SIGINT, signal.SIGTERM):
        srv = Server(binary).__enter__()
        good = srv.connect()
        good.set(b'big', b'b' * 200000)
        conns = [raw(srv) for _ in range(100)]
        conns[0].sendall(b'set x 0 0 100\r\nabc')
        conns[1].sendall(b'get bi')
        conns[2].setblocking(False)
        try:
            for _ in range(200):
                conns[2].send(b'get big\r\n' * 100)
        except BlockingIOError:
            pass
        time.sleep(0.2)
        rc, secs, err = srv.stop(sig)
        check(rc == 0, f'{sig.name}: exit status {rc}: {err[-2000:]}')
        check('Sanitizer' not in err and 'runtime error' not in err, err[-3000:])
        check(secs < 5, f'{sig.name}: {secs:.1f} s to stop')
        print(f'kv: {sig.name} with 100 connections open: exit 0 in {secs:.2f} s')
        for s in conns:
            s.close()


def stalled(binary):
    """Stalled sets past the cap on values still to come are refused without
    evicting anyone's items (the refused set's item was once allocated
    first, evicting to make room, and only then refused: under load, hostile
    half-sets pushed a good client's item out)."""
    with Server(binary, '--memory', 16) as srv:
        good = srv.connect()
        value = b'g' * 100000
        for i in range(80):                  # 8 MB of items: with the 8 MiB of
            # stalled values the cap admits, 16.4 of 16.8 MB are taken
            check(good.set(b'good%d' % i, value) == b'STORED\r\n', f'set good{i}')
        items = stat_int(good.stats(), 'curr_items')
        senders, refused = [], 0
        for i in range(12):                  # 12 x 900 kB: past the 8 MiB cap
            c = srv.connect()
            c.send(b'set big%d 0 0 900000\r\n' % i + b'b' * 1000)
            senders.append(c)
        for c in senders:                    # the refused ones answer at once
            c.sock.settimeout(0.5)
            try:
                line = c.readline()
            except OSError:
                continue
            check(line == b'SERVER_ERROR out of memory storing object\r\n', f'{line!r}')
            refused += 1
        st = good.stats()
        check(refused >= 3, f'only {refused} of 12 stalled 900 kB sets refused')
        check(stat_int(st, 'evictions') == 0 and stat_int(st, 'curr_items') == items,
              f'stalled sets evicted: {st["evictions"]} evictions, '
              f'{st["curr_items"]} items of {items}')
        for c in senders:
            c.close()
        print(f'kv: {refused} of 12 stalled sets refused, no item evicted')


if __name__ == '__main__':
    {'hostile': hostile, 'signals': signals, 'stalled': stalled}[sys.argv[2]](sys.argv[1])
