/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "nfqd/queue.h"
#include "nl.h"

/* Attribute room besides the packet bytes: packet header, marks, ifindexes, hardware address,
 * timestamp, skb info, cap len, uid/gid, conntrack nest, vlan and L2 header. */
#define MSG_HEADROOM 1024

/* The kernel answers configuration requests while handling send(); this only guards against a
 * kernel that never does. */
#define ACK_TIMEOUT_MS 2000

struct nfqd_queue {
	struct mnl_socket *nl;
	struct nfqd_queue_config cfg;
	uint32_t portid;
	uint32_t rcvbuf;
	uint32_t seq;
	bool conntrack;	       /* NFQA_CFG_F_CONNTRACK granted */
	bool cap_ack;	       /* NETLINK_CAP_ACK set (kernel 4.3+) */
	bool meminfo;	       /* SO_MEMINFO answers with the drop count (kernel 4.12+) */
	bool skipped;	       /* packet messages were read and left unanswered (wait_ack) ... */
	uint32_t skipped_upto; /* ... up to this id */
	int proc_fd;	       /* the namespace's nfnetlink_queue proc file, -1 when not open */
};

/* The calling thread's namespace; /proc/net follows the main thread's. */
static const char *const proc_paths[] = {
	"/proc/thread-self/net/netfilter/nfnetlink_queue",
	"/proc/net/netfilter/nfnetlink_queue",
};

size_t nfqd_queue_msg_size(uint32_t copy_range)
{
	if (copy_range > NFQD_COPY_RANGE_MAX)
		copy_range = NFQD_COPY_RANGE_MAX;
	return ((size_t)copy_range + MSG_HEADROOM + 7) & ~(size_t)7;
}

uint64_t nfqd_queue_rcvbuf_for(uint32_t copy_range, uint32_t max_len)
{
	/* The kernel charges a message its skb's true size: the data rounded up to the slab size
	 * plus the skb and shared-info structures. Twice the message size bounds that for every
	 * copy range (measured 832 bytes for a 1152-byte message size at copy range 128). */
	return (uint64_t)max_len * 2 * nfqd_queue_msg_size(copy_range);
}

uint64_t nfqd_queue_rcvbuf_cap(const struct nfqd_queue_config *cfg)
{
	return cfg->rcvbuf_max ? cfg->rcvbuf_max : NFQD_QUEUE_RCVBUF_MAX_DEFAULT;
}

uint64_t nfqd_queue_rcvbuf_want(const struct nfqd_queue_config *cfg)
{
	uint64_t want =
		cfg->rcvbuf ? cfg->rcvbuf : nfqd_queue_rcvbuf_for(cfg->copy_range, cfg->max_len);
	uint64_t cap = nfqd_queue_rcvbuf_cap(cfg);

	if (want > cap)
		want = cap;
	/* One message of the largest copy range, at least. */
	if (want < 2 * nfqd_queue_msg_size(cfg->copy_range))
		want = 2 * nfqd_queue_msg_size(cfg->copy_range);
	return want;
}

static int set_rcvbuf(struct nfqd_queue *q)
{
	size_t got;
	int err = nfqd_sockbuf_set(mnl_socket_get_fd(q->nl), true,
				   (size_t)nfqd_queue_rcvbuf_want(&q->cfg), &got);

	if (err < 0)
		return err;
	q->rcvbuf = got > UINT32_MAX ? UINT32_MAX : (uint32_t)got;
	return 0;
}

static int set_netlink_opt(struct mnl_socket *nl, int opt)
{
	int one = 1;

	if (mnl_socket_setsockopt(nl, opt, &one, sizeof(one)) == -1)
		return -errno;
	return 0;
}

struct ack {
	struct nfqd_queue *q;
	uint32_t seq;
	int error;
	bool done;
};

/* A packet message read while waiting for an answer: it gets no verdict here, so remember the
 * highest id (nfqd_queue_skipped()). */
