// SPDX-License-Identifier: MIT
/*
 * io/uring.c - the registered-buffer provider: a pool's chunks as tagged
 * fixed-buffer slots of a sparse table, registered once on a private
 * ("home") ring and cloned into the application's rings, or registered on
 * each ring where the kernel cannot clone; gp_iobuf_alloc()/free().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "genpool/percpu.h"
#include "genpool/stats.h"
#include "io_internal.h"

#define HOME_ENTRIES 16

/* A pool chunk, or a 1 GiB piece of a larger one: what one slot covers. */
struct piece {
	unsigned long start;
	size_t len;
	unsigned int slot;		/* GP_IOBUF_UNREGISTERED: none */
	struct gp_mem *mem;		/* the gp_mem we hold, or NULL */
};

/* An immutable, sorted snapshot of the pieces, read lock-free. */
struct piece_table {
	struct piece_table *older;	/* retired snapshots, freed at the end */
	size_t n;
	struct piece p[];
};

struct ring_ref {
	const struct io_uring *ring;	/* identity only */
	int fd;				/* our duplicate of its fd */
	unsigned long gen;		/* table generation it has (cloned) */
	size_t charged;			/* bytes charged for it (per ring) */
	struct ring_ref *next;
};

/* Bytes this process charged against RLIMIT_MEMLOCK through io_uring. */
static atomic_size_t process_charged;

int gp_io_register(int fd, unsigned int opcode, const void *arg,
		   unsigned int nr_args)
{
	long ret = syscall(__NR_io_uring_register, fd, opcode, arg, nr_args);

	return ret < 0 ? -errno : (int)ret;
}

