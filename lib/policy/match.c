/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The match kinds of the rule language: for each, how its argument is parsed, evaluated against
 * a packet view and written back in canonical form, and what it requires of a packet.
 *
 * Terms on something the caller resolves (set lookups, interface indexes) also enter it into
 * the policy's tables when they are bound, and read the caller's answers when evaluated.
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

const char *nfqd_policy_proto_name(uint8_t num)
{
	return proto_name(num);
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

int nfqd_parse_uint(const char *s, const char *end, unsigned long max, unsigned long *out)
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

/*
 * Parse a 32-bit number in hex (0x...) or decimal, with no sign, blank or other junk; s ends at
 * end. Returns 0, -EINVAL when it is not a number, -ERANGE when it does not fit.
 */
static int parse_u32(const char *s, const char *end, uint32_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;
	bool over = false;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			return -EINVAL;
		/* as nfqd_parse_uint(): junk after too many digits is junk, not a range error */
		if (!over) {
			v = v * base + d;
			over = v > UINT32_MAX;
		}
	}
	if (over)
		return -ERANGE;
	*out = (uint32_t)v;
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

static int proto_parse(struct nfqd_term *t, unsigned int argi, const char *arg,
		       struct nfqd_policy_error *err)
{
	unsigned long v;
	int r;

	(void)argi;
	for (size_t j = 0; j < sizeof(proto_names) / sizeof(proto_names[0]); j++) {
		if (strcmp(arg, proto_names[j].name) == 0) {
			t->arg.proto = proto_names[j].num;
			return 0;
		}
	}
	r = nfqd_parse_uint(arg, arg + strlen(arg), 255, &v);
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

static int proto_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	return e->pkt->l4_proto == t->arg.proto;
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

static int set_name_parse(struct nfqd_set_ref *s, const char *arg, const char *after,
			  struct nfqd_policy_error *err);

static int prefix_parse(struct nfqd_term *t, unsigned int argi, const char *arg,
			struct nfqd_policy_error *err)
{
	const char *name = nfqd_match_table[t->kind].name;
	struct nfqd_prefix *p = &t->arg.prefix;
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(arg, '/');
	size_t alen = slash ? (size_t)(slash - arg) : strlen(arg);
	unsigned int max, nwords;
	unsigned long len;
	bool host_bits = false;

	(void)argi;
	/* one keyword for both forms: a set name is told apart by its '@' */
	if (arg[0] == '@') {
		t->kind = t->kind == NFQD_MATCH_SRC ? NFQD_MATCH_SRC_SET : NFQD_MATCH_DST_SET;
		memset(&t->arg.set, 0, sizeof(t->arg.set));
		t->arg.set.side = t->kind == NFQD_MATCH_SRC_SET ? NFQD_DIR_SRC : NFQD_DIR_DST;
		memset(t->arg.set.dirs, t->arg.set.side, sizeof(t->arg.set.dirs));
		return set_name_parse(&t->arg.set, arg, name, err);
	}
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
	if (slash && nfqd_parse_uint(slash + 1, slash + 1 + strlen(slash + 1), max, &len) < 0)
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

static int src_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	return nfqd_prefix_match(&t->arg.prefix, &e->pkt->src);
}

static int dst_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	return nfqd_prefix_match(&t->arg.prefix, &e->pkt->dst);
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

static int ports_parse(struct nfqd_term *t, unsigned int argi, const char *arg,
		       struct nfqd_policy_error *err)
{
	const char *name = nfqd_match_table[t->kind].name;
	const char *end = arg + strlen(arg);
	const char *dash = strchr(arg, '-');
	unsigned long lo = 0, hi = 0;
	int r;

	(void)argi;
	r = nfqd_parse_uint(arg, dash ? dash : end, 65535, &lo);
	if (r == 0 && dash)
		r = nfqd_parse_uint(dash + 1, end, 65535, &hi);
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

static int sport_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	return nfqd_ports_match(&t->arg.ports, e->pkt->sport);
}

static int dport_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	return nfqd_ports_match(&t->arg.ports, e->pkt->dport);
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

/* src @SET, dst @SET, set @SET DIRS */

static bool set_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* Parse "@NAME" into s->name; after is the word before it, for messages. */
static int set_name_parse(struct nfqd_set_ref *s, const char *arg, const char *after,
			  struct nfqd_policy_error *err)
{
	const char *name = arg + 1;
	size_t len;

	if (arg[0] != '@')
		return fail(err, "bad set '%s' after '%s': expected @NAME", arg, after);
	len = strlen(name);
	if (len == 0)
		return fail(err, "bad set '%s' after '%s': missing the name after '@'", arg, after);
	if (len > NFQD_SET_NAME_MAX)
		return fail(err, "bad set '%s' after '%s': the name is longer than %u characters",
			    arg, after, NFQD_SET_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		if (!set_name_char(name[i]))
			return fail(err,
				    "bad set '%s' after '%s': '%c' is not allowed in a set name "
				    "(only letters, digits, '_', '.' and '-')",
				    arg, after, name[i]);
	memcpy(s->name, name, len + 1);
	return 0;
}

static const char *dir_name(uint8_t dir)
{
	return dir == NFQD_DIR_SRC ? "src" : "dst";
}

/* Parse the sides of `set @NAME DIRS`: "src,dst,dst". */
static int set_dirs_parse(struct nfqd_set_ref *s, const char *arg, struct nfqd_policy_error *err)
{
	const char *p = arg;
	unsigned int n = 0;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		uint8_t dir;

		if (len == 3 && strncmp(p, "src", 3) == 0)
			dir = NFQD_DIR_SRC;
		else if (len == 3 && strncmp(p, "dst", 3) == 0)
			dir = NFQD_DIR_DST;
		else
			return fail(err,
				    "bad sides '%s' after '@%s': expected src or dst for each "
				    "dimension, comma-separated (src,dst)",
				    arg, s->name);
		if (n == sizeof(s->dirs))
			return fail(err,
				    "bad sides '%s' after '@%s': at most %zu (a set has at most "
				    "%zu dimensions)",
				    arg, s->name, sizeof(s->dirs), sizeof(s->dirs));
		s->dirs[n++] = dir;
		if (!comma)
			break;
		p = comma + 1;
	}
	s->side = 0;
	s->ndirs = (uint8_t)n;
	return 0;
}

static int set_parse(struct nfqd_term *t, unsigned int argi, const char *arg,
		     struct nfqd_policy_error *err)
{
	if (argi == 0) {
		memset(&t->arg.set, 0, sizeof(t->arg.set));
		return set_name_parse(&t->arg.set, arg, nfqd_match_table[t->kind].name, err);
	}
	return set_dirs_parse(&t->arg.set, arg, err);
}

static bool set_ref_equal(const struct nfqd_set_ref *a, const struct nfqd_set_ref *b)
{
	return strcmp(a->name, b->name) == 0 && a->side == b->side && a->ndirs == b->ndirs &&
	       memcmp(a->dirs, b->dirs, sizeof(a->dirs)) == 0;
}

static int set_bind(struct nfqd_term *t, struct nfqd_policy_refs *refs,
		    struct nfqd_policy_error *err)
{
	struct nfqd_set_ref *s = &t->arg.set;
	struct nfqd_lookup_entry *l;
	struct nfqd_term plain = *t;
	unsigned int i;

	for (i = 0; i < refs->nlookups; i++) {
		if (set_ref_equal(&refs->lookups[i].ref, s)) {
			s->lookup = (uint8_t)i;
			return 0;
		}
	}
	if (i == NFQD_POLICY_MAX_LOOKUPS) {
		fail(err, "too many set lookups at '@%s': at most %u per policy", s->name,
		     NFQD_POLICY_MAX_LOOKUPS);
		return -E2BIG;
	}

	/* the lookup's text is its term as a positive match: "not src @x" reads "src @x" */
	plain.negate = false;
	l = &refs->lookups[i];
	memset(l, 0, sizeof(*l));
	l->ref = *s;
	l->ref.lookup = (uint8_t)i;
	/* NFQD_LOOKUP_TEXT_MAX holds the longest: a name of NFQD_SET_NAME_MAX and three sides */
	(void)nfqd_match_format(&plain, l->text, sizeof(l->text));
	l->pub.set = l->ref.name;
	l->pub.side = s->side;
	l->pub.ndirs = s->ndirs;
	memcpy(l->pub.dirs, s->dirs, sizeof(l->pub.dirs));
	l->pub.text = l->text;
	s->lookup = (uint8_t)i;
	refs->nlookups++;
	return 0;
}

static int set_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	return nfqd_set_term_eval(t, e);
}

static int set_format(const struct nfqd_term *t, char *buf, size_t size)
{
	const struct nfqd_set_ref *s = &t->arg.set;
	char dirs[16];
	size_t len = 0;

	if (!s->ndirs)
		return snprintf(buf, size, "@%s", s->name);
	for (unsigned int i = 0; i < s->ndirs; i++)
		len += (size_t)snprintf(dirs + len, sizeof(dirs) - len, "%s%s", i ? "," : "",
					dir_name(s->dirs[i]));
	return snprintf(buf, size, "@%s %s", s->name, dirs);
}

static void set_need(const struct nfqd_term *t, struct nfqd_need *need)
{
	/*
	 * No facts: the caller answers a lookup for a packet the set cannot hold (another family,
	 * no ports) with 'not a member', as the kernel's set match does.
	 */
	need->lookups = 1u << t->arg.set.lookup;
}

/* ct mark, meta mark */

int nfqd_mark_parse(struct nfqd_mark *m, const char *arg, const char *after,
		    struct nfqd_policy_error *err)
{
	const char *end = arg + strlen(arg);
	const char *slash = strchr(arg, '/');
	uint32_t value = 0, mask = UINT32_MAX;
	int r;

	r = parse_u32(arg, slash ? slash : end, &value);
	if (r == 0 && slash)
		r = parse_u32(slash + 1, end, &mask);
	if (r == -ERANGE)
		return fail(err, "bad mark '%s' after '%s': must be at most 0xffffffff", arg,
			    after);
	if (r < 0)
		return fail(err,
			    "bad mark '%s' after '%s': expected VALUE[/MASK], in hex (0x...) or "
			    "decimal",
			    arg, after);
	if (value & ~mask)
		return fail(err, "%s '%s': value 0x%x has bits outside mask 0x%x", after, arg,
			    value, mask);
	m->value = value;
	m->mask = mask;
	return 0;
}

int nfqd_mark_format(const struct nfqd_mark *m, char *buf, size_t size)
{
	if (m->mask == UINT32_MAX)
		return snprintf(buf, size, "0x%x", m->value);
	return snprintf(buf, size, "0x%x/0x%x", m->value, m->mask);
}

static int mark_parse(struct nfqd_term *t, unsigned int argi, const char *arg,
		      struct nfqd_policy_error *err)
{
	char name[NFQD_MATCH_NAME_MAX];

	(void)argi;
	return nfqd_mark_parse(&t->arg.mark, arg,
			       nfqd_match_name(&nfqd_match_table[t->kind], name, sizeof(name)),
			       err);
}

static int ct_mark_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	/* a decision that depends on a mark may differ between packets of a flow */
	e->flags |= NFQD_DECISION_PER_PACKET;
	return (e->pkt->ct_mark & t->arg.mark.mask) == t->arg.mark.value;
}

