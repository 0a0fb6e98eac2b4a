#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/count.py - instructions and locked instructions per operation,
counted by callgrind (repeatable on a busy machine, unlike time).

usage: count.py [--build DIR] [--n N] [CASE ...]
  CASE is "IMPL:ALGO:OCC:SIZE:OP" (see bench/count.cc), e.g.
  engine:first_fit:0:64:pair or engine:first_fit:0:64:bulk32; without
  cases a default set (first fit and best fit, 0/50/90%, 64 B and 4 KiB,
  engine and the kernel-true baseline, and bulk of 32).

Runs build/bench/genpool-count under valgrind --tool=callgrind, collecting
only inside measure() (the N operations), with per-instruction costs; the
binary is linked without PIE so that callgrind's addresses are objdump's.
A locked instruction is one with a lock prefix or an xchg with memory.
Prints one row per case: instructions per op, locked instructions per op
(for bulk: per object as well).  Python 3 stdlib, valgrind, objdump.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

DEFAULT = [
    "%s:%s:%d:%d:pair" % (impl, algo, occ, size)
    for algo in ("first_fit", "best_fit")
    for occ in (0, 50, 90)
    for size in (64, 4096)
    for impl in ("engine", "kernel")
] + ["engine:first_fit:0:64:bulk32", "engine:first_fit:50:64:bulk32"]


def locked_addresses(binary):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary],
                         check=True, capture_output=True, text=True).stdout
    locked = set()
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)$", line)
        if not m:
            continue
        ins = m.group(2)
        if ins.startswith("lock ") or \
                (ins.startswith("xchg") and "(" in ins):
            locked.add(int(m.group(1), 16))
    return locked


def self_costs(path):
    """{address: Ir} from a callgrind file written with --dump-instr=yes
    --dump-line=no --compress-pos=no (cost lines after calls= are the
    callee's inclusive cost and are skipped)."""
    costs = {}
    total = 0
    skip_next = False
    with open(path) as f:
        for line in f:
            if line.startswith("calls="):
                skip_next = True
                continue
            m = re.match(r"^(0x[0-9a-f]+)\s+(\d+)", line)
            if not m:
                continue
            if skip_next:
                skip_next = False
                continue
            a, ir = int(m.group(1), 16), int(m.group(2))
            costs[a] = costs.get(a, 0) + ir
            total += ir
    return costs, total


def count(binary, locked, case, n):
    impl, algo, occ, size, op = case.split(":")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind",
                        "--toggle-collect=measure", "--dump-instr=yes",
                        "--dump-line=no", "--compress-pos=no",
                        "--compress-strings=no",
                        "--callgrind-out-file=" + out, binary, impl, algo,
                        occ, size, op, str(n)],
                       check=True, capture_output=True, text=True)
        costs, total = self_costs(out)
    locks = sum(ir for a, ir in costs.items() if a in locked)
    per = int(op[4:]) if op.startswith("bulk") else 1
    return total / n, locks / n, per


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build-rel")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    binary = os.path.join(a.build, "bench", "genpool-count")
    locked = locked_addresses(binary)
    print("%-36s %10s %8s %12s %10s" % ("case", "instr/op", "locked",
                                         "instr/obj", "locked/obj"))
    for case in a.cases or DEFAULT:
        n = a.n if not case.endswith("pair") else a.n
        ins, locks, per = count(binary, locked, case, n)
        print("%-36s %10.1f %8.2f %12.1f %10.3f" % (
            case, ins, locks, ins / per, locks / per))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
