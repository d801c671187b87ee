/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Malformed traffic through a real queue, one packet at a time.
 *
 * Crafted IPv4 and IPv6 packets leave the client namespace through raw sockets, from source
 * addresses of their own (10.199.9.0/24, fd00:199:9::/64) so that no other traffic is queued.
 * The firewall queues them to nfqd in raw PREROUTING: the kernel has validated the IPv4 header
 * and an IPv6 hop-by-hop header by then, and nothing else (no rule of that namespace uses
 * conntrack, so no defragmentation either: fragments reach the queue as sent). A rule in mangle
 * PREROUTING, the next hook, counts the packets nfqd accepted.
 *
 * Each packet is sent alone; the test waits until nfqd has given it a verdict, then compares the
 * verdict nfqd counted, the kernel's count and nfqd's `unreadable` counter with the contract for
 * unreadable packets (`[policy] on-unreadable` in README.md). Every case runs with on-unreadable =
 * drop, accept and evaluate, each with a copy range of 128 (long header chains are cut) and of 2048
 * (they are whole). The fixed cases carry their expected answers; random packets from a seeded
 * PRNG (printed; NFQD_TEST_SEED=N repeats a run) get theirs from the small classifier below,
 * written from the contract and independent of nfqd's parser. The classifier is checked against
 * the fixed cases' answers first.
 *
 * Under evaluate the contract leaves one thing open: whether ports (or an IPv6 protocol number)
 * lying in a header that is not whole count as known. Packets whose verdict depends on that are
 * not sent in evaluate runs.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <netinet/in.h>

#include "itest.h"
#include "pktbuild.h"
#include "rawsend.h"

#define SRC4	      "10.199.9.1"
#define SRC4_BLOCKED  "10.199.9.66"
#define SRC6	      "fd00:199:9::1"
#define SRC6_BLOCKED  "fd00:199:9::66"

#define PORT_OPEN     5555 /* no rule drops it */
#define PORT_UDP_DROP 6666
#define PORT_TCP_DROP 7777
#define PORT_OTHER    5000 /* dropped for SCTP by its `not dport 5555` rule */

#define COPY_SHORT    128
#define COPY_LONG     2048

#define MAX_EXT	      120
#define PKT_MAX	      1400 /* stays under the veth MTU: nothing fragments on the way */
#define N_RANDOM      50   /* random packets per nfqd run: 300 in the six runs */
#define WAIT_MS	      30000
#define PROTO_GRE     47
#define PROTO_HIP     139
#define PROTO_SHIM6   140

static const char policy_rules[] = "default = accept\n"
				   "rule = drop src " SRC4_BLOCKED "\n"
				   "rule = drop src " SRC6_BLOCKED "\n"
				   "rule = drop proto udp dport 6666\n"
				   "rule = drop proto tcp dport 7777\n"
				   "rule = drop proto icmp\n"
				   "rule = drop proto icmpv6\n"
				   "rule = drop proto esp\n"
				   "rule = drop proto sctp not dport 5555\n";

enum mode {
	MODE_DROP,
	MODE_ACCEPT,
	MODE_EVALUATE,
};

static const char *const mode_names[] = { "drop", "accept", "evaluate" };

enum verdict {
	V_ACCEPT,
	V_DROP,
	V_OPEN, /* the contract leaves it open (see the top of the file) */
};

static const char *const verdict_names[] = { "accept", "drop", "open" };

/* ---- packets ------------------------------------------------------------------------------ */

struct ext {
	uint8_t type;
	uint16_t len;	   /* bytes; 8 for a fragment header */
	uint16_t frag_off; /* fragment header: offset in bytes */
	bool more;	   /* fragment header: M flag */
};

#define KEEP_ALL LONG_MAX

/* What to build: a well-formed packet, then the damage done to it. */
struct spec {
	char name[112];
	int family;
	bool blocked; /* from the source a rule drops */
	unsigned int v4_opts;
	bool v4_frag;
	uint16_t v4_frag_off;
	bool v4_more;
	unsigned int n_ext;
	struct ext ext[MAX_EXT];
	uint8_t proto;
	uint16_t dport;
	size_t payload;
	long keep;   /* cut the packet this many bytes after the L4 header's start (< 0: before) */
	int doff;    /* >= 0: TCP data offset written after building */
	int ulen;    /* >= 0: UDP length field written after building */
	int lie_ext; /* >= 0: this extension header's length byte becomes lie_len */
	uint8_t lie_len;
};

static void spec_init(struct spec *s, int family, uint8_t proto, uint16_t dport, const char *name)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->family = family;
	s->proto = proto;
	s->dport = dport;
	s->keep = KEEP_ALL;
	s->doff = -1;
	s->ulen = -1;
	s->lie_ext = -1;
}

static void spec_ext(struct spec *s, uint8_t type, uint16_t len)
{
	assert_true(s->n_ext < MAX_EXT);
	s->ext[s->n_ext++] = (struct ext){ .type = type, .len = len };
}

static void spec_frag6(struct spec *s, uint16_t off, bool more)
{
	assert_true(s->n_ext < MAX_EXT);
	s->ext[s->n_ext++] =
		(struct ext){ .type = IPPROTO_FRAGMENT, .len = 8, .frag_off = off, .more = more };
}

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned int get16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

