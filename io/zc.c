// SPDX-License-Identifier: MIT
/*
 * io/zc.c - zero-copy send from pool buffers: the buffer stays the
 * kernel's until the notification CQE, which also says whether the kernel
 * copied after all.
 */
#include <errno.h>

#include "io_internal.h"

GP_IO_EXPORT void gp_send_zc_prep(struct gp_uring_buffers *bufs,
				  struct io_uring_sqe *sqe, int sockfd,
				  const struct gp_iobuf *buf, int msg_flags)
{
	unsigned int zc = bufs && gp_io_zc_report(bufs) ? GP_K_SEND_ZC_REPORT_USAGE : 0;

	io_uring_prep_send_zc(sqe, sockfd, buf->addr, buf->len, msg_flags, zc);
	if (buf->buf_index != GP_IOBUF_UNREGISTERED) {
		sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
		sqe->buf_index = (uint16_t)buf->buf_index;
	}
}

GP_IO_EXPORT int gp_send_zc_complete(struct gp_uring_buffers *bufs,
				     const struct io_uring_cqe *cqe,
				     const struct gp_iobuf *buf,
				     struct gp_zc_result *r)
{
	struct gp_zc_result res = { 0 };

	if (!bufs || !cqe)
		return -EINVAL;
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		bool reported = gp_io_zc_report(bufs);

		res.notif = true;
		res.done = true;
		res.copied = reported && (cqe->res & (int)GP_K_NOTIF_USAGE_ZC_COPIED);
		gp_io_count_zc(bufs, reported, res.copied);
	} else {
		res.res = cqe->res;
		/* No notification follows a send that failed early. */
		res.done = !(cqe->flags & IORING_CQE_F_MORE);
		if (res.done)
			gp_io_count_zc(bufs, false, false);
	}
	if (res.done && buf)
		gp_iobuf_free(bufs, buf);
	if (r)
		*r = res;
	return res.done;
}
