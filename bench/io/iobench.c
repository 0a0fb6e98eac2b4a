// SPDX-License-Identifier: MIT
/*
 * bench/io/iobench.c - genpool-iobench: the io layer's measurements.
 *
 *   genpool-iobench randread FILE BS DEPTH SECONDS MODE
 *       Random O_DIRECT (unless FILE is on tmpfs) reads of BS bytes over
 *       FILE at DEPTH in flight for SECONDS, the file registered
 *       (IOSQE_FIXED_FILE), the same shape as fio's io_uring engine with
 *       direct=1 rw=randread registerfiles=1.  MODE:
 *         static  one registered gp_iobuf per slot, allocated once
 *                 (READ_FIXED; what fio fixedbufs=1 does)
 *         perio   gp_iobuf_alloc() before each read, gp_iobuf_free() at
 *                 its completion (READ_FIXED)
 *         unreg   pool buffers without registration (plain READ; what
 *                 the provider serves when registration is refused)
 *       Prints one JSON object: ios, seconds, iops, cpu_ns_per_io
 *       (user + system time of the whole process, io-wq included).
 *
 *   genpool-iobench register BACKING [MIB]
 *       BACKING anon|thp|hugetlb-2m: gp_mem_create() of MIB (1024) MiB,
 *       gp_uring_register() on one ring, gp_uring_attach() of a second
 *       ring (clone), then the same per ring (GP_URING_NO_CLONE); the
 *       time of each step and the VmPin it leaves.  JSON.
 *
 *   genpool-iobench pair SIZE ITERS
 *       ns per gp_iobuf_alloc()+gp_iobuf_free() pair (through the
 *       provider's per-CPU cache), per gp_cache_alloc()+gp_cache_free()
 *       pair on that cache (a bare cache hit) and per gen_pool_alloc()+
 *       gen_pool_free() pair on the pool, one after the other in each of 5
 *       rounds; medians.  JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "genpool/io.h"
#include "genpool/percpu.h"

#define TMPFS_MAGIC 0x01021994

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long status_kib(const char *key)
{
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "genpool-iobench: %s: %s\n", what, strerror(err));
	exit(1);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The ring as fio 3.33 sets it up: task work deferred to the one
 * submitting thread (SINGLE_ISSUER | DEFER_TASKRUN, COOP_TASKRUN). */
static int ring_init(struct io_uring *ring, unsigned int depth)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_DEFER_TASKRUN,
	};

	return -io_uring_queue_init_params(depth < 8 ? 8 : depth, ring, &p);
}

enum mode { STATIC, PERIO, UNREG };

struct slot {
	struct gp_iobuf buf;
};

struct rr {
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	struct gen_pool *pool;
	enum mode mode;
	size_t bs;
	uint64_t blocks, seed;
	struct slot *slots;
};

/* Queue the read of slot @i (allocating its buffer per I/O in perio). */
static void queue_read(struct rr *r, unsigned int i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	struct slot *s = &r->slots[i];
	uint64_t off = rnd(&r->seed) % r->blocks * r->bs;

	if (r->mode == PERIO && gp_iobuf_alloc(r->bufs, r->bs, &s->buf))
		die("gp_iobuf_alloc", ENOMEM);
	gp_iobuf_prep_read(sqe, 0, &s->buf, off);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe->user_data = i;
}