/* Build the packet of s into buf (PKT_MAX bytes); returns its length. */
static size_t build(const struct spec *s, const struct topo *t, uint8_t *buf)
{
	static const uint8_t nops[40] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
					  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const uint8_t zeros[16];
	size_t ext_at[MAX_EXT];
	size_t l4, len;
	struct pb pb;
	int n;

	pb_init(&pb, buf, PKT_MAX);
	if (s->family == 4) {
		pb_ipv4(&pb, s->blocked ? SRC4_BLOCKED : SRC4, t->fw4, 64);
		if (s->v4_opts)
			pb_ipv4_options(&pb, nops, s->v4_opts);
		if (s->v4_frag)
			pb_ipv4_frag(&pb, s->v4_frag_off, s->v4_more);
	} else {
		pb_ipv6(&pb, s->blocked ? SRC6_BLOCKED : SRC6, t->fw6, 64);
	}
	for (unsigned int i = 0; i < s->n_ext; i++) {
		ext_at[i] = pb.len;
		if (s->ext[i].type == IPPROTO_FRAGMENT)
			pb_ipv6_frag(&pb, s->ext[i].frag_off, s->ext[i].more, 0x4e510000 + i);
		else if (s->ext[i].type == IPPROTO_AH)
			pb_ah(&pb, s->ext[i].len, 0x100 + i);
		else
			pb_ipv6_ext(&pb, s->ext[i].type, s->ext[i].len);
	}
	l4 = pb.len;
	switch (s->proto) {
	case IPPROTO_TCP:
		pb_tcp(&pb, 40000, s->dport, PB_TCP_SYN);
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		pb_udp(&pb, s->proto, 40000, s->dport);
		break;
	case IPPROTO_SCTP:
		pb_sctp(&pb, 40000, s->dport, 0x5c7b);
		break;
	case IPPROTO_DCCP:
		pb_dccp(&pb, 40000, s->dport);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		pb_icmp(&pb, s->family == 4 ? 8 : 128, 0);
		break;
	case PROTO_GRE:
		pb_l4(&pb, s->proto, zeros, 4);
		break;
	case IPPROTO_ESP:
		pb_l4(&pb, s->proto, zeros, 8);
		break;
	default: /* no next header: nothing follows */
		break;
	}
	pb_data(&pb, NULL, s->payload);
	n = pb_finish(&pb);
	if (n <= 0)
		fail_msg("test bug: case '%s' does not build (%d)", s->name, n);
	len = (size_t)n;

	if (s->doff >= 0)
		buf[l4 + 12] = (uint8_t)((buf[l4 + 12] & 0x0f) | s->doff << 4);
	if (s->ulen >= 0)
		put16(buf + l4 + 4, (unsigned int)s->ulen);
	if (s->lie_ext >= 0)
		buf[ext_at[s->lie_ext] + 1] = s->lie_len;
	if (s->keep != KEEP_ALL && (long)l4 + s->keep < (long)len)
		len = (size_t)((long)l4 + s->keep);
	/* what the kernel will see: raw IPv4 sockets rewrite these two, IPv6 ones do not */
	if (s->family == 4) {
		put16(buf + 2, (unsigned int)len);
		put16(buf + 10, 0);
	} else {
		put16(buf + 4, (unsigned int)(len - 40));
	}
	return len;
}

/* ---- the contract, as this test reads it ------------------------------------------------- */

enum fact {
	FACT_UNKNOWN,
	FACT_PARTIAL, /* present in the bytes, but in a header that is not whole */
	FACT_KNOWN,
};

struct facts {
	bool unreadable;
	const char *why;
	int family;
	bool blocked;
	enum fact proto_st;
	uint8_t proto;
	enum fact ports_st;
	uint16_t dport;
};

static bool ipv6_ext_header(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_FRAGMENT:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_MH:
	case PROTO_HIP:
	case PROTO_SHIM6:
		return true;
	default:
		return false;
	}
}

static void unreadable(struct facts *f, const char *why)
{
	f->unreadable = true;
	f->why = why;
}

/* The transport header at off: got bytes were received of a packet of len bytes. */
static void classify_l4(struct facts *f, const uint8_t *p, size_t off, size_t got, size_t len)
{
	size_t avail = got > off ? got - off : 0;
	bool ports = true;
	size_t need;

	switch (f->proto) {
	case IPPROTO_TCP:
		need = 20;
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		need = 8;
		break;
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		need = 12;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* ICMP is read over IPv4 only, ICMPv6 over IPv6 only */
		if ((f->proto == IPPROTO_ICMP) != (f->family == 4))
			return;
		need = 8;
		ports = false;
		break;
	default:
		return;
	}
	if (avail < need)
		unreadable(f, "transport header cut short");
	else if (f->proto == IPPROTO_TCP && p[off + 12] >> 4 < 5)
		unreadable(f, "TCP data offset below 5");
	else if (f->proto == IPPROTO_TCP && off + (size_t)(p[off + 12] >> 4) * 4 > len)
		unreadable(f, "TCP data offset past the packet");
	else if ((f->proto == IPPROTO_UDP || f->proto == IPPROTO_UDPLITE) &&
		 get16(p + off + 4) != 0 && get16(p + off + 4) < 8)
		unreadable(f, "UDP length below 8");
	if (!ports || avail < 4)
		return;
	f->ports_st = f->unreadable ? FACT_PARTIAL : FACT_KNOWN;
	f->dport = (uint16_t)get16(p + off + 2);
}

