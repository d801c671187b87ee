/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "nfqd/ipset.h"
#include "nfqd/markplan.h"
#include "nfqd/policy-explain.h"
#include "nfqd/setlookup.h"

#include "config.h"
#include "inspect.h"
#include "strbuf.h"

#define WORDS_MAX 16

/* The words of a description, blanks between them. */
struct words {
	char buf[512];
	char *w[WORDS_MAX];
	unsigned int n;
};

static int split(const char *text, struct words *ws, char *err, size_t errlen)
{
	char *save = NULL, *w;

	ws->n = 0;
	if (strlen(text) >= sizeof(ws->buf)) {
		snprintf(err, errlen, "the packet description is longer than %zu bytes",
			 sizeof(ws->buf) - 1);
		return -EINVAL;
	}
	/* the control socket takes printable ASCII only; a caller of its own is held to it too,
	 * so that every word can be quoted back in a message and in JSON as it is */
	for (size_t i = 0; text[i]; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t') || c >= 0x7f) {
			snprintf(err, errlen, "byte 0x%02x at offset %zu is not printable ASCII", c,
				 i);
			return -EINVAL;
		}
	}
	strcpy(ws->buf, text);
	for (w = strtok_r(ws->buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (ws->n == WORDS_MAX) {
			snprintf(err, errlen, "too many words after '%s' (at most %d)",
				 ws->w[WORDS_MAX - 1], WORDS_MAX);
			return -EINVAL;
		}
		ws->w[ws->n++] = w;
	}
	return 0;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

/* A number 0..max, decimal or 0x hex: 0, or -EINVAL. */
static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 0);
	return errno || *end || *out > max ? -EINVAL : 0;
}

/* One side of the packet: "192.0.2.1:1234", "[2001:db8::1]:443", "192.0.2.1", "2001:db8::1". */
struct endpoint {
	uint8_t family; /* 4 or 6 */
	union nfqd_addr addr;
	uint16_t port;
};

