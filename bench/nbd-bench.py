#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""genpool-nbd against nbdkit and qemu-nbd, measured by fio --ioengine=nbd.

usage: bench/nbd-bench.py [--build DIR] [--dir DIR] [--size BYTES]
                          [--runtime S] [--reps N] [--quick] [--json FILE]
                          [--points RW:BS:DEPTH,...] [--servers NAME,...]

Every server exports the same backing file (on tmpfs by default, so that
server CPU, not a disk, is what differs) over loopback TCP; for each of
randread/randwrite x bs 4k/64k x iodepth 1/32 one fio job runs against
each server in turn (interleaved, --reps rounds; medians reported).
Server CPU per I/O is the server's utime+stime delta from /proc/PID/stat
over the fio run, divided by the I/Os fio completed.

Servers: genpool-nbd (zero-copy), genpool-nbd --no-zerocopy, `nbdkit file`
(its default thread pool, page cache), `qemu-nbd` (--aio=io_uring
--cache=none, i.e. O_DIRECT as genpool-nbd).  A peer that is not
installed is skipped with the reason.  --quick: randread 4k and 64k and
randwrite 4k at iodepth 32 only, 2 s each, one round (the main job's
table).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_seconds(pid):
    """utime + stime of the whole process (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Peer:
    def __init__(self, name, cmd_fn, tool):
        self.name, self.cmd_fn, self.tool = name, cmd_fn, tool
        self.proc = None
        self.port = None

    def missing(self):
        if self.tool.startswith("/"):
            return None if os.access(self.tool, os.X_OK) else "%s not built" % self.tool
        return None if shutil.which(self.tool) else "%s not installed" % self.tool

    def start(self, path):
        self.port = free_port()
        self.proc = subprocess.Popen(self.cmd_fn(path, self.port),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_port(self.port, self.proc):
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None else ""
            self.stop()
            raise RuntimeError("%s did not start: %s" % (self.name, err))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def peers(build):
    gp = os.path.join(build, "examples", "nbd", "genpool-nbd")
    return [
        Peer("genpool-nbd", lambda p, port: [gp, "--file", p, "--port", str(port)], gp),
        Peer("genpool-nbd --no-zerocopy",
             lambda p, port: [gp, "--file", p, "--port", str(port), "--no-zerocopy"], gp),
        Peer("nbdkit file", lambda p, port: ["nbdkit", "-f", "-i", "127.0.0.1", "-p",
                                             str(port), "file", p], "nbdkit"),
        Peer("qemu-nbd", lambda p, port: ["qemu-nbd", "-f", "raw", "-t", "--shared=8",
                                          "-b", "127.0.0.1", "-p", str(port),
                                          "--aio=io_uring", "--cache=none", p],
             "qemu-nbd"),
    ]


def fio_run(port, rw, bs, depth, runtime, size):
    cmd = ["fio", "--name=b", "--ioengine=nbd", "--uri=nbd://127.0.0.1:%d" % port,
           "--rw=" + rw, "--bs=" + bs, "--iodepth=%d" % depth, "--size=%d" % size,
           "--time_based", "--runtime=%g" % runtime, "--ramp_time=0.3",
           "--output-format=json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=runtime + 60)
    if p.returncode:
        raise RuntimeError("fio failed: " + p.stderr[-500:])
    job = json.loads(p.stdout[p.stdout.index("{"):])["jobs"][0]
    side = job["read" if "read" in rw else "write"]
    return side["iops"], side["total_ios"]


def measure(peer, rw, bs, depth, runtime, size):
    c0 = cpu_seconds(peer.proc.pid)
    iops, ios = fio_run(peer.port, rw, bs, depth, runtime, size)
    c1 = cpu_seconds(peer.proc.pid)
    return iops, (c1 - c0) / ios * 1e6 if ios else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build-bench"))
    ap.add_argument("--dir", default="/dev/shm")
    ap.add_argument("--size", type=int, default=1 << 30)
    ap.add_argument("--runtime", type=float, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--device", help="export this file or block device as it is "
                    "(its contents are overwritten by the write runs)")
    ap.add_argument("--points", help="RW:BS:DEPTH,... instead of the full grid")
    ap.add_argument("--servers", help="comma-separated names to run (default all)")
    a = ap.parse_args()
    if shutil.which("fio") is None:
        print("nbd-bench: fio not installed: skipped")
        return 0
    points = [(rw, bs, d) for rw in ("randread", "randwrite") for bs in ("4k", "64k")
              for d in (1, 32)]
    if a.quick:
        points = [("randread", "4k", 32), ("randwrite", "4k", 32), ("randread", "64k", 32)]
        a.runtime, a.reps, a.size = 2, 1, min(a.size, 256 << 20)
    if a.points:
        points = [(rw, bs, int(d)) for rw, bs, d in
                  (p.split(":") for p in a.points.split(","))]
    ps = []
    for p in peers(os.path.abspath(a.build)):
        if a.servers and p.name not in a.servers.split(","):
            continue
        why = p.missing()
        if why:
            print("nbd-bench: skipping %s: %s" % (p.name, why))
        else:
            ps.append(p)
    if a.device:
        tmp, path = None, a.device
        a.dir = a.device
    else:
        tmp = tempfile.mkdtemp(prefix="nbd-bench-", dir=a.dir)
        path = os.path.join(tmp, "disk")
        with open(path, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(a.size >> 20):
                f.write(chunk)
    res = {}
    try:
        for rep in range(a.reps):
            for p in ps:
                p.start(path)
                try:
                    for pt in points:
                        res.setdefault((p.name,) + pt, []).append(
                            measure(p, *pt, a.runtime, a.size))
                finally:
                    p.stop()
    finally:
        if tmp:
            shutil.rmtree(tmp)
    print_table(ps, points, res, a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"server": k[0], "rw": k[1], "bs": k[2], "iodepth": k[3],
                        "iops": [r[0] for r in v], "cpu_us_per_io": [r[1] for r in v]}
                       for k, v in res.items()], f, indent=1)
    return 0


def print_table(ps, points, res, a):
    print("\nNBD servers, fio --ioengine=nbd over loopback TCP, backing file on %s, "
          "%gs per run, median of %d (kIOPS / server CPU us per I/O)" %
          (a.dir, a.runtime, a.reps))
    names = [p.name for p in ps]
    print("| workload | " + " | ".join(names) + " | genpool vs best peer |")
    print("|---" * (len(names) + 2) + "|")
    for pt in points:
        cells, med = [], {}
        for n in names:
            v = res[(n,) + pt]
            med[n] = (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
            cells.append("%.1f / %.1f" % (med[n][0] / 1e3, med[n][1]))
        peer = [med[n] for n in ("nbdkit file", "qemu-nbd") if n in med]
        ratio = ""
        if peer and "genpool-nbd" in med:
            best_iops = max(x[0] for x in peer)
            best_cpu = min(x[1] for x in peer)
            ratio = "IOPS %.2fx, CPU/IO %.2fx" % (med["genpool-nbd"][0] / best_iops,
                                                  med["genpool-nbd"][1] / best_cpu)
        print("| %s %s qd%d | %s | %s |" % (pt[0], pt[1], pt[2], " | ".join(cells), ratio))


if __name__ == "__main__":
    sys.exit(main())