/* What nfqd may know of the packet p (len bytes, of which copy reach nfqd). */
static void classify(const uint8_t *p, size_t len, size_t copy, struct facts *f)
{
	static const uint8_t blocked4[4] = { 10, 199, 9, 66 };
	size_t got = len < copy ? len : copy;
	struct in6_addr blocked6;
	size_t off, hl;
	uint8_t nh;

	memset(f, 0, sizeof(*f));
	if (p[0] >> 4 == 4) {
		f->family = 4;
		f->blocked = memcmp(p + 12, blocked4, 4) == 0;
		f->proto_st = FACT_KNOWN;
		f->proto = p[9];
		/* a later fragment carries no transport header: nothing to read, nothing unreadable
		 */
		if (get16(p + 6) & 0x1fff)
			return;
		classify_l4(f, p, (size_t)(p[0] & 0x0f) * 4, got, len);
		return;
	}
	f->family = 6;
	inet_pton(AF_INET6, SRC6_BLOCKED, &blocked6);
	f->blocked = memcmp(p + 8, &blocked6, 16) == 0;
	nh = p[6];
	off = 40;
	while (ipv6_ext_header(nh)) {
		if (off + 2 > got) {
			unreadable(f, "extension header chain cut short");
			return;
		}
		if (nh == IPPROTO_FRAGMENT)
			hl = 8;
		else if (nh == IPPROTO_AH)
			hl = ((size_t)p[off + 1] + 2) * 4;
		else
			hl = ((size_t)p[off + 1] + 1) * 8;
		if (off + hl > got) {
			unreadable(f, "extension header past what was received");
			if (!ipv6_ext_header(p[off])) {
				f->proto_st = FACT_PARTIAL;
				f->proto = p[off];
			}
			return;
		}
		if (nh == IPPROTO_FRAGMENT && (get16(p + off + 2) & 0xfff8)) {
			f->proto_st = FACT_KNOWN;
			f->proto = p[off];
			return;
		}
		nh = p[off];
		off += hl;
	}
	f->proto_st = FACT_KNOWN;
	f->proto = nh;
	classify_l4(f, p, off, got, len);
}

/* The rules of policy_rules, given which facts are taken as known. */
static bool rules_drop(const struct facts *f, bool proto_known, bool ports_known)
{
	if (f->blocked)
		return true;
	if (!proto_known)
		return false;
	switch (f->proto) {
	case IPPROTO_UDP:
		return ports_known && f->dport == PORT_UDP_DROP;
	case IPPROTO_TCP:
		return ports_known && f->dport == PORT_TCP_DROP;
	case IPPROTO_ICMP:
		return f->family == 4;
	case IPPROTO_ICMPV6:
		return f->family == 6;
	case IPPROTO_ESP:
		return true;
	case IPPROTO_SCTP:
		/* `not` of an unknown port does not match */
		return ports_known && f->dport != PORT_OPEN;
	default:
		return false;
	}
}

static enum verdict expect(const struct facts *f, enum mode m)
{
	int seen = -1;

	if (f->unreadable && m == MODE_DROP)
		return V_DROP;
	if (f->unreadable && m == MODE_ACCEPT)
		return V_ACCEPT;
	/* evaluate, or a readable packet: try each reading of a PARTIAL fact */
	for (int pk = 0; pk < 2; pk++) {
		if ((pk && f->proto_st == FACT_UNKNOWN) || (!pk && f->proto_st == FACT_KNOWN))
			continue;
		for (int qk = 0; qk < 2; qk++) {
			int d;

			if ((qk && f->ports_st == FACT_UNKNOWN) ||
			    (!qk && f->ports_st == FACT_KNOWN))
				continue;
			d = rules_drop(f, pk, qk);
			if (seen >= 0 && d != seen)
				return V_OPEN;
			seen = d;
		}
	}
	return seen ? V_DROP : V_ACCEPT;
}

/* ---- one nfqd run ------------------------------------------------------------------------- */

struct counters {
	uint64_t received, accepted, dropped, unreadable;
	uint64_t kernel4, kernel6; /* the mangle PREROUTING counting rules */
	unsigned int queued, last_id;
};

struct run {
	struct itest *it;
	enum mode mode;
	unsigned int copy;
	int raw4, raw6;
	struct counters base, now;
	uint64_t sent, sent_unreadable, want_accepted;
	unsigned int failures, skipped;
};

static void read_nfqd(struct run *r, struct counters *c)
{
	char *json = itest_stats(r->it);

	c->received = stats_get(json, -1, "received");
	c->accepted = stats_get(json, -1, "accepted");
	c->dropped = stats_get(json, -1, "dropped");
	c->unreadable = stats_get(json, -1, "unreadable");
	free(json);
}

