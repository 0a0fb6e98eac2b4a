/* SPDX-License-Identifier: MIT */
/*
 * examples/nbd/nbd-proto.h - the Network Block Device wire protocol as
 * genpool-nbd speaks it (the NBD project's doc/proto.md): fixed newstyle
 * handshake, simple and structured replies.  Every field on the wire is
 * big-endian; the get/put helpers below are the only place that knows it.
 */
#ifndef GENPOOL_NBD_PROTO_H
#define GENPOOL_NBD_PROTO_H

#include <stdint.h>
#include <string.h>
#include <endian.h>

/* Handshake magics. */
#define NBD_MAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_IHAVEOPT		0x49484156454f5054ULL	/* "IHAVEOPT" */
#define NBD_REP_MAGIC		0x0003e889045565a9ULL

/* Handshake flags (server) and client flags. */
#define NBD_FLAG_FIXED_NEWSTYLE	(1U << 0)
#define NBD_FLAG_NO_ZEROES	(1U << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1U << 0)
#define NBD_FLAG_C_NO_ZEROES	(1U << 1)

/* Transmission flags. */
#define NBD_FLAG_HAS_FLAGS	(1U << 0)
#define NBD_FLAG_READ_ONLY	(1U << 1)
#define NBD_FLAG_SEND_FLUSH	(1U << 2)
#define NBD_FLAG_SEND_FUA	(1U << 3)
#define NBD_FLAG_SEND_TRIM	(1U << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1U << 6)
#define NBD_FLAG_CAN_MULTI_CONN	(1U << 8)

/* Options. */
#define NBD_OPT_EXPORT_NAME	1
#define NBD_OPT_ABORT		2
#define NBD_OPT_LIST		3
#define NBD_OPT_STARTTLS	5
#define NBD_OPT_INFO		6
#define NBD_OPT_GO		7
#define NBD_OPT_STRUCTURED_REPLY 8

/* Option replies. */
#define NBD_REP_ACK		1
#define NBD_REP_SERVER		2
#define NBD_REP_INFO		3
#define NBD_REP_ERR(n)		((1U << 31) + (n))
#define NBD_REP_ERR_UNSUP	NBD_REP_ERR(1)
#define NBD_REP_ERR_POLICY	NBD_REP_ERR(2)
#define NBD_REP_ERR_INVALID	NBD_REP_ERR(3)
#define NBD_REP_ERR_UNKNOWN	NBD_REP_ERR(6)
#define NBD_REP_ERR_SHUTDOWN	NBD_REP_ERR(7)
#define NBD_REP_ERR_TOO_BIG	NBD_REP_ERR(9)

/* NBD_REP_INFO types. */
#define NBD_INFO_EXPORT		0
#define NBD_INFO_NAME		1
#define NBD_INFO_DESCRIPTION	2
#define NBD_INFO_BLOCK_SIZE	3

/* Transmission: requests and replies. */
#define NBD_REQUEST_MAGIC	0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC	0x67446698U
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efU

#define NBD_CMD_READ		0
#define NBD_CMD_WRITE		1
#define NBD_CMD_DISC		2
#define NBD_CMD_FLUSH		3
#define NBD_CMD_TRIM		4
#define NBD_CMD_WRITE_ZEROES	6

#define NBD_CMD_FLAG_FUA	(1U << 0)
#define NBD_CMD_FLAG_NO_HOLE	(1U << 1)

#define NBD_REPLY_FLAG_DONE	(1U << 0)
#define NBD_REPLY_TYPE_NONE	0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_ERROR	((1U << 15) + 1)

/* Error values (the protocol's, which happen to equal Linux errnos). */
#define NBD_EPERM		1
#define NBD_EIO			5
#define NBD_ENOMEM		12
#define NBD_EINVAL		22
#define NBD_ENOSPC		28
#define NBD_EOVERFLOW		75
#define NBD_ENOTSUP		95
#define NBD_ESHUTDOWN		108

/* Wire sizes. */
#define NBD_REQUEST_SIZE	28
#define NBD_SIMPLE_REPLY_SIZE	16
#define NBD_CHUNK_HEADER_SIZE	20
/* A structured OFFSET_DATA chunk: chunk header + 64-bit offset. */
#define NBD_READ_CHUNK_PREFIX	(NBD_CHUNK_HEADER_SIZE + 8)
/* An ERROR chunk without a message: header + error + message length. */
#define NBD_ERROR_CHUNK_SIZE	(NBD_CHUNK_HEADER_SIZE + 6)

/* The longest string the protocol allows (export names, messages). */
#define NBD_MAX_STRING		4096

static inline void nbd_put16(unsigned char *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void nbd_put32(unsigned char *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void nbd_put64(unsigned char *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

static inline uint16_t nbd_get16(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static inline uint32_t nbd_get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static inline uint64_t nbd_get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/**
 * struct nbd_request - a transmission request as decoded from the wire.
 * @magic:  must be NBD_REQUEST_MAGIC
 * @flags:  NBD_CMD_FLAG_*
 * @type:   NBD_CMD_*
 * @cookie: the client's handle, echoed in the reply
 * @offset: byte offset in the export
 * @length: byte count (payload length for WRITE)
 */
struct nbd_request {
	uint32_t magic;
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint64_t offset;
	uint32_t length;
};

/* Decode the NBD_REQUEST_SIZE bytes at @p. */
static inline void nbd_decode_request(const unsigned char *p,
				      struct nbd_request *rq)
{
	rq->magic = nbd_get32(p);
	rq->flags = nbd_get16(p + 4);
	rq->type = nbd_get16(p + 6);
	rq->cookie = nbd_get64(p + 8);
	rq->offset = nbd_get64(p + 16);
	rq->length = nbd_get32(p + 24);
}

/* Encode a simple reply (NBD_SIMPLE_REPLY_SIZE bytes) at @p. */
static inline void nbd_encode_simple_reply(unsigned char *p, uint32_t error,
					   uint64_t cookie)
{
	nbd_put32(p, NBD_SIMPLE_REPLY_MAGIC);
	nbd_put32(p + 4, error);
	nbd_put64(p + 8, cookie);
}

/* Encode a structured chunk header (NBD_CHUNK_HEADER_SIZE bytes) at @p. */
static inline void nbd_encode_chunk(unsigned char *p, uint16_t flags,
				    uint16_t type, uint64_t cookie,
				    uint32_t length)
{
	nbd_put32(p, NBD_STRUCTURED_REPLY_MAGIC);
	nbd_put16(p + 4, flags);
	nbd_put16(p + 6, type);
	nbd_put64(p + 8, cookie);
	nbd_put32(p + 16, length);
}

#endif /* GENPOOL_NBD_PROTO_H */
