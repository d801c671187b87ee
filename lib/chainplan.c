/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <libmnl/libmnl.h>

#include "nfqd/chaincount.h"
#include "nfqd/chainplan.h"
#include "nftdump.h"

/* libnftnl's NFTNL_UDATA_RULE_COMMENT: the record iptables-nft keeps a rule's comment in. */
#define UDATA_RULE_COMMENT 0

#define FNV64_OFFSET	   0xcbf29ce484222325ull
#define FNV64_PRIME	   0x100000001b3ull

uint64_t nfqd_chainplan_hash(const char *text, size_t len)
{
	uint64_t h = FNV64_OFFSET;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= FNV64_PRIME;
	}
	return h;
}

void nfqd_chainplan_tag(uint64_t hash, char buf[NFQD_CHAINPLAN_TAG_SIZE])
{
	snprintf(buf, NFQD_CHAINPLAN_TAG_SIZE, NFQD_CHAINPLAN_PREFIX "%016llx",
		 (unsigned long long)hash);
}

int nfqd_chainplan_tag_parse(const char *text, size_t len, uint64_t *hash)
{
	const size_t plen = sizeof(NFQD_CHAINPLAN_PREFIX) - 1;
	uint64_t h = 0;

	if (len == NFQD_CHAINPLAN_TAG_SIZE && text[len - 1] == '\0')
		len--;
	if (len != NFQD_CHAINPLAN_TAG_SIZE - 1 || memcmp(text, NFQD_CHAINPLAN_PREFIX, plen) != 0)
		return -EINVAL;
	for (size_t i = plen; i < len; i++) {
		char c = text[i];
		unsigned int d;

		/* lower case only: the form nfqd writes, so one plan has one tag */
		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else
			return -EINVAL;
		h = h << 4 | d;
	}
	*hash = h;
	return 0;
}

/* The plan tag among the user data records udata[0..len). */
static int udata_tag(const uint8_t *udata, size_t len, uint64_t *hash)
{
	size_t off = 0;

	while (off < len) {
		uint8_t type, rlen;

		if (len - off < 2)
			return -EBADMSG;
		type = udata[off];
		rlen = udata[off + 1];
		if (len - off - 2 < rlen)
			return -EBADMSG;
		if (type == UDATA_RULE_COMMENT &&
		    nfqd_chainplan_tag_parse((const char *)udata + off + 2, rlen, hash) == 0)
			return 0;
		off += 2 + (size_t)rlen;
	}
	return -ENODATA;
}

/* The plan tag of an xt `comment` match expression (NFTA_EXPR_NAME "match", NFTA_EXPR_DATA
 * holding NFTA_MATCH_NAME "comment" and NFTA_MATCH_INFO, a struct xt_comment_info). */
static int match_tag(const struct nlattr *expr, uint64_t *hash)
{
	const struct nlattr *a, *data = nfqd_nft_expr_data(expr, "match"), *info = NULL;
	const char *match = NULL;

	if (!data)
		return -ENODATA;
	mnl_attr_for_each_nested (a, data) {
		if (mnl_attr_get_type(a) == NFTA_MATCH_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			match = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == NFTA_MATCH_INFO)
			info = a;
	}
	if (!match || !info || strcmp(match, "comment") != 0)
		return -ENODATA;
	/* the comment is NUL-padded to its 256 bytes */
	if (nfqd_chainplan_tag_parse(
		    mnl_attr_get_payload(info),
		    strnlen(mnl_attr_get_payload(info), mnl_attr_get_payload_len(info)), hash) < 0)
		return -ENODATA;
	return 0;
}

/* The plan tag among the expressions of a rule (NFTA_RULE_EXPRESSIONS). */
static int expressions_tag(const struct nlattr *list, uint64_t *hash)
{
	const struct nlattr *elem;

	mnl_attr_for_each_nested (elem, list) {
		if (mnl_attr_get_type(elem) != NFTA_LIST_ELEM ||
		    mnl_attr_validate(elem, MNL_TYPE_NESTED) < 0)
			return -EBADMSG;
		if (match_tag(elem, hash) == 0)
			return 0;
	}
	return -ENODATA;
}

int nfqd_chainplan_rule_tag(const struct nlmsghdr *nlh, uint64_t *hash)
{
	const struct nlattr *a;

	/* Attributes are padded to 4 bytes, so a rule's length is a multiple of 4: libmnl walks
	 * them up to the aligned length, which must not pass the message. */
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)) ||
	    nlh->nlmsg_len != MNL_ALIGN(nlh->nlmsg_len))
		return -EBADMSG;
	mnl_attr_for_each (a, nlh, sizeof(struct nfgenmsg)) {
		int r = -ENODATA;

		if (mnl_attr_get_type(a) == NFTA_RULE_USERDATA) {
			if (mnl_attr_validate(a, MNL_TYPE_BINARY) < 0)
				return -EBADMSG;
			r = udata_tag(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), hash);
		} else if (mnl_attr_get_type(a) == NFTA_RULE_EXPRESSIONS) {
			if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
				return -EBADMSG;
			r = expressions_tag(a, hash);
		}
		if (r != -ENODATA)
			return r;
	}
	return -ENODATA;
}

struct found {
	bool have;
	uint64_t hash;
};

/* One rule of the dump: keep the first tag. A malformed rule is skipped, not fatal: the
 * answer is "no tag" unless a well-formed rule carries one. */
static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct found *f = data;
	uint64_t h;

	if (!f->have && nfqd_chainplan_rule_tag(nlh, &h) == 0) {
		f->have = true;
		f->hash = h;
	}
	return MNL_CB_OK;
}

int nfqd_chainplan_read(struct nfqd_chaincount *p, uint8_t family, uint64_t *hash)
{
	struct found f = { 0 };
	int r = nfqd_nftdump_chain_exists(&p->dump, family);

	if (r == 0)
		r = nfqd_nftdump_rules(&p->dump, family, rule_cb, &f);

	if (r < 0)
		return r;
	if (!f.have)
		return -ENODATA;
	*hash = f.hash;
	return 0;
}