static void read_kernel(struct run *r, struct counters *c, int family)
{
	if (family != 6)
		c->kernel4 = xt_rule_packets(r->it->t.fw, false, "mangle", "PREROUTING", 1);
	if (family != 4)
		c->kernel6 = xt_rule_packets(r->it->t.fw, true, "mangle", "PREROUTING", 1);
	if (kernel_queue_line(r->it->t.fw, 0, &c->queued, &c->last_id) < 0)
		fail_msg("no line for queue 0 in the firewall's nfnetlink_queue");
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_hex(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", p[i], i % 32 == 31 || i + 1 == len ? "\n" : " ");
}

/* Whether nfqd is still running (a child that exited is reaped here). */
static bool nfqd_alive(struct nfqd_proc *d)
{
	if (d->pid <= 0)
		return false;
	if (waitpid(d->pid, NULL, WNOHANG) == 0)
		return true;
	d->pid = -1;
	return false;
}

/*
 * Wait until nfqd has counted a verdict for every packet sent. nfqd publishes its counters after
 * the verdicts' send() returned, and the kernel re-injects an accepted packet inside that send:
 * by then the kernel's counting rule has seen it.
 */
static void wait_handled(struct run *r, const char *name, const uint8_t *pkt, size_t len)
{
	long long deadline = now_ms() + WAIT_MS;
	unsigned int pause_us = 100;

	for (;;) {
		read_nfqd(r, &r->now);
		if (r->now.received - r->base.received == r->sent &&
		    r->now.accepted + r->now.dropped - r->base.accepted - r->base.dropped ==
			    r->sent)
			return;
		if (now_ms() > deadline || !nfqd_alive(&r->it->d)) {
			itest_print_log(r->it);
			fprintf(stderr, "  %zu bytes sent:\n", len);
			print_hex(pkt, len);
			fail_msg("case '%s': nfqd did not give packet %llu a verdict within %d ms "
				 "(received %llu, accepted %llu, dropped %llu since the run began)",
				 name, (unsigned long long)r->sent, WAIT_MS,
				 (unsigned long long)(r->now.received - r->base.received),
				 (unsigned long long)(r->now.accepted - r->base.accepted),
				 (unsigned long long)(r->now.dropped - r->base.dropped));
		}
		usleep(pause_us);
		if (pause_us < 5000)
			pause_us *= 2;
	}
}

static uint64_t delta(uint64_t now, uint64_t before)
{
	return now == UINT64_MAX || before == UINT64_MAX ? UINT64_MAX : now - before;
}

/* The run's counters so far, for a failure's report. */
static void print_totals(const struct run *r)
{
	const struct counters *b = &r->base, *n = &r->now;

	fprintf(stderr,
		"  this run: %llu packets sent (%llu unreadable); nfqd: received %llu accepted "
		"%llu "
		"dropped %llu unreadable %lld; kernel: accepted %llu (IPv4 %llu, IPv6 %llu), "
		"queued %u, last id %u\n",
		(unsigned long long)r->sent, (unsigned long long)r->sent_unreadable,
		(unsigned long long)(n->received - b->received),
		(unsigned long long)(n->accepted - b->accepted),
		(unsigned long long)(n->dropped - b->dropped),
		n->unreadable == UINT64_MAX ? -1LL : (long long)(n->unreadable - b->unreadable),
		(unsigned long long)(n->kernel4 - b->kernel4 + n->kernel6 - b->kernel6),
		(unsigned long long)(n->kernel4 - b->kernel4),
		(unsigned long long)(n->kernel6 - b->kernel6), n->queued, n->last_id - b->last_id);
}

/* Send one packet, wait for its verdict, and compare it with want. */
static void send_case(struct run *r, const struct spec *s, const uint8_t *pkt, size_t len,
		      const struct facts *f, enum verdict want)
{
	struct counters before = r->now;
	uint64_t acc, drp, unr, kern;
	char unr_text[32];
	enum verdict got;
	int e;

	e = raw_fd_send(s->family == 4 ? r->raw4 : r->raw6, pkt, len);
	if (e < 0)
		fail_msg("case '%s': raw send of %zu bytes failed: %s", s->name, len, strerror(-e));
	r->sent++;
	r->sent_unreadable += f->unreadable;
	r->want_accepted += want == V_ACCEPT;
	wait_handled(r, s->name, pkt, len);
	read_kernel(r, &r->now, s->family);

	acc = r->now.accepted - before.accepted;
	drp = r->now.dropped - before.dropped;
	unr = delta(r->now.unreadable, before.unreadable);
	kern = s->family == 4 ? r->now.kernel4 - before.kernel4 : r->now.kernel6 - before.kernel6;
	got = acc == 1 && drp == 0 ? V_ACCEPT : V_DROP;
	if (got == want && kern == (want == V_ACCEPT) && unr == f->unreadable &&
	    r->now.queued == 0 && r->now.last_id - r->base.last_id == r->sent)
		return;

	r->failures++;
	if (unr == UINT64_MAX)
		snprintf(unr_text, sizeof(unr_text), "(no such counter)");
	else
		snprintf(unr_text, sizeof(unr_text), "%llu", (unsigned long long)unr);
	fprintf(stderr,
		"FAIL case '%s' (IPv%d, on-unreadable = %s, copy-range %u): want %s%s%s%s; "
		"nfqd gave %s (accepted +%llu, dropped +%llu, unreadable +%s), the kernel "
		"accepted +%llu\n",
		s->name, s->family, mode_names[r->mode], r->copy, verdict_names[want],
		f->unreadable ? " (unreadable: " : " (readable)", f->unreadable ? f->why : "",
		f->unreadable ? ")" : "", verdict_names[got], (unsigned long long)acc,
		(unsigned long long)drp, unr_text, (unsigned long long)kern);
	print_totals(r);
	fprintf(stderr, "  %zu bytes sent:\n", len);
	print_hex(pkt, len);
}

/*
 * A fixed case. at_short and at_long are its expected answers with copy range 128 and 2048:
 * "R" readable or "U" unreadable, then the verdict under evaluate: "A", "D", or "O" (open).
 */
static void fixed(struct run *r, const struct spec *s, const char *at_short, const char *at_long)
{
	const char *hand = r->copy == COPY_SHORT ? at_short : at_long;
	uint8_t pkt[PKT_MAX];
	size_t len = build(s, &r->it->t, pkt);
	struct facts f;
	enum verdict ev, want;

	classify(pkt, len, r->copy, &f);
	ev = expect(&f, MODE_EVALUATE);
	if ((hand[0] == 'U') != f.unreadable || "ADO"[ev] != hand[1]) {
		print_hex(pkt, len);
		fail_msg("test bug: the test's classifier says %s/%s for case '%s' at copy range "
			 "%u, the case table says %s",
			 f.unreadable ? "unreadable" : "readable", verdict_names[ev], s->name,
			 r->copy, hand);
	}
	want = expect(&f, r->mode);
	if (want == V_OPEN) {
		r->skipped++;
		return;
	}
	send_case(r, s, pkt, len, &f, want);
}

/* ---- the cases ---------------------------------------------------------------------------- */

/* n extension headers of 8 bytes, of every kind the chain may hold, before UDP to dport. */
static void long_chain(struct spec *s, unsigned int n, uint16_t dport)
{
	static const uint8_t kinds[] = { IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_MH,
					 PROTO_HIP,	  PROTO_SHIM6,	   IPPROTO_AH };
	char name[64];

	snprintf(name, sizeof(name), "%u extension headers, UDP to %u", n, dport);
	spec_init(s, 6, IPPROTO_UDP, dport, name);
	/* hop-by-hop only first and of 8 bytes: the kernel parses it before any hook */
	spec_ext(s, IPPROTO_HOPOPTS, 8);
	for (unsigned int i = 1; i < n; i++)
		spec_ext(s, kinds[i % sizeof(kinds)],
			 kinds[i % sizeof(kinds)] == IPPROTO_AH ? 16 : 8);
}

static void cases_v4(struct run *r)
{
	struct spec s;

	spec_init(&s, 4, IPPROTO_UDP, PORT_OPEN, "UDP to an open port");
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "UDP to the dropped port");
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "options, UDP to the dropped port");
	s.v4_opts = 40;
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 4, IPPROTO_TCP, PORT_TCP_DROP, "TCP to the dropped port");
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "UDP length 0");
	s.ulen = 0;
	fixed(r, &s, "RD", "RD");

	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "UDP cut to 4 bytes, dropped port");
	s.keep = 4;
	fixed(r, &s, "UO", "UO");
	spec_init(&s, 4, IPPROTO_UDP, PORT_OPEN, "UDP cut to 4 bytes, open port");
	s.keep = 4;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "UDP cut to 3 bytes, dropped port");
	s.keep = 3;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "UDP length 4, dropped port");
	s.ulen = 4;
	fixed(r, &s, "UO", "UO");
	spec_init(&s, 4, IPPROTO_TCP, PORT_TCP_DROP, "TCP data offset 4, dropped port");
	s.doff = 4;
	fixed(r, &s, "UO", "UO");
	spec_init(&s, 4, IPPROTO_TCP, PORT_OPEN, "TCP data offset 4, open port");
	s.doff = 4;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, IPPROTO_TCP, PORT_OPEN, "TCP data offset 15 past the packet's end");
	s.doff = 15;
	s.payload = 8;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, IPPROTO_TCP, PORT_TCP_DROP, "TCP cut to 12 bytes, from a dropped source");
	s.keep = 12;
	s.blocked = true;
	fixed(r, &s, "UD", "UD");

	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "first fragment, UDP cut to 2 bytes");
	s.v4_frag = s.v4_more = true;
	s.keep = 2;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, IPPROTO_TCP, PORT_OPEN, "first fragment, TCP cut to 16 bytes");
	s.v4_frag = s.v4_more = true;
	s.keep = 16;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "first fragment, UDP whole");
	s.v4_frag = s.v4_more = true;
	s.payload = 16;
	fixed(r, &s, "RD", "RD");

	/* later fragments: what looks like a header there is data */
	spec_init(&s, 4, IPPROTO_UDP, PORT_UDP_DROP, "later fragment of UDP, port bytes of 6666");
	s.v4_frag = true;
	s.v4_frag_off = 1480;
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 4, IPPROTO_TCP, PORT_TCP_DROP, "later fragment of TCP, 2 bytes");
	s.v4_frag = s.v4_more = true;
	s.v4_frag_off = 8;
	s.keep = 2;
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 4, IPPROTO_SCTP, PORT_OTHER, "later fragment of SCTP (not dport 5555)");
	s.v4_frag = true;
	s.v4_frag_off = 64;
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 4, IPPROTO_ICMP, 0, "later fragment of ICMP (proto icmp)");
	s.v4_frag = true;
	s.v4_frag_off = 16;
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 4, IPPROTO_UDP, PORT_OPEN, "later fragment from a dropped source");
	s.v4_frag = true;
	s.v4_frag_off = 24;
	s.blocked = true;
	fixed(r, &s, "RD", "RD");

	spec_init(&s, 4, IPPROTO_ICMP, 0, "ICMP echo");
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 4, IPPROTO_ICMP, 0, "ICMP cut to 4 bytes");
	s.keep = 4;
	fixed(r, &s, "UD", "UD");
	spec_init(&s, 4, IPPROTO_SCTP, PORT_OTHER, "SCTP to another port");
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 4, IPPROTO_SCTP, PORT_OPEN, "SCTP to the open port");
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 4, IPPROTO_SCTP, PORT_OPEN, "SCTP cut to 8 bytes, open port");
	s.keep = 8;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, IPPROTO_SCTP, PORT_OTHER, "SCTP cut to 8 bytes, other port");
	s.keep = 8;
	fixed(r, &s, "UO", "UO");
	spec_init(&s, 4, IPPROTO_DCCP, PORT_OPEN, "DCCP cut to 10 bytes");
	s.keep = 10;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, IPPROTO_UDPLITE, PORT_OPEN, "UDP-Lite cut to 6 bytes");
	s.keep = 6;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 4, PROTO_GRE, 0, "GRE");
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 4, PROTO_GRE, 0, "GRE cut to 1 byte");
	s.keep = 1;
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 4, IPPROTO_ESP, 0, "ESP cut to 2 bytes (proto esp)");
	s.keep = 2;
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 4, IPPROTO_NONE, 0, "protocol 59, nothing after the header");
	fixed(r, &s, "RA", "RA");
}

