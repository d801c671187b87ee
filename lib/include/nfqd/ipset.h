/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipset membership from a process, without keeping any copy of a set's contents: the kernel
 * sends no notification of `ipset add/del/swap/flush`, so every answer comes from asking it.
 *
 * - nfqd_ipset_info() reads a set's header (type, family) with IPSET_CMD_HEADER.
 * - nfqd_ipset_elem_from_packet() builds the element a packet presents to a set, exactly as the
 *   kernel's set match (xt_set, `-m set --match-set NAME DIRS`) would build it, so that asking
 *   the kernel with IPSET_CMD_TEST gives the answer the kernel's own rule would give.
 * - A batch collects the tests of one received batch of packets, one per distinct (set,
 *   element), and runs them with one send(): many IPSET_CMD_TEST messages, one answer each.
 * - nfqd_ipset_list_members() reads the member sets of a list:set, for the caller to test each.
 *
 * Messages are built with libmnl; NETLINK_CAP_ACK keeps error answers short.
 *
 * The ipset netlink protocol has versions: older kernels (Linux 4.4 among them) speak protocol
 * 6 only and refuse every request of another version with IPSET_ERR_PROTOCOL; the kernels of
 * protocol 7 (Linux 6.x among them) speak 6 and 7. A socket asks the kernel once, at its first
 * exchange, with IPSET_CMD_PROTOCOL (as the ipset tool does), and builds every later request in the
 * highest version both speak. The requests and answers nfqd uses differ between 6 and 7 only in
 * that version byte, and in IPSET_ATTR_INDEX in the first message of a list dump of 7, which is not
 * read.
 */
#ifndef NFQD_IPSET_H
#define NFQD_IPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nfqd/packet.h"

#define NFQD_IPSET_NAME_MAX    32   /* IPSET_MAXNAMELEN, NUL included */
#define NFQD_IPSET_DIMS_MAX    3    /* dimensions of the element types supported */
#define NFQD_IPSET_BATCH_MAX   4096 /* tests in one batch, at most */
#define NFQD_IPSET_HEADERS_MAX 64   /* header checks in one batch, at most */

/* The ipset protocol versions nfqd speaks (IPSET_PROTOCOL_MIN and IPSET_PROTOCOL of Linux 6.x). */
#define NFQD_IPSET_PROTOCOL_MIN 6
#define NFQD_IPSET_PROTOCOL_MAX 7

/* How an element is built for a set type (from the type name). */
enum nfqd_ipset_kind {
	NFQD_IPSET_IP,		 /* hash:ip, bitmap:ip: address */
	NFQD_IPSET_NET,		 /* hash:net: address (the kernel tests every stored prefix) */
	NFQD_IPSET_IP_PORT,	 /* hash:ip,port: address, protocol and port */
	NFQD_IPSET_NET_PORT,	 /* hash:net,port */
	NFQD_IPSET_IP_PORT_IP,	 /* hash:ip,port,ip: address, protocol and port, address */
	NFQD_IPSET_IP_PORT_NET,	 /* hash:ip,port,net */
	NFQD_IPSET_NET_NET,	 /* hash:net,net: address, address */
	NFQD_IPSET_NET_PORT_NET, /* hash:net,port,net */
	NFQD_IPSET_IP_MARK,	 /* hash:ip,mark: address and the packet mark */
	NFQD_IPSET_MAC,		 /* hash:mac: source MAC */
	NFQD_IPSET_IP_MAC,	 /* hash:ip,mac, bitmap:ip,mac: address and source MAC */
	NFQD_IPSET_PORT,	 /* bitmap:port: port */
	NFQD_IPSET_LIST,	 /* list:set: test each member set */
	NFQD_IPSET_KIND_MAX
};

/* A set's header, as the kernel reports it. */
struct nfqd_ipset_info {
	char name[NFQD_IPSET_NAME_MAX];
	char type[NFQD_IPSET_NAME_MAX]; /* "hash:ip,port" */
	uint8_t family;			/* NFPROTO_IPV4, NFPROTO_IPV6, or NFPROTO_UNSPEC */
	uint8_t dims;			/* dimensions of an element, 1..NFQD_IPSET_DIMS_MAX */
	uint8_t kind;			/* enum nfqd_ipset_kind (_MAX: not supported) */
	uint8_t revision;
	uint8_t protocol; /* the version of the answer (kernels of 7 echo the request's), 0: none */
};

