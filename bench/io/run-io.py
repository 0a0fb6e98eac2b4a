#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/io/run-io.py - the io layer's benchmarks, side by side in one run.

usage: run-io.py [--build DIR] [--seconds S] [--reps N] [--quick]
                 [--json OUT] [--markdown] [--target zram|tmpfs]

1. Random reads, Debian's fio (ioengine=io_uring direct=1 rw=randread
   registerfiles=1, fixedbufs=1 and fixedbufs=0; norandommap and
   gtod_reduce so that fio's own bookkeeping is not what is measured)
   against the same workload from genpool buffers (genpool-iobench
   randread: static per-slot registered buffers, gp_iobuf_alloc/free per
   I/O, and the unregistered pool), bs 4 KiB / 64 KiB, iodepth 1/32/128.
   IOPS, and CPU per I/O = user + system time of the whole process tree
   (RUSAGE_CHILDREN deltas: fio's job process and io-wq workers
   included) / I/Os.  The target is /dev/zram0 (sized to 1 GiB and
   filled with random data when it is unsized, reset afterwards) so the
   CPU cost of the I/O path shows; if zram0 is busy or absent, a 1 GiB
   file on /dev/shm (tmpfs: no O_DIRECT, so direct=0 on both sides).
2. Registration of 1 GiB: 4 KiB pages vs THP vs 2 MiB hugetlb (512 pages
   reserved through sysfs and the old value put back; skipped with the
   reason otherwise), then a clone into a second ring, and the per-ring
   registration for comparison: time and VmPin.
3. gp_iobuf_alloc+free pair vs gen_pool_alloc+free on the same pool.

Medians over --reps (default 1: the machine is shared, figures are
preliminary).  Needs root (zram, hugepages).  Python 3 stdlib.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ZRAM = "/sys/block/zram0"
SHM_FILE = "/dev/shm/genpool-iobench.dat"
HP2M = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"


def run_measured(cmd):
    """Run @cmd; its stdout and the CPU seconds it and its children used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, cpu


def read_int(path):
    with open(path) as f:
        return int(f.read().split()[0])


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


class Target:
    """zram0 taken and given back, or a tmpfs file."""

    def __init__(self, want):
        self.zram = False
        if want != "tmpfs" and os.path.exists(ZRAM):
            try:
                if read_int(ZRAM + "/disksize") == 0:
                    write(ZRAM + "/disksize", 1 << 30)
                    self.zram = True
            except OSError as e:
                print(f"run-io: zram0 not usable ({e}); tmpfs instead",
                      file=sys.stderr)
        if self.zram:
            self.path, self.direct = "/dev/zram0", 1
            self.what = "zram0 (1 GiB, lzo-rle, random data), O_DIRECT"
        else:
            self.path, self.direct = SHM_FILE, 0
            self.what = "1 GiB file on /dev/shm (tmpfs), buffered (no O_DIRECT)"
        subprocess.run(["dd", "if=/dev/urandom", "of=" + self.path, "bs=1M",
                        "count=1024", "status=none"]
                       + (["oflag=direct"] if self.zram else []), check=True)

    def close(self):
        if self.zram:
            # A ring's exit (and udev's probe) may hold the device a moment.
            for _ in range(100):
                try:
                    write(ZRAM + "/reset", 1)
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                print("run-io: could not reset zram0; do it by hand: "
                      "echo 1 > %s/reset" % ZRAM, file=sys.stderr)
        elif os.path.exists(SHM_FILE):
            os.unlink(SHM_FILE)


def fio_run(t, bs, depth, fixed, secs):
    cmd = ["fio", "--name=rr", "--filename=" + t.path,
           "--ioengine=io_uring", "--direct=%d" % t.direct, "--rw=randread",
           "--bs=%d" % bs, "--iodepth=%d" % depth,
           "--fixedbufs=%d" % fixed, "--registerfiles=1",
           "--norandommap=1", "--randrepeat=0", "--gtod_reduce=1",
           "--size=1g", "--runtime=%g" % secs, "--time_based=1",
           "--output-format=json"]
    out, cpu = run_measured(cmd)
    rd = json.loads(out)["jobs"][0]["read"]
    return rd["iops"], cpu * 1e9 / max(rd["total_ios"], 1)


def gp_run(iobench, t, bs, depth, mode, secs):
    out, cpu = run_measured([iobench, "randread", t.path, str(bs), str(depth),
                             str(secs), mode])
    r = json.loads(out)
    return r["iops"], cpu * 1e9 / max(r["ios"], 1)


VARIANTS = [("fio fixedbufs=1", "fio", 1), ("genpool static", "gp", "static"),
            ("genpool alloc/free per I/O", "gp", "perio"),
            ("fio fixedbufs=0", "fio", 0), ("genpool unregistered", "gp", "unreg")]


def randread(iobench, t, sizes, depths, secs, reps):
    rows = []
    for bs in sizes:
        for depth in depths:
            row = {"bs": bs, "depth": depth}
            samples = {name: [] for name, _, _ in VARIANTS}
            for _ in range(reps):
                # Interleaved, so drift in the machine's load hits all alike.
                for name, kind, arg in VARIANTS:
                    if kind == "fio":
                        samples[name].append(fio_run(t, bs, depth, arg, secs))
                    else:
                        samples[name].append(gp_run(iobench, t, bs, depth, arg, secs))
            for name, s in samples.items():
                row[name] = {"iops": statistics.median(x[0] for x in s),
                             "cpu_ns_per_io": statistics.median(x[1] for x in s)}
            rows.append(row)
            print("run-io: bs %d depth %d done" % (bs, depth), file=sys.stderr)
    return rows


def median_of(runs):
    """Field-wise median of equal-shaped JSON objects (numbers only)."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: median_of([r[k] for r in runs]) for k in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistics.median(runs)
    return first


