// SPDX-License-Identifier: MIT
//
// bench/peer_dpdk.cc - DPDK's rte_malloc as a benchmark peer.
//
// Compiled on its own (DPDK's pkg-config flags carry -march and a forced
// include that the rest of the suite should not get).  The EAL is started
// once per process, without hugepages, PCI, telemetry or shared config files,
// so it runs as root on a machine with no hugepages reserved.  EAL pins
// the calling thread to its main lcore; the caller's CPU affinity is saved
// first and restored afterwards so benchmark threads may use every CPU.
#include "peer_dpdk.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>

#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_version.h>

namespace gpbench {

static void *dpdk_alloc(void *, size_t size)
{
	return rte_malloc(nullptr, size, 0);
}

static void dpdk_free(void *, void *ptr, size_t)
{
	rte_free(ptr);
}

bool dpdk_start(const char *argv0, std::string &why, peer_alloc_fn &alloc,
		peer_free_fn &free_fn, std::string &version)
{
	std::vector<std::string> args = {
		argv0 ? argv0 : "genpool-bench",
		"--no-huge", "-m", "1024", "--no-pci", "--no-telemetry",
		"--no-shconf", "-l", "0", "--log-level=lib.eal:error",
	};
	std::vector<char *> argv;
	cpu_set_t saved;
	bool have_saved;
	int ret;

	for (auto &a : args)
		argv.push_back(&a[0]);
	argv.push_back(nullptr);
	have_saved = pthread_getaffinity_np(pthread_self(), sizeof(saved),
					    &saved) == 0;
	ret = rte_eal_init((int)args.size(), argv.data());
	if (have_saved)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	if (ret < 0) {
		why = std::string("rte_eal_init failed: ") +
		      rte_strerror(rte_errno);
		return false;
	}
	alloc = dpdk_alloc;
	free_fn = dpdk_free;
	version = rte_version();
	return true;
}

namespace {

constexpr unsigned kMempoolCache = 256;
constexpr unsigned kMempoolObjects = 65535;	// 2^16 - 1: no wasted ring slot

struct MempoolPeer {
	rte_mempool *mp;
	size_t size;
};

// Each thread's cache, flushed and freed when the thread ends.
struct ThreadCache {
	rte_mempool *mp = nullptr;
	rte_mempool_cache *cache = nullptr;
	~ThreadCache()
	{
		if (cache) {
			rte_mempool_cache_flush(cache, mp);
			rte_mempool_cache_free(cache);
		}
	}
};
thread_local ThreadCache t_cache;

rte_mempool_cache *cache_for(rte_mempool *mp)
{
	if (!t_cache.cache) {
		t_cache.cache = rte_mempool_cache_create(kMempoolCache,
							 SOCKET_ID_ANY);
		t_cache.mp = mp;
	}
	return t_cache.cache;
}

void *mempool_alloc(void *ctx, size_t size)
{
	auto *m = static_cast<MempoolPeer *>(ctx);
	void *obj;

	if (size != m->size ||
	    rte_mempool_generic_get(m->mp, &obj, 1, cache_for(m->mp)) < 0)
		return nullptr;
	return obj;
}

void mempool_free(void *ctx, void *ptr, size_t)
{
	auto *m = static_cast<MempoolPeer *>(ctx);

	rte_mempool_generic_put(m->mp, &ptr, 1, cache_for(m->mp));
}

} // namespace

bool dpdk_mempool(size_t size, std::string &why, Peer &peer)
{
	static MempoolPeer m;
	rte_mempool *mp;

	peer.name = "rte_mempool";
	if (m.mp && m.size != size) {
		why = "one rte_mempool size per process";
		return false;
	}
	if (!m.mp) {
		mp = rte_mempool_create("gp-bench", kMempoolObjects, size,
					kMempoolCache, 0, nullptr, nullptr,
					nullptr, nullptr, SOCKET_ID_ANY, 0);
		if (!mp) {
			why = std::string("rte_mempool_create: ") +
			      rte_strerror(rte_errno);
			return false;
		}
		m = {mp, size};
	}
	peer.alloc = mempool_alloc;
	peer.free = mempool_free;
	peer.ctx = &m;
	peer.library = dpdk_library() + " (rte_mempool, 256-object cache)";
	peer.available = true;
	return true;
}

std::string dpdk_library()
{
	Dl_info info;

	if (!dladdr(reinterpret_cast<void *>(&rte_malloc), &info) ||
	    !info.dli_fname)
		return "?";
	return info.dli_fname;
}

} // namespace gpbench
