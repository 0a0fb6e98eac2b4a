// SPDX-License-Identifier: MIT
/*
 * examples/nbd/handshake.c - the fixed newstyle handshake (doc/proto.md,
 * "Fixed newstyle negotiation"), run with blocking socket calls on the
 * connection's own short-lived thread.  Socket timeouts bound how long a
 * silent client can hold it; option count and length are bounded too.
 * The one export answers to any name (the empty name is the default).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "nbd.h"
#include "nbd-proto.h"

#define HANDSHAKE_TIMEOUT_S	10
/* Connections negotiating at once; more are refused until one finishes. */
#define MAX_HANDSHAKES		128
#define MAX_OPTIONS		64
/* Longest option data we read (a GO with a maximal name and info list). */
#define MAX_OPTION_DATA		(4 + NBD_MAX_STRING + 2 + 2 * 64)
/* Option data longer than this is not even drained: the client is dropped. */
#define MAX_OPTION_SKIP		(1U << 20)

#define EXPORT_DESCRIPTION	"genpool-nbd export"

/* Sockets negotiating now, so that a shutdown need not wait out their timeouts. */
static pthread_mutex_t track_lock = PTHREAD_MUTEX_INITIALIZER;
static int tracked[MAX_HANDSHAKES];
static unsigned int ntracked;
static bool aborting;

/* Note @fd as negotiating; false if the server is shutting down. */
static bool track(int fd)
{
	bool ok;

	pthread_mutex_lock(&track_lock);
	ok = !aborting && ntracked < MAX_HANDSHAKES;
	if (ok)
		tracked[ntracked++] = fd;
	pthread_mutex_unlock(&track_lock);
	return ok;
}

static void untrack(int fd)
{
	unsigned int i;

	pthread_mutex_lock(&track_lock);
	for (i = 0; i < ntracked; i++)
		if (tracked[i] == fd) {
			tracked[i] = tracked[--ntracked];
			break;
		}
	pthread_mutex_unlock(&track_lock);
}

/**
 * handshake_abort_all - cut short every negotiation in progress (shutdown).
 */
void handshake_abort_all(void)
{
	unsigned int i;

	pthread_mutex_lock(&track_lock);
	aborting = true;
	for (i = 0; i < ntracked; i++)
		shutdown(tracked[i], SHUT_RDWR);
	pthread_mutex_unlock(&track_lock);
}

struct hs {
	struct nbd_server *srv;
	int fd;
	bool no_zeroes;
	bool structured;
};

