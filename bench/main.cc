// SPDX-License-Identifier: MIT
//
// bench/main.cc - genpool-bench: every suite of bench/ in one binary.
//
// Before the benchmarks run it loads the peer allocators, records in the
// output's context (and on stderr) where each one really runs from, which
// library the process's malloc is, the CPU, compiler and build type, and
// the search path GP_SEARCH_AUTO picks.  Static registrations (the search
// micro-benchmarks) and run-time ones (pool, frag) share the binary.
//
// Environment: GP_BENCH_NO_DPDK=1 skips the EAL (rte_malloc then shows as
// unavailable).
//
// jemalloc (like tcmalloc and mimalloc) keeps its thread state in
// initial-exec TLS; a library with such TLS can be dlopen()ed only into
// glibc's small static TLS surplus (512 bytes by default), which jemalloc
// does not fit.  So the program re-executes itself once with
// GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 (appended to any
// tunables already set) unless that tunable is already given.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

#include "common.h"
#include "peers.h"

#ifndef GP_BENCH_BUILDTYPE
#define GP_BENCH_BUILDTYPE "unknown"
#endif

namespace {

std::string cpu_model()
{
	std::ifstream f("/proc/cpuinfo");
	std::string line;

	while (std::getline(f, line)) {
		if (line.rfind("model name", 0) == 0) {
			size_t c = line.find(':');

			if (c != std::string::npos)
				return line.substr(c + 2);
		}
	}
	return "unknown";
}

std::string compiler()
{
#if defined(__clang__)
	return std::string("clang++ ") + __clang_version__;
#elif defined(__GNUC__)
	return std::string("g++ ") + __VERSION__;
#else
	return "unknown";
#endif
}

// Re-execute with room for the peers' static TLS (see above); returns
// only if that was not needed or did not work.
void reexec_with_static_tls(char **argv)
{
	const char *old = getenv("GLIBC_TUNABLES");
	std::string t;

	if (getenv("GP_BENCH_REEXECED") ||
	    (old && strstr(old, "glibc.rtld.optional_static_tls")))
		return;
	t = old && *old ? std::string(old) + ":" : std::string();
	t += "glibc.rtld.optional_static_tls=16384";
	setenv("GLIBC_TUNABLES", t.c_str(), 1);
	setenv("GP_BENCH_REEXECED", "1", 1);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "genpool-bench: re-exec failed; jemalloc may be "
		"unavailable\n");
}

void context(const std::string &key, const std::string &value)
{
	benchmark::AddCustomContext(key, value);
	fprintf(stderr, "genpool-bench: %-16s %s\n", key.c_str(),
		value.c_str());
}

} // namespace

int main(int argc, char **argv)
{
	reexec_with_static_tls(argv);
	gpbench::peers_init(argv[0]);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;

	context("cpu_model", cpu_model());
	context("compiler", compiler());
	context("build_type", GP_BENCH_BUILDTYPE);
	context("search_path", gp_search_path_name(gp_search_get_path()));
	context("malloc", gpbench::malloc_library());
	for (const gpbench::Peer &p : gpbench::peers())
		context("peer." + p.name, p.available ?
			p.library : "unavailable: " + p.reason);

	gpbench::register_pool_benchmarks();
	gpbench::register_frag_benchmarks();
	gpbench::register_cache_benchmarks();
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