static int parse_endpoint(const char *word, const char *pname, bool ports, struct endpoint *ep,
			  char *err, size_t errlen)
{
	char host[64];
	const char *port = NULL, *close;
	unsigned long p;
	size_t hl;

	memset(ep, 0, sizeof(*ep));
	if (word[0] == '[') {
		close = strchr(word, ']');
		if (!close)
			goto bad_addr;
		hl = (size_t)(close - word - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			goto bad_addr;
		if (hl >= sizeof(host))
			goto bad_addr;
		memcpy(host, word + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, &ep->addr) != 1)
			goto bad_addr;
		ep->family = 6;
	} else {
		const char *colon = strchr(word, ':');

		if (strlen(word) >= sizeof(host))
			goto bad_addr;
		strcpy(host, word);
		if (inet_pton(AF_INET6, host, &ep->addr) == 1 && colon != strrchr(word, ':')) {
			ep->family = 6;
		} else {
			if (colon) {
				host[colon - word] = '\0';
				port = colon + 1;
			}
			if (inet_pton(AF_INET, host, &ep->addr) != 1)
				goto bad_addr;
			ep->family = 4;
		}
	}
	if (ports && !port) {
		snprintf(err, errlen, "'%s' has no port: %s takes ADDR:PORT ([ADDR]:PORT for IPv6)",
			 word, pname);
		return -EINVAL;
	}
	if (!ports && port) {
		snprintf(err, errlen,
			 "'%s' has a port, but %s has no ports: give the address alone", word,
			 pname);
		return -EINVAL;
	}
	if (port && parse_num(port, 65535, &p) < 0) {
		snprintf(err, errlen, "bad port '%s' in '%s': must be 0-65535", port, word);
		return -EINVAL;
	}
	ep->port = port ? (uint16_t)p : 0;
	return 0;
bad_addr:
	snprintf(err, errlen,
		 "'%s' is not an address%s: expected an IPv4 or IPv6 address%s (an IPv6 address in "
		 "brackets%s)",
		 word, ports ? " with a port" : "", ports ? " and :PORT" : "",
		 ports ? " before the port" : " is taken too");
	return -EINVAL;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The IP and L4 headers of the packet, as the kernel would queue it. */
static void build(struct inspect_packet *out, uint8_t proto, const struct endpoint *src,
		  const struct endpoint *dst)
{
	uint8_t *b = out->bytes;
	size_t l3 = src->family == 4 ? 20 : 40, l4;
	uint8_t *h = b + l3;

	switch (proto) {
	case IPPROTO_TCP:
		l4 = 20;
		h[12] = 5 << 4; /* data offset: no options */
		h[13] = 0x02;	/* SYN */
		break;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		l4 = 8;
		put16(h + 4, 8);
		break;
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		l4 = 12;
		h[4] = 3; /* DCCP data offset: 12 bytes */
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4 = 8;
		h[0] = proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
		break;
	default:
		l4 = 0;
		break;
	}
	if (proto_has_ports(proto)) {
		put16(h, src->port);
		put16(h + 2, dst->port);
	}
	if (src->family == 4) {
		b[0] = 0x45;
		put16(b + 2, (uint16_t)(l3 + l4));
		b[8] = 64;
		b[9] = proto;
		memcpy(b + 12, &src->addr.v4, 4);
		memcpy(b + 16, &dst->addr.v4, 4);
	} else {
		b[0] = 0x60;
		put16(b + 4, (uint16_t)l4);
		b[6] = proto;
		b[7] = 64;
		memcpy(b + 8, &src->addr.v6, 16);
		memcpy(b + 24, &dst->addr.v6, 16);
	}
	out->len = l3 + l4;
}

/* "192.0.2.1:1234", "[2001:db8::1]:443", "192.0.2.1" */
static void endpoint_text(const struct endpoint *ep, bool port, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(ep->family == 4 ? AF_INET : AF_INET6, &ep->addr, a, sizeof(a));
	if (!port)
		snprintf(buf, size, "%s", a);
	else if (ep->family == 4)
		snprintf(buf, size, "%s:%u", a, ep->port);
	else
		snprintf(buf, size, "[%s]:%u", a, ep->port);
}

/* The options after the addresses: iif, oif, mark, ctmark, queue. */
static int parse_options(const struct words *ws, unsigned int i, struct inspect_packet *out,
			 char *err, size_t errlen)
{
	for (; i < ws->n; i += 2) {
		const char *k = ws->w[i], *v = i + 1 < ws->n ? ws->w[i + 1] : NULL;
		bool iface = !strcmp(k, "iif") || !strcmp(k, "oif");
		unsigned long n;

		if (!iface && strcmp(k, "mark") && strcmp(k, "ctmark") && strcmp(k, "queue")) {
			snprintf(err, errlen,
				 "unknown word '%s' (expected iif, oif, mark, ctmark or queue)", k);
			return -EINVAL;
		}
		if (!v) {
			snprintf(err, errlen, "'%s' needs %s after it", k,
				 iface		       ? "an interface name"
				 : !strcmp(k, "queue") ? "a queue number"
						       : "a value");
			return -EINVAL;
		}
		if (iface) {
			if (strlen(v) >= sizeof(out->iif)) {
				snprintf(err, errlen,
					 "interface name '%s' after '%s' is longer than %zu bytes",
					 v, k, sizeof(out->iif) - 1);
				return -EINVAL;
			}
			strcpy(k[0] == 'i' ? out->iif : out->oif, v);
		} else if (!strcmp(k, "queue")) {
			if (parse_num(v, 65535, &n) < 0) {
				snprintf(err, errlen, "bad queue '%s': must be 0-65535", v);
				return -EINVAL;
			}
			out->queue = (int)n;
		} else {
			if (parse_num(v, UINT32_MAX, &n) < 0) {
				snprintf(err, errlen, "bad %s '%s': expected a number 0-0xffffffff",
					 k, v);
				return -EINVAL;
			}
			if (k[0] == 'm') {
				out->pkt.mark = (uint32_t)n;
				out->has_mark = true;
			} else {
				out->pkt.ct_mark = (uint32_t)n;
				out->has_ctmark = true;
			}
		}
		snprintf(out->text + strlen(out->text), sizeof(out->text) - strlen(out->text),
			 " %s %s", k, v);
	}
	return 0;
}

int inspect_parse_packet(const char *text, struct inspect_packet *out, char *err, size_t errlen)
{
	struct nfqd_policy_error perr;
	struct endpoint src, dst;
	char pname[16], s[64], d[64];
	const char *name;
	struct words ws;
	uint8_t proto;
	bool ports;

	memset(out, 0, sizeof(*out));
	out->queue = -1;
	if (split(text, &ws, err, errlen) < 0)
		return -EINVAL;
	if (ws.n < 4) {
		snprintf(err, errlen,
			 "%s: expected PROTO SRC > DST [iif NAME] [oif NAME] [mark V] "
			 "[ctmark V] [queue N]",
			 ws.n == 0 ? "no packet given" : "too few words");
		return -EINVAL;
	}
	if (nfqd_policy_parse_proto(ws.w[0], &proto, &perr) < 0) {
		snprintf(err, errlen,
			 "'%s' is not a protocol: expected tcp, udp, icmp, icmpv6, udplite, sctp, "
			 "dccp, gre, esp, ah or a number 0-255",
			 ws.w[0]);
		return -EINVAL;
	}
	name = nfqd_policy_proto_name(proto);
	snprintf(pname, sizeof(pname), name ? "%s" : "protocol %s", name ? name : ws.w[0]);
	ports = proto_has_ports(proto);
	if (parse_endpoint(ws.w[1], pname, ports, &src, err, errlen) < 0)
		return -EINVAL;
	/* "to": '>' is the shell's redirection, easily left unquoted */
	if (strcmp(ws.w[2], ">") != 0 && strcmp(ws.w[2], "to") != 0) {
		snprintf(err, errlen,
			 "expected '>' (or 'to') between source and destination, not '%s'",
			 ws.w[2]);
		return -EINVAL;
	}
	if (parse_endpoint(ws.w[3], pname, ports, &dst, err, errlen) < 0)
		return -EINVAL;
	if (src.family != dst.family) {
		snprintf(err, errlen, "'%s' and '%s' are not of one family (IPv4 and IPv6)",
			 ws.w[1], ws.w[3]);
		return -EINVAL;
	}
	if ((proto == IPPROTO_ICMP && src.family == 6) ||
	    (proto == IPPROTO_ICMPV6 && src.family == 4)) {
		snprintf(err, errlen, "'%s' is %s: %s addresses take %s", ws.w[0],
			 proto == IPPROTO_ICMP ? "IPv4's" : "IPv6's",
			 src.family == 4 ? "IPv4" : "IPv6", src.family == 4 ? "icmp" : "icmpv6");
		return -EINVAL;
	}
	endpoint_text(&src, ports, s, sizeof(s));
	endpoint_text(&dst, ports, d, sizeof(d));
	snprintf(out->text, sizeof(out->text), "%s %s > %s", name ? name : ws.w[0], s, d);
	if (parse_options(&ws, 4, out, err, errlen) < 0)
		return -EINVAL;
	build(out, proto, &src, &dst);
	out->pkt.family = src.family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	out->pkt.flags = NFQD_PKT_HAS_ID | NFQD_PKT_HAS_PAYLOAD;
	/* the kernel leaves NFQA_MARK out for mark 0 */
	if (out->pkt.mark)
		out->pkt.flags |= NFQD_PKT_HAS_MARK;
	if (out->has_ctmark)
		out->pkt.flags |= NFQD_PKT_HAS_CTMARK;
	out->pkt.payload = out->bytes;
	out->pkt.payload_len = (uint32_t)out->len;
	out->pkt.packet_len = (uint32_t)out->len;
	nfqd_packet_parse_ip(&out->pkt, out->bytes, out->len, out->len);
	return 0;
}

static const char *verdict_word(uint32_t verdict, char *buf, size_t size)
{
	switch (verdict & NF_VERDICT_MASK) {
	case NF_ACCEPT:
		return "accept";
	case NF_DROP:
		return "drop";
	case NF_REPEAT:
		return "repeat";
	case NF_QUEUE:
		snprintf(buf, size, "queue %u", verdict >> NF_VERDICT_QBITS);
		return buf;
	default:
		snprintf(buf, size, "0x%x", verdict);
		return buf;
	}
}

/* "not dport 22" */
static void term_text(const struct nfqd_term_info *ti, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s %s", ti->negated ? "not " : "", ti->kind, ti->arg);
}

/*
 * The parts of rule r's canonical text around its terms: the verdict before the first, the
 * actions after the last (set-mark ...), "" when none.
 */
static void rule_parts(const struct nfqd_policy *p, unsigned int r, char *verdict, size_t vlen,
		       char *actions, size_t alen)
{
	const char *text = nfqd_policy_rule_text(p, r), *pos = text, *first = NULL;
	unsigned int n = nfqd_policy_term_count(p, r);
	char t[200];

	for (unsigned int i = 0; i < n; i++) {
		struct nfqd_term_info ti;
		const char *at;

		nfqd_policy_term_info(p, r, i, &ti);
		term_text(&ti, t, sizeof(t));
		at = strstr(pos, t);
		if (!at)
			break;
		if (!first)
			first = at;
		pos = at + strlen(t);
	}
	if (!first) {
		/* no terms: the verdict is one word, or two for queue N */
		first = text + strcspn(text, " ");
		if (!strncmp(text, "queue ", 6))
			first += strcspn(first + 1, " ") + 1;
		pos = first;
	}
	snprintf(verdict, vlen, "%.*s", (int)(first - text), text);
	while (vlen && *verdict && verdict[strlen(verdict) - 1] == ' ')
		verdict[strlen(verdict) - 1] = '\0';
	snprintf(actions, alen, "%s", pos + strspn(pos, " "));
}

/* How lookup l is answered with set-lookup sl and the mark plan. */
static void answered_by(const struct config *c, unsigned int l, char *buf, size_t size)
{
	bool bit = l < c->plan.n_set_bits && c->plan.set_bit[l];
	uint32_t m = bit ? c->plan.set_bit[l] : 0;

	switch (c->set_lookup) {
	case SET_LOOKUP_TEST:
		snprintf(buf, size, "IPSET_CMD_TEST for every packet");
		break;
	case SET_LOOKUP_MARK:
		snprintf(buf, size,
			 "mark bit 0x%08x set by the generated chain only; packets that did not "
			 "go through it do not match",
			 m);
		break;
	default:
		if (bit)
			snprintf(buf, size,
				 "mark bit 0x%08x set by the generated chain for packets that went "
				 "through it, IPSET_CMD_TEST for the others",
				 m);
		else
			snprintf(buf, size, "IPSET_CMD_TEST for every packet (no mark bit)");
		break;
	}
}

static void json_kv_str(struct strbuf *b, const char *key, const char *v)
{
	strbuf_printf(b, ",\"%s\":", key);
	strbuf_json_string(b, v);
}

/* The set of lookup l: its name, type, mark bit and how it is answered. */
static void lookup_json(struct strbuf *b, const struct stats_snapshot *s, unsigned int l,
			const int *now)
{
	const struct config *c = s->cfg;
	const struct nfqd_set_lookup *lk = nfqd_policy_lookup(c->policy, l);
	char how[200];

	answered_by(c, l, how, sizeof(how));
	strbuf_printf(b, "{\"lookup\":%u", l);
	json_kv_str(b, "text", lk->text);
	json_kv_str(b, "set", lk->set);
	json_kv_str(b, "type", s->infos ? s->infos[l].type : "");
	strbuf_printf(b, ",\"mark_bit\":\"0x%08x\"",
		      l < c->plan.n_set_bits ? c->plan.set_bit[l] : 0);
	json_kv_str(b, "answered_by", how);
	if (now)
		strbuf_printf(b, ",\"exists\":%s",
			      now[l] > 0    ? "true"
			      : now[l] == 0 ? "false"
					    : "null");
	strbuf_printf(b, "}");
}

static unsigned int rule_line(const struct config *c, unsigned int r)
{
	return c->rule_lines ? c->rule_lines[r] : 0;
}

char *inspect_rules_json(const struct stats_snapshot *s, const int *now)
{
	const struct config *c = s->cfg;
	const struct nfqd_policy *p = c->policy;
	char v[32], verdict[64], actions[256], t[200];
	struct strbuf b = { 0 };

	strbuf_printf(&b, "{\"default\":\"%s\"", verdict_word(nfqd_policy_default(p), v, 32));
	strbuf_printf(&b, ",\"on_set_error\":\"%s\"",
		      verdict_word(nfqd_policy_on_set_error(p), v, sizeof(v)));
	json_kv_str(&b, "on_unreadable",
		    nfqd_policy_on_unreadable_name(nfqd_policy_on_unreadable(p)));
	json_kv_str(&b, "set_lookup", config_set_lookup_name(c->set_lookup));
	strbuf_printf(&b, ",\"flow_cache\":%s,\"rules\":[", c->flow_cache ? "true" : "false");
	for (unsigned int r = 0; r < nfqd_policy_rule_count(p); r++) {
		rule_parts(p, r, verdict, sizeof(verdict), actions, sizeof(actions));
		strbuf_printf(&b, "%s{\"rule\":%u,\"line\":%u", r ? "," : "", r + 1,
			      rule_line(c, r));
		json_kv_str(&b, "text", nfqd_policy_rule_text(p, r));
		json_kv_str(&b, "verdict", verdict);
		json_kv_str(&b, "actions", actions);
		strbuf_printf(&b, ",\"terms\":[");
		for (unsigned int i = 0; i < nfqd_policy_term_count(p, r); i++) {
			struct nfqd_term_info ti;

			nfqd_policy_term_info(p, r, i, &ti);
			term_text(&ti, t, sizeof(t));
			strbuf_printf(&b, "%s{\"term\":", i ? "," : "");
			strbuf_json_string(&b, t);
			json_kv_str(&b, "kind", ti.kind);
			strbuf_printf(&b, ",\"negated\":%s", ti.negated ? "true" : "false");
			json_kv_str(&b, "arg", ti.arg);
			if (ti.lookup >= 0) {
				strbuf_printf(&b, ",\"set\":");
				lookup_json(&b, s, (unsigned int)ti.lookup, now);
			}
			strbuf_printf(&b, "}");
		}
		strbuf_printf(&b, "]}");
	}
	strbuf_printf(&b, "]}");
	return strbuf_steal(&b);
}

/* The packet's value for term t; an interface by the name the description gave it. */
static void term_value(const struct nfqd_policy *p, unsigned int r, unsigned int t,
		       const struct inspect_packet *pk, const struct nfqd_set_answers *ans,
		       const struct nfqd_term_info *ti, char *buf, size_t size)
{
	const char *name = !strcmp(ti->kind, "iif")   ? pk->iif
			   : !strcmp(ti->kind, "oif") ? pk->oif
						      : NULL;

	if (name)
		snprintf(buf, size, "%s", *name ? name : "none");
	else
		nfqd_policy_term_value(p, r, t, &pk->pkt, ans, buf, size);
}

/* Why rule r ended as trace says, in words, with the packet's value of the term. */
static void why_text(const struct nfqd_policy *p, unsigned int r,
		     const struct nfqd_explain_rule *tr, const struct inspect_packet *pk,
		     const struct nfqd_set_answers *ans, const int *err, char *buf, size_t size)
{
	struct nfqd_term_info ti;
	char val[96], t[200];

	if (tr->why == NFQD_EXPLAIN_LOOP) {
		snprintf(buf, size, "a 'queue N' rule does not take packets read from queue N");
		return;
	}
	if (tr->why == NFQD_EXPLAIN_HIT) {
		snprintf(buf, size, "every term matched");
		return;
	}
	if (nfqd_policy_term_info(p, r, tr->term, &ti) < 0) {
		snprintf(buf, size, "%s", nfqd_explain_why_name(tr->why));
		return;
	}
	term_text(&ti, t, sizeof(t));
	term_value(p, r, tr->term, pk, ans, &ti, val, sizeof(val));
	if (tr->why == NFQD_EXPLAIN_FAILED)
		snprintf(buf, size,
			 "'%s': the set could not be tested (%s): the on-set-error verdict", t,
			 err && err[ti.lookup] ? nfqd_ipset_strerror(err[ti.lookup]) : "failed");
	else if (tr->why == NFQD_EXPLAIN_UNKNOWN)
		snprintf(buf, size,
			 "'%s': the packet's %s is %s: a term on an unknown fact matches neither "
			 "way",
			 t, ti.kind, val);
	else if (ti.lookup >= 0)
		snprintf(buf, size, "'%s': the packet is %s %s", t,
			 ti.negated ? "a member of" : "not a member of", ti.arg);
	else if (ti.negated)
		snprintf(buf, size, "'%s': the packet's %s is %s", t, ti.kind, val);
	else
		snprintf(buf, size, "'%s': the packet's %s is %s, not %s", t, ti.kind, val, ti.arg);
}

/* Every term of rule r with the packet's value for it. */
static void terms_json(struct strbuf *b, const struct nfqd_policy *p, unsigned int r,
		       const struct inspect_packet *pk, const struct nfqd_set_answers *ans)
{
	strbuf_printf(b, ",\"terms\":[");
	for (unsigned int i = 0; i < nfqd_policy_term_count(p, r); i++) {
		struct nfqd_term_info ti;
		char val[96], t[200];

		nfqd_policy_term_info(p, r, i, &ti);
		term_text(&ti, t, sizeof(t));
		term_value(p, r, i, pk, ans, &ti, val, sizeof(val));
		strbuf_printf(b, "%s{\"term\":", i ? "," : "");
		strbuf_json_string(b, t);
		json_kv_str(b, "packet", val);
		strbuf_printf(b, "}");
	}
	strbuf_printf(b, "]");
}

static void answers_json(struct strbuf *b, const struct stats_snapshot *s,
			 const struct nfqd_set_answers *ans, const int *err)
{
	const struct nfqd_policy *p = s->cfg->policy;

	strbuf_printf(b, ",\"lookups\":[");
	for (unsigned int l = 0; l < nfqd_policy_lookup_count(p); l++) {
		const struct nfqd_set_lookup *lk = nfqd_policy_lookup(p, l);
		uint32_t bit = 1u << l;

		strbuf_printf(b, "%s{\"lookup\":", l ? "," : "");
		strbuf_json_string(b, lk->text);
		json_kv_str(b, "set", lk->set);
		json_kv_str(b, "answer",
			    (ans->failed & bit)	  ? "lookup failed"
			    : !(ans->known & bit) ? "unanswered"
			    : (ans->member & bit) ? "member"
						  : "not a member");
		if (err && err[l])
			json_kv_str(b, "error",
				    err[l] == -ENOENT ? "no such set"
						      : nfqd_ipset_strerror(err[l]));
		strbuf_printf(b, ",\"asked\":\"IPSET_CMD_TEST\"}");
	}
	strbuf_printf(b, "]");
}

/* The verdict the worker would send: nfqd's own bits, the set-mark, the flow stamp. */
static void verdict_json(struct strbuf *b, const struct stats_snapshot *s,
			 const struct inspect_packet *pk, const struct nfqd_decision *d)
{
	const struct nfqd_verdict_env env = {
		.plan = &s->cfg->plan,
		.flow_cache = s->cfg->flow_cache,
		.conntrack = s->n_queues ? s->queues[0].conntrack : false,
	};
	struct nfqd_verdict v = { 0 };
	uint32_t stamp = 0;
	char w[32];
	enum nfqd_stamp how = nfqd_markplan_verdict(&env, &pk->pkt, d, true, &v, &stamp);

	json_kv_str(b, "verdict", verdict_word(v.verdict, w, sizeof(w)));
	if (v.flags & NFQD_VERDICT_F_MARK)
		strbuf_printf(b, ",\"mark\":\"0x%08x\"", v.mark);
	else
		strbuf_printf(b, ",\"mark\":null");
	strbuf_printf(b, ",\"stamped\":%s", how != NFQD_STAMP_NONE ? "true" : "false");
	strbuf_printf(b, ",\"set_failed\":%s,\"per_packet\":%s",
		      d->flags & NFQD_DECISION_SET_FAILED ? "true" : "false",
		      d->flags & NFQD_DECISION_PER_PACKET ? "true" : "false");
}

char *inspect_explain_json(const struct stats_snapshot *s, const struct inspect_packet *pk,
			   const struct nfqd_set_answers *ans, const int *err)
{
	const struct config *c = s->cfg;
	const struct nfqd_policy *p = c->policy;
	unsigned int n = nfqd_policy_rule_count(p), end;
	struct nfqd_explain_rule *trace = calloc(n ? n : 1, sizeof(*trace));
	struct strbuf b = { 0 };
	struct nfqd_decision d;
	char why[512];

	if (!trace)
		return NULL;
	nfqd_policy_explain(p, &pk->pkt, ans, &d, trace);
	strbuf_printf(&b, "{\"packet\":");
	strbuf_json_string(&b, pk->text);
	strbuf_printf(&b, ",\"queue\":%u", pk->pkt.queue);
	answers_json(&b, s, ans, err);
	strbuf_printf(&b, ",\"rules\":[");
	end = d.rule >= 0 ? (unsigned int)d.rule + 1 : n;
	for (unsigned int r = 0; r < end && trace[0].why != NFQD_EXPLAIN_SKIPPED; r++) {
		why_text(p, r, &trace[r], pk, ans, err, why, sizeof(why));
		strbuf_printf(&b, "%s{\"rule\":%u,\"line\":%u", r ? "," : "", r + 1,
			      rule_line(c, r));
		json_kv_str(&b, "text", nfqd_policy_rule_text(p, r));
		json_kv_str(&b, "result", nfqd_explain_why_name(trace[r].why));
		json_kv_str(&b, "why", why);
		if (trace[r].why == NFQD_EXPLAIN_HIT || trace[r].why == NFQD_EXPLAIN_FAILED)
			terms_json(&b, p, r, pk, ans);
		strbuf_printf(&b, "}");
	}
	strbuf_printf(&b, "]");
	if (d.rule >= 0) {
		strbuf_printf(&b, ",\"decided_by\":{\"rule\":%d,\"line\":%u", d.rule + 1,
			      rule_line(c, (unsigned int)d.rule));
		json_kv_str(&b, "text", nfqd_policy_rule_text(p, (unsigned int)d.rule));
		strbuf_printf(&b, "}");
	} else {
		json_kv_str(&b, "decided_by",
			    d.flags & NFQD_DECISION_UNREADABLE ? "on-unreadable" : "default");
	}
	verdict_json(&b, s, pk, &d);
	strbuf_printf(&b, "}");
	free(trace);
	return strbuf_steal(&b);
}

/* The daemon's configuration in force, and one queue's settings; the caller frees
 * snap->rule_counts. */
static int take(const struct command_daemon *d, struct stats_snapshot *snap, struct stats_queue *q)
{
	memset(snap, 0, sizeof(*snap));
	return d->snapshot(d->user, snap, q, 1);
}

/* Whether each lookup's set exists now: now[l] 1, 0, or -1 when the kernel cannot say. */
static void sets_now(const struct config *c, int *now)
{
	unsigned int n = nfqd_policy_lookup_count(c->policy);
	struct nfqd_ipset *s = NULL;

	for (unsigned int l = 0; l < n; l++)
		now[l] = -1;
	if (n == 0 || nfqd_ipset_open(&s) < 0)
		return;
	for (unsigned int l = 0; l < n; l++) {
		struct nfqd_ipset_info info;
		int r = nfqd_ipset_info(s, nfqd_policy_lookup(c->policy, l)->set, &info);

		now[l] = r == 0 || r == -EPROTONOSUPPORT ? 1 : r == -ENOENT ? 0 : -1;
	}
	nfqd_ipset_close(s);
}

char *inspect_cmd_rules(void *user, const char *args)
{
	struct stats_snapshot snap;
	struct stats_queue q;
	int now[NFQD_POLICY_MAX_LOOKUPS];
	char msg[128], *json;
	int r;

	(void)args;
	r = take(user, &snap, &q);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot read the rules in force: %s", strerror(-r));
		return command_error(msg);
	}
	sets_now(snap.cfg, now);
	json = inspect_rules_json(&snap, now);
	free(snap.rule_counts);
	return json;
}