static int skipped_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nfqd_queue *q = ((struct ack *)data)->q;
	const struct nlattr *attr;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return MNL_CB_OK;
	mnl_attr_for_each (attr, nlh, sizeof(struct nfgenmsg)) {
		const struct nfqnl_msg_packet_hdr *ph;
		uint32_t id;

		if (mnl_attr_get_type(attr) != NFQA_PACKET_HDR ||
		    mnl_attr_get_payload_len(attr) < sizeof(*ph))
			continue;
		ph = mnl_attr_get_payload(attr);
		id = ntohl(ph->packet_id);
		if (!q->skipped || (int32_t)(id - q->skipped_upto) > 0)
			q->skipped_upto = id;
		q->skipped = true;
	}
	return MNL_CB_OK;
}

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ack *a = data;
	const int *error = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_seq != a->seq)
		return MNL_CB_OK;
	a->done = true;
	a->error = nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*error)) ? -EBADMSG : *error;
	return MNL_CB_STOP;
}

/*
 * Read messages until the answer to `seq` arrives; return its error (0, or -errno). Packet
 * messages read meanwhile get no verdict here (skipped_cb). With peek, a packet message that
 * comes first is left in the socket and taken as success: after a bind that set max-len, the
 * queue takes packets as soon as the kernel has handled the request, their messages may come
 * before the answer, and only a bound queue sends them. The worker reads it, and the answer
 * behind it.
 */
static int wait_ack(struct nfqd_queue *q, uint32_t seq, bool peek)
{
	/* libmnl takes the table as non-const; it only reads it. */
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = ack_cb };
	char buf[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	int fd = mnl_socket_get_fd(q->nl);
	struct ack a = { .q = q, .seq = seq };

	while (!a.done) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, ACK_TIMEOUT_MS);
		ssize_t n;

		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ETIMEDOUT;
		if (peek) {
			const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK);
			if (n == -1) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				return -errno;
			}
			if ((size_t)n >= sizeof(*nlh) &&
			    nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
				return 0;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		/* Packet messages and other answers are skipped. */
		if (mnl_cb_run2(buf, nfqd_nlmsg_whole(buf, (size_t)n), 0, 0, skipped_cb, &a, ctl,
				NLMSG_MIN_TYPE) == MNL_CB_ERROR)
			return -errno;
	}
	return a.error;
}

static struct nlmsghdr *config_msg(struct nfqd_queue *q, char *buf, uint32_t *seq)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->cfg.num);

	nlh->nlmsg_flags |= NLM_F_ACK;
	/* Sequence numbers of configuration requests stay below 2^31, apart from the verdict
	 * batcher's sweep marker. */
	q->seq = (q->seq % 0x7fffffffu) + 1;
	nlh->nlmsg_seq = q->seq;
	*seq = q->seq;
	return nlh;
}

static int send_msg(struct nfqd_queue *q, const struct nlmsghdr *nlh)
{
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) == -1)
		return -errno;
	return 0;
}

/* Tell "another process has this queue" from "no privilege": the kernel answers EPERM to both
 * when binding. */
static int bind_error(const struct nfqd_queue *q, int err)
{
	struct nfqd_queue_kstats ks;

	if (err == -EPERM && nfqd_queue_kstats(q->cfg.num, &ks) == 0 && ks.portid != q->portid)
		return -EBUSY;
	return err;
}

/* The queue's flags (fail-open, GSO, conntrack), each set or cleared. */
static void put_flags(const struct nfqd_queue *q, struct nlmsghdr *nlh, bool conntrack)
{
	const uint32_t mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO | NFQA_CFG_F_CONNTRACK;
	uint32_t flags = 0;

	if (q->cfg.fail_open)
		flags |= NFQA_CFG_F_FAIL_OPEN;
	if (q->cfg.gso)
		flags |= NFQA_CFG_F_GSO;
	if (conntrack)
		flags |= NFQA_CFG_F_CONNTRACK;
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
}

static int bind_queue_flags(struct nfqd_queue *q, bool conntrack)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq;
	struct nlmsghdr *nlh = config_msg(q, buf, &seq);
	int err;

	/*
	 * One message: the kernel applies bind, copy mode, max-len and flags in that order within
	 * the one request, so only a packet that meets the queue during those few instructions
	 * finds it half configured. The queue takes packets at once: the socket holds their
	 * messages until the worker reads, where a queue kept shut (max-len 0) until the worker
	 * started gave every packet in between the fail side.
	 */
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)q->cfg.copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, q->cfg.max_len);
	put_flags(q, nlh, conntrack);

	err = send_msg(q, nlh);
	if (err < 0)
		return err;
	err = wait_ack(q, seq, true);
	if (err < 0)
		return bind_error(q, err);
	return 0;
}

