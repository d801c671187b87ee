/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nfqd/reject.h"

#include "reject.h"

int reject_first_rule(const struct config *c)
{
	for (unsigned int i = 0; i < nfqd_policy_rule_count(c->policy); i++)
		if (nfqd_policy_rule_reject(c->policy, i) != NFQD_REJECT_NONE)
			return (int)i;
	return -1;
}

int reject_check_loaded(const struct config *c, const struct nfqd_ipset_info *infos,
			const struct ruleset_loaded *loaded, char *msg, size_t len)
{
	int rule = reject_first_rule(c);
	size_t plen = strlen(c->path);
	const char *why;
	char held[1536];

	if (rule < 0 || ruleset_check_loaded(c, infos, loaded, held, sizeof(held)) == 0)
		return 0;
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