static int meta_mark_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	e->flags |= NFQD_DECISION_PER_PACKET;
	return (e->pkt->mark & t->arg.mark.mask) == t->arg.mark.value;
}

static int mark_format(const struct nfqd_term *t, char *buf, size_t size)
{
	return nfqd_mark_format(&t->arg.mark, buf, size);
}

static void ct_mark_need(const struct nfqd_term *t, struct nfqd_need *need)
{
	need->facts = NFQD_PKT_HAS_CTMARK;
	need->ct_mark = true;
	need->mark_mask = t->arg.mark.mask;
}

static void meta_mark_need(const struct nfqd_term *t, struct nfqd_need *need)
{
	/* always known: the kernel leaves out a zero mark, and the view reads that as 0 */
	need->meta_mark = true;
	need->mark_mask = t->arg.mark.mask;
}

/* iif, oif */

static int iface_parse(struct nfqd_term *t, unsigned int argi, const char *arg,
		       struct nfqd_policy_error *err)
{
	const char *name = nfqd_match_table[t->kind].name;
	size_t len = strlen(arg);

	(void)argi;
	if (len > NFQD_IFNAME_MAX)
		return fail(err, "bad interface '%s' after '%s': longer than %u characters", arg,
			    name, NFQD_IFNAME_MAX);
	/* the kernel's dev_valid_name(), and no control characters */
	if (strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0)
		return fail(err, "bad interface '%s' after '%s': not an interface name", arg, name);
	for (size_t j = 0; j < len; j++) {
		unsigned char c = (unsigned char)arg[j];

		if (c == '/' || c == ':')
			return fail(err,
				    "bad interface '%s' after '%s': '%c' is not allowed in an "
				    "interface name",
				    arg, name, c);
		if (c < 0x20 || c == 0x7f || c == ' ')
			return fail(err,
				    "bad interface '%s' after '%s': control characters and blanks "
				    "are not allowed in an interface name",
				    arg, name);
	}
	/* iptables reads a final '+' as a wildcard; here it would silently name no interface */
	if (arg[len - 1] == '+')
		return fail(err,
			    "bad interface '%s' after '%s': wildcards are not supported, name one "
			    "interface",
			    arg, name);
	memset(&t->arg.iface, 0, sizeof(t->arg.iface));
	memcpy(t->arg.iface.name, arg, len + 1);
	return 0;
}

