/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_reader: the plain queue readers nfqd is measured against.
 *
 *   bench_reader --mode floor|single --queue N [--queues A:B] [--verdict accept|drop]
 *                [--batch 64] [--copy-range 128] [--max-len 65536] [--rcvbuf BYTES]
 *
 * floor:  recvmmsg of up to --batch messages, then one NFQNL_MSG_VERDICT_BATCH for the highest
 *         id of the batch; no classification. What any reader must at least do per batch, so
 *         the lower bound of the cost of serving a queue from user space.
 * single: one recv and one NFQNL_MSG_VERDICT per packet, the pattern of libnetfilter_queue's
 *         example program.
 *
 * Both give every packet exactly one verdict: a batch verdict covers every id up to the highest
 * one received, and the kernel hands ids out in order. One thread serves each queue. Once
 * every queue is bound (the kernel acknowledged the bind), "ready" is printed on stdout. On
 * SIGTERM or SIGINT the reader stops, prints "packets N" (verdicts given, all queues) on
 * stderr and exits 0; closing the sockets unbinds the queues.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define BATCH_MAX  1024
#define QUEUES_MAX 64
/* Room for the netlink, nfgen and attribute headers in front of the copied bytes. */
#define MSG_HEADROOM 1024

enum mode {
	MODE_FLOOR,
	MODE_SINGLE
};

struct options {
	enum mode mode;
	unsigned int first, last; /* queues served */
	int verdict;		  /* NF_ACCEPT or NF_DROP */
	unsigned int batch;
	unsigned int copy_range;
	unsigned int max_len;
	int rcvbuf;
};

struct reader {
	const struct options *o;
	unsigned int num;
	struct mnl_socket *nl;
	pthread_t thread;
	uint64_t packets;
	int error; /* -errno that ended the thread, 0 when it stopped on request */
};

static atomic_int stopping;

/* The id of a packet message, or 0 when nlh is no packet message (the kernel's ids start at 1). */
static uint32_t packet_id(const struct nlmsghdr *nlh, size_t len)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	const struct nfqnl_msg_packet_hdr *ph;

	if (len < sizeof(*nlh) || nlh->nlmsg_len > len || nlh->nlmsg_len < mnl_nlmsg_size(0) ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return 0;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return 0;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	return ntohl(ph->packet_id);
}

static int send_verdict(struct reader *r, int type, uint32_t id)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, type, r->num);

	nfq_nlmsg_verdict_put(nlh, id, r->o->verdict);
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) == -1)
		return -errno;
	return 0;
}

/* Whether a failed receive only means "look at the stop flag again" or "messages were lost". */
static bool recv_again(int err)
{
	return err == -EAGAIN || err == -EINTR || err == -ENOBUFS;
}

static int serve_floor(struct reader *r)
{
	const size_t slot = r->o->copy_range + MSG_HEADROOM;
	unsigned int n = r->o->batch;
	struct mmsghdr *msgs = calloc(n, sizeof(*msgs));
	struct iovec *iov = calloc(n, sizeof(*iov));
	char *bufs = malloc(n * slot);
	int err = -ENOMEM;

	if (!msgs || !iov || !bufs)
		goto out;
	for (unsigned int i = 0; i < n; i++) {
		iov[i].iov_base = bufs + i * slot;
		iov[i].iov_len = slot;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	err = 0;
	while (!atomic_load(&stopping)) {
		int got = recvmmsg(mnl_socket_get_fd(r->nl), msgs, n, MSG_WAITFORONE, NULL);
		uint32_t top = 0, cnt = 0;

		if (got == -1) {
			if (recv_again(-errno))
				continue;
			err = -errno;
			break;
		}
		for (int i = 0; i < got; i++) {
			uint32_t id = packet_id(iov[i].iov_base, msgs[i].msg_len);

			if (id) {
				cnt++;
				if (id > top)
					top = id;
			}
		}
		if (!top)
			continue;
		err = send_verdict(r, NFQNL_MSG_VERDICT_BATCH, top);
		if (err < 0)
			break;
		r->packets += cnt;
	}
out:
	free(bufs);
	free(iov);
	free(msgs);
	return err;
}

static int serve_single(struct reader *r)
{
	const size_t size = r->o->copy_range + MSG_HEADROOM;
	char *buf = malloc(size);
	int err = buf ? 0 : -ENOMEM;

	while (!err && !atomic_load(&stopping)) {
		ssize_t got = mnl_socket_recvfrom(r->nl, buf, size);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = got > 0 ? (int)got : 0;

		if (got == -1) {
			err = recv_again(-errno) ? 0 : -errno;
			continue;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			uint32_t id = packet_id(nlh, (size_t)len);

			if (!id)
				continue;
			err = send_verdict(r, NFQNL_MSG_VERDICT, id);
			if (err < 0)
				break;
			r->packets++;
		}
	}
	free(buf);
	return err;
}

static void *serve(void *arg)
{
	struct reader *r = arg;

	r->error = r->o->mode == MODE_FLOOR ? serve_floor(r) : serve_single(r);
	if (r->error)
		atomic_store(&stopping, 1);
	return NULL;
}

/* Bind queue r->num: copy mode, max-len and GSO in one request, and wait for the ack. */
static int bind_queue(struct reader *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, r->num);
	uint32_t seq = (uint32_t)time(NULL) ^ r->num;
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)r->o->copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, r->o->max_len);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	if (mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) == -1)
		return -errno;
	/* Packets may already arrive ahead of the ack: they stay queued until the serving loop
	 * reads them, so only the ack is looked at here. */
	for (;;) {
		n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
		if (n == -1)
			return -errno;
		n = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(r->nl), NULL, NULL);
		if (n == -1)
			return -errno;
		if (n == MNL_CB_STOP)
			return 0;
	}
}