/* An element to test. Addresses in network order; port and mark in host order. */
enum nfqd_ipset_elem_flag {
	NFQD_ELEM_IP = 1u << 0,
	NFQD_ELEM_PORT = 1u << 1, /* port and proto */
	NFQD_ELEM_IP2 = 1u << 2,
	NFQD_ELEM_MAC = 1u << 3,
	NFQD_ELEM_MARK = 1u << 4,
};

struct nfqd_ipset_elem {
	uint8_t family; /* 4 or 6 (0 for an element without an address) */
	uint8_t flags;	/* enum nfqd_ipset_elem_flag */
	uint8_t proto;
	uint8_t mac[6];
	uint16_t port;
	uint32_t mark;
	union nfqd_addr ip;
	union nfqd_addr ip2;
};

struct nfqd_ipset;
struct nfqd_ipset_batch;

/*
 * Whether a and b ask the same question: the same flags and the same value in every field the
 * flags name, compared field by field (the struct has padding; its bytes are never compared).
 * Pure.
 */
bool nfqd_ipset_elem_equal(const struct nfqd_ipset_elem *a, const struct nfqd_ipset_elem *b);

/*
 * Open a netlink socket for ipset requests (one per thread that uses it). Returns 0 and *out, or
 * -errno. Must be called in the network namespace of the sets. Opening sends nothing: the
 * protocol version is asked at the first exchange (so that opening stays cheap and needs no
 * CAP_NET_ADMIN), and every call that exchanges may fail with the errors of
 * nfqd_ipset_protocol().
 */
int nfqd_ipset_open(struct nfqd_ipset **out);

/*
 * The ipset protocol version s speaks with the kernel, asked of the kernel (IPSET_CMD_PROTOCOL)
 * when s has not asked yet: NFQD_IPSET_PROTOCOL_MAX when the kernel speaks it, else the highest
 * version both speak. Returns the version, -EPROTO when the kernel speaks none nfqd speaks
 * (nfqd_ipset_error(s, -EPROTO) then names both sides' versions), the kernel's refusal, or
 * -errno (-ETIMEDOUT past the deadline, -EPERM without CAP_NET_ADMIN). A failure is not kept:
 * the next exchange asks again.
 */
int nfqd_ipset_protocol(struct nfqd_ipset *s);

/*
 * Speak no version above max (NFQD_IPSET_PROTOCOL_MIN..NFQD_IPSET_PROTOCOL_MAX) on s from its
 * next exchange, which asks the kernel again. The tests use it to speak 6 with a kernel that
 * speaks 7 too. Returns 0, or -EINVAL for a version nfqd does not speak.
 */
int nfqd_ipset_limit_protocol(struct nfqd_ipset *s, uint8_t max);

/*
 * What err, returned by a call on s, means, for a message: for -EPROTO after the kernel spoke
 * no version nfqd speaks, a sentence naming both ("the kernel speaks ipset protocol 5 only;
 * nfqd speaks protocols 6 and 7"); else nfqd_ipset_strerror(err). The string lives until the
 * next call on s.
 */
const char *nfqd_ipset_error(const struct nfqd_ipset *s, int err);

/*
 * The meaning of an error code that can come from an ipset answer (either sign): the ipset
 * codes (IPSET_ERR_PRIVATE, 4096, and up, including the set types' own from
 * IPSET_ERR_TYPE_SPECIFIC, 4352, which mean different things for bitmap, hash and list:set
 * types and are named for each) by their meaning and their name; an errno by strerror's text;
 * any other code by a sentence saying it is unknown, never as "Unknown error N". Static
 * strings. Pure.
 */
const char *nfqd_ipset_strerror(int err);

