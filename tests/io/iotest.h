/* SPDX-License-Identifier: MIT */
/*
 * tests/io/iotest.h - what the io suite's programs share: skipping when
 * io_uring is unavailable, pools over gp_mem, loopback TCP pairs,
 * capabilities, VmPin, hugepage reservations that are put back.
 */
#ifndef GENPOOL_TESTS_IOTEST_H
#define GENPOOL_TESTS_IOTEST_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "genpool/io.h"
#include "genpool/percpu.h"
#include "testutil.h"

/* Where scratch files go (the build directory, from argv[1]). */
static const char *io_dir = ".";

/* Exit 77 with the reason unless an io_uring can be set up here. */
static inline void require_io_uring(void)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(4, &ring, 0);
	FILE *f;
	int disabled = 0;

	if (ret == 0) {
		io_uring_queue_exit(&ring);
		return;
	}
	f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	if (f) {
		if (fscanf(f, "%d", &disabled) != 1)
			disabled = 0;
		fclose(f);
	}
	printf("skip: io_uring unavailable (%s; io_uring_disabled=%d)\n",
	       strerror(-ret), disabled);
	exit(TEST_SKIP);
}

/* A pool of 4 KiB units over a fresh gp_mem of @size bytes. */
struct mem_pool {
	struct gp_mem *mem;
	struct gen_pool *pool;
};

/* mem_pool_init(), the memory added with gp_mem_add_to_pool_flags()'s
 * @add_flags. */
static inline int mem_pool_init_flags(struct mem_pool *mp, size_t size,
				      const struct gp_mem_config *cfg,
				      unsigned int add_flags)
{
	int ret;

	mp->pool = NULL;
	mp->mem = gp_mem_create(size, cfg);
	if (!mp->mem)
		return -errno;
	mp->pool = gen_pool_create(12, NUMA_NO_NODE);
	if (!mp->pool)
		return -errno;
	/* A failed test leaves buffers behind: report them, do not abort. */
	gp_set_misuse_policy(mp->pool, GP_MISUSE_REPORT);
	ret = gp_mem_add_to_pool_flags(mp->mem, mp->pool, add_flags);
	return ret < 0 ? ret : 0;
}

/* A gp_mem of @size over a pool of 4 KiB units, added by physical
 * contiguity (as many chunks as the pages happen to give). */
static inline int mem_pool_init(struct mem_pool *mp, size_t size,
				const struct gp_mem_config *cfg)
{
	return mem_pool_init_flags(mp, size, cfg, 0);
}

static inline int mem_pool_fini(struct mem_pool *mp)
{
	int ret = gp_destroy_checked(mp->pool);

	return ret ? ret : gp_mem_destroy(mp->mem);
}

/* Free bytes of a provider's pool, exact: its per-CPU cache drained. */
static inline size_t pool_avail(struct gp_uring_buffers *bufs)
{
	if (gp_uring_cache(bufs))
		gp_cache_drain(gp_uring_cache(bufs));
	return gen_pool_avail(gp_uring_pool(bufs));
}

/* A plain 4 KiB-page config (no hugepages needed, no mlock charge). */
static inline struct gp_mem_config anon_config(void)
{
	return (struct gp_mem_config){ .backing = GP_MEM_ANON,
				       .flags = GP_MEM_NO_MLOCK,
				       .nid = NUMA_NO_NODE };
}

/* A connected loopback TCP pair: fds[0] and fds[1]; 0 or -errno. */
static inline int tcp_pair(int fds[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &len))
		return -errno;
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
	if (fds[1] < 0)
		return -errno;
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/* Is capability @cap in the effective set? */
static inline bool has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d))
		return false;
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

/* Drop capability @cap from the effective and permitted sets. */
static inline int drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &hdr, d))
		return -errno;
	d[cap / 32].effective &= ~(1u << (cap % 32));
	d[cap / 32].permitted &= ~(1u << (cap % 32));
	d[cap / 32].inheritable &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &hdr, d) ? -errno : 0;
}

/* Run @fn in a forked child; its exit status (or 128 + signal). */
static inline int in_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(fn(arg));
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A "Vm...:" value of /proc/self/status in KiB, or -1. */
static inline long status_kib(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Wait (bounded) until VmPin is @kib; the last value seen. */
static inline long wait_vmpin(long kib)
{
	long v = status_kib("VmPin");

	for (int i = 0; i < 200 && v != kib; i++) {
		usleep(10000);
		v = status_kib("VmPin");
	}
	return v;
}

/* Open file descriptors of this process. */
static inline int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 4096; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

/* Byte @i of the test pattern of stream @seed. */
static inline unsigned char pattern(unsigned long seed, size_t i)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull + i / 8;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (unsigned char)(x >> (8 * (i % 8)));
}