static void cases_v6(struct run *r)
{
	struct spec s;
	unsigned int chains[] = { 17, 30, 100 };

	spec_init(&s, 6, IPPROTO_UDP, PORT_OPEN, "UDP to an open port");
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 6, IPPROTO_UDP, PORT_UDP_DROP, "UDP to the dropped port");
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 6, IPPROTO_UDP, PORT_UDP_DROP, "hop-by-hop, UDP to the dropped port");
	spec_ext(&s, IPPROTO_HOPOPTS, 8);
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 6, IPPROTO_TCP, PORT_TCP_DROP, "TCP to the dropped port");
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 6, IPPROTO_ICMPV6, 0, "ICMPv6 echo");
	fixed(r, &s, "RD", "RD");

	/* 40 + 88 = 128: the UDP header begins where a copy range of 128 ends */
	spec_init(&s, 6, IPPROTO_UDP, PORT_UDP_DROP, "88-byte destination options, UDP to 6666");
	spec_ext(&s, IPPROTO_DSTOPTS, 88);
	fixed(r, &s, "UA", "RD");
	spec_init(&s, 6, IPPROTO_UDP, PORT_UDP_DROP, "96-byte destination options, UDP to 6666");
	spec_ext(&s, IPPROTO_DSTOPTS, 96);
	fixed(r, &s, "UA", "RD");
	for (unsigned int i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
		long_chain(&s, chains[i], PORT_UDP_DROP);
		fixed(r, &s, "UA", "RD");
		long_chain(&s, chains[i], PORT_OPEN);
		fixed(r, &s, "UA", "RA");
	}
	spec_init(&s, 6, IPPROTO_UDP, PORT_OPEN, "10 destination options, UDP ends at byte 128");
	for (unsigned int i = 0; i < 10; i++)
		spec_ext(&s, IPPROTO_DSTOPTS, 8);
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 6, IPPROTO_UDP, PORT_OPEN, "destination options whose length lies");
	spec_ext(&s, IPPROTO_DSTOPTS, 8);
	s.lie_ext = 0;
	s.lie_len = 200;
	s.payload = 32;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 6, IPPROTO_UDP, PORT_OPEN, "routing header whose length lies, from ::66");
	spec_ext(&s, IPPROTO_ROUTING, 8);
	s.lie_ext = 0;
	s.lie_len = 3;
	s.blocked = true;
	fixed(r, &s, "UD", "UD");
	spec_init(&s, 6, IPPROTO_UDP, PORT_OPEN, "chain cut inside a destination options header");
	spec_ext(&s, IPPROTO_DSTOPTS, 8);
	spec_ext(&s, IPPROTO_DSTOPTS, 32);
	s.keep = -20;
	fixed(r, &s, "UA", "UA");

	spec_init(&s, 6, IPPROTO_UDP, PORT_UDP_DROP, "UDP cut to 4 bytes, dropped port");
	s.keep = 4;
	fixed(r, &s, "UO", "UO");
	spec_init(&s, 6, IPPROTO_UDP, PORT_OPEN, "UDP cut to 4 bytes, open port");
	s.keep = 4;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 6, IPPROTO_TCP, PORT_OPEN, "TCP data offset 4");
	s.doff = 4;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 6, IPPROTO_TCP, PORT_TCP_DROP, "TCP data offset 15 past the packet's end");
	s.doff = 15;
	fixed(r, &s, "UO", "UO");
	/* 40 + 64 + 20 = 124: the fixed TCP header is whole, its options are not */
	spec_init(&s, 6, IPPROTO_TCP, PORT_TCP_DROP, "TCP options cut by the copy range");
	spec_ext(&s, IPPROTO_DSTOPTS, 64);
	s.doff = 10;
	s.payload = 20;
	fixed(r, &s, "RD", "RD");

	spec_init(&s, 6, IPPROTO_UDP, PORT_UDP_DROP, "first fragment, UDP cut to 2 bytes");
	spec_frag6(&s, 0, true);
	s.keep = 2;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 6, IPPROTO_UDP, PORT_UDP_DROP, "first fragment, UDP whole");
	spec_frag6(&s, 0, true);
	s.payload = 8;
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 6, IPPROTO_UDP, PORT_OPEN, "first fragment, chain ends inside it");
	spec_frag6(&s, 0, true);
	spec_ext(&s, IPPROTO_DSTOPTS, 48);
	s.keep = -24;
	fixed(r, &s, "UA", "UA");
	spec_init(&s, 6, IPPROTO_UDP, PORT_UDP_DROP, "later fragment of UDP, port bytes of 6666");
	spec_frag6(&s, 1232, false);
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 6, IPPROTO_SCTP, PORT_OTHER, "later fragment of SCTP (not dport 5555)");
	spec_ext(&s, IPPROTO_DSTOPTS, 16);
	spec_frag6(&s, 8, true);
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 6, IPPROTO_ICMPV6, 0, "later fragment of ICMPv6 (proto icmpv6)");
	spec_frag6(&s, 64, false);
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 6, IPPROTO_ESP, 0, "later fragment of ESP (proto esp)");
	spec_frag6(&s, 64, false);
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 6, IPPROTO_UDP, PORT_OPEN, "later fragment from a dropped source");
	spec_frag6(&s, 16, true);
	s.blocked = true;
	fixed(r, &s, "RD", "RD");

	spec_init(&s, 6, IPPROTO_ICMPV6, 0, "ICMPv6 cut to 4 bytes");
	s.keep = 4;
	fixed(r, &s, "UD", "UD");
	spec_init(&s, 6, PROTO_GRE, 0, "GRE after destination options");
	spec_ext(&s, IPPROTO_DSTOPTS, 8);
	fixed(r, &s, "RA", "RA");
	spec_init(&s, 6, IPPROTO_ESP, 0, "ESP (proto esp)");
	fixed(r, &s, "RD", "RD");
	spec_init(&s, 6, IPPROTO_NONE, 0, "no next header after routing and AH");
	spec_ext(&s, IPPROTO_ROUTING, 8);
	spec_ext(&s, IPPROTO_AH, 16);
	fixed(r, &s, "RA", "RA");
}

