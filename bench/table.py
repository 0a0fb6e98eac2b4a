#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/table.py - compact comparison tables from genpool-bench JSON.

usage: table.py RESULT.json [--time cpu|real] [--markdown] [--threads N,..]

Reads the output of genpool-bench --benchmark_format=json (or
--benchmark_out=...), with or without repetitions (with repetitions the
median aggregate is used), and prints:
  - the machine, compiler and build type, and where every peer ran from;
  - pool alloc+free: per (occupancy, algorithm, size) row the ns per pair
    of the engine, the kernel-true baseline (kernel: bench/kernel_genalloc.h
    with cpu_relax() a compiler barrier; kernel-relax: with PAUSE, as on
    x86), genpool's reference path if it ran, and every peer, and the
    ratios kernel/engine, rte_malloc/engine and jemalloc/engine (above 1:
    the engine is faster);
  - fragmentation traces: utilisation at first failure, fragmentation,
    p50/p99 allocation latency on the engine and on the reference;
  - search micro-benchmarks (if present): ns per search per path and the
    speed-up of the fastest engine path over the reference;
  - with --io IO.json (bench/io/run-io.py): random reads against fio,
    registration time and pinned memory, the gp_iobuf pair;
  - the per-CPU cache (if present): the 64 B hit pair against the central
    pool and the peers (ratios jemalloc/cache and rte_mempool/cache), the
    scaling of pairs per second with threads (wall time), the mixed
    workload's pair cost and miss rate, and producer/consumer;
  - bulk rounds (if present): ns per object of gp_alloc_bulk+gp_free_bulk
    and its ratio to the single pair of the same run;
  - thread scaling (if several thread counts ran): pairs per second of
    every implementation against its own one-thread figure, and 8 against
    2 threads;
  - metadata per unit of a 1 GiB pool (if present).
