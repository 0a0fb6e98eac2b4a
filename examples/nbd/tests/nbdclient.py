# SPDX-License-Identifier: MIT
"""A small raw-socket NBD client and a server launcher for genpool-nbd's tests.

The client speaks the wire format directly (doc/proto.md) so that tests can
send what real clients never would: bad magic, oversized lengths, unknown
commands, a connection cut in the middle of a payload.
"""
import os
import re
import select
import signal
import socket
import struct
import subprocess
import time

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
REP_MAGIC = 0x0003E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
STRUCT_MAGIC = 0x668E33EF

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY = 6, 7, 8
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3
REP_ERR_UNSUP, REP_ERR_INVALID = (1 << 31) + 1, (1 << 31) + 3
REP_ERR_TOO_BIG = (1 << 31) + 9
INFO_EXPORT, INFO_BLOCK_SIZE = 0, 3

CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
CMD_WRITE_ZEROES = 6
FLAG_FUA, FLAG_NO_HOLE = 1, 2
EPERM, EIO, EINVAL = 1, 5, 22
REPLY_FLAG_DONE = 1
REPLY_TYPE_NONE, REPLY_TYPE_OFFSET_DATA = 0, 1
REPLY_TYPE_ERROR = (1 << 15) + 1

TIMEOUT = 20.0


class ProtocolError(Exception):
    pass


