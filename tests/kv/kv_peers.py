#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/kv/kv_peers.py BINARY TEST - libmemcached's own tools against genpool-kv.

  memccapable  memccapable -a: every ASCII protocol test (none skipped)
  memcslap     memcslap set, get and mget loads, no failure reported
  memcaslap    memcaslap 90% get / 10% set, every get verified, values of
               100 B and 4 KiB, the 4 KiB ones through zero-copy sends
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvlib import Server, check, skip, stat_int  # noqa: E402


def tool(name):
    path = shutil.which(name)
    if not path:
        skip(f'{name} is not installed (Debian: libmemcached-tools)')
    return path


def run(cmd, timeout=60):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def memccapable(binary):
    exe = tool('memccapable')
    with Server(binary) as srv:
        rc, out = run([exe, '-a', '-t', '5', '-h', '127.0.0.1', '-p', str(srv.port)])
        tests = re.findall(r'^(ascii .*?)\s+\[(\w+)\]', out, re.M)
        failed = [t for t, r in tests if r != 'pass']
        check(rc == 0 and 'All tests passed' in out and tests and not failed,
              f'memccapable: rc {rc}, failed {failed}:\n{out[-3000:]}')
        print(f'kv: memccapable -a: {len(tests)} of {len(tests)} ASCII tests pass')


def memcslap(binary):
    exe = tool('memcslap')
    with Server(binary) as srv:
        server = f'127.0.0.1:{srv.port}'
        for test, extra in (('set', ['-e', '4000']), ('get', ['-e', '4000']),
                            ('mget', ['-e', '100', '-l', '2000'])):
            rc, out = run([exe, '-s', server, '-t', test, '-c', '4'] + extra)
            check(rc == 0 and 'ailure' not in out and 'rror' not in out,
                  f'memcslap -t {test}: rc {rc}:\n{out[-2000:]}')
        st = srv.connect().stats()
        check(stat_int(st, 'cmd_set') >= 16000 and stat_int(st, 'get_hits') > 0,
              f'memcslap load reached the server: {st}')
        print(f'kv: memcslap set/get/mget by 4 threads: {st["cmd_set"]} sets, '
              f'{st["cmd_get"]} gets, {st["get_hits"]} hits')


def memcaslap(binary):
    exe = tool('memcaslap')
    with Server(binary, '--zc-threshold', '2048') as srv:
        for size in (100, 4096):
            rc, out = run([exe, '-s', f'127.0.0.1:{srv.port}', '-T', '2', '-c', '16',
                           '-t', '2s', '-X', str(size), '-v', '1.0'], timeout=30)
            fields = dict(re.findall(r'^(\w+): (\d+)', out, re.M))
            check(rc == 0 and int(fields.get('cmd_get', 0)) > 0,
                  f'memcaslap {size} B: rc {rc}:\n{out[-2000:]}')
            check(fields.get('verify_failed') == '0',
                  f'memcaslap {size} B: values failed verification:\n{out[-2000:]}')
            print(f'kv: memcaslap {size} B: {fields["cmd_get"]} gets (all verified), '
                  f'{fields["cmd_set"]} sets, {fields.get("get_misses")} misses')
        st = srv.connect().stats()
        check(stat_int(st, 'zc_sends') > 0, '4 KiB values went zero-copy')
        print(f'kv: {st["zc_sends"]} zero-copy sends ({st["zc_copied"]} copied by the kernel)')


if __name__ == '__main__':
    {'memccapable': memccapable, 'memcslap': memcslap,
     'memcaslap': memcaslap}[sys.argv[2]](sys.argv[1])
