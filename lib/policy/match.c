/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The match kinds of the rule language: for each, how its argument is parsed, evaluated against
 * a packet view and written back in canonical form, and what it requires of a packet.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

/* Protocols known by name; the first row of a number gives its canonical name. */
struct nfqd_proto_name {
	const char *name;
	uint8_t num;
};

static const struct nfqd_proto_name proto_names[] = {
	{ "tcp", IPPROTO_TCP },
	{ "udp", IPPROTO_UDP },
	{ "icmp", IPPROTO_ICMP },
	{ "icmpv6", IPPROTO_ICMPV6 },
	{ "ipv6-icmp", IPPROTO_ICMPV6 },
	{ "udplite", IPPROTO_UDPLITE },
	{ "sctp", IPPROTO_SCTP },
	{ "dccp", IPPROTO_DCCP },
	{ "gre", IPPROTO_GRE },
	{ "esp", IPPROTO_ESP },
	{ "ah", IPPROTO_AH },
};

#define PORT_PROTOS "tcp, udp, udplite, sctp, dccp"

static const char *proto_name(uint8_t num)
{
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (proto_names[i].num == num)
			return proto_names[i].name;
	return NULL;
}

/* Whether the packet view can know ports for this protocol (NFQD_PKT_HAS_PORTS). */
static bool proto_has_ports(int num)
{
	switch (num) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		return true;
	default:
		return false;
	}
}

/* The address family a protocol belongs to (4 or 6), 0 when it runs over both. */
static uint8_t proto_family(int num)
{
	if (num == IPPROTO_ICMP)
		return 4;
	if (num == IPPROTO_ICMPV6)
		return 6;
	return 0;
}

/*
 * Parse a decimal number of at most max with no sign, blank or other junk; s ends at end.
 * Returns 0, -EINVAL when it is not a number, -ERANGE when it is above max.
 */
static int parse_uint(const char *s, const char *end, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	bool over = false;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		/* keep scanning past the limit so that "99999x" is junk, not a range error */
		if (!over) {
			v = v * 10 + (unsigned long)(*s - '0');
			over = v > max;
		}
	}
	if (over)
		return -ERANGE;
	*out = v;
	return 0;
}

static int fail(struct nfqd_policy_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct nfqd_policy_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* proto */

static int proto_parse(struct nfqd_term *t, const char *arg, struct nfqd_policy_error *err)
{
	unsigned long v;
	int r;

	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (strcmp(arg, proto_names[i].name) == 0) {
			t->arg.proto = proto_names[i].num;
			return 0;
		}
	}
	r = parse_uint(arg, arg + strlen(arg), 255, &v);
	if (r == -ERANGE)
		return fail(err, "bad protocol '%s' after 'proto': must be 0-255", arg);
	if (r < 0)
		return fail(err,
			    "bad protocol '%s' after 'proto': expected tcp, udp, icmp, icmpv6, "
			    "udplite, sctp, dccp, gre, esp, ah or a number 0-255",
			    arg);
	t->arg.proto = (uint8_t)v;
	return 0;
}

static bool proto_eval(const struct nfqd_term *t, const struct nfqd_packet *pkt)
{
	return pkt->l4_proto == t->arg.proto;
}

static int proto_format(const struct nfqd_term *t, char *buf, size_t size)
{
	const char *name = proto_name(t->arg.proto);

	if (name)
		return snprintf(buf, size, "%s", name);
	return snprintf(buf, size, "%u", t->arg.proto);
}

static void proto_need(const struct nfqd_term *t, struct nfqd_need *need)
{
	need->facts = NFQD_PKT_HAS_PROTO;
	need->proto = t->negate ? -1 : t->arg.proto;
}

/* src, dst */

