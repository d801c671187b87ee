/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/reject.h"

#include "reject.h"
#include "rules.h"

int reject_first_rule(const struct config *c)
{
	for (unsigned int i = 0; i < nfqd_policy_rule_count(c->policy); i++)
		if (nfqd_policy_rule_reject(c->policy, i) != NFQD_REJECT_NONE)
			return (int)i;
	return -1;
}

/* The message for a plain queue rule of family f (0: IPv4) in front of reject rule `rule`. */
static int plain_rule(const struct config *c, int rule, const struct reject_plain *plain, int f,
		      char *msg, size_t len)
{
	const struct nfqd_queue_rule *q = &plain->rule[f];
	char queues[32];

	if (q->first == q->last)
		snprintf(queues, sizeof(queues), "queue %u", q->first);
	else
		snprintf(queues, sizeof(queues), "queues %u-%u", q->first, q->last);
	snprintf(msg, len,
		 "%s:%u: rule '%s': chain %s of table %s (%s) sends packets to %s with a plain "
		 "queue rule that nfqd did not generate: a reject of those packets would not be "
		 "answered (only the REJECT rules of chain NFQD answer one). Send that traffic "
		 "through chain NFQD instead (-j NFQD), or write drop instead of reject",
		 c->path, c->rule_lines[rule], nfqd_policy_rule_text(c->policy, (unsigned int)rule),
		 q->chain, q->table, f ? "IPv6" : "IPv4", queues);
	return -EBADR;
}

int reject_check_loaded(const struct config *c, const struct nfqd_ipset_info *infos,
			const struct ruleset_loaded *loaded, const struct reject_plain *plain,
			char *msg, size_t len)
{
	int rule = reject_first_rule(c);
	size_t plen = strlen(c->path);
	const char *why;
	char held[1536];

	if (rule < 0)
		return 0;
	if (ruleset_check_loaded(c, infos, loaded, held, sizeof(held)) == 0) {
		for (int f = 0; plain && f < 2; f++)
			if (plain->err[f] == 0)
				return plain_rule(c, rule, plain, f, msg, len);
		return 0;
	}
	/* the check's message starts with the file, which this one names with the line */
	why = held;
	if (strncmp(why, c->path, plen) == 0 && strncmp(why + plen, ": ", 2) == 0)
		why += plen + 2;
	snprintf(msg, len,
		 "%s:%u: rule '%s': a reject is answered by the REJECT rules of nfqd's generated "
		 "chain NFQD, and %s. Behind a plain NFQUEUE rule that nfqd did not generate "
		 "nothing answers it: send the traffic to the queue through chain NFQD (e.g. "
		 "iptables -A INPUT -j NFQD), or write drop instead of reject",
		 c->path, c->rule_lines[rule], nfqd_policy_rule_text(c->policy, (unsigned int)rule),
		 why);
	return -EBADR;
}

int reject_check_kernel(const struct config *c, const struct nfqd_ipset_info *infos,
			const struct ruleset_loaded *loaded, struct nfqd_chaincount *chain,
			char *msg, size_t len)
{
	static const uint8_t families[2] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	struct reject_plain plain = { .err = { -ENOENT, -ENOENT } };

	if (reject_first_rule(c) < 0)
		return 0;
	for (int f = 0; chain && f < 2; f++)
		plain.err[f] = nfqd_queue_rule_find_other(chain, families[f], c->queues,
							  c->n_queues, &plain.rule[f]);
	return reject_check_loaded(c, infos, loaded, &plain, msg, len);
}

int reject_check_now(const struct config *c, const struct nfqd_ipset_info *infos, char *msg,
		     size_t len)
{
	struct nfqd_chaincount *chain = NULL;
	struct ruleset_loaded loaded;
	int r;

	if (reject_first_rule(c) < 0)
		return 0;
	r = nfqd_chaincount_open(&chain, RULES_TABLE, RULES_CHAIN);
	if (r == 0) {
		ruleset_read_loaded(chain, r, &loaded);
		/* nftables answers only to CAP_NET_ADMIN */
		r = loaded.err[0] == -EPERM || loaded.err[0] == -EACCES ? loaded.err[0] : 0;
	}
	if (r < 0)
		snprintf(msg, len, "cannot read chain " RULES_CHAIN " of table " RULES_TABLE ": %s",
			 strerror(-r));
	else
		r = reject_check_kernel(c, infos, &loaded, chain, msg, len);
	nfqd_chaincount_free(chain);
	return r;
}