/* Send (@out) or receive all of @len bytes; false on EOF, error or timeout. */
static bool xfer_all(int fd, void *buf, size_t len, bool out)
{
	while (len) {
		ssize_t n = out ? send(fd, buf, len, MSG_NOSIGNAL)
				: recv(fd, buf, len, MSG_WAITALL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return true;
}

static bool send_all(int fd, const void *buf, size_t len)
{
	return xfer_all(fd, (void *)buf, len, true);
}

static bool recv_all(int fd, void *buf, size_t len)
{
	return xfer_all(fd, buf, len, false);
}

/* Read and throw away @len bytes. */
static bool skip_bytes(int fd, size_t len)
{
	char sink[4096];

	while (len) {
		size_t n = len < sizeof(sink) ? len : sizeof(sink);

		if (!recv_all(fd, sink, n))
			return false;
		len -= n;
	}
	return true;
}

/* One option reply: header and @len bytes of @data. */
static bool opt_reply(struct hs *h, uint32_t opt, uint32_t type,
		      const void *data, uint32_t len)
{
	unsigned char hdr[20];

	nbd_put64(hdr, NBD_REP_MAGIC);
	nbd_put32(hdr + 8, opt);
	nbd_put32(hdr + 12, type);
	nbd_put32(hdr + 16, len);
	return send_all(h->fd, hdr, sizeof(hdr)) && (!len || send_all(h->fd, data, len));
}

/* NBD_REP_INFO carrying NBD_INFO_EXPORT. */
static bool info_export(struct hs *h, uint32_t opt)
{
	unsigned char d[12];

	nbd_put16(d, NBD_INFO_EXPORT);
	nbd_put64(d + 2, h->srv->exp.size);
	nbd_put16(d + 10, export_flags(&h->srv->exp));
	return opt_reply(h, opt, NBD_REP_INFO, d, sizeof(d));
}

/* NBD_REP_INFO carrying NBD_INFO_BLOCK_SIZE: any alignment works. */
static bool info_block_size(struct hs *h, uint32_t opt)
{
	unsigned char d[14];

	nbd_put16(d, NBD_INFO_BLOCK_SIZE);
	nbd_put32(d + 2, 1);
	nbd_put32(d + 6, export_preferred_block(&h->srv->exp));
	nbd_put32(d + 10, NBD_MAX_PAYLOAD);
	return opt_reply(h, opt, NBD_REP_INFO, d, sizeof(d));
}

/* NBD_REP_INFO carrying a string (name or description). */
static bool info_string(struct hs *h, uint32_t opt, uint16_t type, const char *s)
{
	unsigned char d[2 + sizeof(EXPORT_DESCRIPTION)];
	size_t n = strlen(s);

	nbd_put16(d, type);
	memcpy(d + 2, s, n);
	return opt_reply(h, opt, NBD_REP_INFO, d, (uint32_t)(2 + n));
}

/*
 * NBD_OPT_INFO / NBD_OPT_GO.  Returns 1 to enter transmission (GO
 * accepted), 0 to go on negotiating, -1 to drop the client.
 */
static int opt_info_go(struct hs *h, uint32_t opt, const unsigned char *d,
		       uint32_t len)
{
	uint32_t namelen;
	uint16_t nreq, i;
	bool ok;

	if (len < 6 || (namelen = nbd_get32(d)) > len - 6 ||
	    len != 4 + namelen + 2 + 2U * (nreq = nbd_get16(d + 4 + namelen)))
		return opt_reply(h, opt, NBD_REP_ERR_INVALID, NULL, 0) ? 0 : -1;
	ok = info_export(h, opt) && info_block_size(h, opt);
	for (i = 0; ok && i < nreq; i++) {
		uint16_t type = nbd_get16(d + 4 + namelen + 2 + 2 * i);

		if (type == NBD_INFO_NAME)
			ok = info_string(h, opt, NBD_INFO_NAME, "");
		else if (type == NBD_INFO_DESCRIPTION)
			ok = info_string(h, opt, NBD_INFO_DESCRIPTION, EXPORT_DESCRIPTION);
	}
	if (!ok || !opt_reply(h, opt, NBD_REP_ACK, NULL, 0))
		return -1;
	return opt == NBD_OPT_GO;
}

/* NBD_OPT_LIST: the one export, under the default (empty) name. */
static bool opt_list(struct hs *h, uint32_t len)
{
	unsigned char d[4 + sizeof(EXPORT_DESCRIPTION)];

	if (len)
		return opt_reply(h, NBD_OPT_LIST, NBD_REP_ERR_INVALID, NULL, 0);
	nbd_put32(d, 0);
	memcpy(d + 4, EXPORT_DESCRIPTION, sizeof(EXPORT_DESCRIPTION) - 1);
	return opt_reply(h, NBD_OPT_LIST, NBD_REP_SERVER, d, sizeof(d) - 1) &&
	       opt_reply(h, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

/* NBD_OPT_EXPORT_NAME: size, flags, zero padding; no way to say no. */
static bool opt_export_name(struct hs *h)
{
	unsigned char d[10 + 124] = { 0 };

	nbd_put64(d, h->srv->exp.size);
	nbd_put16(d + 8, export_flags(&h->srv->exp));
	return send_all(h->fd, d, h->no_zeroes ? 10 : sizeof(d));
}

/*
 * Answer one option.  Returns 1 to enter transmission, 0 to continue,
 * -1 to close the connection.
 */
static int handle_option(struct hs *h, uint32_t opt, const unsigned char *d,
			 uint32_t len)
{
	if (opt == NBD_OPT_ABORT) {
		opt_reply(h, opt, NBD_REP_ACK, NULL, 0);
		return -1;
	}
	if (atomic_load(&h->srv->stopping))
		return opt_reply(h, opt, NBD_REP_ERR_SHUTDOWN, NULL, 0) ? 0 : -1;
	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		return opt_export_name(h) ? 1 : -1;
	case NBD_OPT_LIST:
		return opt_list(h, len) ? 0 : -1;
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return opt_info_go(h, opt, d, len);
	case NBD_OPT_STRUCTURED_REPLY:
		if (len)
			return opt_reply(h, opt, NBD_REP_ERR_INVALID, NULL, 0) ? 0 : -1;
		h->structured = true;
		return opt_reply(h, opt, NBD_REP_ACK, NULL, 0) ? 0 : -1;
	default:	/* STARTTLS and everything we do not know */
		return opt_reply(h, opt, NBD_REP_ERR_UNSUP, NULL, 0) ? 0 : -1;
	}
}

/* Read option headers and answer them; true once transmission begins. */
static bool negotiate(struct hs *h, bool fixed)
{
	unsigned char hdr[16], *data = malloc(MAX_OPTION_DATA);
	int n, r = -1;

	for (n = 0; data && n < MAX_OPTIONS; n++) {
		uint32_t opt, len;

		if (!recv_all(h->fd, hdr, sizeof(hdr)) || nbd_get64(hdr) != NBD_IHAVEOPT)
			break;
		opt = nbd_get32(hdr + 8);
		len = nbd_get32(hdr + 12);
		if (len > MAX_OPTION_DATA) {
			/* Drain what is reasonable and refuse; drop the rest. */
			if (len > MAX_OPTION_SKIP || !skip_bytes(h->fd, len) ||
			    !opt_reply(h, opt, NBD_REP_ERR_TOO_BIG, NULL, 0))
				break;
			continue;
		}
		if (!recv_all(h->fd, data, len))
			break;
		/* Without fixed newstyle the client may only name the export. */
		if (!fixed && opt != NBD_OPT_EXPORT_NAME)
			break;
		r = handle_option(h, opt, data, len);
		if (r != 0)
			break;
	}
	free(data);
	return r == 1;
}

/**
 * handshake_run - negotiate on @fd and hand it to a worker, or close it.
 */
void handshake_run(struct nbd_server *srv, int fd)
{
	struct timeval tv = { .tv_sec = HANDSHAKE_TIMEOUT_S };
	struct hs h = { .srv = srv, .fd = fd };
	unsigned char greet[18];
	unsigned char cflags[4];
	uint32_t cf;

	if (!track(fd)) {
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	nbd_put64(greet, NBD_MAGIC);
	nbd_put64(greet + 8, NBD_IHAVEOPT);
	nbd_put16(greet + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	if (!send_all(fd, greet, sizeof(greet)) || !recv_all(fd, cflags, 4))
		goto drop;
	cf = nbd_get32(cflags);
	/* Unknown client flags: the protocol says close. */
	if (cf & ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES))
		goto drop;
	h.no_zeroes = cf & NBD_FLAG_C_NO_ZEROES;
	if (!negotiate(&h, cf & NBD_FLAG_C_FIXED_NEWSTYLE))
		goto drop;
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	untrack(fd);
	server_add_conn(srv, fd, h.structured);
	return;
drop:
	untrack(fd);
	close(fd);
}
