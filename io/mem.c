// SPDX-License-Identifier: MIT
/*
 * io/mem.c - DMA-capable backing memory: hugetlb / THP / memfd / anonymous
 * mappings, pre-faulted, NUMA-bound and mlocked; added to a pool as chunks
 * that carry physical addresses where pagemap shows them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io_internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

#define SZ_4K ((size_t)4096)
#define SZ_2M ((size_t)2 << 20)
#define SZ_1G ((size_t)1 << 30)
#define PM_PFN_MASK ((UINT64_C(1) << 55) - 1)
#define PM_PRESENT (UINT64_C(1) << 63)

struct gp_mem {
	void *addr;
	size_t size;
	enum gp_mem_backing backing;
	size_t page_size;
	size_t huge_bytes;
	bool locked;
	bool phys_known;
	int nid;
	int fd;
	int fallback_errno;
	struct gen_pool *pool;		/* the pool it was added to */
	atomic_uint holds;		/* registered slots not yet released */
	struct gp_mem *next;		/* registry */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gp_mem *registry;

static void registry_insert(struct gp_mem *mem)
{
	pthread_mutex_lock(&registry_lock);
	mem->next = registry;
	registry = mem;
	pthread_mutex_unlock(&registry_lock);
}

/* Unlink @mem unless it is held; returns -EBUSY with the count if held. */
static int registry_remove_idle(struct gp_mem *mem, unsigned int *holds)
{
	struct gp_mem **p;
	int ret = 0;

	pthread_mutex_lock(&registry_lock);
	*holds = atomic_load(&mem->holds);
	if (*holds) {
		ret = -EBUSY;
	} else {
		for (p = &registry; *p; p = &(*p)->next) {
			if (*p == mem) {
				*p = mem->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

struct gp_mem *gp_io_mem_hold(unsigned long addr, size_t len)
{
	struct gp_mem *m;

	pthread_mutex_lock(&registry_lock);
	for (m = registry; m; m = m->next) {
		unsigned long start = (unsigned long)m->addr;

		if (addr >= start && len <= m->size && addr - start <= m->size - len) {
			atomic_fetch_add(&m->holds, 1);
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return m;
}

void gp_io_mem_release(struct gp_mem *mem)
{
	if (mem)
		atomic_fetch_sub(&mem->holds, 1);
}

bool gp_io_capable(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

GP_IO_EXPORT const char *gp_mem_backing_name(enum gp_mem_backing backing)
{
	switch (backing) {
	case GP_MEM_ANON: return "anon";
	case GP_MEM_MEMFD: return "memfd";
	case GP_MEM_THP: return "thp";
	case GP_MEM_HUGETLB_2M: return "hugetlb-2m";
	case GP_MEM_HUGETLB_1G: return "hugetlb-1g";
	}
	return "unknown";
}

static size_t backing_page_size(enum gp_mem_backing b)
{
	switch (b) {
	case GP_MEM_HUGETLB_2M: return SZ_2M;
	case GP_MEM_HUGETLB_1G: return SZ_1G;
	default: return SZ_4K;
	}
}

/* The next weaker backing, or -1 when @b is the weakest. */
static int weaker_backing(enum gp_mem_backing b, bool shareable)
{
	switch (b) {
	case GP_MEM_HUGETLB_1G: return GP_MEM_HUGETLB_2M;
	case GP_MEM_HUGETLB_2M: return GP_MEM_THP;
	case GP_MEM_THP: return shareable ? GP_MEM_MEMFD : GP_MEM_ANON;
	default: return -1;
	}
}

static bool node_exists(int nid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", nid);
	return stat(path, &st) == 0;
}

/*
 * A mapping of @len bytes aligned to @align (a reserved PROT_NONE range,
 * trimmed), for backings whose huge pages need an aligned address.
 */
static void *reserve_aligned(size_t len, size_t align)
{
	size_t span = len + align;
	char *p = mmap(NULL, span, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + span)
		munmap(a + len, (size_t)(p + span - (a + len)));
	return a;
}

/* Map @mem->size bytes of backing @b; sets addr and fd.  -errno. */
static int map_backing(struct gp_mem *mem, enum gp_mem_backing b,
		       bool shareable, const char *name)
{
	size_t len = mem->size;
	int huge = 0, fd = -1;
	void *p;

	if (b == GP_MEM_HUGETLB_2M)
		huge = MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	else if (b == GP_MEM_HUGETLB_1G)
		huge = MAP_HUGETLB | (30 << MAP_HUGE_SHIFT);

	if (shareable || b == GP_MEM_MEMFD) {
		unsigned int mfd = MFD_CLOEXEC;

		if (huge)
			mfd |= MFD_HUGETLB | (unsigned int)(huge & ~MAP_HUGETLB);
		fd = memfd_create(name ? name : "genpool", mfd);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, (off_t)len) != 0) {
			int e = errno;

			close(fd);
			return -e;
		}
	}

	if (b == GP_MEM_THP) {
		/* THP needs 2 MiB-aligned virtual addresses. */
		void *a = reserve_aligned(len, SZ_2M);

		if (!a) {
			if (fd >= 0)
				close(fd);
			return -ENOMEM;
		}
		p = mmap(a, len, PROT_READ | PROT_WRITE,
			 MAP_FIXED | (fd >= 0 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS),
			 fd, 0);
		if (p == MAP_FAILED)
			munmap(a, len);
		else if (madvise(p, len, MADV_HUGEPAGE) != 0) {
			int e = errno;

			munmap(p, len);
			if (fd >= 0)
				close(fd);
			return -e;
		}
	} else if (fd >= 0) {
		/* hugetlb memfd: the mapping reserves the pages (or fails). */
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | huge, -1, 0);
	}
	if (p == MAP_FAILED) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return -e;
	}
	mem->addr = p;
	mem->fd = fd;
	return 0;
}

static void unmap_backing(struct gp_mem *mem)
{
	munmap(mem->addr, mem->size);
	if (mem->fd >= 0)
		close(mem->fd);
	mem->addr = NULL;
	mem->fd = -1;
}

static int bind_node(struct gp_mem *mem, int nid)
{
	unsigned long mask[1024 / (8 * sizeof(unsigned long))] = { 0 };

	if (nid == NUMA_NO_NODE)
		return 0;
	mask[nid / (8 * sizeof(unsigned long))] = 1UL << (nid % (8 * sizeof(unsigned long)));
	if (syscall(SYS_mbind, mem->addr, mem->size, MPOL_BIND, mask,
		    (unsigned long)1024, (unsigned long)0) != 0)
		return -errno;
	return 0;
}

/* The SIGBUS guard for pre-faulting by touch. */
static pthread_mutex_t touch_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread sigjmp_buf *touch_jmp;

static void touch_sigbus(int sig)
{
	if (touch_jmp)
		siglongjmp(*touch_jmp, 1);
	/* Not ours: the default action, at the faulting instruction again. */
	signal(sig, SIG_DFL);
}

/*
 * Write every page (the memory is fresh and zero: a zero store changes
 * nothing), turning the SIGBUS of a hugetlb shortfall into -ENOMEM.  The
 * handler is process-wide while it runs: creations that touch are
 * serialised, and another thread's SIGBUS meanwhile gets the default
 * action.
 */
static int touch_pages(struct gp_mem *mem)
{
	struct sigaction sa = { .sa_handler = touch_sigbus }, old;
	sigjmp_buf jb;
	volatile int ret = 0;
	size_t off;

	pthread_mutex_lock(&touch_lock);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(jb, 1) == 0) {
		touch_jmp = &jb;
		for (off = 0; off < mem->size; off += mem->page_size)
			((volatile char *)mem->addr)[off] = 0;
	} else {
		ret = -ENOMEM;
	}
	touch_jmp = NULL;
	sigaction(SIGBUS, &old, NULL);
	pthread_mutex_unlock(&touch_lock);
	return ret;
}

static int prefault(struct gp_mem *mem, unsigned int flags)
{
	if (!(flags & GP_MEM_TOUCH_PREFAULT)) {
		if (madvise(mem->addr, mem->size, MADV_POPULATE_WRITE) == 0)
			return 0;
		if (errno != EINVAL)
			return errno == EFAULT || errno == EHWPOISON ? -ENOMEM : -errno;
	}
	return touch_pages(mem);
}

/* Bytes of the mapping backed by transparent huge pages (smaps). */
static size_t thp_bytes(const struct gp_mem *mem)
{
	unsigned long start = (unsigned long)mem->addr, lo, hi;
	const char *key = mem->fd >= 0 ? "ShmemPmdMapped:" : "AnonHugePages:";
	char line[256];
	size_t total = 0, kb;
	bool inside = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			inside = lo < start + mem->size && hi > start;
		else if (inside && strncmp(line, key, strlen(key)) == 0 &&
			 sscanf(line + strlen(key), "%zu", &kb) == 1)
			total += kb << 10;
	}
	fclose(f);
	return total < mem->size ? total : mem->size;
}

/* Map, bind and pre-fault backing @b; -errno (nothing left mapped). */
static int make_backing(struct gp_mem *mem, enum gp_mem_backing b,
			const struct gp_mem_config *cfg, size_t want)
{
	size_t ps = backing_page_size(b);
	int ret;

	if (want > SIZE_MAX - ps)
		return -ENOMEM;
	mem->backing = b;
	mem->page_size = ps;
	mem->size = (want + ps - 1) & ~(ps - 1);
	ret = map_backing(mem, b, cfg->flags & GP_MEM_SHAREABLE, cfg->name);
	if (ret)
		return ret;
	ret = bind_node(mem, cfg->nid);
	if (!ret)
		ret = prefault(mem, cfg->flags);
	if (ret)
		unmap_backing(mem);
	return ret;
}

static int check_config(size_t size, const struct gp_mem_config *cfg)
{
	const unsigned int known = GP_MEM_FALLBACK | GP_MEM_SHAREABLE |
				   GP_MEM_NO_MLOCK | GP_MEM_TOUCH_PREFAULT;

	if (size == 0 || cfg->flags & ~known ||
	    (unsigned int)cfg->backing > GP_MEM_HUGETLB_1G)
		return -EINVAL;
	if (cfg->nid != NUMA_NO_NODE &&
	    (cfg->nid < 0 || cfg->nid >= 1024 || !node_exists(cfg->nid)))
		return -EINVAL;
	return 0;
}

GP_IO_EXPORT struct gp_mem *gp_mem_create(size_t size,
					  const struct gp_mem_config *cfg)
{
	const struct gp_mem_config def = GP_MEM_CONFIG_DEFAULT;
	struct gp_mem *mem;
	int b, ret;

	if (!cfg)
		cfg = &def;
	ret = check_config(size, cfg);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return NULL;
	mem->fd = -1;
	mem->nid = cfg->nid;
	b = cfg->backing;
	if (b == GP_MEM_ANON && (cfg->flags & GP_MEM_SHAREABLE))
		b = GP_MEM_MEMFD;
	for (;;) {
		ret = make_backing(mem, (enum gp_mem_backing)b, cfg, size);
		if (!ret)
			break;
		b = weaker_backing((enum gp_mem_backing)b,
				   cfg->flags & GP_MEM_SHAREABLE);
		if (!(cfg->flags & GP_MEM_FALLBACK) || b < 0)
			goto fail;
		mem->fallback_errno = -ret;
	}
	if (!(cfg->flags & GP_MEM_NO_MLOCK)) {
		/* The system call itself: sanitizer runtimes make mlock() a
		 * no-op, and the memory must really be locked. */
		if (syscall(SYS_mlock, mem->addr, mem->size) == 0) {
			mem->locked = true;
		} else if (cfg->flags & GP_MEM_FALLBACK) {
			mem->fallback_errno = errno;
		} else {
			ret = errno == EAGAIN ? -ENOMEM : -errno;
			fprintf(stderr, "genpool: gp_mem_create: mlock of %zu bytes "
				"refused (%s); RLIMIT_MEMLOCK or CAP_IPC_LOCK, or "
				"GP_MEM_FALLBACK / GP_MEM_NO_MLOCK\n",
				mem->size, strerror(-ret));
			unmap_backing(mem);
			goto fail;
		}
	}
	if (mem->backing == GP_MEM_THP)
		mem->huge_bytes = thp_bytes(mem);
	else if (mem->page_size > SZ_4K)
		mem->huge_bytes = mem->size;
	registry_insert(mem);
	return mem;
fail:
	free(mem);
	errno = -ret;
	return NULL;
}

GP_IO_EXPORT void *gp_mem_addr(const struct gp_mem *mem)
{
	return mem ? mem->addr : NULL;
}

GP_IO_EXPORT size_t gp_mem_size(const struct gp_mem *mem)
{
	return mem ? mem->size : 0;
}

GP_IO_EXPORT int gp_mem_fd(const struct gp_mem *mem)
{
	return mem ? mem->fd : -1;
}

GP_IO_EXPORT int gp_mem_get_info(const struct gp_mem *mem,
				 struct gp_mem_info *info)
{
	if (!mem || !info)
		return -EINVAL;
	*info = (struct gp_mem_info){
		.backing = mem->backing,
		.page_size = mem->page_size,
		.size = mem->size,
		.huge_bytes = mem->huge_bytes,
		.locked = mem->locked,
		.phys_known = mem->phys_known,
		.nid = mem->nid,
		.fd = mem->fd,
		.holds = atomic_load(&((struct gp_mem *)mem)->holds),
		.fallback_errno = mem->fallback_errno,
	};
	return 0;
}

/* The physical frame of every @block-byte block of @mem (0: unknown, or
 * the block is not physically contiguous inside).  -errno. */
static int read_block_frames(const struct gp_mem *mem, size_t block,
			     uint64_t *frames)
{
	size_t pages = mem->size / SZ_4K, per = block / SZ_4K, i;
	uint64_t buf[512];
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (i = 0; i < pages; i += 512) {
		size_t n = pages - i < 512 ? pages - i : 512, j;
		off_t at = (off_t)(((uintptr_t)mem->addr / SZ_4K + i) * 8);

		if (pread(fd, buf, n * 8, at) != (ssize_t)(n * 8)) {
			close(fd);
			return -EIO;
		}
		for (j = 0; j < n; j++) {
			size_t page = i + j, blk = page / per;
			uint64_t pfn = (buf[j] & PM_PRESENT) ? buf[j] & PM_PFN_MASK : 0;

			if (page % per == 0)
				frames[blk] = pfn;
			else if (frames[blk] && pfn != frames[blk] + page % per)
				frames[blk] = 0;
		}
	}
	close(fd);
	return 0;
}

/* Add [off, off + len) of @mem in pieces of at most 1 GiB. */
static int add_span(struct gp_mem *mem, struct gen_pool *pool, size_t off,
		    size_t len, phys_addr_t phys, int *chunks)
{
	while (len) {
		size_t n = len < SZ_1G ? len : SZ_1G;
		int ret = gen_pool_add_owner(pool, (unsigned long)mem->addr + off,
					     phys, n, mem->nid, mem);

		if (ret)
			return ret;
		(*chunks)++;
		off += n;
		len -= n;
		if (phys != GP_NO_PHYS)
			phys += n;
	}
	return 0;
}

/* End of the run of physically consecutive blocks from @i (frames[i] != 0). */
static size_t run_end(const uint64_t *frames, size_t i, size_t n, size_t per)
{
	size_t j = i + 1;

	while (j < n && frames[j] == frames[j - 1] + per)
		j++;
	return j;
}

/*
 * Chunks from the block frames: each run of physically consecutive blocks
 * spanning at least @min bytes is a chunk with its phys; what lies between
 * such runs is added without phys.
 */
static int add_by_frames(struct gp_mem *mem, struct gen_pool *pool,
			 size_t block, const uint64_t *frames, size_t min,
			 int *chunks)
{
	size_t nblk = mem->size / block, per = block / SZ_4K;
	size_t i = 0, plain = 0;	/* start of the pending no-phys span */
	int ret = 0;

	while (i < nblk && !ret) {
		size_t j = frames[i] ? run_end(frames, i, nblk, per) : i + 1;

		if (frames[i] && (j - i) * block >= min) {
			if (plain < i)
				ret = add_span(mem, pool, plain * block,
					       (i - plain) * block, GP_NO_PHYS, chunks);
			if (!ret)
				ret = add_span(mem, pool, i * block, (j - i) * block,
					       (phys_addr_t)frames[i] * SZ_4K, chunks);
			plain = j;
		}
		i = j;
	}
	if (!ret && plain < nblk)
		ret = add_span(mem, pool, plain * block, (nblk - plain) * block,
			       GP_NO_PHYS, chunks);
	return ret;
}

/*
 * GP_MEM_ADD_LARGE: consecutive pieces of 1 GiB (the last one shorter),
 * each with its phys only if it is physically contiguous throughout.
 */
static int add_large(struct gp_mem *mem, struct gen_pool *pool, size_t block,
		     const uint64_t *frames, int *chunks)
{
	size_t per = block / SZ_4K;
	int ret = 0;

	for (size_t off = 0; off < mem->size && !ret; off += SZ_1G) {
		size_t len = mem->size - off < SZ_1G ? mem->size - off : SZ_1G;
		size_t b0 = off / block, nb = len / block;
		phys_addr_t phys = GP_NO_PHYS;

		if (frames && frames[b0] && run_end(frames, b0, b0 + nb, per) == b0 + nb)
			phys = (phys_addr_t)frames[b0] * SZ_4K;
		ret = add_span(mem, pool, off, len, phys, chunks);
	}
	return ret;
}

GP_IO_EXPORT int gp_mem_add_to_pool_flags(struct gp_mem *mem,
					  struct gen_pool *pool,
					  unsigned int flags)
{
	size_t unit, block, min;
	uint64_t *frames;
	int order, ret, chunks = 0;
	bool any = false;

	if (!mem || !pool || (flags & ~GP_MEM_ADD_LARGE))
		return -EINVAL;
	order = gp_min_alloc_order(pool);
	if (order < 0 || order >= 31)
		return -EINVAL;
	unit = (size_t)1 << order;
	if (mem->size % unit)
		return -EINVAL;
	if (mem->pool)
		return -EBUSY;
	/* Contiguity is judged per block: a huge page, or a pool unit. */
	block = mem->page_size > unit ? mem->page_size : (unit > SZ_4K ? unit : SZ_4K);
	if (mem->size % block)
		block = unit > SZ_4K ? unit : SZ_4K;
	min = block > SZ_2M ? block : SZ_2M;
	frames = calloc(mem->size / block, sizeof(*frames));
	if (!frames)
		return -ENOMEM;
	/* Without pagemap (or its frames) the chunks simply have no phys. */
	if (read_block_frames(mem, block, frames) == 0)
		for (size_t i = 0; i < mem->size / block && !any; i++)
			any = frames[i] != 0;
	mem->phys_known = any;
	if (any && !(flags & GP_MEM_ADD_LARGE))
		ret = add_by_frames(mem, pool, block, frames, min, &chunks);
	else
		ret = add_large(mem, pool, block, any ? frames : NULL, &chunks);
	free(frames);
	if (ret)
		return ret;
	mem->pool = pool;
	return chunks;
}

GP_IO_EXPORT int gp_mem_add_to_pool(struct gp_mem *mem, struct gen_pool *pool)
{
	return gp_mem_add_to_pool_flags(mem, pool, 0);
}

GP_IO_EXPORT int gp_mem_destroy(struct gp_mem *mem)
{
	unsigned int holds;

	if (!mem)
		return 0;
	if (registry_remove_idle(mem, &holds)) {
		fprintf(stderr, "genpool: gp_mem_destroy(%p, %zu bytes): %u "
			"registered slot(s) still hold it; gp_uring_unregister() "
			"first\n", mem->addr, mem->size, holds);
		return -EBUSY;
	}
	unmap_backing(mem);
	free(mem);
	return 0;
}