static int iface_bind(struct nfqd_term *t, struct nfqd_policy_refs *refs,
		      struct nfqd_policy_error *err)
{
	struct nfqd_iface_ref *f = &t->arg.iface;
	unsigned int i;

	for (i = 0; i < refs->nifaces; i++) {
		if (strcmp(refs->ifaces[i], f->name) == 0) {
			f->index = (uint8_t)i;
			return 0;
		}
	}
	if (i == NFQD_POLICY_MAX_IFACES) {
		fail(err, "too many interfaces at '%s': at most %u per policy", f->name,
		     NFQD_POLICY_MAX_IFACES);
		return -E2BIG;
	}
	memcpy(refs->ifaces[i], f->name, sizeof(f->name));
	__atomic_store_n(&refs->ifindex[i], 0, __ATOMIC_RELAXED);
	f->index = (uint8_t)i;
	refs->nifaces++;
	return 0;
}

/*
 * An index of 0 in the table is an interface that does not exist now: no packet comes from it
 * or goes to it, so the term does not match and its negation does (the packet's own interface
 * is known: the rule's mask test saw to that).
 */
static int iif_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	uint32_t ifindex = __atomic_load_n(&e->ifindex[t->arg.iface.index], __ATOMIC_RELAXED);

	return ifindex != 0 && ifindex == e->pkt->indev;
}