/*
 * The kernel checks the flags before it binds, so a refused NFQA_CFG_F_CONNTRACK leaves the
 * queue unbound and the bind can be tried again without it. EAGAIN means the kernel has just
 * loaded its conntrack glue: ask once more.
 */
static int bind_queue(struct nfqd_queue *q)
{
	int err;

	if (!q->cfg.conntrack)
		return bind_queue_flags(q, false);
	err = bind_queue_flags(q, true);
	if (err == -EAGAIN)
		err = bind_queue_flags(q, true);
	if (err == 0) {
		q->conntrack = true;
		return 0;
	}
	if (err != -EOPNOTSUPP)
		return err;
	return bind_queue_flags(q, false);
}

bool nfqd_queue_has_conntrack(const struct nfqd_queue *q)
{
	return q->conntrack;
}

static int set_maxlen(struct nfqd_queue *q, uint32_t max_len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq;
	struct nlmsghdr *nlh = config_msg(q, buf, &seq);
	int err;

	nfq_nlmsg_cfg_put_qmaxlen(nlh, max_len);
	err = send_msg(q, nlh);
	if (err < 0)
		return err;
	return (int)seq;
}

int nfqd_queue_start(struct nfqd_queue *q)
{
	return set_maxlen(q, q->cfg.max_len);
}

int nfqd_queue_freeze(struct nfqd_queue *q)
{
	return set_maxlen(q, 0);
}

/* Whether SO_MEMINFO reports the socket's drops: kernels before 4.12 refuse the option. */
static bool meminfo_works(const struct nfqd_queue *q)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	return getsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 &&
	       len >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t);
}

/* Receive buffer, NETLINK_NO_ENOBUFS and NETLINK_CAP_ACK: what nfqd needs of any queue socket,
 * bound here or inherited. */
static int set_socket_opts(struct nfqd_queue *q)
{
	int err = set_rcvbuf(q);

	if (err == 0)
		err = set_netlink_opt(q->nl, NETLINK_NO_ENOBUFS);
	/* Error answers to verdicts carry only the header, not the whole request. Kernels before
	 * 4.3 lack the option: their error answers echo the request, a verdict message of less
	 * than a packet message's size, which every receive buffer of the queue holds. */
	if (err == 0) {
		err = set_netlink_opt(q->nl, NETLINK_CAP_ACK);
		q->cap_ack = err == 0;
		if (err == -ENOPROTOOPT)
			err = 0;
	}
	q->meminfo = meminfo_works(q);
	return err;
}

/* Free q and its proc file, leaving the socket alone. */
static void queue_release(struct nfqd_queue *q)
{
	if (q->proc_fd != -1)
		close(q->proc_fd);
	free(q);
}

int nfqd_queue_open(struct nfqd_queue **out, const struct nfqd_queue_config *cfg)
{
	struct nfqd_queue *q;
	int err;

	if (cfg->copy_range == 0 || cfg->copy_range > NFQD_COPY_RANGE_MAX || cfg->max_len == 0)
		return -EINVAL;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cfg = *cfg;
	/* Opened now, while the process may: the file is root-only (0440), and a process that
	 * later runs as another user keeps reading it through this descriptor. */
	q->proc_fd = open(proc_paths[0], O_RDONLY | O_CLOEXEC);
	if (q->proc_fd == -1)
		q->proc_fd = open(proc_paths[1], O_RDONLY | O_CLOEXEC);

	q->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!q->nl) {
		err = -errno;
		goto err_free;
	}
	err = set_socket_opts(q);
	if (err < 0)
		goto err_close;
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		err = -errno;
		goto err_close;
	}
	q->portid = mnl_socket_get_portid(q->nl);

	err = bind_queue(q);
	if (err < 0)
		goto err_close;

	*out = q;
	return 0;

err_close:
	mnl_socket_close(q->nl);
err_free:
	queue_release(q);
	return err;
}