/* ---- random packets ----------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned int rnd(uint64_t *st, unsigned int n)
{
	return (unsigned int)(rng_next(st) % n);
}

static size_t l4_size(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_SCTP:
		return 12;
	case IPPROTO_DCCP:
		return 16;
	case PROTO_GRE:
		return 4;
	case IPPROTO_NONE:
		return 0;
	default:
		return 8;
	}
}

static void random_spec(uint64_t *st, struct spec *s, unsigned int idx)
{
	static const uint8_t protos[] = { IPPROTO_TCP,	IPPROTO_UDP,  IPPROTO_UDP,  IPPROTO_UDPLITE,
					  IPPROTO_SCTP, IPPROTO_DCCP, IPPROTO_ICMP, PROTO_GRE,
					  IPPROTO_ESP,	IPPROTO_NONE };
	static const uint8_t kinds[] = { IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_MH,
					 PROTO_HIP,	  PROTO_SHIM6,	   IPPROTO_AH,
					 IPPROTO_FRAGMENT };
	static const uint16_t ports[] = { PORT_OPEN, PORT_UDP_DROP, PORT_TCP_DROP, PORT_OTHER };
	int family = rnd(st, 2) ? 4 : 6;
	uint8_t proto = protos[rnd(st, sizeof(protos))];
	size_t size, min_len;
	bool first_frag = false;
	char name[64];

	if (proto == IPPROTO_ICMP && family == 6)
		proto = IPPROTO_ICMPV6;
	snprintf(name, sizeof(name), "random packet %u", idx);
	spec_init(s, family, proto, rnd(st, 5) ? ports[rnd(st, 4)] : (uint16_t)rnd(st, 65536),
		  name);
	s->blocked = rnd(st, 10) == 0;
	s->payload = rnd(st, 48);
	if (family == 4) {
		s->v4_opts = rnd(st, 3) ? 0 : 4 * rnd(st, 11);
		switch (rnd(st, 4)) {
		case 0:
			s->v4_frag = s->v4_more = true;
			first_frag = true;
			break;
		case 1:
			s->v4_frag = true;
			s->v4_frag_off = (uint16_t)(8 * (1 + rnd(st, 180)));
			s->v4_more = rnd(st, 2);
			break;
		default:
			break;
		}
		size = min_len = 20 + s->v4_opts;
	} else {
		unsigned int n = rnd(st, 4) ? rnd(st, 4) : rnd(st, 40);
		bool frag = false;

		size = 40;
		/* Hop-by-hop comes first or not at all, and 8 bytes long: the kernel parses it
		 * before any hook and refuses more than 7 bytes of padding in a row. */
		if (rnd(st, 4) == 0) {
			spec_ext(s, IPPROTO_HOPOPTS, 8);
			size += s->ext[0].len;
		}
		/* the kernel drops an IPv6 packet whose hop-by-hop header is not whole */
		min_len = size;
		for (unsigned int i = 0; i < n && size < 1000; i++) {
			uint8_t k = kinds[rnd(st, sizeof(kinds))];

			if (k == IPPROTO_FRAGMENT && frag)
				k = IPPROTO_DSTOPTS;
			if (k == IPPROTO_FRAGMENT) {
				frag = true;
				switch (rnd(st, 3)) {
				case 0:
					spec_frag6(s, 0, true);
					first_frag = true;
					break;
				case 1:
					spec_frag6(s, (uint16_t)(8 * (1 + rnd(st, 150))),
						   rnd(st, 2));
					break;
				default:
					spec_frag6(s, 0, false);
					break;
				}
			} else {
				spec_ext(s, k,
					 (uint16_t)(k == IPPROTO_AH ? 12 + 4 * rnd(st, 4)
								    : 8 * (1 + rnd(st, 4))));
			}
			size += s->ext[s->n_ext - 1].len;
		}
		/* a lying length in any header but hop-by-hop (and fragment, which has none) */
		if (s->n_ext && rnd(st, 6) == 0) {
			unsigned int i = rnd(st, s->n_ext);

			if (s->ext[i].type != IPPROTO_HOPOPTS &&
			    s->ext[i].type != IPPROTO_FRAGMENT) {
				s->lie_ext = (int)i;
				s->lie_len = (uint8_t)rnd(st, 256);
			}
		}
	}
	size += l4_size(proto) + s->payload;
	if (proto == IPPROTO_TCP && rnd(st, 4) == 0)
		/* The contract measures a first fragment's TCP header against "the packet's end";
		 * whether that is the fragment's is left open: no long data offset there. */
		s->doff = (int)rnd(st, first_frag ? 6 : 16);
	if ((proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE) && rnd(st, 6) == 0)
		s->ulen = (int)rnd(st, 12);
	if (rnd(st, 3) == 0)
		/* cut anywhere after what the kernel checks before the hook */
		s->keep = (long)(min_len + rnd(st, (unsigned int)(size - min_len + 1))) -
			  (long)(size - l4_size(proto) - s->payload);
}

