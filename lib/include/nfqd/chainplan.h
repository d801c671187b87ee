/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The plan tag of a generated chain: `nfqd rules` marks one rule of chain NFQD with the
 * comment "nfqd plan <hash>", <hash> the FNV-1a 64 hash (16 lower-case hex digits) of the
 * rules it generated for that family, without the comment itself. nfqd reads the tag of the
 * loaded chain back over nftables netlink to learn which plan the kernel holds. iptables-nft
 * 1.8.9 (Debian 12) keeps `-m comment` as an xt `comment` match expression in the rule
 * (NFTA_EXPR_NAME "match", NFTA_MATCH_NAME "comment", NFTA_MATCH_INFO a NUL-padded struct
 * xt_comment_info); later versions and nft keep a comment in the rule's user data
 * (NFTA_RULE_USERDATA: records of { type, length, value }, the comment in type 0,
 * NUL-terminated). Both are read. Rules loaded by iptables-legacy are not in nftables and
 * cannot be read this way.
 */
#ifndef NFQD_CHAINPLAN_H
#define NFQD_CHAINPLAN_H

#include <stddef.h>
#include <stdint.h>

#define NFQD_CHAINPLAN_PREFIX "nfqd plan "
/* The tag with its NUL: the prefix and 16 hex digits. */
#define NFQD_CHAINPLAN_TAG_SIZE (sizeof(NFQD_CHAINPLAN_PREFIX) + 16)

struct nlmsghdr;
struct nfqd_chaincount;

/* FNV-1a 64 of text[0..len). Pure. */
uint64_t nfqd_chainplan_hash(const char *text, size_t len);

/* Write the tag of hash ("nfqd plan 0123456789abcdef") to buf, NFQD_CHAINPLAN_TAG_SIZE bytes. */
void nfqd_chainplan_tag(uint64_t hash, char buf[NFQD_CHAINPLAN_TAG_SIZE]);

/*
 * The hash of comment text[0..len) when it is a plan tag (exactly the prefix and 16 hex digits,
 * a trailing NUL allowed), in *hash. Returns 0, or -EINVAL for any other text. Pure.
 */
int nfqd_chainplan_tag_parse(const char *text, size_t len, uint64_t *hash);

/*
 * The plan tag of one NFT_MSG_NEWRULE message (an answer to NFT_MSG_GETRULE): a comment that is a
 * plan tag, in its user data or in an xt comment match expression. Returns 0 with *hash, -ENODATA
 * when the rule carries no tag, -EBADMSG when its attributes or user data are malformed, or its
 * length is no multiple of 4. nlh holds nlmsg_len bytes. Pure.
 */
int nfqd_chainplan_rule_tag(const struct nlmsghdr *nlh, uint64_t *hash);

/*
 * The tag of chain (nfqd_chaincount_open(): a table and a chain) in family (NFPROTO_IPV4,
 * NFPROTO_IPV6): the first rule that carries one. Returns 0 with *hash, -ENOENT when the table or
 * the chain does not exist in that family in nftables, -ENODATA when no rule carries a tag, or
 * another -errno (the kernel's answer, -EAGAIN when a part of the answer took over a second).
 */
int nfqd_chainplan_read(struct nfqd_chaincount *chain, uint8_t family, uint64_t *hash);

#endif /* NFQD_CHAINPLAN_H */