int nfqd_queue_check_fd(int fd, uint32_t *portid)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof(int);
	int domain = 0, proto = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
		return -errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == -1)
		return -errno;
	if (domain != AF_NETLINK || proto != NETLINK_NETFILTER)
		return -EPROTOTYPE;
	len = sizeof(sa);
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		return -errno;
	if (len < sizeof(sa) || sa.nl_family != AF_NETLINK)
		return -EPROTOTYPE;
	*portid = sa.nl_pid;
	return 0;
}

int nfqd_queue_owner_check(const struct nfqd_queue_kstats *ks, int kstats_err, uint32_t portid)
{
	if (kstats_err < 0)
		return kstats_err;
	return ks->portid == portid ? 0 : -EBUSY;
}

/*
 * Re-apply copy range, max-len and flags with the socket's own request: no BIND (the kernel
 * answers EBUSY to a second one). The queue keeps taking packets throughout. The kernel takes
 * the request only from the bound port.
 *
 * The answer comes behind every packet message already in the socket. Waiting for it means
 * reading those messages and leaving them unanswered (they are re-queued then, see
 * nfqd_batcher_orphans()), so it is awaited only when it decides something: whether the kernel
 * grants conntrack data. Otherwise the request goes without NLM_F_ACK, and only a refusal comes
 * back, to the worker, which reports it as any refused message.
 */
static int configure_adopted(struct nfqd_queue *q, bool conntrack, bool ack)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq;
	struct nlmsghdr *nlh = config_msg(q, buf, &seq);
	int err;

	if (!ack)
		nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)q->cfg.copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, q->cfg.max_len);
	put_flags(q, nlh, conntrack);
	err = send_msg(q, nlh);
	if (err < 0 || !ack)
		return err;
	return wait_ack(q, seq, false);
}

int nfqd_queue_adopt(struct nfqd_queue **out, int fd, const struct nfqd_queue_config *cfg)
{
	struct nfqd_queue_kstats ks;
	struct nfqd_queue *q;
	bool proof_by_ack;
	uint32_t portid;
	int err;

	if (cfg->copy_range == 0 || cfg->copy_range > NFQD_COPY_RANGE_MAX || cfg->max_len == 0)
		return -EINVAL;
	err = nfqd_queue_check_fd(fd, &portid);
	if (err < 0)
		return err;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cfg = *cfg;
	q->portid = portid;
	q->proc_fd = open(proc_paths[0], O_RDONLY | O_CLOEXEC);
	if (q->proc_fd == -1)
		q->proc_fd = open(proc_paths[1], O_RDONLY | O_CLOEXEC);
	err = nfqd_queue_owner_check(&ks, nfqd_queue_kstats_of(q, &ks), portid);
	/* The proc file is root's (0440): without it the kernel's answer to the configuration
	 * request is the proof, as it takes the request only from the bound port. */
	proof_by_ack = err == -EACCES || err == -EPERM;
	if (err < 0 && !proof_by_ack)
		goto err_free;
	q->nl = mnl_socket_fdopen(fd);
	if (!q->nl) {
		err = -errno;
		goto err_free;
	}
	err = set_socket_opts(q);
	if (err == 0 && q->cfg.conntrack) {
		err = configure_adopted(q, true, true);
		if (err == 0)
			q->conntrack = true;
		else if (err == -EOPNOTSUPP)
			err = configure_adopted(q, false, true);
	} else if (err == 0) {
		err = configure_adopted(q, false, proof_by_ack);
	}
	/* the kernel's words for "another port has it" and "not bound" */
	if (err == -EPERM)
		err = -EBUSY;
	else if (err == -ENODEV)
		err = -ENOENT;
	if (err < 0)
		goto err_unwrap;
	*out = q;
	return 0;

err_unwrap:
	/* The descriptor stays the caller's: only libmnl's wrapper goes. */
	free(q->nl);
err_free:
	queue_release(q);
	return err;
}

bool nfqd_queue_skipped(const struct nfqd_queue *q, uint32_t *upto)
{
	if (q->skipped)
		*upto = q->skipped_upto;
	return q->skipped;
}

int nfqd_queue_detach(struct nfqd_queue *q)
{
	int fd;

	if (!q)
		return -EBADF;
	fd = mnl_socket_get_fd(q->nl);
	/* struct mnl_socket is a plain allocation around the descriptor (libmnl 1.0). */
	free(q->nl);
	queue_release(q);
	return fd;
}

