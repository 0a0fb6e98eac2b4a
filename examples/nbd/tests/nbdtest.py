#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""genpool-nbd against real clients and a hostile raw client.

usage: nbdtest.py SERVER_BINARY WORKDIR CASE [--no-zerocopy]

Each case starts its own server on a free loopback port (--port 0), runs
its clients with bounded sizes and timeouts, stops the server with SIGTERM
and checks that it exited 0 with every buffer back in the pool.  Exit 0
pass, 1 fail, 77 skip (a client tool or io_uring missing).
"""
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdclient import *  # noqa: E402,F401,F403

BIN = WORK = None
EXTRA = []
MiB = 1 << 20


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def need(*tools):
    t = tool_missing(*tools)
    if t:
        raise Skip("%s is not installed (scripts/deps.sh installs it)" % t)


def run(cmd, timeout=60, **kw):
    """Run a client; its output, or an AssertionError with it."""
    # In WORK: fio leaves its verify state files in the current directory.
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=WORK,
                       **kw)
    check(p.returncode == 0, "%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode,
                                                       p.stdout, p.stderr))
    return p.stdout


def backing(size, name="disk", data=None, where=None):
    path = os.path.join(where or WORK, name)
    with open(path, "wb") as f:
        if data is not None:
            f.write(data)
        f.truncate(size)
    return path


def server(path, *args, **kw):
    return Server(BIN, path, *(list(args) + EXTRA), **kw)


def stat(err, name):
    """A counter ("name N") from the last stats the server printed: at exit,
    after any it printed on SIGUSR1."""
    m = re.search(r"\b%s (\d+)" % name, err[err.rfind("genpool-nbd: stats ("):])
    check(m, "no '%s' in stats: %s" % (name, err))
    return int(m.group(1))


def live_stat(s, name):
    """A counter of the running server: from the stats it prints on SIGUSR1."""
    before = s.stderr().count("stats (SIGUSR1)")
    s.send_signal(signal.SIGUSR1)
    check(wait_until(lambda: s.stderr().count("stats (SIGUSR1)") > before),
          "no stats on SIGUSR1")
    return stat(s.stderr(), name)


def rand_bytes(n, seed):
    return random.Random(seed).randbytes(n)


# ------------------------------------------------------------ real clients

def case_nbdinfo():
    need("nbdinfo")
    with server(backing(5 * MiB + 512)) as s:
        out = run(["nbdinfo", s.uri()])
        check("export-size: %d" % (5 * MiB + 512) in out, "size not seen:\n" + out)
        check("is_read_only: false" in out and "can_fua: true" in out, out)
        out = run(["nbdinfo", "--list", s.uri()])
        check("genpool-nbd export" in out, "export not listed:\n" + out)
        err = s.stop()
    check(stat(err, "connections") == 1, err)   # --list never enters transmission
    with server(backing(MiB, "ro"), "--readonly") as s:
        out = run(["nbdinfo", s.uri()])
        check("is_read_only: true" in out and "can_trim: false" in out, out)
        s.stop()


def case_nbdcopy():
    need("nbdcopy")
    src = backing(12 * MiB + 4096, "src", rand_bytes(12 * MiB + 4096, 1))
    back = os.path.join(WORK, "back")
    disk = backing(12 * MiB + 4096)
    with server(disk) as s:
        run(["nbdcopy", src, s.uri()])
        run(["nbdcopy", s.uri(), back])
        s.stop()
    with open(src, "rb") as a, open(back, "rb") as b, open(disk, "rb") as d:
        ref = a.read()
        check(ref == b.read(), "nbdcopy out differs from what went in")
        check(ref == d.read(), "backing file differs from what went in")


def case_qemu():
    need("qemu-io", "qemu-img")
    size = 8 * MiB
    ref = backing(size, "ref", rand_bytes(size, 2))
    disk = backing(size, "disk", rand_bytes(size, 2))
    # Aligned and unaligned patterns, zeroes, discard, flush; each verified.
    cmds = ["write -P 0xab 0 1M", "read -P 0xab 0 1M",
            "write -P 0x5a 1000 3333", "read -P 0x5a 1000 3333",
            "read -P 0xab 0 1000", "read -P 0xab 4333 1000",
            "write -P 0x11 5M 4096", "write -P 0x22 5M 1", "read -P 0x22 5M 1",
            "read -P 0x11 5242881 4095",
            "write -z 2M 64k", "read -P 0 2M 64k",
            "write -z 3000001 7777", "read -P 0 3000001 7777",
            "aio_write -P 0x33 6M 64k", "aio_write -P 0x44 7M 64k", "aio_flush",
            "read -P 0x33 6M 64k", "read -P 0x44 7M 64k", "flush"]
    args = []
    for c in cmds:
        args += ["-c", c]
    with server(disk) as s:
        out = run(["qemu-io", "-f", "raw"] + args + [s.uri()])
        check("verification failed" not in out and "error" not in out.lower(), out)
        # The same writes on a local copy: the two images must be equal.
        run(["qemu-io", "-f", "raw"] + args + [ref])
        out = run(["qemu-img", "compare", "-f", "raw", "-F", "raw", s.uri(), ref])
        check("identical" in out, out)
        s.stop()


def case_fio():
    need("fio")
    with server(backing(16 * MiB)) as s:
        run(["fio", "--name=verify", "--ioengine=nbd", "--uri=" + s.uri(),
             "--rw=randrw", "--bs=4k", "--iodepth=16", "--size=16M", "--io_size=8M",
             "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
             "--randrepeat=0", "--output-format=terse"], timeout=60)
        run(["fio", "--name=verify64", "--ioengine=nbd", "--uri=" + s.uri(),
             "--rw=randwrite", "--bs=64k", "--iodepth=8", "--size=16M",
             "--verify=md5", "--do_verify=1", "--verify_fatal=1",
             "--output-format=terse"], timeout=60)
        err = s.stop()
    check(stat(err, "error replies") == 0, err)


def case_unix():
    need("nbdinfo", "nbdcopy")
    sock = os.path.join(WORK, "nbd.sock")
    src = backing(2 * MiB, "src", rand_bytes(2 * MiB, 3))
    with server(backing(2 * MiB), unix=sock) as s:
        out = run(["nbdinfo", s.uri()])
        check("export-size: %d" % (2 * MiB) in out, out)
        run(["nbdcopy", src, s.uri()])
        back = os.path.join(WORK, "back")
        run(["nbdcopy", s.uri(), back])
        check(open(src, "rb").read() == open(back, "rb").read(), "unix copy differs")
        s.stop()
    check(not os.path.exists(sock), "socket left behind")


# ------------------------------------------------------------ our raw client

def pipelined_rw(c, base, n, size, seed):
    """@n pipelined writes then @n pipelined reads of random blocks in
    [base, base+n*size); replies are matched by cookie (any order)."""
    rnd = random.Random(seed)
    blocks = {}
    cookies = {}
    for i in range(n):
        data = rnd.randbytes(size)
        blocks[i] = data
        cookies[c.send_request(CMD_WRITE, base + i * size, size, 0, data)] = i
    for _ in range(n):
        cookie, err, _ = c.reply()
        check(err == 0 and cookies.pop(cookie, None) is not None, "bad write reply")
    order = []
    for i in rnd.sample(range(n), n):
        cookies[c.send_request(CMD_READ, base + i * size, size)] = i
    for _ in range(n):
        cookie, err, data = c.reply()
        i = cookies.pop(cookie)
        order.append(i)
        check(err == 0 and data == blocks[i], "block %d read back wrong" % i)
    return order


def case_concurrent():
    nconn, n, size = 24, 32, 8192
    with server(backing(nconn * n * size)) as s:
        errors = []

        def one(k):
            try:
                c = Client(s.address()).handshake(structured=k % 2 == 0)
                pipelined_rw(c, k * n * size, n, size, k)
                c.disconnect()
            except Exception as e:  # noqa: BLE001
                errors.append("conn %d: %r" % (k, e))

        threads = [threading.Thread(target=one, args=(k,)) for k in range(nconn)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        check(not errors, "; ".join(errors))
        err = s.stop()
    check(stat(err, "connections") == nconn, err)


def case_hostile():
    size = 4 * MiB
    disk = backing(size)
    with server(disk) as s:
        good = Client(s.address()).handshake()

        def still_served(tag):
            data = rand_bytes(4096, hash(tag) & 0xffff)
            good.write(8192, data)
            check(good.read(8192, 4096) == data, "good client not served after " + tag)

        # Answered with the protocol's errors; the connection goes on.
        c = Client(s.address()).handshake(structured=False)
        check(c.call(CMD_READ, size - 100, 200)[0] == EINVAL, "read past the end")
        check(c.call(CMD_READ, 1 << 62, 1)[0] == EINVAL, "huge offset")
        check(c.call(CMD_WRITE, size - 10, 20, 0, b"x" * 20)[0] == EINVAL,
              "write past the end")
        check(c.call(CMD_TRIM, size, 1)[0] == EINVAL, "trim past the end")
        check(c.call(CMD_WRITE_ZEROES, 0, size + 1)[0] == EINVAL, "zero past the end")
        check(c.call(42, 0, 0)[0] == EINVAL, "unknown command")
        check(c.call(CMD_READ, 0, 4096, flags=1 << 9)[0] == EINVAL, "unknown flag")
        check(c.call(CMD_READ, 0, (32 << 20) + 1)[0] == EINVAL, "oversized read")
        # An oversized write within the drainable limit: payload skipped, EINVAL.
        big = (32 << 20) + 4096
        cookie = c.send_request(CMD_WRITE, 0, big)
        c.sock.sendall(b"\0" * big)
        check(c.reply() == (cookie, EINVAL, b""), "oversized write")
        check(c.read(0, 16) == b"\0" * 16, "oversized write changed data")
        check(c.call(CMD_READ, 0, 0) == (0, b""), "zero-length read")
        still_served("errors")
        c.disconnect()

        # Structured replies carry READ errors as error chunks.
        c = Client(s.address()).handshake(structured=True)
        check(c.call(CMD_READ, size, 1)[0] == EINVAL, "structured read error")
        c.disconnect()

        # Dropped: bad magic, a write too large to drain, a cut payload.
        for tag, req in (("bad magic", dict(magic=0xdeadbeef)),
                         ("huge write", dict(cmd=CMD_WRITE, length=0xffffffff))):
            c = Client(s.address()).handshake()
            c.send_request(req.get("cmd", CMD_READ), 0, req.get("length", 512),
                           magic=req.get("magic", REQ_MAGIC))
            check(c.closed_by_server(), tag + ": connection not dropped")
            c.close()
            still_served(tag)
        c = Client(s.address()).handshake()
        c.send_request(CMD_WRITE, 0, 65536)
        c.sock.sendall(b"\x55" * 1000)
        c.close()
        still_served("disconnect mid-payload")
        check(good.read(0, 1000) == b"\0" * 1000, "half a write reached the disk")
        c = Client(s.address()).handshake()
        c.sock.sendall(struct.pack(">IHH", REQ_MAGIC, 0, CMD_READ))   # half a header
        c.close()
        still_served("half a header")

        # Handshake abuse.
        c = Client(s.address())
        c.greet()
        check(c.option(99) == [(REP_ERR_UNSUP, b"")], "unknown option")
        check(c.option(OPT_STARTTLS) == [(REP_ERR_UNSUP, b"")], "STARTTLS")
        check(c.option(OPT_LIST, b"x") == [(REP_ERR_INVALID, b"")], "LIST with data")
        check(c.option(OPT_STRUCTURED_REPLY, b"x") == [(REP_ERR_INVALID, b"")],
              "STRUCTURED_REPLY with data")
        check(c.option(OPT_GO, struct.pack(">I", 100) + b"ab")[-1][0] == REP_ERR_INVALID,
              "malformed GO")
        c.send_option(OPT_INFO, b"\0" * 20000)
        check(c.option_reply()[1] == REP_ERR_TOO_BIG, "oversized option")
        replies = c.option(OPT_INFO, struct.pack(">IH", 0, 0))
        check(replies[-1][0] == REP_ACK, "INFO after abuse")
        check(c.option(OPT_ABORT) == [(REP_ACK, b"")], "ABORT")
        check(c.closed_by_server(), "ABORT did not close")
        c.close()
        c = Client(s.address())
        c.greet(client_flags=0x80)
        check(c.closed_by_server(), "unknown client flags accepted")
        c.close()
        c = Client(s.address())
        c.greet()
        c.send_option(OPT_INFO, length=1 << 30)
        check(c.closed_by_server(), "1 GiB option not dropped")
        c.close()
        c = Client(s.address())
        c.greet()
        c.sock.sendall(struct.pack(">Q", 0x1234))
        c.close()
        # Old-style EXPORT_NAME still works.
        c = Client(s.address()).handshake(structured=False, go=False)
        check(c.size == size, "EXPORT_NAME size")
        c.disconnect()
        still_served("handshake abuse")
        good.disconnect()
        err = s.stop()
    check(stat(err, "dropped") >= 4, "drops not counted: " + err)
    with server(disk, "--readonly") as s:
        c = Client(s.address()).handshake()
        for cmd in (CMD_WRITE, CMD_TRIM, CMD_WRITE_ZEROES):
            payload = b"z" * 512 if cmd == CMD_WRITE else b""
            check(c.call(cmd, 0, 512, 0, payload)[0] == EPERM, "read-only %d" % cmd)
        check(c.read(0, 512) == b"\0" * 512, "read-only export changed")
        check(c.call(CMD_FLUSH, 0, 0)[0] == 0, "flush on read-only")
        c.disconnect()
        s.stop()


def case_exhaust():
    """More WRITE payload in flight than the 128 MiB buffer pool holds:
    requests wait for buffers (back-pressure; the io layer's eventfd wake-up
    retries them), none fails, data is right."""
    nconn, size = 6, 32 * MiB
    with server(backing(nconn * size)) as s:
        conns = [Client(s.address()).handshake() for _ in range(nconn)]
        blocks = [bytes([k + 1]) * size for k in range(nconn)]
        # Every header first: each request asks for its 32 MiB buffer
        # before any payload arrives (6 x 32 MiB > the pool).
        for k, c in enumerate(conns):
            c.send_request(CMD_WRITE, k * size, size)
        # Payloads only once the server has met the exhaustion (a fixed
        # sleep could end before a starved server had read the headers).
        if "--no-zerocopy" not in EXTRA:
            check(wait_until(lambda: live_stat(s, "waits for a buffer") > 0),
                  "the pool never ran out before the payloads")
        senders = [threading.Thread(target=c.sock.sendall, args=(blocks[k],))
                   for k, c in enumerate(conns)]
        for t in senders:
            t.start()
        for c in conns:
            check(c.reply()[1] == 0, "a write failed under pool exhaustion")
        for t in senders:
            t.join(TIMEOUT)
        for k in range(nconn):
            check(conns[0].read(k * size, size) == blocks[k], "block %d wrong" % k)
        for c in conns:
            c.disconnect()
        err = s.stop()
    if "--no-zerocopy" not in EXTRA:
        check(stat(err, "waits for a buffer") > 0, "the pool never ran out: " + err)
        # The parked requests were woken by the frees, not by a timer.
        check(stat(err, "wake-ups") > 0, "no wake-up from the io layer: " + err)


def case_unaligned(where=None):
    """Random unaligned reads, writes and zeroes against a byte model, from
    two connections at once writing different bytes of the same blocks."""
    size = 256 * 1024
    init = rand_bytes(size, 4)
    disk = backing(size, "disk", init, where)
    model = bytearray(init)
    with server(disk) as s:
        conns = [Client(s.address()).handshake(structured=k == 0) for k in range(2)]
        rnd = random.Random(5)
        for step in range(300):
            # Each connection touches its own interleaved 100-byte stripes,
            # so concurrent requests never overlap but share 512-byte blocks.
            stripe = rnd.randrange(size // 200)
            cookies = []
            for k, c in enumerate(conns):
                off = stripe * 200 + k * 100 + rnd.randrange(50)
                n = rnd.randrange(1, 100 - (off % 100) + 1)
                op = rnd.choice("wwrz")
                if op == "w":
                    data = rnd.randbytes(n)
                    model[off:off + n] = data
                    cookies.append((c, c.send_request(CMD_WRITE, off, n,
                                                      rnd.choice((0, FLAG_FUA)), data),
                                    None))
                elif op == "z":
                    model[off:off + n] = bytes(n)
                    cookies.append((c, c.send_request(CMD_WRITE_ZEROES, off, n,
                                                      FLAG_NO_HOLE), None))
                else:
                    cookies.append((c, c.send_request(CMD_READ, off, n),
                                    (off, n)))
            for c, cookie, rd in cookies:
                got, err, data = c.reply()
                check(got == cookie and err == 0, "step %d: error %d" % (step, err))
                if rd:
                    off, n = rd
                    check(data == bytes(model[off:off + n]),
                          "step %d: read %d+%d wrong" % (step, off, n))
        for k in range(0, size, 65536):
            check(conns[0].read(k, 65536) == bytes(model[k:k + 65536]),
                  "final read at %d" % k)
        for c in conns:
            c.disconnect()
        err = s.stop()
    with open(disk, "rb") as f:
        check(f.read() == bytes(model), "file differs from the model")
    if "O_DIRECT" in err:
        check(stat(err, r"unaligned \(bounced\)") > 0, "no request was bounced: " + err)


def case_tmpfs():
    """The same model test with the file on tmpfs (no ZERO_RANGE there)."""
    shm = "/dev/shm"
    if not os.path.isdir(shm) or not os.access(shm, os.W_OK):
        raise Skip("no writable /dev/shm")
    d = tempfile.mkdtemp(prefix="genpool-nbd-", dir=shm)
    try:
        case_unaligned(where=d)
    finally:
        shutil.rmtree(d)


def case_killed():
    """A client killed mid-stream, and another cut off mid-pipeline: the
    server keeps serving and frees everything."""
    need("nbdcopy")
    size = 32 * MiB
    src = backing(size, "src", rand_bytes(size, 6))
    with server(backing(size)) as s:
        p = subprocess.Popen(["nbdcopy", src, s.uri()], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        # Killed once its writes are arriving (a fixed sleep killed a
        # starved nbdcopy before it had connected: nothing was tested and
        # the connection count came up short).
        check(wait_until(lambda: p.poll() is not None or live_stat(s, "written") > 0),
              "nbdcopy never wrote")
        p.kill()
        p.wait()
        c = Client(s.address()).handshake()
        for i in range(64):
            c.send_request(CMD_WRITE, i * 65536, 65536, 0, b"\x77" * 65536)
        for i in range(32):
            c.send_request(CMD_READ, i * 65536, 65536)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()   # reset, replies unread
        c = Client(s.address()).handshake()
        pipelined_rw(c, 0, 16, 4096, 7)
        c.disconnect()
        err = s.stop()
    check(stat(err, "connections") >= 3, err)


def case_signals():
    """SIGUSR1 prints stats; SIGTERM with requests in flight: every request
    the server took is answered, and answered writes are on disk."""
    size = 8 * MiB
    disk = backing(size)
    s = server(disk)
    with s:
        c = Client(s.address()).handshake()
        c.write(0, b"a" * 4096)
        s.send_signal(signal.SIGUSR1)
        check(wait_until(lambda: "stats (SIGUSR1)" in s.stderr()), "no stats on SIGUSR1")
        blocks = {}
        for i in range(64):
            data = bytes([i + 1]) * 65536
            blocks[c.send_request(CMD_WRITE, i * 65536, 65536, FLAG_FUA, data)] = i
        idle = Client(s.address())     # stuck in the handshake: must not delay exit
        idle.greet()
        t0 = time.monotonic()
        s.send_signal(signal.SIGTERM)
        answered = []
        try:
            while blocks:
                cookie, err, _ = c.reply()
                check(err == 0, "write failed during shutdown: %d" % err)
                answered.append(blocks.pop(cookie))
        except (EOFError, ConnectionResetError):
            pass
        err = s.stop()
        check("stats (exit)" in err, err)
        check(time.monotonic() - t0 < 5, "shutdown waited for an idle handshake")
        idle.close()
    with open(disk, "rb") as f:
        for i in answered:
            f.seek(i * 65536)
            check(f.read(65536) == bytes([i + 1]) * 65536, "answered write %d lost" % i)
    check(answered, "no write was answered before the connection closed")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    global BIN, WORK
    if len(sys.argv) < 4 or sys.argv[3] not in CASES:
        print(__doc__ + "\ncases: " + " ".join(sorted(CASES)), file=sys.stderr)
        return 2
    BIN = os.path.abspath(sys.argv[1])
    EXTRA.extend(sys.argv[4:])
    os.makedirs(sys.argv[2], exist_ok=True)
    WORK = tempfile.mkdtemp(prefix="nbd-%s-" % sys.argv[3], dir=sys.argv[2])
    try:
        CASES[sys.argv[3]]()
    except Skip as e:
        print("SKIP:", e)
        return 77
    except RuntimeError as e:
        if "io_uring" in str(e) and "not start" in str(e):
            print("SKIP: io_uring unavailable:", e)
            return 77
        print("FAIL:", e)
        return 1
    except AssertionError as e:
        print("FAIL:", e)
        return 1
    shutil.rmtree(WORK)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