/*
 * The version to speak with a kernel that speaks versions kmin..kmax (kmin = kmax for a kernel
 * whose answer has no IPSET_ATTR_PROTOCOL_MIN): the highest both speak. Returns it, -EPROTO
 * when there is none, -EINVAL for kmin > kmax. Pure.
 */
int nfqd_ipset_protocol_pick(uint8_t kmin, uint8_t kmax);

/*
 * The sentence saying that a kernel speaking kmin..kmax and nfqd have no version in common,
 * into buf (truncated to len, NUL-terminated). Returns buf. Pure.
 */
const char *nfqd_ipset_protocol_refusal(char *buf, size_t len, uint8_t kmin, uint8_t kmax);

/*
 * Encode the IPSET_CMD_PROTOCOL request (carrying NFQD_IPSET_PROTOCOL_MAX, without
 * acknowledgement: the answer is the kernel's versions or its refusal) with nlmsg_seq seq.
 * Returns the message length or -ENOSPC. Pure.
 */
int nfqd_ipset_put_protocol(void *buf, size_t len, uint32_t seq);

/* Close; NULL is accepted. */
void nfqd_ipset_close(struct nfqd_ipset *s);

/* How long a call waits for its answers, from its start, when no deadline is set. */
#define NFQD_IPSET_WAIT_DEFAULT_MS 2000

/*
 * Bound every wait of the calls on s (nfqd_ipset_info(), nfqd_ipset_list_members(),
 * nfqd_ipset_batch_run(), ...) by `deadline`, an absolute nfqd_now_ns() time, until it is set
 * again; 0 makes each call wait at most NFQD_IPSET_WAIT_DEFAULT_MS from its own start. The
 * kernel answers a request inside the send() that carries it, so an exchange waits only for an
 * answer that is missing; answers already queued are read even past the deadline. A call whose
 * answers have not all come by the deadline fails with -ETIMEDOUT (every result of a batch run
 * then is -ETIMEDOUT), and what arrives after that is discarded: by sequence number, which is
 * never reused for a later request, and by emptying the socket before the next exchange.
 */
void nfqd_ipset_set_deadline(struct nfqd_ipset *s, int64_t deadline);

/*
 * Read the header of set `name`. Returns 0 and *info; -ENOENT when there is no such set;
 * -EPROTONOSUPPORT (with *info filled, kind NFQD_IPSET_KIND_MAX and dims 0) when elements of its
 * type cannot be built from a packet (hash:net,iface, ...); -EINVAL or -ENAMETOOLONG for a name
 * that cannot be a set's; or -errno.
 */
int nfqd_ipset_info(struct nfqd_ipset *s, const char *name, struct nfqd_ipset_info *info);

/* The kind of a type name ("hash:ip,port"), its dimensions in *dims; -EPROTONOSUPPORT when
 * nfqd cannot build elements of that type. Pure. */
int nfqd_ipset_kind_of(const char *type, uint8_t *dims);

/*
 * The member sets of list:set `name`, in order, into names[0..max). Returns how many there are
 * (may exceed max: only max are written), -ENOENT when there is no such set, -EINVAL when it is
 * not a list:set, or -errno.
 */
int nfqd_ipset_list_members(struct nfqd_ipset *s, const char *name,
			    char (*names)[NFQD_IPSET_NAME_MAX], unsigned int max);

/*
 * Build the element that packet `pkt` presents to a set described by `info`, taking dimension i
 * from side dirs[i] (NFQD_DIR_SRC or NFQD_DIR_DST; info->dims entries). Follows the kernel's set
 * match: a port dimension takes the TCP/UDP/UDP-Lite/SCTP port, ICMP/ICMPv6 type and code
 * (type << 8 | code), or port 0 for other protocols (bitmap:port: TCP and UDP only); a MAC
 * dimension on the source side takes the source MAC (NFQA_HWADDR). Pure.
 *
 * Returns 1 with *e filled; 0 when the kernel's match would not match this packet whatever the
 * set holds (family differs from the set's, a port dimension on a non-first fragment of a port
 * protocol, no MAC header or an all-zero MAC); -ENODATA when the view lacks a fact the kernel
 * would have read (a header cut by the copy range; the destination MAC of a packet that has a
 * MAC header, which the kernel matches but the queue does not deliver); -EINVAL for a list:set
 * (test its members), an info whose dims do not fit its kind, or bad dirs.
 */