int nfqd_queue_unbind_fd(int fd, uint16_t num)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) == -1)
		return -errno;
	return 0;
}

void nfqd_queue_free(struct nfqd_queue *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (!q)
		return;
	/* Closing the socket would destroy the instance too; the explicit unbind makes it happen
	 * now rather than when the last reference to the socket goes. */
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->cfg.num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
	(void)send_msg(q, nlh);
	mnl_socket_close(q->nl);
	queue_release(q);
}

int nfqd_queue_fd(const struct nfqd_queue *q)
{
	return mnl_socket_get_fd(q->nl);
}

uint16_t nfqd_queue_num(const struct nfqd_queue *q)
{
	return q->cfg.num;
}

uint32_t nfqd_queue_portid(const struct nfqd_queue *q)
{
	return q->portid;
}

uint32_t nfqd_queue_rcvbuf(const struct nfqd_queue *q)
{
	return q->rcvbuf;
}

const struct nfqd_queue_config *nfqd_queue_config(const struct nfqd_queue *q)
{
	return &q->cfg;
}

bool nfqd_queue_has_cap_ack(const struct nfqd_queue *q)
{
	return q->cap_ack;
}

bool nfqd_queue_has_meminfo(const struct nfqd_queue *q)
{
	return q->meminfo;
}

int nfqd_queue_drops(const struct nfqd_queue *q, uint64_t *drops)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (!q->meminfo) {
		struct nfqd_queue_kstats ks;
		int err = nfqd_queue_kstats_of(q, &ks);

		if (err < 0)
			return err;
		*drops = ks.user_dropped;
		return 0;
	}
	if (getsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_MEMINFO, mi, &len) == -1)
		return -errno;
	if (len < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
		return -EOPNOTSUPP;
	*drops = mi[SK_MEMINFO_DROPS];
	return 0;
}

int nfqd_queue_kstats_parse(const char *line, uint32_t *num, struct nfqd_queue_kstats *ks)
{
	unsigned int n, portid, queued, mode, range, full, user, last;

	if (sscanf(line, "%u %u %u %u %u %u %u %u", &n, &portid, &queued, &mode, &range, &full,
		   &user, &last) != 8)
		return -EINVAL;
	*num = n;
	*ks = (struct nfqd_queue_kstats){
		.portid = portid,
		.queued = queued,
		.copy_mode = mode,
		.copy_range = range,
		.full_dropped = full,
		.user_dropped = user,
		.last_id = last,
	};
	return 0;
}

/* Whether line is the proc file's line of queue num; fills *ks when it is. */
static bool kstats_line(const char *line, uint16_t num, struct nfqd_queue_kstats *ks)
{
	struct nfqd_queue_kstats one;
	uint32_t n;

	if (nfqd_queue_kstats_parse(line, &n, &one) < 0 || n != num)
		return false;
	*ks = one;
	return true;
}

int nfqd_queue_kstats(uint16_t num, struct nfqd_queue_kstats *ks)
{
	FILE *f = fopen(proc_paths[0], "re");
	char line[256];
	int err = -ENOENT;

	if (!f)
		f = fopen(proc_paths[1], "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (kstats_line(line, num, ks)) {
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int nfqd_queue_kstats_of(const struct nfqd_queue *q, struct nfqd_queue_kstats *ks)
{
	char buf[4096];
	size_t have = 0;
	off_t off = 0;

	if (q->proc_fd == -1)
		return nfqd_queue_kstats(q->cfg.num, ks);
	/* pread, not read: the descriptor may be read by several threads at once. */
	for (;;) {
		ssize_t n = pread(q->proc_fd, buf + have, sizeof(buf) - 1 - have, off);
		char *line = buf, *nl;

		if (n == -1)
			return -errno;
		if (n == 0)
			return -ENOENT;
		off += n;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			if (kstats_line(line, q->cfg.num, ks))
				return 0;
			line = nl + 1;
		}
		have = strlen(line);
		/* a line longer than the buffer is not a queue's line: skip it */
		if (have == sizeof(buf) - 1)
			have = 0;
		memmove(buf, line, have);
	}
}
