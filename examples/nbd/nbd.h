/* SPDX-License-Identifier: MIT */
/*
 * examples/nbd/nbd.h - genpool-nbd's internal interfaces: the export (the
 * backing file), the buffer provider, the workers (one io_uring each) and
 * the handshake.  docs/ARCHITECTURE.md follows a request through them.
 */
#ifndef GENPOOL_NBD_H
#define GENPOOL_NBD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>

struct io_uring;

/* The largest READ/WRITE payload we accept (advertised in NBD_INFO_BLOCK_SIZE). */
#define NBD_MAX_PAYLOAD		(32U << 20)
/* A WRITE this much larger than allowed is not drained but dropped. */
#define NBD_MAX_DISCARD		(2ULL * NBD_MAX_PAYLOAD)

enum nbd_backing { BACKING_DEFAULT, BACKING_HUGETLB, BACKING_THP, BACKING_ANON };

/* What the command line asked for. */
struct nbd_config {
	const char *file;
	uint64_t size;			/* 0: the file's size */
	const char *host;		/* TCP address (default 127.0.0.1) */
	int port;			/* TCP port, 0: any free one */
	const char *unix_path;		/* a Unix socket instead of TCP */
	unsigned int threads;
	enum nbd_backing backing;
	bool zerocopy;
	bool readonly;
};

/**
 * struct nbd_export - the one export: the backing file.
 * @fd:        the file, O_DIRECT when @direct
 * @size:      bytes exported
 * @readonly:  writes answer EPERM
 * @direct:    opened O_DIRECT; requests not aligned to @align are bounced
 * @align:     offset and length granularity the fd needs (1 when buffered)
 * @mem_align: buffer address alignment the fd needs
 * @no_zero_range: FALLOC_FL_ZERO_RANGE is not supported (learned at run time)
 * @rmw_lock:  serialises the read-modify-write of partial blocks
 * @zeroes:    an aligned block of zeroes for writing zeroes by hand
 */
struct nbd_export {
	int fd;
	uint64_t size;
	bool readonly;
	bool direct;
	uint32_t align;
	uint32_t mem_align;
	atomic_bool no_zero_range;
	pthread_mutex_t rmw_lock;
	void *zeroes;
};

/* Size of @zeroes above. */
#define NBD_ZERO_BUF		(1U << 20)

int export_open(struct nbd_export *exp, const struct nbd_config *cfg);
void export_close(struct nbd_export *exp);
/* Transmission flags for the handshake. */
uint16_t export_flags(const struct nbd_export *exp);
/* Preferred block size for NBD_INFO_BLOCK_SIZE. */
uint32_t export_preferred_block(const struct nbd_export *exp);
/* True if [off, off+len) needs no bounce under O_DIRECT. */
bool export_aligned(const struct nbd_export *exp, uint64_t off, uint64_t len);
/*
 * Synchronous slow paths (rare; under @rmw_lock where they touch partial
 * blocks).  @buf holds the aligned extent around [off, off+len) with the
 * payload already at its place; the partial blocks at either end are
 * filled from the file before the extent is written.  Return 0 or -errno.
 */
int export_write_unaligned(struct nbd_export *exp, void *buf, uint64_t off,
			   uint32_t len, bool fua);
int export_zero_sync(struct nbd_export *exp, uint64_t off, uint64_t len,
		     bool may_trim, bool fua);

/**
 * struct nbd_buf - a payload buffer.
 * @addr:  first byte (aligned to the export's mem_align)
 * @len:   bytes usable
 * @index: fixed-buffer index registered with every worker's ring, or -1
 *         for memory no ring knows (malloc'd, or registration refused)
 */
struct nbd_buf {
	unsigned char *addr;
	size_t len;
	int index;
};

/*
 * The buffer provider: where request buffers come from.  Zero-copy mode
 * carves them from a genpool pool registered with every ring; the
 * --no-zerocopy mode mallocs each one.  Thread-safe.
 */
struct nbd_provider;
struct nbd_provider *provider_create(const struct nbd_config *cfg,
				     size_t align);
/* Make the provider's memory fixed buffers of @ring (once per worker). */
int provider_attach(struct nbd_provider *prov, struct io_uring *ring);
void provider_detach(struct nbd_provider *prov, struct io_uring *ring);
/* 0, or -ENOMEM when the pool is exhausted for now (the caller waits:
 * for @wake_fd to be written to if provider_wakes(), else on a timer). */
int provider_alloc(struct nbd_provider *prov, size_t len, int wake_fd,
		   struct nbd_buf *out);
bool provider_wakes(const struct nbd_provider *prov);
void provider_unwait(struct nbd_provider *prov, int wake_fd);
void provider_free(struct nbd_provider *prov, const struct nbd_buf *buf);
bool provider_ring_fixed(struct nbd_provider *prov, const struct io_uring *ring);
struct io_uring_sqe;
struct io_uring_cqe;
/* SEND_ZC of [addr, addr+len) inside @buf (fixed when it has an index). */
void provider_prep_send_zc(struct nbd_provider *prov, struct io_uring_sqe *sqe, int fd,
			   const struct nbd_buf *buf, const void *addr, size_t len,
			   int msg_flags);
/* One CQE of such a send: 1 when the buffer is free again (see bufprov.c). */
int provider_send_zc_cqe(struct nbd_provider *prov, const struct io_uring_cqe *cqe,
			 bool *notif, bool *copied);
/* Cached buffers back to the pool (its figures exact). */
void provider_drain(struct nbd_provider *prov);
void provider_print_stats(struct nbd_provider *prov, FILE *out);
void provider_destroy(struct nbd_provider *prov);

/* Counters a worker keeps (written by the worker, read by anyone). */
struct nbd_stats {
	uint64_t conns;			/* connections served */
	uint64_t dropped;		/* connections dropped for misbehaving */
	uint64_t cmds[8];		/* requests by NBD_CMD_* */
	uint64_t errors;		/* error replies */
	uint64_t bytes_read;		/* payload bytes sent */
	uint64_t bytes_written;		/* payload bytes received and written */
	uint64_t unaligned;		/* requests bounced for O_DIRECT */
	uint64_t staged_copy;		/* payload bytes copied from the header buffer */
	uint64_t zc_sends;		/* SEND_ZC replies */
	uint64_t zc_copied;		/* ... that the kernel copied anyway */
	uint64_t buf_waits;		/* times a request waited for a buffer */
};

/* Shared by main, the handshake and the workers. */
struct nbd_server {
	struct nbd_config cfg;
	struct nbd_export exp;
	struct nbd_provider *prov;
	struct nbd_worker **workers;
	unsigned int nworkers;
	atomic_bool stopping;
};

struct nbd_worker *worker_create(struct nbd_server *srv, unsigned int id);
/* Hand a negotiated connection to the least loaded worker. */
void server_add_conn(struct nbd_server *srv, int fd, bool structured);
/* Ask a worker to finish its in-flight requests and stop. */
void worker_stop(struct nbd_worker *w);
void worker_join(struct nbd_worker *w);
void worker_destroy(struct nbd_worker *w);
/* A snapshot of the worker's counters, added to @sum. */
void worker_add_stats(const struct nbd_worker *w, struct nbd_stats *sum);
unsigned int worker_load(const struct nbd_worker *w);

/*
 * Run the fixed newstyle handshake on @fd (blocking, bounded by socket
 * timeouts) and hand the connection to a worker, or close it.
 */
void handshake_run(struct nbd_server *srv, int fd);
/* Shutdown: end every negotiation in progress; refuse new ones. */
void handshake_abort_all(void);

#endif /* GENPOOL_NBD_H */