int nfqd_ipset_elem_from_packet(const struct nfqd_ipset_info *info, const uint8_t *dirs,
				const struct nfqd_packet *pkt, struct nfqd_ipset_elem *e);

/*
 * Encode one IPSET_CMD_TEST request for element e in set `set` into buf, with nlmsg_seq seq, in
 * ipset protocol version `proto`. Returns the message length, -ENOSPC when len is too small,
 * -EINVAL for an empty name, an element without flags or with an address of no family, or a
 * version nfqd does not speak, -ENAMETOOLONG for a name of NFQD_IPSET_NAME_MAX bytes or more.
 * Pure.
 */
int nfqd_ipset_put_test(void *buf, size_t len, uint32_t seq, uint8_t proto, const char *set,
			const struct nfqd_ipset_elem *e);

/* The same for an IPSET_CMD_HEADER request of set `set` (without acknowledgement). Pure. */
int nfqd_ipset_put_header(void *buf, size_t len, uint32_t seq, uint8_t proto, const char *set);

/* A batch of up to `capacity` (1..NFQD_IPSET_BATCH_MAX) distinct tests. Allocates everything
 * here. Returns 0, -EINVAL for a capacity out of range, or -ENOMEM. */
int nfqd_ipset_batch_new(struct nfqd_ipset_batch **out, unsigned int capacity);

void nfqd_ipset_batch_free(struct nfqd_ipset_batch *b);

/* Forget every test (before the next received batch). */
void nfqd_ipset_batch_reset(struct nfqd_ipset_batch *b);

/*
 * Add a test of element e in set `set` (a string the caller keeps alive until reset), or find
 * the same test added before (same `set` pointer, same element): returns its index (>= 0),
 * -ENOSPC when the batch is full, or the errors of nfqd_ipset_put_test() for a bad name or
 * element.
 */
int nfqd_ipset_batch_add(struct nfqd_ipset_batch *b, const char *set,
			 const struct nfqd_ipset_elem *e);

/* Number of distinct tests in the batch. */
unsigned int nfqd_ipset_batch_count(const struct nfqd_ipset_batch *b);

/*
 * Ask, in the same exchange as the tests, for the header of set `set` (a string the caller keeps
 * alive until reset), or ask again for one added before (same name). Its request goes after
 * every test of the run, so a header that still matches what the caller assumed proves that the
 * tests were asked of a set of that type and family. Returns its index (>= 0), -ENOSPC when
 * NFQD_IPSET_HEADERS_MAX are taken, or -EINVAL / -ENAMETOOLONG for a bad name.
 */
int nfqd_ipset_batch_add_header(struct nfqd_ipset_batch *b, const char *set);

/*
 * Run every test of the batch and the header checks added since the last run: all requests in
 * one send() (more only when they exceed the socket's send limit, or the answers its receive
 * buffer holds), header requests after the tests, then one answer per request. Returns 0 when
 * every one has a result, or -errno when the exchange itself failed (then every result of the
 * run is that error).
 */
int nfqd_ipset_batch_run(struct nfqd_ipset *s, struct nfqd_ipset_batch *b);

/* The same for the tests added since the last run only: those answered before keep their
 * answers (a second round of the same batch). */
int nfqd_ipset_batch_run_new(struct nfqd_ipset *s, struct nfqd_ipset_batch *b);

/*
 * Result of test i: 1 member, 0 not a member, or -errno from the kernel (-ENOENT: the set does
 * not exist; -IPSET_ERR_* values for other refusals). An element of the wrong shape for its set
 * (a set recreated with another type) is refused with -IPSET_ERR_PROTOCOL when it carries an
 * attribute the type does not take, but answered "not a member" when it lacks one or has the
 * other family: only a header read after the test tells such a change reliably
 * (nfqd_ipset_batch_add_header()). -EAGAIN before the batch has run, -EINVAL for i out of range.
 */
int nfqd_ipset_batch_result(const struct nfqd_ipset_batch *b, unsigned int i);

