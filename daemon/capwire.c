/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>

#include "capwire.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put_header(uint8_t *out, const struct capwire_rec *r)
{
	out[0] = r->type;
	out[1] = r->verdict;
	out[2] = r->l3;
	out[3] = r->flags;
	put16(out + 4, r->queue);
	put16(out + 6, 0);
	put32(out + 8, r->rule);
	put32(out + 12, r->orig_len);
	put32(out + 16, r->caplen);
	put64(out + 20, r->time_ns);
}

void capwire_packet_header(uint8_t *out, uint8_t verdict, uint8_t l3, uint16_t queue, uint32_t rule,
			   uint32_t orig_len, uint32_t caplen, uint64_t time_ns)
{
	struct capwire_rec r = {
		.type = CAPWIRE_PACKET,
		.verdict = verdict,
		.l3 = l3,
		.flags = caplen < orig_len ? CAPWIRE_F_CUT : 0,
		.queue = queue,
		.rule = rule,
		.orig_len = orig_len,
		.caplen = caplen,
		.time_ns = time_ns,
	};

	put_header(out, &r);
}

void capwire_end_record(uint8_t *out, enum capwire_end why, uint64_t captured, uint64_t dropped)
{
	struct capwire_rec r = { .type = CAPWIRE_END,
				 .verdict = (uint8_t)why,
				 .caplen = CAPWIRE_END_LEN };

	put_header(out, &r);
	put64(out + CAPWIRE_HDR_LEN, captured);
	put64(out + CAPWIRE_HDR_LEN + 8, dropped);
}

static int bad(char *err, size_t errlen, const char *field, unsigned long long v, const char *why)
{
	snprintf(err, errlen, "bad capture record: %s %llu %s", field, v, why);
	return -EBADMSG;
}

/* The fields of a PACKET record that the header alone can refute. */
static int check_packet(const struct capwire_rec *r, char *err, size_t errlen)
{
	/* any netfilter verdict: a rule action may come to give another (NF_REPEAT) */
	if (r->verdict > NF_MAX_VERDICT)
		return bad(err, errlen, "verdict", r->verdict, "(not a netfilter verdict)");
	if (r->l3 != 0 && r->l3 != 4 && r->l3 != 6)
		return bad(err, errlen, "IP version", r->l3, "(not 4, 6 or 0)");
	if (r->caplen > CAPWIRE_SNAP_MAX)
		return bad(err, errlen, "caplen", r->caplen, "(over 65535)");
	if (r->caplen > r->orig_len)
		return bad(err, errlen, "caplen", r->caplen, "(over the original length)");
	if (r->flags != (r->caplen < r->orig_len ? CAPWIRE_F_CUT : 0))
		return bad(err, errlen, "flags", r->flags,
			   "(unknown bits, or the cut bit disagrees with the lengths)");
	return 0;
}

static int check_end(const struct capwire_rec *r, char *err, size_t errlen)
{
	if (r->verdict >= CAPWIRE_END_MAX)
		return bad(err, errlen, "end reason", r->verdict, "(unknown)");
	if (r->caplen != CAPWIRE_END_LEN)
		return bad(err, errlen, "end record length", r->caplen, "(not 16)");
	if (r->l3 || r->flags || r->queue || r->rule || r->orig_len || r->time_ns)
		return bad(err, errlen, "end record field", 0, "holds a value other than 0");
	return 0;
}

int capwire_decode(const uint8_t *buf, size_t len, struct capwire_rec *rec, char *err,
		   size_t errlen)
{
	int r;

	if (len < CAPWIRE_HDR_LEN)
		return 0;
	memset(rec, 0, sizeof(*rec));
	rec->type = buf[0];
	rec->verdict = buf[1];
	rec->l3 = buf[2];
	rec->flags = buf[3];
	rec->queue = get16(buf + 4);
	rec->rule = get32(buf + 8);
	rec->orig_len = get32(buf + 12);
	rec->caplen = get32(buf + 16);
	rec->time_ns = get64(buf + 20);
	if (get16(buf + 6) != 0)
		return bad(err, errlen, "reserved field", get16(buf + 6), "(not 0)");
	if (rec->type == CAPWIRE_PACKET)
		r = check_packet(rec, err, errlen);
	else if (rec->type == CAPWIRE_END)
		r = check_end(rec, err, errlen);
	else
		r = bad(err, errlen, "type", rec->type, "(not 1, packet, or 2, end)");
	if (r < 0)
		return r;
	if (len - CAPWIRE_HDR_LEN < rec->caplen)
		return 0;
	rec->data = buf + CAPWIRE_HDR_LEN;
	if (rec->type == CAPWIRE_END) {
		rec->captured = get64(rec->data);
		rec->dropped = get64(rec->data + 8);
	}
	return CAPWIRE_HDR_LEN + (int)rec->caplen;
}

