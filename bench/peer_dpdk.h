// SPDX-License-Identifier: MIT
//
// bench/peer_dpdk.h - start DPDK's EAL (no hugepages) and hand back
// rte_malloc/rte_free in the peer interface.  Only built with DPDK.
#ifndef GENPOOL_BENCH_PEER_DPDK_H
#define GENPOOL_BENCH_PEER_DPDK_H

#include <string>

#include "peers.h"

namespace gpbench {

// Returns false with @why set when the EAL does not start.
bool dpdk_start(const char *argv0, std::string &why, peer_alloc_fn &alloc,
		peer_free_fn &free_fn, std::string &version);

// The file rte_malloc() is in (a shared DPDK library or this program).
std::string dpdk_library();

// rte_mempool of @size-byte objects, taken and returned through a
// 256-object cache of each thread's own (rte_mempool_generic_get/put),
// as a peer whose alloc() fails for any other size.  Needs dpdk_start().
bool dpdk_mempool(size_t size, std::string &why, Peer &peer);

} // namespace gpbench

#endif
