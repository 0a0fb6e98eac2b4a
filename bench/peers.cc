// SPDX-License-Identifier: MIT
//
// bench/peers.cc - load the peer allocators (see peers.h).
#include "peers.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#ifdef GP_BENCH_HAVE_DPDK
#include "peer_dpdk.h"
#endif

namespace gpbench {

namespace {

std::vector<Peer> g_peers;
std::once_flag g_once;

std::string library_of(const void *addr)
{
	Dl_info info;

	if (!dladdr(addr, &info) || !info.dli_fname)
		return "?";
	return info.dli_fname;
}

// ---- glibc: the process's own malloc (checked below to be glibc's).
void *glibc_alloc(void *, size_t size)
{
	return std::malloc(size);
}

void glibc_free(void *, void *ptr, size_t)
{
	std::free(ptr);
}

// ---- dlopen()ed allocators: entry points kept in a small table.
struct Dyn {
	void *(*alloc1)(size_t);		// mi_malloc, tc_malloc
	void (*free1)(void *);			// mi_free, tc_free
	void *(*mallocx)(size_t, int);		// jemalloc
	void (*sdallocx)(void *, size_t, int);	// jemalloc
};

Dyn g_jemalloc, g_mimalloc, g_tcmalloc;

void *jemalloc_alloc(void *, size_t size)
{
	return g_jemalloc.mallocx(size, 0);
}

void jemalloc_free(void *, void *ptr, size_t size)
{
	g_jemalloc.sdallocx(ptr, size, 0);
}

void *plain_alloc(void *ctx, size_t size)
{
	return static_cast<Dyn *>(ctx)->alloc1(size);
}

void plain_free(void *ctx, void *ptr, size_t)
{
	static_cast<Dyn *>(ctx)->free1(ptr);
}

// dlopen the first of @names that loads; RTLD_LOCAL keeps its malloc out
// of the global symbol scope, so the process keeps glibc's.
void *open_first(const std::vector<const char *> &names, std::string &why)
{
	why.clear();
	for (const char *n : names) {
		void *h = dlopen(n, RTLD_NOW | RTLD_LOCAL);

		if (h)
			return h;
		const char *e = dlerror();
		if (!why.empty())
			why += "; ";
		why += e ? e : n;
	}
	return nullptr;
}

template <typename T>
bool sym(void *h, const char *name, T &out, std::string &why)
{
	void *p = dlsym(h, name);

	if (!p) {
		why = std::string("no symbol ") + name;
		return false;
	}
	out = reinterpret_cast<T>(p);
	return true;
}

Peer load_jemalloc()
{
	Peer p;
	void *h;

	p.name = "jemalloc";
	h = open_first({"libjemalloc.so.2", "libjemalloc.so"}, p.reason);
	if (!h)
		return p;
	if (!sym(h, "mallocx", g_jemalloc.mallocx, p.reason) ||
	    !sym(h, "sdallocx", g_jemalloc.sdallocx, p.reason))
		return p;
	p.alloc = jemalloc_alloc;
	p.free = jemalloc_free;
	p.library = library_of(reinterpret_cast<void *>(g_jemalloc.mallocx));
	p.available = true;
	return p;
}

Peer load_plain(const char *name, const std::vector<const char *> &libs,
		const char *alloc_sym, const char *free_sym, Dyn &d)
{
	Peer p;
	void *h;

	p.name = name;
	h = open_first(libs, p.reason);
	if (!h)
		return p;
	if (!sym(h, alloc_sym, d.alloc1, p.reason) ||
	    !sym(h, free_sym, d.free1, p.reason))
		return p;
	p.alloc = plain_alloc;
	p.free = plain_free;
	p.ctx = &d;
	p.library = library_of(reinterpret_cast<void *>(d.alloc1));
	p.available = true;
	return p;
}

Peer load_dpdk(const char *argv0)
{
	Peer p;

	p.name = "rte_malloc";
#ifdef GP_BENCH_HAVE_DPDK
	std::string version;

	if (std::getenv("GP_BENCH_NO_DPDK")) {
		p.reason = "GP_BENCH_NO_DPDK is set";
		return p;
	}
	if (!dpdk_start(argv0, p.reason, p.alloc, p.free, version))
		return p;
	p.library = dpdk_library();
	p.library += " (" + version + ", EAL --no-huge -m 1024 --no-shconf)";
	p.available = true;
#else
	(void)argv0;
	p.reason = "not built with DPDK";
#endif
	return p;
}

} // namespace

std::string malloc_library()
{
	// The malloc that an ordinary call in this process binds to.
	return library_of(dlsym(RTLD_DEFAULT, "malloc"));
}

void peers_init(const char *argv0)
{
	std::call_once(g_once, [argv0] {
		Peer glibc;
		std::string lib = malloc_library();

		glibc.name = "glibc";
		if (lib.find("libc.so") == std::string::npos) {
			glibc.reason = "malloc resolves to " + lib +
				       ", not glibc";
		} else {
			glibc.alloc = glibc_alloc;
			glibc.free = glibc_free;
			glibc.library = lib;
			glibc.available = true;
		}
		// jemalloc first: its TLS is initial-exec, and dlopen() can only
		// place that in glibc's small static TLS surplus, which the
		// other libraries (and DPDK's plugins) would use up.
		Peer jemalloc = load_jemalloc();

		g_peers.push_back(load_dpdk(argv0));
		g_peers.push_back(jemalloc);
		g_peers.push_back(glibc);
		g_peers.push_back(load_plain("mimalloc",
			{"libmimalloc.so.2", "libmimalloc.so"},
			"mi_malloc", "mi_free", g_mimalloc));
		g_peers.push_back(load_plain("tcmalloc",
			{"libtcmalloc_minimal.so.4", "libtcmalloc.so.4"},
			"tc_malloc", "tc_free", g_tcmalloc));
		// Loading the others must not have moved malloc away from
		// glibc; if it did, the glibc column would measure them.
		lib = malloc_library();
		for (auto &p : g_peers) {
			if (p.name == "glibc" && p.available &&
			    lib.find("libc.so") == std::string::npos) {
				p.available = false;
				p.reason = "malloc moved to " + lib;
			}
		}
	});
}

const std::vector<Peer> &peers()
{
	return g_peers;
}

} // namespace gpbench