static int randread(int argc, char **argv)
{
	struct rr r = { .seed = 0x9e3779b97f4a7c15ull };
	unsigned int depth;
	double secs, t0, c0, t;
	uint64_t ios = 0;
	struct statfs sfs;
	struct stat st;
	struct gp_mem *mem;
	int fd, flags = O_RDONLY;

	if (argc < 7)
		return 2;
	r.bs = strtoul(argv[3], NULL, 0);
	depth = (unsigned int)strtoul(argv[4], NULL, 0);
	secs = strtod(argv[5], NULL);
	r.mode = !strcmp(argv[6], "static") ? STATIC : !strcmp(argv[6], "perio") ? PERIO : UNREG;
	if (stat(argv[2], &st))
		die(argv[2], errno);
	/* tmpfs has no O_DIRECT (a device node on devtmpfs does). */
	if (S_ISBLK(st.st_mode) ||
	    (statfs(argv[2], &sfs) == 0 && sfs.f_type != TMPFS_MAGIC))
		flags |= O_DIRECT;
	fd = open(argv[2], flags);
	if (fd < 0)
		die(argv[2], errno);
	r.blocks = (uint64_t)(S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END) : st.st_size) / r.bs;
	if (!r.blocks || !depth)
		die("file smaller than one block, or depth 0", EINVAL);

	mem = gp_mem_create((size_t)depth * r.bs * 2 + (4u << 20), NULL);
	r.pool = gen_pool_create(12, NUMA_NO_NODE);
	if (!mem || !r.pool || gp_mem_add_to_pool(mem, r.pool) < 0)
		die("pool", ENOMEM);
	if (ring_init(&r.ring, depth))
		die("io_uring_queue_init", errno);
	if (io_uring_register_files(&r.ring, &fd, 1))
		die("register files", errno);
	if (r.mode != UNREG) {
		r.bufs = gp_uring_register(&r.ring, r.pool, GP_URING_REQUIRE_FIXED);
		if (!r.bufs)
			die("gp_uring_register", errno);
	}
	r.slots = calloc(depth, sizeof(*r.slots));
	for (unsigned int i = 0; i < depth && r.mode != PERIO; i++) {
		unsigned long a = gen_pool_alloc(r.pool, r.bs);

		if (r.mode == STATIC && gp_iobuf_alloc(r.bufs, r.bs, &r.slots[i].buf))
			die("gp_iobuf_alloc", ENOMEM);
		if (r.mode == UNREG)
			r.slots[i].buf = (struct gp_iobuf){ (void *)a, r.bs,
							   GP_IOBUF_UNREGISTERED };
		else
			gen_pool_free(r.pool, a, r.bs);
	}

	for (unsigned int i = 0; i < depth; i++)
		queue_read(&r, i);
	t0 = now();
	c0 = cpu_seconds();
	do {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		if (io_uring_submit_and_wait(&r.ring, 1) < 0)
			die("submit", errno);
		io_uring_for_each_cqe(&r.ring, head, cqe) {
			unsigned int i = (unsigned int)cqe->user_data;

			if (cqe->res != (int)r.bs)
				die("read", cqe->res < 0 ? -cqe->res : EIO);
			if (r.mode == PERIO)
				gp_iobuf_free(r.bufs, &r.slots[i].buf);
			queue_read(&r, i);
			n++;
		}
		io_uring_cq_advance(&r.ring, n);
		ios += n;
		t = now();
	} while (t - t0 < secs);
	c0 = cpu_seconds() - c0;
	printf("{\"mode\": \"%s\", \"bs\": %zu, \"depth\": %u, \"direct\": %d, "
	       "\"ios\": %llu, \"seconds\": %.3f, \"iops\": %.0f, "
	       "\"cpu_ns_per_io\": %.0f}\n", argv[6], r.bs, depth,
	       (flags & O_DIRECT) != 0, (unsigned long long)ios, t - t0,
	       (double)ios / (t - t0), c0 * 1e9 / (double)ios);
	/* The process exits with reads in flight: the kernel reaps them. */
	return 0;
}

static enum gp_mem_backing backing_of(const char *name)
{
	if (!strcmp(name, "thp"))
		return GP_MEM_THP;
	if (!strcmp(name, "hugetlb-2m"))
		return GP_MEM_HUGETLB_2M;
	return GP_MEM_ANON;
}

/* One registration shape: register on a, attach b; times and VmPin. */
static void register_once(struct gen_pool *pool, unsigned int flags,
			  const char *label)
{
	struct io_uring a, b;
	struct gp_uring_buffers *bufs;
	long pin0 = status_kib("VmPin"), pin1, pin2;
	double t0, t1, t2;

	if (io_uring_queue_init(8, &a, 0) || io_uring_queue_init(8, &b, 0))
		die("io_uring_queue_init", errno);
	t0 = now();
	bufs = gp_uring_register(&a, pool, flags | GP_URING_REQUIRE_FIXED);
	t1 = now();
	if (!bufs)
		die("gp_uring_register", errno);
	pin1 = status_kib("VmPin");
	if (gp_uring_attach(bufs, &b))
		die("gp_uring_attach", errno);
	t2 = now();
	pin2 = status_kib("VmPin");
	printf("  \"%s\": {\"register_ms\": %.3f, \"pinned_mib\": %.1f, "
	       "\"attach_ms\": %.3f, \"pinned_after_attach_mib\": %.1f},\n",
	       label, (t1 - t0) * 1e3, (pin1 - pin0) / 1024.0, (t2 - t1) * 1e3,
	       (pin2 - pin0) / 1024.0);
	gp_uring_unregister(bufs);
	io_uring_queue_exit(&a);
	io_uring_queue_exit(&b);
}

