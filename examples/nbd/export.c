// SPDX-License-Identifier: MIT
/*
 * examples/nbd/export.c - the backing file: opening it O_DIRECT with the
 * alignment the kernel reports, and the synchronous slow paths that the
 * io_uring fast path hands the rare requests to (partial blocks under
 * O_DIRECT, zeroing where the file system cannot).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "nbd.h"
#include "nbd-proto.h"

/* Alignment assumed when the kernel does not report one (statx). */
#define DEFAULT_DIO_ALIGN	4096U

static uint64_t round_down(uint64_t v, uint32_t a) { return v - v % a; }
static uint64_t round_up(uint64_t v, uint32_t a) { return round_down(v + a - 1, a); }

/* The file's size in bytes (regular file or block device), or -errno. */
static int64_t file_size(int fd, const struct stat *st)
{
	uint64_t bytes;

	if (S_ISREG(st->st_mode))
		return st->st_size;
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		return -errno;
	return (int64_t)bytes;
}

/* Learn the O_DIRECT alignment (offset and memory) of @fd. */
static void dio_alignment(int fd, uint32_t *offset_align, uint32_t *mem_align)
{
	struct statx sx;

	*offset_align = *mem_align = DEFAULT_DIO_ALIGN;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
		*offset_align = sx.stx_dio_offset_align;
		*mem_align = sx.stx_dio_mem_align ? sx.stx_dio_mem_align : 1;
	}
}

/* Give the file at least @size bytes (creating it when absent). */
static int open_sized(const struct nbd_config *cfg, int *fdp, struct stat *st)
{
	int flags = cfg->readonly ? O_RDONLY : O_RDWR;
	int fd;

	if (cfg->size && !cfg->readonly)
		flags |= O_CREAT;
	fd = open(cfg->file, flags | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "genpool-nbd: %s: %s\n", cfg->file, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0 || (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))) {
		fprintf(stderr, "genpool-nbd: %s: not a regular file or block device\n",
			cfg->file);
		close(fd);
		return -1;
	}
	if (S_ISREG(st->st_mode) && cfg->size > (uint64_t)st->st_size) {
		if (cfg->readonly || ftruncate(fd, (off_t)cfg->size) < 0) {
			fprintf(stderr, "genpool-nbd: %s: shorter than --size and %s\n",
				cfg->file, cfg->readonly ? "--readonly" : strerror(errno));
			close(fd);
			return -1;
		}
		st->st_size = (off_t)cfg->size;
	}
	*fdp = fd;
	return 0;
}

/* Switch @exp->fd to O_DIRECT when the extents we touch stay in the file. */
static void try_direct(struct nbd_export *exp, uint64_t fsize)
{
	uint32_t align, mem_align;
	int fl = fcntl(exp->fd, F_GETFL);

	dio_alignment(exp->fd, &align, &mem_align);
	if (round_up(exp->size, align) > fsize) {
		fprintf(stderr, "genpool-nbd: export size %llu is not a multiple of "
			"the %u-byte direct I/O block and the file is no longer: "
			"using the page cache\n", (unsigned long long)exp->size, align);
		return;
	}
	if (fl < 0 || fcntl(exp->fd, F_SETFL, fl | O_DIRECT) < 0) {
		fprintf(stderr, "genpool-nbd: O_DIRECT refused (%s): using the page cache\n",
			strerror(errno));
		return;
	}
	exp->direct = true;
	exp->align = align;
	exp->mem_align = mem_align;
}

/**
 * export_open - open the backing file and size the export.
 * Returns 0, or -1 after printing why.
 */
int export_open(struct nbd_export *exp, const struct nbd_config *cfg)
{
	struct stat st;
	int64_t fsize;

	memset(exp, 0, sizeof(*exp));
	exp->align = 1;
	exp->mem_align = 64;
	exp->readonly = cfg->readonly;
	if (open_sized(cfg, &exp->fd, &st) < 0)
		return -1;
	fsize = file_size(exp->fd, &st);
	if (fsize < 0 || (cfg->size && cfg->size > (uint64_t)fsize)) {
		fprintf(stderr, "genpool-nbd: %s: %s\n", cfg->file,
			fsize < 0 ? strerror((int)-fsize) : "smaller than --size");
		close(exp->fd);
		return -1;
	}
	exp->size = cfg->size ? cfg->size : (uint64_t)fsize;
	try_direct(exp, (uint64_t)fsize);
	if (exp->mem_align < 64)
		exp->mem_align = 64;
	if (posix_memalign(&exp->zeroes, 4096, NBD_ZERO_BUF)) {
		close(exp->fd);
		return -1;
	}
	memset(exp->zeroes, 0, NBD_ZERO_BUF);
	pthread_mutex_init(&exp->rmw_lock, NULL);
	return 0;
}

/** export_close - close the file (after every worker has stopped). */
void export_close(struct nbd_export *exp)
{
	pthread_mutex_destroy(&exp->rmw_lock);
	free(exp->zeroes);
	close(exp->fd);
}

/** export_flags - the transmission flags the handshake announces. */
uint16_t export_flags(const struct nbd_export *exp)
{
	uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
		     NBD_FLAG_SEND_FUA | NBD_FLAG_CAN_MULTI_CONN;

	if (exp->readonly)
		return f | NBD_FLAG_READ_ONLY;
	return f | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
}

/** export_preferred_block - the size below which I/O is read-modify-write. */
uint32_t export_preferred_block(const struct nbd_export *exp)
{
	return exp->align > 4096 ? exp->align : 4096;
}