static int oif_eval(const struct nfqd_term *t, struct nfqd_eval *e)
{
	uint32_t ifindex = __atomic_load_n(&e->ifindex[t->arg.iface.index], __ATOMIC_RELAXED);

	return ifindex != 0 && ifindex == e->pkt->outdev;
}

static int iface_format(const struct nfqd_term *t, char *buf, size_t size)
{
	return snprintf(buf, size, "%s", t->arg.iface.name);
}

static void iif_need(const struct nfqd_term *t, struct nfqd_need *need)
{
	(void)t;
	need->facts = NFQD_FACT_INDEV;
}

static void oif_need(const struct nfqd_term *t, struct nfqd_need *need)
{
	(void)t;
	need->facts = NFQD_FACT_OUTDEV;
}

const struct nfqd_match_ops nfqd_match_table[NFQD_MATCH_MAX] = {
	[NFQD_MATCH_PROTO] = {
		.name = "proto",
		.nargs = 1,
		.argname = { "protocol" },
		.parse = proto_parse,
		.pure = true,
		.eval = proto_eval,
		.format = proto_format,
		.need = proto_need,
	},
	[NFQD_MATCH_SRC] = {
		.name = "src",
		.nargs = 1,
		.argname = { "address" },
		.parse = prefix_parse,
		.pure = true,
		.eval = src_eval,
		.format = prefix_format,
		.need = prefix_need,
	},
	[NFQD_MATCH_DST] = {
		.name = "dst",
		.nargs = 1,
		.argname = { "address" },
		.parse = prefix_parse,
		.pure = true,
		.eval = dst_eval,
		.format = prefix_format,
		.need = prefix_need,
	},
	[NFQD_MATCH_SPORT] = {
		.name = "sport",
		.nargs = 1,
		.argname = { "port" },
		.parse = ports_parse,
		.pure = true,
		.eval = sport_eval,
		.format = ports_format,
		.need = ports_need,
	},
	[NFQD_MATCH_DPORT] = {
		.name = "dport",
		.nargs = 1,
		.argname = { "port" },
		.parse = ports_parse,
		.pure = true,
		.eval = dport_eval,
		.format = ports_format,
		.need = ports_need,
	},
	[NFQD_MATCH_SRC_SET] = {
		.name = "src",
		.variant = true,
		.nargs = 1,
		.argname = { "address" },
		.parse = prefix_parse,
		.bind = set_bind,
		.eval = set_eval,
		.format = set_format,
		.need = set_need,
	},
	[NFQD_MATCH_DST_SET] = {
		.name = "dst",
		.variant = true,
		.nargs = 1,
		.argname = { "address" },
		.parse = prefix_parse,
		.bind = set_bind,
		.eval = set_eval,
		.format = set_format,
		.need = set_need,
	},
	[NFQD_MATCH_SET] = {
		.name = "set",
		.nargs = 2,
		.argname = { "@NAME", "sides" },
		.parse = set_parse,
		.bind = set_bind,
		.eval = set_eval,
		.format = set_format,
		.need = set_need,
	},
	[NFQD_MATCH_CT_MARK] = {
		.name = "ct",
		.sub = "mark",
		.nargs = 1,
		.argname = { "value" },
		.parse = mark_parse,
		.eval = ct_mark_eval,
		.format = mark_format,
		.need = ct_mark_need,
	},
	[NFQD_MATCH_META_MARK] = {
		.name = "meta",
		.sub = "mark",
		.nargs = 1,
		.argname = { "value" },
		.parse = mark_parse,
		.eval = meta_mark_eval,
		.format = mark_format,
		.need = meta_mark_need,
	},
	[NFQD_MATCH_IIF] = {
		.name = "iif",
		.nargs = 1,
		.argname = { "interface" },
		.parse = iface_parse,
		.bind = iface_bind,
		.pure = true,
		.eval = iif_eval,
		.format = iface_format,
		.need = iif_need,
	},
	[NFQD_MATCH_OIF] = {
		.name = "oif",
		.nargs = 1,
		.argname = { "interface" },
		.parse = iface_parse,
		.bind = iface_bind,
		.pure = true,
		.eval = oif_eval,
		.format = iface_format,
		.need = oif_need,
	},
};