/* Ask the kernel every lookup of the policy for the packet, as a worker asks them. */
static int ask_sets(const struct stats_snapshot *s, const struct nfqd_packet *pkt,
		    struct nfqd_set_answers *ans, int *err)
{
	const struct nfqd_policy *p = s->cfg->policy;
	unsigned int n = nfqd_policy_lookup_count(p);
	struct nfqd_setlookup *sl;
	int r;

	memset(ans, 0, sizeof(*ans));
	if (n == 0)
		return 0;
	r = nfqd_setlookup_new(&sl, p, s->infos, 1);
	if (r < 0)
		return r;
	nfqd_setlookup_begin(sl);
	nfqd_setlookup_add(sl, 0, pkt, UINT32_MAX >> (32 - n));
	(void)nfqd_setlookup_run(sl);
	nfqd_setlookup_answers(sl, 0, ans);
	for (unsigned int l = 0; l < n; l++)
		err[l] = nfqd_setlookup_state(sl, l)->err;
	nfqd_setlookup_free(sl);
	return 0;
}

/*
 * The index a worker would see for an interface named on the command line: that of the
 * policy's interface of that name, kept current by nfqd's link watch; else one no rule names
 * (the name is shown as given). No system call: nfqd's filter allows no ioctl.
 */
static uint32_t iface_index(const struct nfqd_policy *p, const char *name)
{
	uint32_t index;

	if (!*name)
		return 0;
	for (unsigned int i = 0; i < nfqd_policy_iface_count(p); i++) {
		if (strcmp(nfqd_policy_iface_name(p, i), name) == 0) {
			index = nfqd_policy_iface_index(p, i);
			return index ? index : INSPECT_IFINDEX_OTHER;
		}
	}
	return INSPECT_IFINDEX_OTHER;
}

char *inspect_cmd_explain(void *user, const char *args)
{
	struct inspect_packet pk;
	struct stats_snapshot snap;
	struct nfqd_set_answers ans;
	struct stats_queue q;
	int err[NFQD_POLICY_MAX_LOOKUPS] = { 0 };
	char msg[400], why[300], *json;
	int r;

	if (inspect_parse_packet(args, &pk, why, sizeof(why)) < 0) {
		snprintf(msg, sizeof(msg), "bad packet: %s", why);
		return command_error(msg);
	}
	r = take(user, &snap, &q);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot read the rules in force: %s", strerror(-r));
		return command_error(msg);
	}
	pk.pkt.indev = iface_index(snap.cfg->policy, pk.iif);
	pk.pkt.outdev = iface_index(snap.cfg->policy, pk.oif);
	pk.pkt.queue = (uint16_t)(pk.queue >= 0 ? pk.queue : snap.n_queues ? (int)q.num : 0);
	r = ask_sets(&snap, &pk.pkt, &ans, err);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot ask the kernel for set memberships: %s",
			 strerror(-r));
		json = command_error(msg);
	} else {
		json = inspect_explain_json(&snap, &pk, &ans, err);
	}
	free(snap.rule_counts);
	return json;
}