/*
 * Result of header check i: 0 with *info as nfqd_ipset_info() fills it, or its errors (-ENOENT,
 * -EPROTONOSUPPORT with *info filled, ...). -EAGAIN before it has run, -EINVAL for i out of
 * range.
 */
int nfqd_ipset_batch_header(const struct nfqd_ipset_batch *b, unsigned int i,
			    struct nfqd_ipset_info *info);

/* ---- parsing the kernel's answers (pure: no socket; for the socket code and fuzzers) ---- */

/*
 * Which request of an exchange the answer of sequence number seq belongs to, the exchange's
 * requests being numbered base .. base + n - 1 (sequence numbers wrap). Returns its index, or
 * -1 for an answer to no request of the exchange: a late answer to an abandoned one. Pure.
 */
int nfqd_ipset_answer_index(uint32_t base, unsigned int n, uint32_t seq);

/*
 * Each parser takes one received datagram (buf, len: possibly several netlink messages, maybe
 * truncated or malformed) and the portid of the socket; messages for another portid or another
 * sequence number are skipped. Nothing is read beyond len. A datagram that is not made of whole
 * messages (one whose length runs past the end, or is shorter than a header) is -EBADMSG,
 * once its whole messages have been read.
 */

/*
 * The answer to an IPSET_CMD_HEADER request of sequence number seq. Returns 1 with *info filled
 * as nfqd_ipset_info() does (name not included) when the datagram held it, 0 when it held no
 * answer to seq, the kernel's refusal (-ENOENT, ...), -EPROTONOSUPPORT for a type whose elements
 * cannot be built (info filled), or -EBADMSG for a malformed answer.
 */
int nfqd_ipset_parse_header(const void *buf, size_t len, uint32_t portid, uint32_t seq,
			    struct nfqd_ipset_info *info);

/*
 * The answer to an IPSET_CMD_PROTOCOL request of sequence number seq: 1 with the versions the
 * kernel speaks in *kmin..*kmax (IPSET_ATTR_PROTOCOL_MIN, or IPSET_ATTR_PROTOCOL when the
 * answer has no minimum, as 6-only kernels answer), 0 when the datagram held no answer to seq,
 * the kernel's refusal, or -EBADMSG for a malformed answer (no version, or a minimum above it).
 */
int nfqd_ipset_parse_protocol(const void *buf, size_t len, uint32_t portid, uint32_t seq,
			      uint8_t *kmin, uint8_t *kmax);

/* What the messages of a list:set dump have told so far. Zero it, set names and max. */
struct nfqd_ipset_members {
	char (*names)[NFQD_IPSET_NAME_MAX]; /* may be NULL with max 0: count only */
	unsigned int max;
	unsigned int count; /* members seen (may exceed max: only max are written) */
	bool not_list;	    /* the set is not a list:set */
};

/*
 * One datagram of the answer to an IPSET_CMD_LIST dump request of sequence number seq. Returns
 * 1 when the dump ended (NLMSG_DONE or a final acknowledgement), 0 when more is to come, the
 * kernel's refusal (-ENOENT, ...), or -EBADMSG.
 */
int nfqd_ipset_parse_list(const void *buf, size_t len, uint32_t portid, uint32_t seq,
			  struct nfqd_ipset_members *m);

/*
 * One datagram of answers to a batch: acknowledgements of TEST requests and answers to HEADER
 * requests. For each answer to the caller's portid, fn(seq, result, info, data) is called:
 * for an acknowledgement, result is the kernel's error (0 or -errno: -IPSET_ERR_EXIST is "not a
 * member") and info NULL; for a header answer, result 0 and info filled (-EPROTONOSUPPORT with
 * info filled for a type whose elements cannot be built). Messages
 * of other types are skipped. Returns the number of answers reported, or -EBADMSG at the first
 * malformed one (those before it were reported).
 */
int nfqd_ipset_parse_answers(const void *buf, size_t len, uint32_t portid,
			     void (*fn)(uint32_t seq, int result,
					const struct nfqd_ipset_info *info, void *data),
			     void *data);

#endif /* NFQD_IPSET_H */