static void random_cases(struct run *r, uint64_t seed)
{
	uint64_t st = seed;

	for (unsigned int i = 0; i < N_RANDOM; i++) {
		uint8_t pkt[PKT_MAX];
		struct facts f;
		struct spec s;
		enum verdict want;
		size_t len;

		/* a packet whose verdict the contract leaves open is drawn again */
		do {
			random_spec(&st, &s, i);
			len = build(&s, &r->it->t, pkt);
			classify(pkt, len, r->copy, &f);
			want = expect(&f, r->mode);
		} while (want == V_OPEN);
		send_case(r, &s, pkt, len, &f, want);
	}
}

/* ---- the test ----------------------------------------------------------------------------- */

static uint64_t test_seed(void)
{
	static uint64_t seed;
	static bool chosen;
	const char *env = getenv("NFQD_TEST_SEED");

	if (chosen)
		return seed;
	chosen = true;
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
	fprintf(stderr,
		"malformed: random packets from seed %llu (NFQD_TEST_SEED=%llu repeats "
		"them)\n",
		(unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "mal") < 0)
		return -1;
	it = *state;
	/* Only the crafted packets are queued; the count of accepted ones is the next hook's. */
	return ns_sh(
		it->t.fw,
		"set -e; iptables -t raw -A PREROUTING -s 10.199.9.0/24 -j NFQUEUE --queue-num 0;"
		"iptables -t mangle -A PREROUTING -s 10.199.9.0/24;"
		"ip6tables -t raw -A PREROUTING -s fd00:199:9::/64 -j NFQUEUE --queue-num 0;"
		"ip6tables -t mangle -A PREROUTING -s fd00:199:9::/64");
}