int gp_io_ring_dup(const struct io_uring *ring)
{
	int fd = fcntl(ring->ring_fd, F_DUPFD_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

/*
 * May @bytes more be pinned?  Without CAP_IPC_LOCK the kernel charges
 * every registration to the user's RLIMIT_MEMLOCK; refusing before asking
 * gives a message that says how much, not a bare ENOMEM.
 */
static int budget_check(size_t bytes, const char *what)
{
	struct rlimit rl;
	size_t have = atomic_load(&process_charged);

	if (bytes == 0 || gp_io_capable(CAP_IPC_LOCK))
		return 0;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	if (have + bytes <= rl.rlim_cur)
		return 0;
	fprintf(stderr, "genpool: %s: RLIMIT_MEMLOCK is %llu KiB, %zu KiB are "
		"registered already and %zu KiB more are needed (no CAP_IPC_LOCK)\n",
		what, (unsigned long long)rl.rlim_cur >> 10, have >> 10, bytes >> 10);
	return -ENOMEM;
}

/* Record (or undo, with @sign -1) a charge the kernel made. */
static size_t charge(size_t bytes, int sign)
{
	if (gp_io_capable(CAP_IPC_LOCK))
		return 0;
	if (sign > 0)
		atomic_fetch_add(&process_charged, bytes);
	else
		atomic_fetch_sub(&process_charged, bytes);
	return bytes;
}

/* Fill or (NULL @addr) clear one slot of @fd's table. */
static int slot_update(int fd, unsigned int slot, unsigned long addr,
		       size_t len, uint64_t tag)
{
	struct iovec iov = { .iov_base = (void *)addr, .iov_len = len };
	struct io_uring_rsrc_update2 up = {
		.offset = slot,
		.data = (uintptr_t)&iov,
		.tags = tag ? (uintptr_t)&tag : 0,
		.nr = 1,
	};
	int ret = gp_io_register(fd, IORING_REGISTER_BUFFERS_UPDATE, &up,
				 sizeof(up));

	return ret < 0 ? ret : 0;
}

static int table_register_sparse(int fd)
{
	struct io_uring_rsrc_register reg = {
		.nr = GP_URING_MAX_SLOTS,
		.flags = IORING_RSRC_REGISTER_SPARSE,
	};

	return gp_io_register(fd, IORING_REGISTER_BUFFERS2, &reg, sizeof(reg));
}

static int table_unregister(int fd)
{
	return gp_io_register(fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
}

static int table_clone(struct gp_uring_buffers *bufs, int fd, bool replace)
{
	struct gp_k_clone_buffers c = {
		.src_fd = (uint32_t)bufs->home.ring_fd,
		.flags = replace ? GP_K_CLONE_DST_REPLACE : 0,
	};

	return gp_io_register(fd, GP_K_REGISTER_CLONE_BUFFERS, &c, 1);
}

unsigned int gp_io_lookup_slot(struct gp_uring_buffers *bufs,
			       unsigned long addr, size_t len)
{
	const struct piece_table *t =
		atomic_load_explicit(&bufs->table, memory_order_acquire);
	size_t lo = 0, hi = t ? t->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->p[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return GP_IOBUF_UNREGISTERED;
	const struct piece *pc = &t->p[lo - 1];

	if (addr - pc->start < pc->len && len <= pc->len - (addr - pc->start))
		return pc->slot;
	return GP_IOBUF_UNREGISTERED;
}

/*
 * Publish the pieces known now, once every ring has the table their slots
 * are in: a ring behind would fail a fixed opcode on a newer slot.  Caller
 * holds the lock.
 */
static int publish(struct gp_uring_buffers *bufs)
{
	struct piece_table *t;

	if (!bufs->unpublished)
		return 0;
	for (struct ring_ref *r = bufs->rings; r; r = r->next)
		if (bufs->mode == GP_URING_CLONED && r->gen != bufs->gen)
			return 0;
	t = malloc(sizeof(*t) + bufs->nall * sizeof(t->p[0]));
	if (!t)
		return -ENOMEM;
	bufs->unpublished = false;
	t->n = bufs->nall;
	memcpy(t->p, bufs->all, bufs->nall * sizeof(t->p[0]));
	/* Readers may still use the old one: keep it until unregister. */
	t->older = atomic_load(&bufs->table);
	atomic_store_explicit(&bufs->table, t, memory_order_release);
	return 0;
}

static bool piece_known(const struct gp_uring_buffers *bufs, unsigned long start)
{
	for (size_t i = 0; i < bufs->nall; i++)
		if (bufs->all[i].start == start)
			return true;
	return false;
}

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

struct scan {
	struct gp_uring_buffers *bufs;
	struct piece *fresh;
	size_t n, cap;
	int err;
};

/* gen_pool_for_each_chunk() callback: collect pieces not known yet. */
static void scan_chunk(struct gen_pool *pool, struct gen_pool_chunk *chunk,
		       void *data)
{
	struct scan *s = data;
	unsigned long a = chunk->start_addr, end = chunk->end_addr + 1;

	for (; a < end && !s->err; a += GP_URING_MAX_SLOT_BYTES) {
		size_t len = end - a < GP_URING_MAX_SLOT_BYTES ? end - a
							      : GP_URING_MAX_SLOT_BYTES;

		if (piece_known(s->bufs, a))
			continue;
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 16;
			struct piece *p = realloc(s->fresh, cap * sizeof(*p));

			if (!p) {
				s->err = -ENOMEM;
				return;
			}
			s->fresh = p;
			s->cap = cap;
		}
		s->fresh[s->n++] = (struct piece){
			.start = a, .len = len, .slot = GP_IOBUF_UNREGISTERED };
	}
}

/* Register @pc on every per-ring table, all or none. */
static int per_ring_fill(struct gp_uring_buffers *bufs, const struct piece *pc)
{
	struct ring_ref *r, *failed = NULL;
	int ret = 0;

	for (r = bufs->rings; r; r = r->next) {
		ret = slot_update(r->fd, pc->slot, pc->start, pc->len, 0);
		if (ret) {
			failed = r;
			break;
		}
	}
	for (r = bufs->rings; failed && r != failed; r = r->next)
		slot_update(r->fd, pc->slot, 0, 0, 0);
	return ret;
}

/* Give @pc a slot: on the home table (tagged) or on every ring. */
static int piece_register(struct gp_uring_buffers *bufs, struct piece *pc)
{
	unsigned int copies = bufs->mode == GP_URING_CLONED ? 1 : bufs->nrings;
	unsigned int slot = bufs->next_slot;
	int ret;

	if (slot >= GP_URING_MAX_SLOTS)
		return -ENOSPC;
	ret = budget_check((size_t)copies * pc->len, "registering a chunk");
	if (ret)
		return ret;
	pc->slot = slot;
	if (bufs->mode == GP_URING_CLONED)
		ret = slot_update(bufs->home.ring_fd, slot, pc->start, pc->len,
				  (uint64_t)slot + 1);
	else
		ret = per_ring_fill(bufs, pc);
	if (ret) {
		pc->slot = GP_IOBUF_UNREGISTERED;
		if (ret == -ENOMEM && !gp_io_capable(CAP_IPC_LOCK))
			fprintf(stderr, "genpool: the kernel refused to pin %zu KiB "
				"(RLIMIT_MEMLOCK, shared by every io_uring of this "
				"user)\n", pc->len >> 10);
		return ret;
	}
	bufs->next_slot++;
	bufs->slots++;
	bufs->registered_bytes += pc->len;
	bufs->charged_bytes += charge((size_t)copies * pc->len, 1);
	pc->mem = gp_io_mem_hold(pc->start, pc->len);
	return 0;
}

/* Clone the home table into every ring behind; -errno of the first
 * failure (that ring stays behind). */
static int refresh_rings(struct gp_uring_buffers *bufs)
{
	int first = 0;

	for (struct ring_ref *r = bufs->rings; r; r = r->next) {
		int ret;

		if (r->gen == bufs->gen)
			continue;
		ret = table_clone(bufs, r->fd, true);
		if (ret == 0)
			r->gen = bufs->gen;
		else if (!first)
			first = ret;
	}
	return first;
}

/*
 * Collect the pool's new chunks, register them, bring every ring up to
 * date and publish.  Returns the slots added or -errno.  Caller holds the
 * lock.
 */
static int sync_locked(struct gp_uring_buffers *bufs)
{
	struct scan s = { .bufs = bufs };
	int added = 0, ret = 0, r_publish;

	gen_pool_for_each_chunk(bufs->pool, scan_chunk, &s);
	if (s.err) {
		free(s.fresh);
		return s.err;
	}
	if (bufs->nall + s.n > bufs->cap) {
		size_t cap = bufs->nall + s.n + 16;
		struct piece *p = realloc(bufs->all, cap * sizeof(*p));

		if (!p) {
			free(s.fresh);
			return -ENOMEM;
		}
		bufs->all = p;
		bufs->cap = cap;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct piece *pc = &s.fresh[i];

		if (bufs->mode != GP_URING_UNREGISTERED) {
			int r = piece_register(bufs, pc);

			if (r) {
				if (!ret)
					ret = r;
				bufs->reason = -r;
			} else {
				added++;
			}
		}
		bufs->all[bufs->nall++] = *pc;
	}
	free(s.fresh);
	if (s.n) {
		qsort(bufs->all, bufs->nall, sizeof(bufs->all[0]), piece_cmp);
		bufs->unpublished = true;
	}
	if (added && bufs->mode == GP_URING_CLONED)
		bufs->gen++;
	if (bufs->mode == GP_URING_CLONED) {
		int r = refresh_rings(bufs);

		if (r)
			return r;
	}
	r_publish = publish(bufs);
	if (r_publish)
		return r_publish;
	if (ret && !added)
		return ret;
	return added;
}

/* Register the whole table on one ring of its own (per-ring mode). */
static int per_ring_register(struct gp_uring_buffers *bufs, struct ring_ref *r)
{
	int ret = budget_check(bufs->registered_bytes, "gp_uring_attach");

	if (ret)
		return ret;
	ret = table_register_sparse(r->fd);
	for (size_t i = 0; !ret && i < bufs->nall; i++) {
		const struct piece *pc = &bufs->all[i];

		if (pc->slot != GP_IOBUF_UNREGISTERED)
			ret = slot_update(r->fd, pc->slot, pc->start, pc->len, 0);
	}
	if (ret) {
		table_unregister(r->fd);
		if (ret == -ENOMEM)
			fprintf(stderr, "genpool: gp_uring_attach: the kernel "
				"refused to pin %zu KiB more (RLIMIT_MEMLOCK)\n",
				bufs->registered_bytes >> 10);
		return ret;
	}
	r->charged = charge(bufs->registered_bytes, 1);
	bufs->charged_bytes += r->charged;
	return 0;
}

/* Give @r the table (clone or register); -errno. */
static int ring_install(struct gp_uring_buffers *bufs, struct ring_ref *r,
			bool replace)
{
	int ret;

	switch (bufs->mode) {
	case GP_URING_CLONED:
		ret = table_clone(bufs, r->fd, replace);
		if (ret == 0)
			r->gen = bufs->gen;
		return ret;
	case GP_URING_PER_RING:
		return replace ? 0 : per_ring_register(bufs, r);
	default:
		return 0;
	}
}

static struct ring_ref *find_ring(struct gp_uring_buffers *bufs,
				  const struct io_uring *ring,
				  struct ring_ref ***link)
{
	struct ring_ref **p;

	for (p = &bufs->rings; *p; p = &(*p)->next) {
		if ((*p)->ring == ring) {
			if (link)
				*link = p;
			return *p;
		}
	}
	return NULL;
}

static void ring_remove(struct gp_uring_buffers *bufs, struct ring_ref **link)
{
	struct ring_ref *r = *link;

	if (bufs->mode != GP_URING_UNREGISTERED)
		table_unregister(r->fd);
	if (r->charged) {
		charge(r->charged, -1);
		bufs->charged_bytes -= r->charged;
	}
	close(r->fd);
	*link = r->next;
	bufs->nrings--;
	free(r);
}

/* Attach (caller holds the lock). */
static int attach_locked(struct gp_uring_buffers *bufs, struct io_uring *ring)
{
	struct ring_ref *r = find_ring(bufs, ring, NULL);
	int ret;

	if (r) {
		ret = ring_install(bufs, r, true);
		return ret ? ret : publish(bufs);
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ring = ring;
	r->fd = gp_io_ring_dup(ring);
	if (r->fd < 0) {
		ret = r->fd;
		free(r);
		return ret;
	}
	ret = ring_install(bufs, r, false);
	if (ret) {
		close(r->fd);
		free(r);
		return ret;
	}
	r->next = bufs->rings;
	bufs->rings = r;
	bufs->nrings++;
	return 0;
}

/* Release every piece's hold and forget the slots. */
static void drop_pieces(struct gp_uring_buffers *bufs)
{
	for (size_t i = 0; i < bufs->nall; i++) {
		gp_io_mem_release(bufs->all[i].mem);
		bufs->all[i].mem = NULL;
		bufs->all[i].slot = GP_IOBUF_UNREGISTERED;
	}
	bufs->slots = 0;
	bufs->next_slot = 0;
	bufs->registered_bytes = 0;
}

/*
 * Unregister the home table and wait for each slot's tag CQE: the kernel
 * has then dropped the home ring's hold on the slot's pages, and the hold
 * on the gp_mem goes.  Home never has I/O in flight, so the tags come at
 * once; the timeout only guards against a kernel that defers them.
 */
static int home_release(struct gp_uring_buffers *bufs)
{
	struct __kernel_timespec ts = { .tv_sec = 1 };
	unsigned int pending = bufs->slots;
	int ret = table_unregister(bufs->home.ring_fd);

	if (ret)
		return ret;
	while (pending) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe_timeout(&bufs->home, &cqe, &ts) != 0)
			break;
		for (size_t i = 0; i < bufs->nall; i++) {
			struct piece *pc = &bufs->all[i];

			if (pc->slot != GP_IOBUF_UNREGISTERED &&
			    (uint64_t)pc->slot + 1 == cqe->user_data) {
				gp_io_mem_release(pc->mem);
				pc->mem = NULL;
				pending--;
			}
		}
		io_uring_cqe_seen(&bufs->home, cqe);
	}
	if (pending) {
		fprintf(stderr, "genpool: gp_uring_unregister: %u slot tag(s) "
			"did not arrive; their memory stays held\n", pending);
		return -ETIMEDOUT;
	}
	return 0;
}

/*
 * Does the kernel take IORING_SEND_ZC_REPORT_USAGE?  The flag is checked
 * when the SQE is prepared, before the (bad) file is looked up: EINVAL
 * says no, EBADF says yes.
 */
static bool probe_zc_report(struct io_uring *home)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(home);
	struct io_uring_cqe *cqe;
	bool yes = false, more = true;

	if (!sqe)
		return false;
	io_uring_prep_send_zc(sqe, -1, NULL, 0, 0, GP_K_SEND_ZC_REPORT_USAGE);
	sqe->user_data = 0;
	if (io_uring_submit(home) != 1)
		return false;
	while (more && io_uring_wait_cqe(home, &cqe) == 0) {
		if (!(cqe->flags & IORING_CQE_F_NOTIF))
			yes = cqe->res != -EINVAL;
		more = cqe->flags & IORING_CQE_F_MORE;
		io_uring_cqe_seen(home, cqe);
	}
	return yes;
}

/* Set up home and the mode; false: serve unregistered (reason set). */
static bool home_setup(struct gp_uring_buffers *bufs)
{
	int ret = io_uring_queue_init(HOME_ENTRIES, &bufs->home, 0);

	if (ret) {
		bufs->reason = -ret;
		return false;
	}
	bufs->home_ok = true;
	bufs->zc_report = probe_zc_report(&bufs->home);
	if (bufs->mode == GP_URING_PER_RING)
		return true;
	ret = table_register_sparse(bufs->home.ring_fd);
	if (ret) {
		bufs->reason = -ret;
		return false;
	}
	return true;
}

/* Drop home's table: its slots, holds and charge. */
static void home_drop(struct gp_uring_buffers *bufs)
{
	home_release(bufs);
	drop_pieces(bufs);
	charge(bufs->charged_bytes, -1);
	bufs->charged_bytes = 0;
}

/*
 * Attach the first ring; with a kernel that cannot clone (EINVAL: no
 * such opcode), drop home's table and register on the ring itself.
 * Returns the slots registered or -errno.
 */
static int first_attach(struct gp_uring_buffers *bufs, struct io_uring *ring)
{
	int ret = attach_locked(bufs, ring);

	if (ret != -EINVAL || bufs->mode != GP_URING_CLONED)
		return ret ? ret : (int)bufs->slots;
	home_drop(bufs);
	bufs->nall = 0;
	bufs->mode = GP_URING_PER_RING;
	bufs->reason = EINVAL;
	ret = attach_locked(bufs, ring);
	return ret ? ret : sync_locked(bufs);
}

/*
 * Nothing could be registered: take the (empty) tables off the rings and
 * serve every buffer unregistered, keeping the rings attached.
 */
static void become_unregistered(struct gp_uring_buffers *bufs)
{
	for (struct ring_ref *r = bufs->rings; r; r = r->next)
		table_unregister(r->fd);
	if (bufs->mode == GP_URING_CLONED)
		home_drop(bufs);
	bufs->mode = GP_URING_UNREGISTERED;
}

static void free_tables(struct gp_uring_buffers *bufs)
{
	struct piece_table *t = atomic_load(&bufs->table), *older;

	for (; t; t = older) {
		older = t->older;
		free(t);
	}
	free(bufs->all);
}

/* The provider's section of gp_stats_print() of its pool. */
static int print_section(struct gen_pool *pool, FILE *out, unsigned int flags,
			 void *arg)
{
	struct gp_uring_info i;

	gp_uring_get_info(arg, &i);
	if (flags & GP_STATS_JSON)
		fprintf(out, "{\"mode\": \"%s\", \"reason\": %d, \"rings\": %u, "
			"\"slots\": %u, \"unregistered_chunks\": %u, "
			"\"registered_bytes\": %zu, \"charged_bytes\": %zu, "
			"\"unregistered_allocs\": %llu, \"alloc_failures\": %llu, "
			"\"wakeups\": %llu, \"zc_sends\": %llu, \"zc_copied\": %llu, \"zc_unknown\": %llu}",
			gp_uring_mode_name(i.mode), i.reason, i.rings, i.slots,
			i.unregistered_chunks, i.registered_bytes, i.charged_bytes,
			(unsigned long long)i.unregistered_allocs,
			(unsigned long long)i.alloc_failures,
			(unsigned long long)i.wakeups,
			(unsigned long long)i.zc_sends, (unsigned long long)i.zc_copied,
			(unsigned long long)i.zc_unknown);
	else
		fprintf(out, "mode %s%s%s, %u ring(s), %u slot(s) over %zu bytes, "
			"%u chunk(s) without a slot, %zu bytes charged to "
			"RLIMIT_MEMLOCK\nunregistered allocations %llu, failures %llu, "
			"wake-ups %llu; zero-copy sends %llu (copied %llu, not reported %llu)\n",
			gp_uring_mode_name(i.mode), i.reason ? ": " : "",
			i.reason ? strerror(i.reason) : "", i.rings, i.slots,
			i.registered_bytes, i.unregistered_chunks, i.charged_bytes,
			(unsigned long long)i.unregistered_allocs,
			(unsigned long long)i.alloc_failures,
			(unsigned long long)i.wakeups,
			(unsigned long long)i.zc_sends, (unsigned long long)i.zc_copied,
			(unsigned long long)i.zc_unknown);
	return ferror(out) ? -EIO : 0;
}

GP_IO_EXPORT struct gp_uring_buffers *
gp_uring_register_config(struct io_uring *ring, struct gen_pool *pool,
			 const struct gp_uring_config *cfg)
{
	const unsigned int known = GP_URING_REQUIRE_FIXED | GP_URING_NO_CLONE;
	const struct gp_uring_config def = { 0 };
	struct gp_uring_buffers *bufs;
	unsigned int flags;
	int ret;

	if (!cfg)
		cfg = &def;
	flags = cfg->flags;
	if (!ring || !pool || (flags & ~known) || ring->ring_fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	bufs = calloc(1, sizeof(*bufs));
	if (!bufs)
		return NULL;
	bufs->pool = pool;
	bufs->flags = flags;
	bufs->mode = flags & GP_URING_NO_CLONE ? GP_URING_PER_RING : GP_URING_CLONED;
	ret = gp_io_alloc_setup(bufs, cfg);
	if (ret) {
		free(bufs);
		errno = -ret;
		return NULL;
	}
	pthread_mutex_init(&bufs->lock, NULL);
	if (!home_setup(bufs))
		bufs->mode = GP_URING_UNREGISTERED;

	pthread_mutex_lock(&bufs->lock);
	if (bufs->mode == GP_URING_PER_RING) {
		ret = attach_locked(bufs, ring);
		if (ret == 0)
			ret = sync_locked(bufs);
	} else {
		ret = sync_locked(bufs);
		if (ret >= 0)
			ret = first_attach(bufs, ring);
	}
	if (ret != -EBUSY && ret != -EEXIST && bufs->nall &&
	    bufs->slots == 0 && bufs->mode != GP_URING_UNREGISTERED) {
		ret = -bufs->reason;
		if (!(flags & GP_URING_REQUIRE_FIXED))
			become_unregistered(bufs);
	}
	/* Some chunks refused and the others registered: those would be
	 * served unregistered, which GP_URING_REQUIRE_FIXED forbids too. */
	if (ret >= 0 && flags & GP_URING_REQUIRE_FIXED && bufs->slots < bufs->nall)
		ret = bufs->reason ? -bufs->reason : -ENOMEM;
	pthread_mutex_unlock(&bufs->lock);

	if (ret == -EBUSY || ret == -EEXIST ||
	    (flags & GP_URING_REQUIRE_FIXED &&
	     (ret < 0 || bufs->mode == GP_URING_UNREGISTERED))) {
		if (ret >= 0)
			ret = -bufs->reason;
		gp_uring_unregister(bufs);
		errno = -ret;
		return NULL;
	}
	/* A second provider on the same pool has no section of its own. */
	gp_stats_add_printer(pool, "io_uring", print_section, bufs);
	if (bufs->mode == GP_URING_UNREGISTERED)
		fprintf(stderr, "genpool: gp_uring_register: %s; serving "
			"unregistered buffers\n", strerror(bufs->reason));
	else if (bufs->slots < bufs->nall)
		fprintf(stderr, "genpool: gp_uring_register: %u of %zu chunks "
			"without a slot (%s)\n",
			(unsigned int)(bufs->nall - bufs->slots), bufs->nall,
			strerror(bufs->reason));
	return bufs;
}

GP_IO_EXPORT struct gp_uring_buffers *gp_uring_register(struct io_uring *ring,
							struct gen_pool *pool,
							unsigned int flags)
{
	const struct gp_uring_config cfg = { .flags = flags };

	return gp_uring_register_config(ring, pool, &cfg);
}

GP_IO_EXPORT int gp_uring_attach(struct gp_uring_buffers *bufs,
				 struct io_uring *other_ring)
{
	int ret;

	if (!bufs || !other_ring || other_ring->ring_fd < 0)
		return -EINVAL;
	pthread_mutex_lock(&bufs->lock);
	ret = attach_locked(bufs, other_ring);
	pthread_mutex_unlock(&bufs->lock);
	return ret;
}

GP_IO_EXPORT int gp_uring_detach(struct gp_uring_buffers *bufs,
				 struct io_uring *ring)
{
	struct ring_ref **link;
	int ret = -EINVAL;

	if (!bufs || !ring)
		return -EINVAL;
	pthread_mutex_lock(&bufs->lock);
	if (find_ring(bufs, ring, &link)) {
		ring_remove(bufs, link);
		ret = 0;
	}
	pthread_mutex_unlock(&bufs->lock);
	return ret;
}

GP_IO_EXPORT int gp_uring_sync(struct gp_uring_buffers *bufs)
{
	int ret;

	if (!bufs)
		return -EINVAL;
	pthread_mutex_lock(&bufs->lock);
	ret = sync_locked(bufs);
	pthread_mutex_unlock(&bufs->lock);
	return ret;
}

GP_IO_EXPORT int gp_uring_unregister(struct gp_uring_buffers *bufs)
{
	int ret = 0;

	if (!bufs)
		return 0;
	/* Before the lock: a running print_section() may be waiting for it. */
	gp_stats_remove_printer(bufs->pool, print_section, bufs);
	pthread_mutex_lock(&bufs->lock);
	while (bufs->rings)
		ring_remove(bufs, &bufs->rings);
	if (bufs->mode == GP_URING_CLONED && bufs->home_ok) {
		ret = home_release(bufs);
		charge(bufs->charged_bytes, -1);
	}
	if (ret == 0)
		drop_pieces(bufs);
	if (bufs->home_ok)
		io_uring_queue_exit(&bufs->home);
	pthread_mutex_unlock(&bufs->lock);
	pthread_mutex_destroy(&bufs->lock);
	/* Cached buffers go back to the pool (every gp_iobuf is free by now). */
	if (gp_io_alloc_teardown(bufs) && !ret)
		ret = -EBUSY;
	free_tables(bufs);
	free(bufs);
	return ret;
}

GP_IO_EXPORT struct gen_pool *gp_uring_pool(const struct gp_uring_buffers *bufs)
{
	return bufs ? bufs->pool : NULL;
}

GP_IO_EXPORT const char *gp_uring_mode_name(enum gp_uring_mode mode)
{
	switch (mode) {
	case GP_URING_CLONED: return "cloned";
	case GP_URING_PER_RING: return "per-ring";
	case GP_URING_UNREGISTERED: return "unregistered";
	}
	return "unknown";
}

GP_IO_EXPORT int gp_uring_get_info(struct gp_uring_buffers *bufs,
				   struct gp_uring_info *info)
{
	if (!bufs || !info)
		return -EINVAL;
	pthread_mutex_lock(&bufs->lock);
	*info = (struct gp_uring_info){
		.mode = bufs->mode,
		.reason = bufs->reason,
		.rings = bufs->nrings,
		.slots = bufs->slots,
		.unregistered_chunks = (unsigned int)(bufs->nall - bufs->slots),
		.registered_bytes = bufs->registered_bytes,
		.charged_bytes = bufs->charged_bytes,
		.unregistered_allocs = atomic_load(&bufs->unregistered_allocs),
		.alloc_failures = atomic_load(&bufs->alloc_failures),
		.wakeups = atomic_load(&bufs->wakeups),
		.zc_sends = atomic_load(&bufs->zc_sends),
		.zc_copied = atomic_load(&bufs->zc_copied),
		.zc_unknown = atomic_load(&bufs->zc_unknown),
	};
	pthread_mutex_unlock(&bufs->lock);
	return 0;
}

GP_IO_EXPORT int gp_uring_ring_fixed(struct gp_uring_buffers *bufs,
				     const struct io_uring *ring)
{
	int yes;

	if (!bufs || !ring)
		return 0;
	pthread_mutex_lock(&bufs->lock);
	yes = bufs->mode != GP_URING_UNREGISTERED &&
	      find_ring(bufs, ring, NULL) != NULL;
	pthread_mutex_unlock(&bufs->lock);
	return yes;
}

GP_IO_EXPORT int gp_uring_iobuf_of(struct gp_uring_buffers *bufs,
				   const void *addr, size_t len,
				   struct gp_iobuf *out)
{
	if (!bufs || !addr || !len || !out)
		return -EINVAL;
	out->addr = (void *)addr;
	out->len = len;
	out->buf_index = gp_io_lookup_slot(bufs, (unsigned long)addr, len);
	return 0;
}

bool gp_io_zc_report(const struct gp_uring_buffers *bufs)
{
	return bufs->zc_report;
}

void gp_io_count_zc(struct gp_uring_buffers *bufs, bool reported, bool copied)
{
	atomic_fetch_add_explicit(&bufs->zc_sends, 1, memory_order_relaxed);
	if (!reported)
		atomic_fetch_add_explicit(&bufs->zc_unknown, 1, memory_order_relaxed);
	else if (copied)
		atomic_fetch_add_explicit(&bufs->zc_copied, 1, memory_order_relaxed);
}