class Server:
    """genpool-nbd on a free loopback port (or a Unix socket), stopped on exit."""

    def __init__(self, binary, file, *args, unix=None, threads=2):
        cmd = [binary, "--file", file, "--threads", str(threads)]
        cmd += ["--unix", unix] if unix else ["--port", "0"]
        cmd += list(args)
        self.errpath = file + ".stderr"
        self.err = open(self.errpath, "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err,
                                     text=True)
        self.port = None
        self.unix = unix
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if "listening on" not in line:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("server did not start: " + self.stderr())
        if not unix:
            self.port = int(line.rsplit(":", 1)[1])

    def uri(self):
        if self.unix:
            return "nbd+unix:///?socket=" + self.unix
        return "nbd://127.0.0.1:%d" % self.port

    def address(self):
        return self.unix if self.unix else ("127.0.0.1", self.port)

    def stderr(self):
        self.err.flush()
        with open(self.errpath) as f:
            return f.read()

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=TIMEOUT):
        """Stop the server; returns its exit status (asserting a clean exit)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("server did not stop within %ss" % timeout)
        self.proc.stdout.close()
        err = self.stderr()
        self.err.close()
        if rc != 0:
            raise RuntimeError("server exited %d: %s" % (rc, err))
        # Every buffer came back to the pool (no leak on any path): the
        # summary row of gp_stats_print() says 0 bytes in use, 0 allocations.
        m = re.search(r"^\s+pool\s+\d+\s+\d+\s+(\d+)\s+(\d+)",
                      err[err.rfind("stats (exit)"):], re.M)
        if "--no-zerocopy" not in err and not m:
            raise RuntimeError("no pool statistics at exit: " + err)
        if m and (m.group(1) != "0" or m.group(2) != "0"):
            raise RuntimeError("buffers not returned at exit: " + err)
        return err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Client:
    """One connection.  handshake() negotiates; then requests and replies."""

    def __init__(self, address):
        fam = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(address)
        self.structured = False
        self.pending = {}
        self.next_cookie = 1
        self.size = None
        self.flags = None

    def close(self):
        self.sock.close()

    def recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("server closed the connection")
            buf += chunk
        return bytes(buf)

    def closed_by_server(self):
        """True if the server closed (EOF or reset) within the timeout."""
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    # ---- handshake
    def greet(self, client_flags=3):
        magic, opt, hflags = struct.unpack(">QQH", self.recv_exact(18))
        if magic != NBDMAGIC or opt != IHAVEOPT:
            raise ProtocolError("bad greeting")
        self.sock.sendall(struct.pack(">I", client_flags))
        return hflags

    def send_option(self, opt, data=b"", length=None):
        n = len(data) if length is None else length
        self.sock.sendall(struct.pack(">QII", IHAVEOPT, opt, n) + data)

    def option_reply(self):
        magic, opt, rtype, n = struct.unpack(">QIII", self.recv_exact(20))
        if magic != REP_MAGIC:
            raise ProtocolError("bad option reply magic")
        return opt, rtype, self.recv_exact(n)

    def option(self, opt, data=b""):
        """Send an option; the list of (type, data) replies up to the final one."""
        self.send_option(opt, data)
        replies = []
        while True:
            _, rtype, d = self.option_reply()
            replies.append((rtype, d))
            if rtype not in (REP_INFO, REP_SERVER):
                return replies

    def handshake(self, structured=True, go=True):
        self.greet()
        if structured:
            (rtype, _), = self.option(OPT_STRUCTURED_REPLY)
            self.structured = rtype == REP_ACK
        if go:
            replies = self.option(OPT_GO, struct.pack(">IH", 0, 1) +
                                  struct.pack(">H", INFO_BLOCK_SIZE))
            if replies[-1][0] != REP_ACK:
                raise ProtocolError("GO refused: %r" % (replies,))
            for rtype, d in replies:
                if rtype == REP_INFO and struct.unpack(">H", d[:2])[0] == INFO_EXPORT:
                    self.size, self.flags = struct.unpack(">QH", d[2:12])
        else:
            self.send_option(OPT_EXPORT_NAME, b"")
            self.size, self.flags = struct.unpack(">QH", self.recv_exact(10))
        return self

    # ---- transmission
    def send_request(self, cmd, offset, length, flags=0, payload=b"", magic=REQ_MAGIC,
                     cookie=None):
        if cookie is None:
            cookie = self.next_cookie
            self.next_cookie += 1
        self.pending[cookie] = (cmd, length)
        self.sock.sendall(struct.pack(">IHHQQI", magic, flags, cmd, cookie, offset,
                                      length) + payload)
        return cookie

    def reply(self):
        """The next complete reply: (cookie, error, data)."""
        magic = struct.unpack(">I", self.recv_exact(4))[0]
        if magic == SIMPLE_MAGIC:
            err, cookie = struct.unpack(">IQ", self.recv_exact(12))
            cmd, length = self.pending.pop(cookie)
            data = self.recv_exact(length) if cmd == CMD_READ and not err else b""
            return cookie, err, data
        if magic != STRUCT_MAGIC:
            raise ProtocolError("bad reply magic %#x" % magic)
        flags, rtype, cookie, n = struct.unpack(">HHQI", self.recv_exact(16))
        body = self.recv_exact(n)
        if not flags & REPLY_FLAG_DONE:
            raise ProtocolError("multi-chunk replies are not expected from this server")
        self.pending.pop(cookie)
        if rtype == REPLY_TYPE_OFFSET_DATA:
            return cookie, 0, body[8:]
        if rtype == REPLY_TYPE_ERROR:
            return cookie, struct.unpack(">I", body[:4])[0], b""
        if rtype == REPLY_TYPE_NONE:
            return cookie, 0, b""
        raise ProtocolError("unexpected chunk type %d" % rtype)

    def call(self, cmd, offset, length, flags=0, payload=b""):
        cookie = self.send_request(cmd, offset, length, flags, payload)
        got, err, data = self.reply()
        if got != cookie:
            raise ProtocolError("reply for cookie %d, expected %d" % (got, cookie))
        return err, data

    def read(self, offset, length):
        err, data = self.call(CMD_READ, offset, length)
        if err:
            raise ProtocolError("read error %d" % err)
        return data

    def write(self, offset, data, flags=0):
        err, _ = self.call(CMD_WRITE, offset, len(data), flags, data)
        if err:
            raise ProtocolError("write error %d" % err)

    def disconnect(self):
        self.sock.sendall(struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_DISC, 0, 0, 0))
        self.sock.close()


def wait_until(pred, timeout=TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def tool_missing(*tools):
    """The first of @tools not on PATH, or None."""
    for t in tools:
        if not any(os.access(os.path.join(d, t), os.X_OK)
                   for d in os.environ.get("PATH", "").split(":")):
            return t
    return None