static int registration(int argc, char **argv)
{
	struct gp_mem_config cfg = { .backing = backing_of(argv[2]),
				     .nid = NUMA_NO_NODE };
	size_t mib = argc > 3 ? strtoul(argv[3], NULL, 0) : 1024;
	struct gen_pool *pool = gen_pool_create(12, NUMA_NO_NODE);
	struct gp_mem_info info;
	struct gp_mem *mem;
	double t0 = now(), t1;
	int chunks;

	mem = gp_mem_create(mib << 20, &cfg);
	t1 = now();
	if (!mem)
		die("gp_mem_create", errno);
	gp_mem_get_info(mem, &info);
	chunks = gp_mem_add_to_pool(mem, pool);
	printf("{\"backing\": \"%s\", \"mib\": %zu, \"huge_mib\": %zu, "
	       "\"chunks\": %d, \"create_ms\": %.1f,\n",
	       gp_mem_backing_name(info.backing), mib, info.huge_bytes >> 20,
	       chunks, (t1 - t0) * 1e3);
	register_once(pool, 0, "cloned");
	register_once(pool, GP_URING_NO_CLONE, "per_ring");
	printf("  \"vmpin_end_kib\": %ld}\n", status_kib("VmPin"));
	gen_pool_destroy(pool);
	return gp_mem_destroy(mem) ? 1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median5(double *v)
{
	qsort(v, 5, sizeof(*v), cmp_double);
	return v[2];
}

/* ns per alloc+free pair of @size through @cache, or the pool if NULL. */
static double cache_pairs(struct gp_cache *cache, struct gen_pool *pool,
			  size_t size, long iters)
{
	double t0 = now();

	for (long i = 0; i < iters; i++) {
		unsigned long a = cache ? gp_cache_alloc(cache, size)
					: gen_pool_alloc(pool, size);

		if (!a)
			die("alloc", ENOMEM);
		if (cache)
			gp_cache_free(cache, a, size);
		else
			gen_pool_free(pool, a, size);
	}
	return (now() - t0) * 1e9 / (double)iters;
}

static double iobuf_pairs(struct gp_uring_buffers *bufs, size_t size, long iters)
{
	struct gp_iobuf b;
	double t0 = now();

	for (long i = 0; i < iters; i++) {
		if (gp_iobuf_alloc(bufs, size, &b))
			die("gp_iobuf_alloc", ENOMEM);
		gp_iobuf_free(bufs, &b);
	}
	return (now() - t0) * 1e9 / (double)iters;
}

static int pair(int argc, char **argv)
{
	size_t size = strtoul(argv[2], NULL, 0);
	long iters = strtol(argv[3], NULL, 0);
	struct gp_mem_config cfg = { .backing = GP_MEM_ANON, .nid = NUMA_NO_NODE };
	struct gp_mem *mem = gp_mem_create(64u << 20, &cfg);
	struct gen_pool *pool = gen_pool_create(12, NUMA_NO_NODE);
	struct gp_cache_stats st;
	struct io_uring ring;
	struct gp_uring_buffers *bufs;
	double io[5], hit[5], raw[5];

	if (!mem || !pool || gp_mem_add_to_pool(mem, pool) < 0 ||
	    io_uring_queue_init(8, &ring, 0))
		die("setup", ENOMEM);
	bufs = gp_uring_register(&ring, pool, GP_URING_REQUIRE_FIXED);
	if (!bufs || !gp_uring_cache(bufs))
		die("gp_uring_register", errno ? errno : ENOENT);
	for (int r = 0; r < 5; r++) {
		io[r] = iobuf_pairs(bufs, size, iters);
		hit[r] = cache_pairs(gp_uring_cache(bufs), pool, size, iters);
		raw[r] = cache_pairs(NULL, pool, size, iters);
	}
	gp_cache_get_stats(gp_uring_cache(bufs), &st);
	printf("{\"size\": %zu, \"iters\": %ld, \"iobuf_pair_ns\": %.1f, "
	       "\"cache_pair_ns\": %.1f, \"pool_pair_ns\": %.1f, "
	       "\"cache_mode\": \"%s\"}\n", size, iters, median5(io),
	       median5(hit), median5(raw), st.mode_name);
	gp_uring_unregister(bufs);
	io_uring_queue_exit(&ring);
	gen_pool_destroy(pool);
	return gp_mem_destroy(mem) ? 1 : 0;
}

int main(int argc, char **argv)
{
	int ret = 2;

	if (argc > 2 && !strcmp(argv[1], "randread"))
		ret = randread(argc, argv);
	else if (argc > 2 && !strcmp(argv[1], "register"))
		ret = registration(argc, argv);
	else if (argc > 3 && !strcmp(argv[1], "pair"))
		ret = pair(argc, argv);
	if (ret == 2)
		fprintf(stderr, "usage: genpool-iobench randread FILE BS DEPTH "
			"SECONDS static|perio|unreg\n"
			"       genpool-iobench register anon|thp|hugetlb-2m [MIB]\n"
			"       genpool-iobench pair SIZE ITERS\n");
	return ret;
}