bool capwire_match(const struct capwire_filter *f, uint16_t queue, uint32_t verdict, uint32_t rule)
{
	if (f->queue >= 0 && (uint32_t)f->queue != queue)
		return false;
	if (f->verdict >= 0 && (uint32_t)f->verdict != (verdict & NF_VERDICT_MASK))
		return false;
	return f->rule < 0 || (uint64_t)f->rule == rule;
}

int capwire_verdict_parse(const char *word)
{
	if (strcmp(word, "accept") == 0)
		return NF_ACCEPT;
	if (strcmp(word, "drop") == 0)
		return NF_DROP;
	if (strcmp(word, "queue") == 0)
		return NF_QUEUE;
	return -EINVAL;
}

const char *capwire_verdict_name(uint32_t verdict)
{
	switch (verdict & NF_VERDICT_MASK) {
	case NF_ACCEPT:
		return "accept";
	case NF_DROP:
		return "drop";
	case NF_QUEUE:
		return "queue";
	case NF_REPEAT:
		return "repeat";
	default:
		return "?";
	}
}

/* A decimal number of at most max, whole. */
static int parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

static int parse_arg(const char *key, const char *val, struct capwire_request *req, char *err,
		     size_t errlen)
{
	unsigned long long n;

	if (strcmp(key, "queue") == 0 && parse_num(val, 65535, &n) == 0) {
		req->filter.queue = (int32_t)n;
	} else if (strcmp(key, "verdict") == 0 && capwire_verdict_parse(val) >= 0) {
		req->filter.verdict = capwire_verdict_parse(val);
	} else if (strcmp(key, "rule") == 0 && strcmp(val, "default") == 0) {
		req->filter.rule = 0;
	} else if (strcmp(key, "rule") == 0 && parse_num(val, UINT32_MAX, &n) == 0 && n > 0) {
		req->filter.rule = (int64_t)n;
	} else if (strcmp(key, "count") == 0 && parse_num(val, UINT64_MAX, &n) == 0 && n > 0) {
		req->count = n;
	} else if (strcmp(key, "queue") == 0 || strcmp(key, "verdict") == 0 ||
		   strcmp(key, "rule") == 0 || strcmp(key, "count") == 0) {
		snprintf(err, errlen, "capture: bad %s '%s': %s", key, val,
			 strcmp(key, "queue") == 0     ? "want a queue number, 0 to 65535"
			 : strcmp(key, "verdict") == 0 ? "want accept, drop or queue"
			 : strcmp(key, "rule") == 0    ? "want a rule number from 1, or default"
						       : "want a packet count from 1");
		return -EINVAL;
	} else {
		snprintf(
			err, errlen,
			"capture: unknown argument '%s' (arguments: queue=N, verdict=WORD, rule=N, "
			"count=N)",
			key);
		return -EINVAL;
	}
	return 0;
}

int capwire_parse_request(const char *args, struct capwire_request *req, char *err, size_t errlen)
{
	char *copy = strdup(args), *save = NULL, *tok;
	unsigned int seen = 0;
	int r = 0;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*req = (struct capwire_request){ .filter = { .queue = -1, .verdict = -1, .rule = -1 } };
	for (tok = strtok_r(copy, " \t", &save); tok && r == 0;
	     tok = strtok_r(NULL, " \t", &save)) {
		static const char *const keys[] = { "queue", "verdict", "rule", "count" };
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, errlen, "capture: argument '%s' is not KEY=VALUE", tok);
			r = -EINVAL;
			break;
		}
		*eq = '\0';
		for (unsigned int k = 0; k < 4; k++) {
			if (strcmp(tok, keys[k]) != 0)
				continue;
			if (seen & (1u << k)) {
				snprintf(err, errlen, "capture: argument '%s' given twice", tok);
				r = -EINVAL;
			}
			seen |= 1u << k;
		}
		if (r == 0)
			r = parse_arg(tok, eq + 1, req, err, errlen);
	}
	free(copy);
	return r;
}