int nfqd_match_lookup(const char *word, const char *sub)
{
	for (int k = 0; k < NFQD_MATCH_MAX; k++) {
		const struct nfqd_match_ops *m = &nfqd_match_table[k];

		if (m->variant || strcmp(word, m->name) != 0)
			continue;
		if (!sub || (m->sub && strcmp(sub, m->sub) == 0))
			return k;
	}
	return -ENOENT;
}

const char *nfqd_match_name(const struct nfqd_match_ops *k, char *buf, size_t size)
{
	if (!k->sub)
		return k->name;
	snprintf(buf, size, "%s %s", k->name, k->sub);
	return buf;
}

const char *nfqd_match_names_of(const char *word, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int k = 0; k < NFQD_MATCH_MAX; k++) {
		const struct nfqd_match_ops *m = &nfqd_match_table[k];
		int n;

		if (m->variant || !m->sub || strcmp(word, m->name) != 0)
			continue;
		n = snprintf(buf + len, size - len, "%s%s %s", len ? " or " : "", m->name, m->sub);
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
	return buf;
}

int nfqd_match_format(const struct nfqd_term *t, char *buf, size_t size)
{
	const struct nfqd_match_ops *k = &nfqd_match_table[t->kind];
	char arg[NFQD_TERM_TEXT_MAX], name[NFQD_MATCH_NAME_MAX];
	int n;

	n = k->format(t, arg, sizeof(arg));
	if (n < 0 || (size_t)n >= sizeof(arg))
		return -ENAMETOOLONG;
	n = snprintf(buf, size, "%s%s %s", t->negate ? "not " : "",
		     nfqd_match_name(k, name, sizeof(name)), arg);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

/* "src 192.0.2.0/24": how an earlier term is named in a message about a later one. */
static const char *term_text(const struct nfqd_term *t, char *buf, size_t size)
{
	const struct nfqd_match_ops *k = &nfqd_match_table[t->kind];
	char arg[NFQD_TERM_TEXT_MAX], name[NFQD_MATCH_NAME_MAX];

	k->format(t, arg, sizeof(arg));
	snprintf(buf, size, "%s %s", nfqd_match_name(k, name, sizeof(name)), arg);
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
	char other[NFQD_TERM_TEXT_MAX + NFQD_MATCH_NAME_MAX];
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
	s->lookups |= need.lookups;
	if (need.meta_mark) {
		s->meta_mark = true;
		s->meta_mask |= need.mark_mask;
	}
	if (need.ct_mark) {
		s->ct_mark = true;
		s->ct_mask |= need.mark_mask;
	}
	return 0;
}

int nfqd_policy_parse_proto(const char *word, uint8_t *proto, struct nfqd_policy_error *err)
{
	struct nfqd_term t = { .kind = NFQD_MATCH_PROTO };
	int r = proto_parse(&t, 0, word, err);

	if (r == 0)
		*proto = t.arg.proto;
	return r;
}
