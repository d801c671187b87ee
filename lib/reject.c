/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "nfqd/reject.h"

/*
 * IPv6 has no "protocol unreachable" and no network / host "prohibited" in ip6tables' REJECT:
 * those answer with the nearest ICMPv6 code (port unreachable, administratively prohibited).
 */
struct reject_kind {
	const char *name;
	const char *v4, *v6;  /* --reject-with of iptables, ip6tables */
	const char *alias[2]; /* the ip6tables spellings that name this kind exactly */
};

static const struct reject_kind kinds[NFQD_REJECT_MAX] = {
	[NFQD_REJECT_DEFAULT] = { "reject", NULL, NULL, { NULL, NULL } },
	[NFQD_REJECT_TCP_RESET] = { "tcp-reset", "tcp-reset", "tcp-reset", { NULL, NULL } },
	[NFQD_REJECT_PORT_UNREACHABLE] = { "port-unreachable",
					   "icmp-port-unreachable",
					   "icmp6-port-unreachable",
					   { "icmp6-port-unreachable", "port-unreach" } },
	[NFQD_REJECT_HOST_UNREACHABLE] = { "host-unreachable",
					   "icmp-host-unreachable",
					   "icmp6-addr-unreachable",
					   { "icmp6-addr-unreachable", "addr-unreach" } },
	[NFQD_REJECT_NET_UNREACHABLE] = { "net-unreachable",
					  "icmp-net-unreachable",
					  "icmp6-no-route",
					  { "icmp6-no-route", "no-route" } },
	[NFQD_REJECT_PROTO_UNREACHABLE] = { "proto-unreachable",
					    "icmp-proto-unreachable",
					    "icmp6-port-unreachable",
					    { NULL, NULL } },
	[NFQD_REJECT_NET_PROHIBITED] = { "net-prohibited",
					 "icmp-net-prohibited",
					 "icmp6-adm-prohibited",
					 { NULL, NULL } },
	[NFQD_REJECT_HOST_PROHIBITED] = { "host-prohibited",
					  "icmp-host-prohibited",
					  "icmp6-adm-prohibited",
					  { NULL, NULL } },
	[NFQD_REJECT_ADMIN_PROHIBITED] = { "admin-prohibited",
					   "icmp-admin-prohibited",
					   "icmp6-adm-prohibited",
					   { "icmp6-adm-prohibited", "adm-prohibited" } },
};

int nfqd_reject_parse(const char *word)
{
	if (!word)
		return -EINVAL;
	for (int k = NFQD_REJECT_TCP_RESET; k < NFQD_REJECT_MAX; k++) {
		const struct reject_kind *r = &kinds[k];

		if (strcmp(word, r->name) == 0 || strcmp(word, r->v4) == 0)
			return k;
		for (size_t a = 0; a < sizeof(r->alias) / sizeof(r->alias[0]); a++)
			if (r->alias[a] && strcmp(word, r->alias[a]) == 0)
				return k;
	}
	return -EINVAL;
}

const char *nfqd_reject_name(int kind)
{
	if (kind <= NFQD_REJECT_NONE || kind >= NFQD_REJECT_MAX)
		return NULL;
	return kinds[kind].name;
}

const char *nfqd_reject_names(void)
{
	return "tcp-reset, port-unreachable, host-unreachable, net-unreachable, "
	       "proto-unreachable, net-prohibited, host-prohibited, admin-prohibited";
}

int nfqd_reject_answer(int kind, bool tcp)
{
	if (kind == NFQD_REJECT_DEFAULT || kind == NFQD_REJECT_TCP_RESET)
		return tcp ? NFQD_REJECT_TCP_RESET : NFQD_REJECT_PORT_UNREACHABLE;
	if (kind <= NFQD_REJECT_NONE || kind >= NFQD_REJECT_MAX)
		return NFQD_REJECT_NONE;
	return kind;
}

uint32_t nfqd_reject_answers_of(int kind)
{
	int a = nfqd_reject_answer(kind, true), b = nfqd_reject_answer(kind, false);

	if (a == NFQD_REJECT_NONE)
		return 0;
	return 1u << a | 1u << b;
}

const char *nfqd_reject_with(int answer, bool ipv6)
{
	if (answer <= NFQD_REJECT_DEFAULT || answer >= NFQD_REJECT_MAX)
		return NULL;
	return ipv6 ? kinds[answer].v6 : kinds[answer].v4;
}