static int prefix_parse(struct nfqd_term *t, const char *arg, struct nfqd_policy_error *err)
{
	const char *name = nfqd_match_table[t->kind].name;
	struct nfqd_prefix *p = &t->arg.prefix;
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(arg, '/');
	size_t alen = slash ? (size_t)(slash - arg) : strlen(arg);
	unsigned int max, nwords;
	unsigned long len;
	bool host_bits = false;

	if (alen >= sizeof(addr))
		goto bad_addr;
	memcpy(addr, arg, alen);
	addr[alen] = '\0';
	memset(p, 0, sizeof(*p));
	if (memchr(addr, ':', alen)) {
		if (inet_pton(AF_INET6, addr, &p->addr.v6) != 1)
			goto bad_addr;
		p->family = 6;
		max = 128;
	} else {
		if (inet_pton(AF_INET, addr, &p->addr.v4) != 1)
			goto bad_addr;
		p->family = 4;
		max = 32;
	}

	len = max;
	if (slash && parse_uint(slash + 1, slash + 1 + strlen(slash + 1), max, &len) < 0)
		return fail(err, "bad prefix length in '%s' after '%s': must be 0-%u", arg, name,
			    max);
	p->len = (uint8_t)len;

	for (unsigned int bit = 0; bit < len; bit++)
		p->mask.b[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
	nwords = p->family == 4 ? 1 : 4;
	for (unsigned int i = 0; i < nwords; i++) {
		if (p->addr.w[i] & ~p->mask.w[i])
			host_bits = true;
		p->addr.w[i] &= p->mask.w[i];
	}
	if (host_bits) {
		inet_ntop(p->family == 4 ? AF_INET : AF_INET6, &p->addr, addr, sizeof(addr));
		return fail(err, "%s '%s': host bits set; did you mean %s/%u?", name, arg, addr,
			    p->len);
	}
	return 0;

bad_addr:
	return fail(err, "bad address '%s' after '%s': expected an IPv4 or IPv6 address[/LEN]", arg,
		    name);
}

static bool prefix_eval(const struct nfqd_prefix *p, const union nfqd_addr *a)
{
	unsigned int nwords = p->family == 4 ? 1 : 4;

	for (unsigned int i = 0; i < nwords; i++)
		if ((a->w[i] & p->mask.w[i]) != p->addr.w[i])
			return false;
	return true;
}

static bool src_eval(const struct nfqd_term *t, const struct nfqd_packet *pkt)
{
	return prefix_eval(&t->arg.prefix, &pkt->src);
}

static bool dst_eval(const struct nfqd_term *t, const struct nfqd_packet *pkt)
{
	return prefix_eval(&t->arg.prefix, &pkt->dst);
}

static int prefix_format(const struct nfqd_term *t, char *buf, size_t size)
{
	const struct nfqd_prefix *p = &t->arg.prefix;
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, &p->addr, addr, sizeof(addr));
	if (p->len == (p->family == 4 ? 32 : 128))
		return snprintf(buf, size, "%s", addr);
	return snprintf(buf, size, "%s/%u", addr, p->len);
}

static void prefix_need(const struct nfqd_term *t, struct nfqd_need *need)
{
	/*
	 * The family is required negated too: "not src 10.0.0.0/8" speaks of IPv4 packets, and
	 * says nothing of an IPv6 one.
	 */
	need->family = t->arg.prefix.family;
	need->facts = NFQD_PKT_HAS_L3 | (need->family == 4 ? NFQD_FACT_IPV4 : NFQD_FACT_IPV6);
}

/* sport, dport */

static int ports_parse(struct nfqd_term *t, const char *arg, struct nfqd_policy_error *err)
{
	const char *name = nfqd_match_table[t->kind].name;
	const char *end = arg + strlen(arg);
	const char *dash = strchr(arg, '-');
	unsigned long lo = 0, hi = 0;
	int r;

	r = parse_uint(arg, dash ? dash : end, 65535, &lo);
	if (r == 0 && dash)
		r = parse_uint(dash + 1, end, 65535, &hi);
	else
		hi = lo;
	if (r == -ERANGE)
		return fail(err, "bad port '%s' after '%s': must be 0-65535", arg, name);
	if (r < 0)
		return fail(err,
			    "bad port '%s' after '%s': expected a port 0-65535 or a range LO-HI",
			    arg, name);
	if (lo > hi)
		return fail(err, "bad port range '%s' after '%s': %lu is above %lu", arg, name, lo,
			    hi);
	t->arg.ports.lo = (uint16_t)lo;
	t->arg.ports.hi = (uint16_t)hi;
	return 0;
}

static bool sport_eval(const struct nfqd_term *t, const struct nfqd_packet *pkt)
{
	return pkt->sport >= t->arg.ports.lo && pkt->sport <= t->arg.ports.hi;
}

static bool dport_eval(const struct nfqd_term *t, const struct nfqd_packet *pkt)
{
	return pkt->dport >= t->arg.ports.lo && pkt->dport <= t->arg.ports.hi;
}

static int ports_format(const struct nfqd_term *t, char *buf, size_t size)
{
	if (t->arg.ports.lo == t->arg.ports.hi)
		return snprintf(buf, size, "%u", t->arg.ports.lo);
	return snprintf(buf, size, "%u-%u", t->arg.ports.lo, t->arg.ports.hi);
}

static void ports_need(const struct nfqd_term *t, struct nfqd_need *need)
{
	(void)t;
	need->facts = NFQD_PKT_HAS_PORTS;
	need->ports = true;
}