static inline void fill_pattern(void *p, size_t len, unsigned long seed, size_t off)
{
	for (size_t i = 0; i < len; i++)
		((unsigned char *)p)[i] = pattern(seed, off + i);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline long check_pattern(const void *p, size_t len, unsigned long seed,
				 size_t off)
{
	for (size_t i = 0; i < len; i++)
		if (((const unsigned char *)p)[i] != pattern(seed, off + i))
			return (long)i;
	return -1;
}

/* Submit what is queued and wait for one CQE; copies it out. */
static inline int submit_wait(struct io_uring *ring, struct io_uring_cqe *out)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit_and_wait(ring, 1);

	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	*out = *cqe;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* A hugepage reservation that is put back (nr_hugepages of one size). */
struct hp_reserve {
	char path[128];
	long old;
	bool changed;
};

/* Make at least @pages free pages of @kib KiB; 0, or -errno / -ENOSPC. */
static inline int hp_reserve(struct hp_reserve *r, long kib, long pages)
{
	char p[160];
	long nr = 0, free_pages = 0;
	FILE *f;

	snprintf(r->path, sizeof(r->path),
		 "/sys/kernel/mm/hugepages/hugepages-%ldkB/nr_hugepages", kib);
	r->changed = false;
	f = fopen(r->path, "r");
	if (!f || fscanf(f, "%ld", &nr) != 1) {
		if (f)
			fclose(f);
		return -ENOENT;
	}
	fclose(f);
	r->old = nr;
	snprintf(p, sizeof(p), "/sys/kernel/mm/hugepages/hugepages-%ldkB/free_hugepages", kib);
	f = fopen(p, "r");
	if (!f || fscanf(f, "%ld", &free_pages) != 1)
		free_pages = 0;
	if (f)
		fclose(f);
	if (free_pages >= pages)
		return 0;
	f = fopen(r->path, "w");
	if (!f)
		return -errno;
	r->changed = true;
	fprintf(f, "%ld\n", nr + pages - free_pages);
	if (fclose(f) != 0)
		return -errno;
	f = fopen(p, "r");
	if (!f || fscanf(f, "%ld", &free_pages) != 1)
		free_pages = 0;
	if (f)
		fclose(f);
	return free_pages >= pages ? 0 : -ENOSPC;
}

static inline void hp_restore(struct hp_reserve *r)
{
	FILE *f;

	if (!r->changed)
		return;
	f = fopen(r->path, "w");
	if (f) {
		fprintf(f, "%ld\n", r->old);
		fclose(f);
	}
	r->changed = false;
}

/* Create an empty O_DIRECT scratch file in io_dir; its fd (path in @path). */
static inline int scratch_open(char *path, size_t n, const char *tag)
{
	snprintf(path, n, "%s/io-%s-%d.dat", io_dir, tag, getpid());
	return open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
}

/*
 * Write a block from a fixed buffer with @wring, read it back into
 * another with @rring (fixed opcodes where the buffers have slots),
 * check it.  0, or the step that failed.
 */
static inline int roundtrip(struct gp_uring_buffers *bufs, struct io_uring *wring,
			    struct io_uring *rring, int fd, unsigned long seed)
{
	const size_t bs = 4096;
	struct gp_iobuf w, r;
	struct io_uring_cqe cqe;
	int ret = 1;

	if (gp_iobuf_alloc(bufs, bs, &w))
		return 1;
	if (gp_iobuf_alloc(bufs, bs, &r)) {
		gp_iobuf_free(bufs, &w);
		return 2;
	}
	fill_pattern(w.addr, bs, seed, 0);
	memset(r.addr, 0, bs);
	gp_iobuf_prep_write(io_uring_get_sqe(wring), fd, &w, 0);
	if (submit_wait(wring, &cqe) || cqe.res != (int)bs)
		ret = 3;
	else {
		gp_iobuf_prep_read(io_uring_get_sqe(rring), fd, &r, 0);
		if (submit_wait(rring, &cqe) || cqe.res != (int)bs)
			ret = 4;
		else
			ret = check_pattern(r.addr, bs, seed, 0) == -1 ? 0 : 5;
	}
	gp_iobuf_free(bufs, &w);
	gp_iobuf_free(bufs, &r);
	return ret;
}

/* main() of an io test: scratch directory from argv[1], skip without
 * io_uring, run the group. */
#define IO_TEST_MAIN(tests) \
	int main(int argc, char **argv) \
	{ \
		if (argc > 1) \
			io_dir = argv[1]; \
		require_io_uring(); \
		return cmocka_run_group_tests(tests, NULL, NULL); \
	}

#endif /* GENPOOL_TESTS_IOTEST_H */