Time is CPU time per iteration by default (on a shared machine wall time
also counts the other jobs); --time real uses wall time.  Python 3 stdlib.
"""

import argparse
import json
import re
import sys

PEERS = ["rte_malloc", "jemalloc", "glibc", "mimalloc", "tcmalloc"]
GENPOOL = ["engine", "kernel", "kernel-relax", "reference"]
ALGOS = ["first_fit", "best_fit", "first_fit_align", "order_align", "fixed"]
SEARCH_PATHS = ["reference", "word", "avx2", "avx512"]

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(path):
    with open(path) as f:
        return json.load(f)


def pick_runs(data):
    """One entry per run name: the median aggregate if there are
    repetitions, else the (single) iteration run; errors are kept."""
    runs = {}
    has_median = any(b.get("aggregate_name") == "median"
                     for b in data.get("benchmarks", []))
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b["name"])
        if b.get("error_occurred"):
            runs[name] = b
            continue
        if has_median:
            if b.get("run_type") == "aggregate" and \
                    b.get("aggregate_name") == "median":
                runs[name] = b
            elif b.get("run_type") != "aggregate" and name not in runs:
                # a run without repetitions (e.g. Iterations(1) frag runs
                # still repeat; keep the first as a fallback)
                runs[name] = b
        else:
            if b.get("run_type", "iteration") == "iteration":
                runs[name] = b
    return runs


def ns(b, which):
    t = b.get("cpu_time" if which == "cpu" else "real_time")
    if t is None:
        return None
    return t * UNIT_NS.get(b.get("time_unit", "ns"), 1.0)


def fmt_ns(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return "%.2fms" % (v / 1e6)
    if v >= 1e4:
        return "%.1fus" % (v / 1e3)
    if v >= 100:
        return "%.0f" % v
    return "%.1f" % v


def fmt_ratio(a, b):
    if a is None or b is None or b <= 0:
        return "-"
    r = a / b
    if r >= 100:
        return "%.0fx" % r
    if r >= 10:
        return "%.1fx" % r
    if r >= 0.1:
        return "%.2fx" % r
    return "%.2gx" % r


def fmt_size(s):
    s = int(s)
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if s >= div and s % div == 0:
            return "%d%s" % (s // div, unit)
    return "%dB" % s


class Table:
    def __init__(self, header, markdown):
        self.header = header
        self.rows = []
        self.markdown = markdown

    def add(self, row):
        self.rows.append([str(c) for c in row])

    def render(self):
        if not self.rows:
            return ""
        cols = len(self.header)
        w = [max(len(self.header[i]), *(len(r[i]) for r in self.rows))
             for i in range(cols)]
        out = []
        if self.markdown:
            out.append("| " + " | ".join(h.ljust(w[i]) for i, h in
                                         enumerate(self.header)) + " |")
            out.append("|" + "|".join("-" * (w[i] + 2)
                                      for i in range(cols)) + "|")
            for r in self.rows:
                out.append("| " + " | ".join(
                    c.rjust(w[i]) if i >= 1 else c.ljust(w[i])
                    for i, c in enumerate(r)) + " |")
        else:
            out.append("  ".join(h.rjust(w[i]) if i else h.ljust(w[i])
                                 for i, h in enumerate(self.header)))
            for r in self.rows:
                out.append("  ".join(c.rjust(w[i]) if i else c.ljust(w[i])
                                     for i, c in enumerate(r)))
        return "\n".join(out) + "\n"


POOL_RE = re.compile(r"^pool/([^/]+)/([^/]+)/occ:(\d+)/size:(\d+)"
                     r"(?:/real_time)?(?:/threads:(\d+))?(?:/real_time)?$")
FRAG_RE = re.compile(r"^frag/([^/]+)/([^/]+)(?:/iterations:\d+)?$")
SEARCH_RE = re.compile(r"^search/([^/]+)/([^/]+)/([^/]+)/(\d+)")
BULK_RE = re.compile(r"^bulk/([^/]+)/([^/]+)/occ:(\d+)/size:(\d+)/n:(\d+)"
                     r"(?:/real_time)?(?:/threads:(\d+))?")
META_RE = re.compile(r"^metadata/([^/]+)/order:(\d+)")
UPDATE_RE = re.compile(r"^search-update/([^/]+)/([^/]+)/([^/]+)/(\d+)")
CACHE_RE = re.compile(r"^cache/([^/]+)/([^/]+)(?:/size:\d+)?(?:/real_time)?"
                      r"(?:/threads:(\d+))?$")
CACHE_IMPLS = ["cache", "cache-via-peer", "cache-locked", "cache-checked",
               "pool", "rte_mempool", "jemalloc", "tcmalloc", "mimalloc",
               "glibc"]


def header_lines(data, which, out):
    ctx = data.get("context", {})
    out.append("CPU:        %s (%s CPUs)" % (ctx.get("cpu_model", "?"),
                                            ctx.get("num_cpus", "?")))
    out.append("compiler:   %s" % ctx.get("compiler", "?"))
    out.append("build type: %s (genpool and genpool-bench); Google "
               "Benchmark library: %s" % (ctx.get("build_type", "?"),
                                           ctx.get("library_build_type",
                                                   "?")))
    out.append("date:       %s; load average %s" % (
        ctx.get("date", "?"),
        " ".join("%.2f" % x for x in ctx.get("load_avg", [])) or "?"))
    out.append("search:     GP_SEARCH_AUTO runs the %s path" %
               ctx.get("search_path", "?"))
    out.append("malloc:     %s" % ctx.get("malloc", "?"))
    for p in PEERS:
        v = ctx.get("peer." + p)
        if v is not None:
            out.append("peer %-11s %s" % (p + ":", v))
    out.append("time:       %s time per iteration%s" % (
        "CPU" if which == "cpu" else "wall",
        "; medians of repetitions" if any(
            b.get("aggregate_name") == "median"
            for b in data.get("benchmarks", [])) else ""))


def pool_tables(runs, which, markdown, threads_filter, out):
    cells = {}      # (threads, occ, algo, size) -> {impl: ns}
    peer_cells = {}  # (threads, occ, size) -> {peer: ns}
    errors = []
    for name, b in runs.items():
        if name.startswith("pool/") and b.get("error_occurred"):
            errors.append((name, b.get("error_message", "")))
            continue
        m = POOL_RE.match(name)
        if not m:
            continue
        impl, algo, occ, size, thr = m.groups()
        thr = int(thr or 1)
        if threads_filter and thr not in threads_filter:
            continue
        v = ns(b, which)
        if impl in GENPOOL:
            cells.setdefault((thr, int(occ), algo, int(size)), {})[impl] = v
        else:
            peer_cells.setdefault((thr, int(occ), int(size)), {})[impl] = v
    if not cells and not peer_cells:
        return
    present = [p for p in PEERS if any(p in d for d in peer_cells.values())]
    for thr in sorted({k[0] for k in cells} | {k[0] for k in peer_cells}):
        out.append("")
        out.append("pool alloc+free, %d thread%s: ns per pair "
                   "(ratios above 1: the engine is faster)" %
                   (thr, "" if thr == 1 else "s"))
        mine = [i for i in GENPOOL
                if any(i in c for k, c in cells.items() if k[0] == thr)]
        hdr = ["occ algo size"] + mine + present + \
              ["kern/eng", "rte/eng", "je/eng"]
        t = Table(hdr, markdown)
        keys = sorted({k for k in cells if k[0] == thr},
                      key=lambda k: (k[1], ALGOS.index(k[2])
                                     if k[2] in ALGOS else 99, k[3]))
        peers_only = sorted({(k[1], k[2]) for k in peer_cells
                             if k[0] == thr} -
                            {(k[1], k[3]) for k in keys})
        for k in keys:
            c = cells[k]
            pc = peer_cells.get((thr, k[1], k[3]), {})
            eng = c.get("engine")
            t.add(["%d%% %s %s" % (k[1], k[2], fmt_size(k[3]))] +
                  [fmt_ns(c.get(i)) for i in mine] +
                  [fmt_ns(pc.get(p)) for p in present] +
                  [fmt_ratio(c.get("kernel"), eng),
                   fmt_ratio(pc.get("rte_malloc"), eng),
                   fmt_ratio(pc.get("jemalloc"), eng)])
        for occ, size in peers_only:
            pc = peer_cells[(thr, occ, size)]
            t.add(["%d%% - %s" % (occ, fmt_size(size))] + ["-"] * len(mine) +
                  [fmt_ns(pc.get(p)) for p in present] + ["-", "-", "-"])
        out.append(t.render().rstrip("\n"))
    for name, msg in sorted(errors):
        out.append("%s: %s" % (name, msg))


def frag_table(runs, markdown, out):
    t = Table(["trace algo", "util@fail", "frag@fail", "frag end",
               "allocs", "fails", "p50 eng", "p99 eng", "p50 kern",
               "p99 kern", "p50 ref", "p99 ref", "same"], markdown)
    errors = []
    for name in sorted(runs):
        m = FRAG_RE.match(name)
        if not m:
            continue
        b = runs[name]
        if b.get("error_occurred"):
            errors.append("%s: %s" % (name, b.get("error_message", "")))
            continue
        g = b.get
        t.add(["%s %s" % m.groups(),
               "%.1f%%" % (100 * g("util_first_fail", 0)),
               "%.3f" % g("frag_first_fail", 0),
               "%.3f" % g("frag_end", 0),
               "%d" % g("allocs", 0),
               "%d%s" % (g("failures", 0),
                         "+" if g("stopped", 0) else ""),
               fmt_ns(g("p50_ns")), fmt_ns(g("p99_ns")),
               fmt_ns(g("kernel_p50_ns")), fmt_ns(g("kernel_p99_ns")),
               fmt_ns(g("ref_p50_ns")), fmt_ns(g("ref_p99_ns")),
               "yes" if g("identical", 0) else "NO"])
    if t.rows or errors:
        out.append("")
        out.append("fragmentation traces (16 MiB pool; util@fail = in use "
                   "at the first failed allocation; frag = 1 - largest "
                   "free / free; latency per allocation; fails+ = "
                   "replay stopped at 1000 failures; same = engine, "
                   "kernel baseline and reference placed every allocation "
                   "identically)")
        out.append(t.render().rstrip("\n"))
        out.extend(errors)


def search_tables(runs, which, markdown, out):
    cells = {}
    skipped = {}
    for name, b in runs.items():
        m = SEARCH_RE.match(name)
        if not m:
            continue
        pattern, algo, path, nr = m.groups()
        key = (pattern, algo, int(nr))
        if b.get("error_occurred"):
            skipped[path] = b.get("error_message", "")
            continue
        cells.setdefault(key, {})[path] = ns(b, which)
    upd = {}
    for name, b in runs.items():
        m = UPDATE_RE.match(name)
        if not m or b.get("error_occurred"):
            continue
        pattern, op, kind, nr = m.groups()
        upd.setdefault((pattern, op, int(nr)), {})[kind] = ns(b, which)
    if cells:
        paths = [p for p in SEARCH_PATHS
                 if any(p in c for c in cells.values())]
        out.append("")
        out.append("search micro-benchmarks: ns per search on a 16 Mi-bit "
                   "bitmap (speed-up: reference / fastest engine path)")
        t = Table(["pattern algo nr"] + paths + ["speed-up"], markdown)
        for key in sorted(cells):
            c = cells[key]
            eng = [c[p] for p in paths if p != "reference" and
                   c.get(p) is not None]
            t.add(["%s %s %d" % key] + [fmt_ns(c.get(p)) for p in paths] +
                  [fmt_ratio(c.get("reference"), min(eng) if eng
                             else None)])
        out.append(t.render().rstrip("\n"))
        for p, msg in sorted(skipped.items()):
            out.append("search path %s: %s" % (p, msg))
    if upd:
        kinds = sorted({k for d in upd.values() for k in d})
        out.append("")
        out.append("search-update: ns per claim+release, with and "
                   "without hint maintenance")
        t = Table(["pattern op nr"] + kinds + ["hints/bare"], markdown)
        for key in sorted(upd):
            d = upd[key]
            t.add(["%s %s %d" % key] + [fmt_ns(d.get(k)) for k in kinds] +
                  [fmt_ratio(d.get("hints"), d.get("bare"))])
        out.append(t.render().rstrip("\n"))


IO_VARIANTS = ["fio fixedbufs=1", "genpool static", "genpool alloc/free per I/O",
               "fio fixedbufs=0", "genpool unregistered"]


def io_tables(res, markdown, out):
    """The io rows from bench/io/run-io.py's JSON: random reads (kIOPS and
    CPU ns per I/O, with genpool/fio ratios), registration, buffer pair."""
    if res["randread"]:
        out.append("io: random reads, %s; %g s per run, median of %d "
                   "(ratios above 1: genpool does more IOPS / uses more CPU)"
                   % (res["target"], res["seconds"], res["reps"]))
    t = Table(["bs/depth"] + ["%s kIOPS/ns" % v for v in IO_VARIANTS]
              + ["static/fio1 IOPS", "CPU", "perio/fio1 IOPS", "CPU",
                 "unreg/fio0 IOPS", "CPU"], markdown)
    for r in res["randread"]:
        cell = {v: r[v] for v in IO_VARIANTS}
        f1, f0 = cell["fio fixedbufs=1"], cell["fio fixedbufs=0"]
        ratios = []
        for v, base in (("genpool static", f1), ("genpool alloc/free per I/O", f1),
                        ("genpool unregistered", f0)):
            ratios += ["%.2f" % (cell[v]["iops"] / base["iops"]),
                       "%.2f" % (cell[v]["cpu_ns_per_io"] / base["cpu_ns_per_io"])]
        t.add(["%s/%d" % (fmt_size(r["bs"]), r["depth"])]
              + ["%.0f/%.0f" % (cell[v]["iops"] / 1e3, cell[v]["cpu_ns_per_io"])
                 for v in IO_VARIANTS] + ratios)
    out.append(t.render())
    out.append("io: registration (register on ring 1; clone into ring 2; "
               "per-ring registration of ring 2 instead)")
    t = Table(["backing", "MiB", "create ms", "chunks", "register ms", "pinned MiB",
               "clone ms", "pinned", "per-ring ms", "pinned"], markdown)
    for r in res["registration"]:
        if "skipped" in r:
            t.add([r["backing"], "skipped: " + r["skipped"]] + [""] * 8)
            continue
        c, p = r["cloned"], r["per_ring"]
        t.add([r["backing"], r["mib"], "%.0f" % r["create_ms"], r["chunks"],
               "%.1f" % c["register_ms"], "%.0f" % c["pinned_mib"],
               "%.2f" % c["attach_ms"], "%.0f" % c["pinned_after_attach_mib"],
               "%.1f" % p["attach_ms"], "%.0f" % p["pinned_after_attach_mib"]])
    out.append(t.render())
    t = Table(["io: pair", "gp_iobuf_alloc+free ns", "gp_cache hit pair ns",
               "gen_pool_alloc+free ns", "cache mode"], markdown)
    for p in res["pair"]:
        t.add([fmt_size(p["size"]), "%.1f" % p["iobuf_pair_ns"],
               "%.1f" % p["cache_pair_ns"], "%.1f" % p["pool_pair_ns"],
               p["cache_mode"]])
    out.append(t.render())


def cache_tables(runs, which, markdown, out):
    cells = {}  # (bench, impl, threads) -> run
    for name, b in runs.items():
        m = CACHE_RE.match(name)
        if m and not b.get("error_occurred"):
            cells[(m.group(1), m.group(2), int(m.group(3) or 1))] = b
    if not cells:
        return
    impls = [i for i in CACHE_IMPLS
             if any(k[1] == i for k in cells)]

    def t(bench, impl, thr=1):
        b = cells.get((bench, impl, thr))
        return ns(b, which) if b else None

    def rate(bench, impl, thr):
        b = cells.get((bench, impl, thr))
        return b.get("items_per_second") if b else None

    out.append("")
    out.append("per-CPU cache: ns per 64 B alloc+free pair, 1 thread (ratios "
               "above 1: the cache is faster); mode of each cache row in "
               "brackets")
    tab = Table(["impl", "ns/pair", "x cache"], markdown)
    for i in impls:
        b = cells.get(("pair", i, 1))
        if not b:
            continue
        label = " [%s]" % b["label"] if b.get("label") else ""
        tab.add([i + label, fmt_ns(t("pair", i)),
                 fmt_ratio(t("pair", i), t("pair", "cache"))])
    out.append(tab.render().rstrip("\n"))
    out.append("")
    out.append("per-CPU cache scaling: million pairs per second of all "
               "threads (wall time: meaningful on a quiet machine only), and "
               "ns of CPU per pair per thread at 1/2/8 threads (flat: no "
               "contention)")
    tab = Table(["impl", "1 thread", "2 threads", "8 threads", "2/1", "8/2",
                 "cpu ns 1/2/8"], markdown)
    for i in impls:
        r = [rate("pair", i, n) for n in (1, 2, 8)]
        if r[1] is None:
            continue
        c = [cells.get(("pair", i, n)) for n in (1, 2, 8)]
        tab.add([i] + ["%.1f" % (x / 1e6) if x else "-" for x in r] +
                [fmt_ratio(r[1], r[0]), fmt_ratio(r[2], r[1]),
                 "/".join(fmt_ns(ns(b, "cpu")) if b else "-" for b in c)])
    out.append(tab.render().rstrip("\n"))
    out.append("")
    out.append("per-CPU cache, mixed sizes 1-16 units with random lifetimes "
               "and producer/consumer (ns per pair; miss rate = misses / "
               "cache operations)")
    tab = Table(["impl", "mixed ns", "miss rate", "pool/impl",
                 "prodcons ns"], markdown)
    for i in impls:
        b = cells.get(("mixed", i, 1))
        pc = cells.get(("prodcons", i, 2))
        if not b and not pc:
            continue
        miss = b.get("miss_rate") if b else None
        tab.add([i, fmt_ns(t("mixed", i)),
                 "-" if miss is None else "%.2g" % miss,
                 fmt_ratio(t("mixed", "pool"), t("mixed", i)),
                 fmt_ns(ns(pc, "real")) if pc else "-"])
    out.append(tab.render().rstrip("\n"))


def pool_cells(runs, which):
    """{(impl, algo, occ, size, threads): ns per pair}."""
    cells = {}
    for name, b in runs.items():
        m = POOL_RE.match(name)
        if m and not b.get("error_occurred"):
            impl, algo, occ, size, thr = m.groups()
            cells[(impl, algo, int(occ), int(size), int(thr or 1))] = \
                ns(b, which)
    return cells


def bulk_table(runs, which, markdown, out):
    pairs = pool_cells(runs, which)
    t = Table(["occ size n threads", "ns/object", "single pair",
               "bulk/pair"], markdown)
    for name in sorted(runs, key=lambda n: [int(x) if x.isdigit() else x
                                             for x in re.split(r"(\d+)", n)]):
        m = BULK_RE.match(name)
        b = runs[name]
        if not m or b.get("error_occurred"):
            continue
        impl, algo, occ, size, n, thr = m.groups()
        per = ns(b, which) / int(n)
        pair = pairs.get((impl, algo, int(occ), int(size), int(thr or 1)))
        t.add(["%s%% %s %s %s" % (occ, fmt_size(size), n, thr or 1),
               fmt_ns(per), fmt_ns(pair),
               "%.2fx" % (per / pair) if pair else "-"])
    if t.rows:
        out.append("")
        out.append("bulk: gp_alloc_bulk + gp_free_bulk of n objects, ns per "
                   "object, against one alloc+free pair of the same run "
                   "(target <= 0.2x at n = 32, 64 B)")
        out.append(t.render().rstrip("\n"))


def threads_table(runs, markdown, out):
    # wall time: with threads, per pair of all threads together
    pairs = pool_cells(runs, "real")
    keys = sorted({k[:4] for k in pairs})
    t = Table(["impl algo occ size"] + ["%dT Mpairs/s" % n for n in (1, 2, 8)]
              + ["2T/1T", "8T/2T"], markdown)
    for k in keys:
        thr = {n: pairs.get(k + (n,)) for n in (1, 2, 8)}
        if thr[1] is None or (thr[2] is None and thr[8] is None):
            continue
        rate = {n: 1e3 / v if v else None for n, v in thr.items()}
        t.add(["%s %s %d%% %s" % (k[0], k[1], k[2], fmt_size(k[3]))] +
              ["%.1f" % rate[n] if rate[n] else "-" for n in (1, 2, 8)] +
              [fmt_ratio(rate[2], rate[1]), fmt_ratio(rate[8], rate[2])])
    if t.rows:
        out.append("")
        out.append("threads on one shared pool (wall time): million pairs "
                   "per second; targets 2T/1T >= 1.0, 8T/2T >= 0.9 (8 "
                   "threads share the 2 cores)")
        out.append(t.render().rstrip("\n"))


def metadata_table(runs, markdown, out):
    t = Table(["impl order", "bytes", "bytes/unit", "bits/unit"], markdown)
    for name in sorted(runs, key=lambda n: [int(x) if x.isdigit() else x
                                             for x in re.split(r"(\d+)", n)]):
        m = META_RE.match(name)
        if not m:
            continue
        g = runs[name].get
        t.add(["%s %s" % m.groups(), "%.0f" % g("bytes", 0),
               "%.4f" % g("bytes_per_unit", 0), "%.3f" % g("bits_per_unit", 0)])
    if t.rows:
        out.append("")
        out.append("metadata of a 1 GiB pool (one chunk)")
        out.append(t.render().rstrip("\n"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json")
    ap.add_argument("--io", help="bench/io/run-io.py JSON: add the io rows")
    ap.add_argument("--time", choices=["cpu", "real"], default="cpu")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--threads", default="",
                    help="comma-separated thread counts to show")
    ap.add_argument("--sections",
                    default="header,pool,bulk,threads,frag,search,metadata,cache",
                    help="comma-separated: header,pool,bulk,threads,frag,"
                         "search,metadata,cache")
    a = ap.parse_args()
    data = load(a.json)
    runs = pick_runs(data)
    thr = {int(x) for x in a.threads.split(",") if x}
    sections = set(a.sections.split(","))
    out = []
    if "header" in sections:
        header_lines(data, a.time, out)
    if "pool" in sections:
        pool_tables(runs, a.time, a.markdown, thr or {1}, out)
    if "bulk" in sections:
        bulk_table(runs, a.time, a.markdown, out)
    if "threads" in sections:
        threads_table(runs, a.markdown, out)
    if "frag" in sections:
        frag_table(runs, a.markdown, out)
    if "search" in sections:
        search_tables(runs, a.time, a.markdown, out)
    if a.io:
        io_tables(load(a.io), a.markdown, out)
    if "cache" in sections:
        cache_tables(runs, a.time, a.markdown, out)
    if "metadata" in sections:
        metadata_table(runs, a.markdown, out)
    text = "\n".join(out) + "\n"
    if a.markdown:
        # keep the free-text lines as paragraphs
        text = re.sub(r"\n(?=[^|\n])", "\n\n", text)
        text = re.sub(r"\n{3,}", "\n\n", text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