const struct nfqd_match_ops nfqd_match_table[NFQD_MATCH_MAX] = {
	[NFQD_MATCH_PROTO] = {
		.name = "proto",
		.argname = "protocol",
		.parse = proto_parse,
		.eval = proto_eval,
		.format = proto_format,
		.need = proto_need,
	},
	[NFQD_MATCH_SRC] = {
		.name = "src",
		.argname = "address",
		.parse = prefix_parse,
		.eval = src_eval,
		.format = prefix_format,
		.need = prefix_need,
	},
	[NFQD_MATCH_DST] = {
		.name = "dst",
		.argname = "address",
		.parse = prefix_parse,
		.eval = dst_eval,
		.format = prefix_format,
		.need = prefix_need,
	},
	[NFQD_MATCH_SPORT] = {
		.name = "sport",
		.argname = "port",
		.parse = ports_parse,
		.eval = sport_eval,
		.format = ports_format,
		.need = ports_need,
	},
	[NFQD_MATCH_DPORT] = {
		.name = "dport",
		.argname = "port",
		.parse = ports_parse,
		.eval = dport_eval,
		.format = ports_format,
		.need = ports_need,
	},
};

int nfqd_match_lookup(const char *word)
{
	for (int k = 0; k < NFQD_MATCH_MAX; k++)
		if (strcmp(word, nfqd_match_table[k].name) == 0)
			return k;
	return -ENOENT;
}

int nfqd_match_format(const struct nfqd_term *t, char *buf, size_t size)
{
	const struct nfqd_match_ops *k = &nfqd_match_table[t->kind];
	char arg[NFQD_TERM_TEXT_MAX];
	int n;

	n = k->format(t, arg, sizeof(arg));
	if (n < 0 || (size_t)n >= sizeof(arg))
		return -ENAMETOOLONG;
	n = snprintf(buf, size, "%s%s %s", t->negate ? "not " : "", k->name, arg);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

/* "src 192.0.2.0/24": how an earlier term is named in a message about a later one. */
static const char *term_text(const struct nfqd_term *t, char *buf, size_t size)
{
	char arg[NFQD_TERM_TEXT_MAX];

	nfqd_match_table[t->kind].format(t, arg, sizeof(arg));
	snprintf(buf, size, "%s %s", nfqd_match_table[t->kind].name, arg);
	return buf;
}

static const char *family_name(uint8_t family)
{
	return family == 4 ? "IPv4" : "IPv6";
}

static int scope_check(const struct nfqd_rule_scope *s, const struct nfqd_term *t, const char *arg,
		       const struct nfqd_need *need, struct nfqd_policy_error *err)
{
	const char *name = nfqd_match_table[t->kind].name;
	char other[NFQD_TERM_TEXT_MAX + 16];
	uint8_t pf;

	if (need->family && s->family_term && s->family != need->family)
		return fail(err, "%s '%s' is %s but %s is %s: no packet can match both", name, arg,
			    family_name(need->family),
			    term_text(s->family_term, other, sizeof(other)),
			    family_name(s->family));
	if (need->proto >= 0 && s->proto_term && s->proto != need->proto)
		return fail(err, "%s '%s' contradicts %s: no packet can match both", name, arg,
			    term_text(s->proto_term, other, sizeof(other)));

	pf = s->proto_term ? proto_family(s->proto) : 0;
	if (need->family && pf && pf != need->family)
		return fail(err, "%s '%s' is %s but %s is %s only; did you mean proto %s?", name,
			    arg, family_name(need->family),
			    term_text(s->proto_term, other, sizeof(other)), family_name(pf),
			    proto_name(pf == 4 ? IPPROTO_ICMPV6 : IPPROTO_ICMP));
	pf = need->proto >= 0 ? proto_family(need->proto) : 0;
	if (pf && s->family_term && pf != s->family)
		return fail(err, "%s '%s' is %s only but %s is %s; did you mean %s?", name, arg,
			    family_name(pf), term_text(s->family_term, other, sizeof(other)),
			    family_name(s->family),
			    proto_name(pf == 4 ? IPPROTO_ICMPV6 : IPPROTO_ICMP));

	if (need->ports && s->proto_term && !proto_has_ports(s->proto))
		return fail(err,
			    "%s '%s' needs ports but %s has none (only " PORT_PROTOS " have ports)",
			    name, arg, term_text(s->proto_term, other, sizeof(other)));
	if (need->proto >= 0 && !proto_has_ports(need->proto) && s->ports_term)
		return fail(err,
			    "%s '%s' has no ports but %s needs them (only " PORT_PROTOS
			    " have ports)",
			    name, arg, term_text(s->ports_term, other, sizeof(other)));
	return 0;
}

int nfqd_match_scope_add(struct nfqd_rule_scope *s, const struct nfqd_term *t, const char *arg,
			 struct nfqd_policy_error *err)
{
	struct nfqd_need need = { .proto = -1 };
	int r;

	nfqd_match_table[t->kind].need(t, &need);
	r = scope_check(s, t, arg, &need, err);
	if (r < 0)
		return r;

	s->facts |= need.facts;
	if (need.family && !s->family_term) {
		s->family_term = t;
		s->family = need.family;
	}
	if (need.proto >= 0 && !s->proto_term) {
		s->proto_term = t;
		s->proto = (uint8_t)need.proto;
	}
	if (need.ports && !s->ports_term)
		s->ports_term = t;
	return 0;
}