static void one_run(struct itest *it, enum mode mode, unsigned int copy, uint64_t seed)
{
	struct run r = { .it = it, .mode = mode, .copy = copy };
	char config[1024];
	uint64_t kernel_accepted;
	char *log, *json;

	snprintf(config, sizeof(config),
		 "[queue]\ncopy-range = %u\n[policy]\non-unreadable = %s\n%s", copy,
		 mode_names[mode], policy_rules);
	itest_nfqd(it, config);
	r.raw4 = raw_ip_open(it->t.cli, 4);
	r.raw6 = raw_ip_open(it->t.cli, 6);
	assert_true(r.raw4 >= 0);
	assert_true(r.raw6 >= 0);
	read_nfqd(&r, &r.base);
	read_kernel(&r, &r.base, 0);
	r.now = r.base;

	cases_v4(&r);
	cases_v6(&r);
	random_cases(&r, seed);

	/* the run adds up: nfqd alive, every packet one verdict, the kernel agreeing */
	read_nfqd(&r, &r.now);
	read_kernel(&r, &r.now, 0);
	kernel_accepted = r.now.kernel4 - r.base.kernel4 + r.now.kernel6 - r.base.kernel6;
	fprintf(stderr,
		"malformed: on-unreadable = %s, copy-range %u: %u cases failed, %u left out "
		"as open\n",
		mode_names[mode], copy, r.failures, r.skipped);
	print_totals(&r);
	assert_true(nfqd_alive(&it->d));
	assert_int_equal(r.failures, 0);
	assert_int_equal(r.now.received - r.base.received, r.sent);
	assert_int_equal(r.now.received - r.base.received,
			 r.now.accepted - r.base.accepted + r.now.dropped - r.base.dropped);
	assert_int_equal(delta(r.now.unreadable, r.base.unreadable), r.sent_unreadable);
	assert_int_equal(r.now.queued, 0);
	assert_int_equal(r.now.last_id - r.base.last_id, r.sent);
	assert_int_equal(kernel_accepted, r.now.accepted - r.base.accepted);
	assert_int_equal(kernel_accepted, r.want_accepted);
	/* one queue: its own counters are the totals */
	json = itest_stats(it);
	assert_int_equal(stats_get(json, 0, "unreadable"), r.now.unreadable);
	assert_int_equal(stats_get(json, 0, "received"), r.now.received);
	free(json);

	close(r.raw4);
	close(r.raw6);
	/* and so does nfqd's own last word on the queue */
	log = itest_stop(it, 10000, NULL);
	assert_int_equal(final_get(log, 0, "received"), r.now.received);
	assert_int_equal(final_get(log, 0, "kernel_queued"), 0);
	free(log);
	nfqd_cleanup(&it->d);
	it->have_d = false;
}

static void run_mode(void **state, enum mode mode)
{
	uint64_t seed = test_seed();

	one_run(*state, mode, COPY_SHORT, seed + 2 * mode);
	one_run(*state, mode, COPY_LONG, seed + 2 * mode + 1);
}

static void test_malformed_on_unreadable_drop(void **state)
{
	run_mode(state, MODE_DROP);
}

static void test_malformed_on_unreadable_accept(void **state)
{
	run_mode(state, MODE_ACCEPT);
}

static void test_malformed_on_unreadable_evaluate(void **state)
{
	run_mode(state, MODE_EVALUATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_malformed_on_unreadable_drop, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_on_unreadable_accept, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_on_unreadable_evaluate, setup,
						itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: malformed traffic", tests, NULL, NULL);
}
