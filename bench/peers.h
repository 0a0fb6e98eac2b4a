// SPDX-License-Identifier: MIT
//
// bench/peers.h - the allocators genpool is measured against, behind one
// small interface: alloc(size) / free(ptr, size).
//
// jemalloc, mimalloc and tcmalloc each define malloc; linking any of them
// would replace glibc's malloc for the whole process (and make the "glibc"
// column a lie).  They are therefore dlopen()ed with RTLD_LOCAL and reached
// through their prefixed entry points only.  DPDK is linked when the build
// found it; its EAL is started once per process, without hugepages.
#ifndef GENPOOL_BENCH_PEERS_H
#define GENPOOL_BENCH_PEERS_H

#include <cstddef>
#include <string>
#include <vector>

namespace gpbench {

using peer_alloc_fn = void *(*)(void *ctx, size_t size);
using peer_free_fn = void (*)(void *ctx, void *ptr, size_t size);

struct Peer {
	std::string name;	// "glibc", "jemalloc", "rte_malloc", ...
	bool available = false;
	std::string reason;	// why not, when !available
	std::string library;	// where the entry points really live (dladdr)
	peer_alloc_fn alloc = nullptr;
	peer_free_fn free = nullptr;
	void *ctx = nullptr;
};

// Load every peer once (idempotent).  @argv0 is used for the EAL.
void peers_init(const char *argv0);

// All peers, available or not, in a fixed order.
const std::vector<Peer> &peers();

// The library that holds the process's malloc (dladdr on &malloc).
std::string malloc_library();

} // namespace gpbench

#endif
