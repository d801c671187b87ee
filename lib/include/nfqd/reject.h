/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reject kinds: what a `reject [with KIND]` rule answers, and how the kernel's REJECT target
 * spells each answer for IPv4 (iptables) and IPv6 (ip6tables). One word set covers both
 * families: `admin-prohibited` is icmp-admin-prohibited in IPv4 and icmp6-adm-prohibited in
 * IPv6. nfqd never answers itself: it codes the answer in the packet mark (markplan.h) and
 * hands the packet back with NF_REPEAT; the generated chain's REJECT rules answer it.
 *
 * A rule's kind is what was written; the answer is what a packet gets. `reject` and
 * `reject with tcp-reset` answer a TCP packet with a TCP RST and any other packet with port
 * unreachable (a RST exists only for TCP); every other kind answers every packet with that
 * ICMP / ICMPv6 error.
 */
#ifndef NFQD_REJECT_H
#define NFQD_REJECT_H

#include <stdbool.h>
#include <stdint.h>

enum nfqd_reject {
	NFQD_REJECT_NONE,	      /* not a reject */
	NFQD_REJECT_DEFAULT,	      /* `reject`: tcp-reset for TCP, port-unreachable otherwise */
	NFQD_REJECT_TCP_RESET,	      /* the same answers, written out */
	NFQD_REJECT_PORT_UNREACHABLE, /* the answers from here on are ICMP / ICMPv6 errors */
	NFQD_REJECT_HOST_UNREACHABLE,
	NFQD_REJECT_NET_UNREACHABLE,
	NFQD_REJECT_PROTO_UNREACHABLE,
	NFQD_REJECT_NET_PROHIBITED,
	NFQD_REJECT_HOST_PROHIBITED,
	NFQD_REJECT_ADMIN_PROHIBITED,
	NFQD_REJECT_MAX,
};

/*
 * The kind named word: one of the words of nfqd_reject_name() (but "reject"), or an iptables or
 * ip6tables --reject-with spelling ("icmp-admin-prohibited", "icmp6-adm-prohibited",
 * "adm-prohibited", ...). Returns the kind, or -EINVAL.
 */
int nfqd_reject_parse(const char *word);

/* The kind's word in rules ("admin-prohibited"), "reject" for NFQD_REJECT_DEFAULT, NULL when
 * kind is NONE or out of range. */
const char *nfqd_reject_name(int kind);

/* The words a rule may write after `with`, for messages: "tcp-reset, port-unreachable, ...". */
const char *nfqd_reject_names(void);

/*
 * The answer a packet gets from a rule of kind: for DEFAULT and TCP_RESET, TCP_RESET when the
 * packet is TCP (tcp), else PORT_UNREACHABLE; the kind itself otherwise; NONE for NONE. Pure.
 */
int nfqd_reject_answer(int kind, bool tcp);

/* The answers (bit 1u << answer) rules of kind can give: DEFAULT gives two. */
uint32_t nfqd_reject_answers_of(int kind);

/* The REJECT target's --reject-with value of answer in IPv4 or IPv6 ("icmp6-adm-prohibited");
 * NULL for NONE, DEFAULT or out of range. */
const char *nfqd_reject_with(int answer, bool ipv6);

#endif /* NFQD_REJECT_H */
