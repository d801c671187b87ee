/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The portable backend: recvmmsg() reads up to a batch of queue messages per call into
 * preallocated buffers, one send() carries all the verdicts of a batch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "transport-internal.h"

struct mmsg {
	struct nfqd_transport base;
	int fd;
	unsigned int batch;
	size_t msg_size;
	uint8_t *buf;
	struct iovec *iov;
	struct mmsghdr *hdr;
	struct nfqd_rx_msg *rx;
	bool stopped; /* rx_stop(): the socket's messages are left for the next reader */
};

static int mmsg_probe(const char **why)
{
	(void)why;
	return 0;
}

static void mmsg_close(struct nfqd_transport *t)
{
	struct mmsg *m = (struct mmsg *)t;

	free(m->rx);
	free(m->hdr);
	free(m->iov);
	free(m->buf);
	free(m);
}

static int set_timeout(int fd, int timeout_ms)
{
	struct timeval tv = {
		.tv_sec = timeout_ms / 1000,
		.tv_usec = (timeout_ms % 1000) * 1000,
	};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		return -errno;
	return 0;
}

static int mmsg_open(struct nfqd_transport **out, int fd, const struct nfqd_transport_params *p,
		     const char **why)
{
	struct mmsg *m = calloc(1, sizeof(*m));
	int err = -ENOMEM;

	if (!m)
		return -ENOMEM;
	m->base.ops = &nfqd_transport_mmsg;
	m->fd = fd;
	m->batch = p->batch;
	m->msg_size = (p->msg_size + 7) & ~(size_t)7;

	if (posix_memalign((void **)&m->buf, 64, m->msg_size * m->batch) != 0) {
		m->buf = NULL;
		goto err;
	}
	m->iov = calloc(m->batch, sizeof(*m->iov));
	m->hdr = calloc(m->batch, sizeof(*m->hdr));
	m->rx = calloc(m->batch, sizeof(*m->rx));
	if (!m->iov || !m->hdr || !m->rx)
		goto err;

	for (unsigned int i = 0; i < m->batch; i++) {
		m->iov[i].iov_base = m->buf + i * m->msg_size;
		m->iov[i].iov_len = m->msg_size;
		m->hdr[i].msg_hdr.msg_iov = &m->iov[i];
		m->hdr[i].msg_hdr.msg_iovlen = 1;
		m->rx[i].data = m->iov[i].iov_base;
	}

	if (p->adopted) {
		err = transport_clear_rings(fd);
		/* Only a ring that stays (EBUSY) stops reading; another refusal (EPERM: no
		 * CAP_NET_ADMIN, which verdicts need too) is for the first send to report. */
		if (err == -EBUSY) {
			*why = TRANSPORT_WHY_RING_LEFT;
			goto err;
		}
	}
	err = set_timeout(fd, p->timeout_ms);
	if (err < 0)
		goto err;
	/* Worst case per verdict: header, verdict, mark and a connmark nest, under 64 bytes. */
	err = transport_ensure_sndbuf(fd, (size_t)m->batch * 128 + 4096);
	if (err < 0)
		goto err;

	*out = &m->base;
	return 0;
err:
	mmsg_close(&m->base);
	return err;
}

static int mmsg_recv(struct nfqd_transport *t, const struct nfqd_rx_msg **msgs, unsigned int flags)
{
	struct mmsg *m = (struct mmsg *)t;
	int rflags = MSG_WAITFORONE;
	int n;

	if (m->stopped)
		return 0;
	if (flags & NFQD_RECV_NOWAIT)
		rflags |= MSG_DONTWAIT;
	n = recvmmsg(m->fd, m->hdr, m->batch, rflags, NULL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		m->rx[i].len = m->hdr[i].msg_len;
		m->rx[i].flags = (m->hdr[i].msg_hdr.msg_flags & MSG_TRUNC) ? NFQD_RX_TRUNC : 0;
	}
	*msgs = m->rx;
	return n;
}

static int mmsg_send(struct nfqd_transport *t, const void *buf, size_t len)
{
	return transport_send_now(((struct mmsg *)t)->fd, buf, len);
}

/* Nothing is taken ahead of the caller: stopping only ends the reading. */
static int mmsg_rx_stop(struct nfqd_transport *t, int timeout_ms)
{
	(void)timeout_ms;
	((struct mmsg *)t)->stopped = true;
	return 0;
}

static int mmsg_attach(struct nfqd_transport *t)
{
	((struct mmsg *)t)->stopped = false;
	return 0;
}

const struct nfqd_transport_ops nfqd_transport_mmsg = {
	.name = "mmsg",
	.caps = NFQD_TRANSPORT_ORDERED,
	.probe = mmsg_probe,
	.open = mmsg_open,
	.close = mmsg_close,
	.recv = mmsg_recv,
	.release = NULL,
	.send = mmsg_send,
	.rx_stop = mmsg_rx_stop,
	.attach = mmsg_attach,
};