static int open_queue(struct reader *r)
{
	struct timeval tick = { .tv_sec = 0, .tv_usec = 200000 };
	int fd, err;

	r->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!r->nl)
		return -errno;
	fd = mnl_socket_get_fd(r->nl);
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) == -1)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &r->o->rcvbuf, sizeof(r->o->rcvbuf)) == -1)
		return -errno;
	err = bind_queue(r);
	if (err < 0)
		return err;
	/* The serving loop wakes up this often when idle to see whether it must stop. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick)) == -1)
		return -errno;
	return 0;
}

static int parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_range(const char *s, unsigned int *a, unsigned int *b)
{
	char copy[32];
	char *colon;

	if (strlen(s) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, s);
	colon = strchr(copy, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (parse_uint(copy, 0, 65535, a) < 0 || parse_uint(colon + 1, 0, 65535, b) < 0 ||
	    *b < *a || *b - *a >= QUEUES_MAX)
		return -EINVAL;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_reader --mode floor|single --queue N [--queues A:B] "
		"[--verdict accept|drop] [--batch 1..%d] [--copy-range 1..65531] "
		"[--max-len N] [--rcvbuf BYTES]\n",
		BATCH_MAX);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "queue", required_argument, NULL, 'q' },
		{ "queues", required_argument, NULL, 'Q' },
		{ "verdict", required_argument, NULL, 'v' },
		{ "batch", required_argument, NULL, 'b' },
		{ "copy-range", required_argument, NULL, 'c' },
		{ "max-len", required_argument, NULL, 'l' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int rcvbuf = 64u << 20;
	bool have_mode = false, have_queue = false;
	int c, idx = 0, err = 0;

	*o = (struct options){
		.verdict = NF_ACCEPT, .batch = 64, .copy_range = 128, .max_len = 65536
	};
	while (!err && (c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		switch (c) {
		case 'm':
			have_mode = true;
			if (!strcmp(optarg, "floor"))
				o->mode = MODE_FLOOR;
			else if (!strcmp(optarg, "single"))
				o->mode = MODE_SINGLE;
			else
				err = -EINVAL;
			break;
		case 'q':
			have_queue = true;
			err = parse_uint(optarg, 0, 65535, &o->first);
			o->last = o->first;
			break;
		case 'Q':
			have_queue = true;
			err = parse_range(optarg, &o->first, &o->last);
			break;
		case 'v':
			if (!strcmp(optarg, "accept"))
				o->verdict = NF_ACCEPT;
			else if (!strcmp(optarg, "drop"))
				o->verdict = NF_DROP;
			else
				err = -EINVAL;
			break;
		case 'b':
			err = parse_uint(optarg, 1, BATCH_MAX, &o->batch);
			break;
		case 'c':
			err = parse_uint(optarg, 1, 65531, &o->copy_range);
			break;
		case 'l':
			err = parse_uint(optarg, 1, UINT32_MAX, &o->max_len);
			break;
		case 'r':
			err = parse_uint(optarg, 4096, INT_MAX, &rcvbuf);
			break;
		default:
			usage();
			return -EINVAL;
		}
		if (err)
			fprintf(stderr, "bench_reader: bad value '%s' for --%s\n", optarg,
				opts[idx].name);
	}
	if (!err && (optind < argc || !have_mode || !have_queue)) {
		usage();
		err = -EINVAL;
	}
	o->rcvbuf = (int)rcvbuf;
	return err;
}

int main(int argc, char **argv)
{
	struct reader readers[QUEUES_MAX];
	struct options o;
	unsigned int n = 0, started = 0;
	uint64_t packets = 0;
	sigset_t sigs;
	int sig, err, rc = 0;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	/* Only the main thread takes the stop signals; the threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	for (unsigned int q = o.first; q <= o.last; q++, n++) {
		readers[n] = (struct reader){ .o = &o, .num = q };
		err = open_queue(&readers[n]);
		if (err < 0) {
			fprintf(stderr, "bench_reader: cannot bind queue %u: %s\n", q,
				strerror(-err));
			n++;
			rc = 1;
			goto out;
		}
	}
	for (; started < n; started++) {
		err = pthread_create(&readers[started].thread, NULL, serve, &readers[started]);
		if (err) {
			fprintf(stderr, "bench_reader: cannot start a thread: %s\n", strerror(err));
			rc = 1;
			goto out;
		}
	}
	printf("ready\n");
	fflush(stdout);
	/* A failing thread sets the stop flag; look at it while waiting for a signal. */
	for (;;) {
		struct timespec tick = { .tv_sec = 0, .tv_nsec = 200000000 };

		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT || atomic_load(&stopping))
			break;
	}
out:
	atomic_store(&stopping, 1);
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(readers[i].thread, NULL);
		packets += readers[i].packets;
		if (readers[i].error) {
			fprintf(stderr, "bench_reader: queue %u: %s\n", readers[i].num,
				strerror(-readers[i].error));
			rc = 1;
		}
	}
	for (unsigned int i = 0; i < n; i++)
		if (readers[i].nl)
			mnl_socket_close(readers[i].nl);
	fprintf(stderr, "packets %llu\n", (unsigned long long)packets);
	return rc;
}