def registration(iobench, mib, reps):
    out = []
    for backing in ["anon", "thp", "hugetlb-2m"]:
        old = None
        try:
            if backing == "hugetlb-2m":
                old = read_int(HP2M)
                write(HP2M, old + mib // 2)
                if read_int(HP2M) < old + mib // 2:
                    out.append({"backing": backing,
                                "skipped": "could not reserve %d pages" % (mib // 2)})
                    continue
            runs = []
            for _ in range(reps):
                res = subprocess.run([iobench, "register", backing, str(mib)],
                                     capture_output=True, text=True)
                if res.returncode:
                    break
                runs.append(json.loads(res.stdout))
            if len(runs) < reps:
                out.append({"backing": backing, "skipped": res.stderr.strip()})
            else:
                out.append(median_of(runs))
        finally:
            if old is not None:
                write(HP2M, old)
    return out


def pairs(iobench, iters, reps):
    return [median_of([json.loads(subprocess.run(
        [iobench, "pair", str(s), str(iters)], check=True,
        capture_output=True, text=True).stdout) for _ in range(reps)])
        for s in (4096, 65536)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--quick", action="store_true",
                    help="4 KiB at depth 1 and 32 only, 1 s each, 256 MiB registration")
    ap.add_argument("--target", choices=["zram", "tmpfs"], default="zram")
    ap.add_argument("--parts", default="randread,register,pair",
                    help="comma-separated: randread,register,pair")
    ap.add_argument("--json")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    iobench = os.path.join(a.build, "bench", "io", "genpool-iobench")
    if not os.access(iobench, os.X_OK):
        sys.exit("run-io: %s not built (ninja -C %s)" % (iobench, a.build))
    sizes, depths, mib = [4096, 65536], [1, 32, 128], 1024
    if a.quick:
        sizes, depths, mib, a.seconds = [4096], [1, 32], 256, 1
    parts = set(a.parts.split(","))
    res = {"target": "", "seconds": a.seconds, "reps": a.reps,
           "cpu": open("/proc/cpuinfo").read().split("model name")[1]
           .split("\n")[0].strip(": \t"),
           "kernel": os.uname().release, "randread": [], "registration": [],
           "pair": []}
    if "randread" in parts:
        t = Target(a.target)
        try:
            res["target"] = t.what
            res["randread"] = randread(iobench, t, sizes, depths, a.seconds, a.reps)
        finally:
            t.close()
    if "register" in parts:
        res["registration"] = registration(iobench, mib, a.reps)
    if "pair" in parts:
        res["pair"] = pairs(iobench, 200000 if a.quick else 1000000, a.reps)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    print("machine: %s, kernel %s" % (res["cpu"], res["kernel"]))
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import table  # the one renderer of these rows (bench/table.py)
    out = []
    table.io_tables(res, a.markdown, out)
    print("\n".join(out))


if __name__ == "__main__":
    main()