/** export_aligned - true if the range needs no bounce under O_DIRECT. */
bool export_aligned(const struct nbd_export *exp, uint64_t off, uint64_t len)
{
	return (off % exp->align) == 0 && (len % exp->align) == 0;
}

/* pread/pwrite all of @len bytes, or -errno (-EIO on an early end of file). */
static int full_io(int fd, void *buf, size_t len, uint64_t off, bool write, int flags)
{
	while (len) {
		struct iovec iov = { buf, len };
		ssize_t n = write ? pwritev2(fd, &iov, 1, (off_t)off, flags)
				  : preadv2(fd, &iov, 1, (off_t)off, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* An aligned block for the partial ends, or NULL. */
static void *scratch_block(const struct nbd_export *exp)
{
	void *p;

	return posix_memalign(&p, exp->mem_align > 4096 ? exp->mem_align : 4096,
			      exp->align) ? NULL : p;
}

/*
 * Fill bytes [from, to) of @dst (which stands for the file at @base) from
 * the file's block at @block, read into @scratch.
 */
static int fill_from_block(struct nbd_export *exp, void *scratch, uint64_t block,
			   unsigned char *dst, uint64_t base, uint64_t from,
			   uint64_t to)
{
	int r = full_io(exp->fd, scratch, exp->align, block, false, 0);

	if (r == 0)
		memcpy(dst + (from - base), (unsigned char *)scratch + (from - block),
		       to - from);
	return r;
}

/**
 * export_write_unaligned - write [off, off+len) under O_DIRECT by
 * read-modify-write of the partial blocks at either end.
 * @buf:  the aligned extent [round_down(off), round_up(off+len)), with the
 *        payload already at @buf + (off - round_down(off))
 * Serialised with every other partial-block change by @rmw_lock, so two
 * writes to different bytes of one block never lose each other.
 * Returns 0 or -errno.
 */
int export_write_unaligned(struct nbd_export *exp, void *buf, uint64_t off,
			   uint32_t len, bool fua)
{
	uint64_t a0 = round_down(off, exp->align);
	uint64_t a1 = round_up(off + len, exp->align);
	uint64_t tail = a1 - exp->align;
	void *scratch = scratch_block(exp);
	int r = 0;

	if (!scratch)
		return -ENOMEM;
	pthread_mutex_lock(&exp->rmw_lock);
	if (off > a0)
		r = fill_from_block(exp, scratch, a0, buf, a0, a0, off);
	if (r == 0 && off + len < a1)
		r = fill_from_block(exp, scratch, tail, buf, a0, off + len, a1);
	if (r == 0)
		r = full_io(exp->fd, buf, a1 - a0, a0, true, fua ? RWF_DSYNC : 0);
	pthread_mutex_unlock(&exp->rmw_lock);
	free(scratch);
	return r;
}

/* Zero the part [from, to) of the block at @block (read-modify-write). */
static int zero_partial(struct nbd_export *exp, void *scratch, uint64_t block,
			uint64_t from, uint64_t to)
{
	int r = full_io(exp->fd, scratch, exp->align, block, false, 0);

	if (r)
		return r;
	memset((unsigned char *)scratch + (from - block), 0, to - from);
	return full_io(exp->fd, scratch, exp->align, block, true, 0);
}

/* Write zeroes over the aligned [off, off+len) from the zero buffer. */
static int write_zeroes(struct nbd_export *exp, uint64_t off, uint64_t len)
{
	while (len) {
		size_t n = len < NBD_ZERO_BUF ? len : NBD_ZERO_BUF;
		int r = full_io(exp->fd, exp->zeroes, n, off, true, 0);

		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

/* Zero the aligned [off, off+len): fallocate if the file system can. */
static int zero_aligned(struct nbd_export *exp, uint64_t off, uint64_t len,
			bool may_trim)
{
	if (!len)
		return 0;
	if (!atomic_load(&exp->no_zero_range)) {
		if (fallocate(exp->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) == 0)
			return 0;
		if (errno != EOPNOTSUPP)
			return -errno;
		atomic_store(&exp->no_zero_range, true);
	}
	if (may_trim && fallocate(exp->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (off_t)off, (off_t)len) == 0)
		return 0;
	return write_zeroes(exp, off, len);
}

/**
 * export_zero_sync - zero [off, off+len) synchronously: partial blocks by
 * read-modify-write (under @rmw_lock), the aligned middle by fallocate,
 * falling back to punching a hole (if @may_trim) or writing zeroes.
 * Returns 0 or -errno.
 */
int export_zero_sync(struct nbd_export *exp, uint64_t off, uint64_t len,
		     bool may_trim, bool fua)
{
	uint64_t end = off + len;
	uint64_t m0 = round_up(off, exp->align), m1 = round_down(end, exp->align);
	void *scratch = NULL;
	int r = 0;

	if (m0 > m1 || m0 != off || m1 != end) {
		scratch = scratch_block(exp);
		if (!scratch)
			return -ENOMEM;
	}
	pthread_mutex_lock(&exp->rmw_lock);
	if (m0 > m1) {
		/* All inside one block. */
		r = zero_partial(exp, scratch, m1, off, end);
	} else {
		if (m0 != off)
			r = zero_partial(exp, scratch, m0 - exp->align, off, m0);
		if (r == 0 && m1 != end)
			r = zero_partial(exp, scratch, m1, m1, end);
		if (r == 0)
			r = zero_aligned(exp, m0, m1 - m0, may_trim);
	}
	pthread_mutex_unlock(&exp->rmw_lock);
	free(scratch);
	if (r == 0 && fua && fdatasync(exp->fd) < 0)
		r = -errno;
	return r;
}
