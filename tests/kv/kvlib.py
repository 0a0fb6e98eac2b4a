# SPDX-License-Identifier: MIT
"""tests/kv/kvlib.py - a genpool-kv server for one test, and a small client.

Server(binary, *args) starts `genpool-kv --port 0 --listen 127.0.0.1 ...`,
reads the port from its first line and, on exit, stops it with SIGTERM and
checks that it ended cleanly (exit 0, nothing on stderr from a sanitizer).
A machine without a usable io_uring makes the test skip (exit 77).
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

SKIP = 77


def skip(why):
    print(f'kv: SKIP: {why}')
    sys.exit(SKIP)


class Server:
    def __init__(self, binary, *args, threads=2):
        self.binary = binary
        self.args = ['--port', '0', '--listen', '127.0.0.1',
                     '--threads', str(threads)] + [str(a) for a in args]
        self.proc = None
        self.port = None

    def __enter__(self):
        self.proc = subprocess.Popen([self.binary] + self.args,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r'listening on [\d.]+:(\d+)', line)
        if not m:
            err = self.proc.stderr.read()
            self.proc.wait(timeout=10)
            if 'io_uring' in err or 'buffer ring' in err:
                skip(f'genpool-kv cannot run here: {err.strip()}')
            raise RuntimeError(f'server did not start: {line!r} {err!r}')
        self.port = int(m.group(1))
        return self

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop the server; returns (exit status, seconds, stderr)."""
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f'server ignored {sig!r} for {timeout} s')
        err = self.proc.stderr.read()
        return rc, time.monotonic() - t0, err

    def __exit__(self, exc_type, exc, tb):
        if self.proc.poll() is not None:
            print(f'kv: the server died (status {self.proc.returncode}):\n'
                  f'{self.proc.stderr.read()[-6000:]}', file=sys.stderr)
            check(exc_type is not None, 'the server died')
        else:
            rc, _, err = self.stop()
            if exc_type is None:
                check(rc == 0, f'server exit status {rc}: {err[-2000:]}')
                check('Sanitizer' not in err and 'runtime error' not in err,
                      f'sanitizer report: {err[-4000:]}')
        return False

    def connect(self, timeout=10):
        return Client(self.port, timeout)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


class Client:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(1 << 20)
        if not d:
            raise EOFError('server closed the connection')
        self.buf += d

    def readline(self):
        while b'\r\n' not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line + b'\r\n'

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def until_version(self):
        """Everything before the reply to a 'version' sent after it."""
        self.send(b'version\r\n')
        out = b''
        while True:
            line = self.readline()
            if line.startswith(b'VERSION '):
                return out
            out += line
            if line.startswith(b'VALUE '):
                n = int(line.split()[3])
                out += self.read(n + 2)

    def closed(self, timeout=5):
        """True if the server closes the connection (after what is queued)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (ConnectionResetError, socket.timeout):
            return False

    def cmd(self, line):
        self.send(line)
        return self.readline()

    def set(self, key, value, flags=0, exptime=0, noreply=False):
        nr = b' noreply' if noreply else b''
        self.send(b'set %s %d %d %d%s\r\n%s\r\n' % (key, flags, exptime,
                                                   len(value), nr, value))
        if not noreply:
            return self.readline()
        return None

    def get_many(self, keys, cmd=b'get'):
        """{key: value} for the keys found."""
        self.send(cmd + b' ' + b' '.join(keys) + b'\r\n')
        found = {}
        while True:
            line = self.readline()
            if line == b'END\r\n':
                return found
            parts = line.split()
            check(parts[0] == b'VALUE', f'unexpected {line!r}')
            found[parts[1]] = self.read(int(parts[3]) + 2)[:-2]

    def get(self, key):
        return self.get_many([key]).get(key)

    def stats(self, arg=b''):
        self.send(b'stats' + (b' ' + arg if arg else b'') + b'\r\n')
        st = {}
        while True:
            line = self.readline()
            if line == b'END\r\n':
                return st
            _, name, value = line.decode().rstrip('\r\n').split(' ', 2)
            st[name] = value


def stat_int(st, name):
    return int(st[name])
