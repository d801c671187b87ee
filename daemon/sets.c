/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfqd/ipset.h"
#include "nfqd/policy.h"

#include "config.h"
#include "sets.h"

unsigned int sets_rule_of_lookup(const struct config *c, unsigned int l)
{
	for (unsigned int r = 0; r < nfqd_policy_rule_count(c->policy); r++)
		if (nfqd_policy_rule_lookups(c->policy, r) & (1u << l))
			return r;
	return 0;
}

int sets_read_with(struct nfqd_ipset *s, const struct config *c, struct nfqd_ipset_info **out,
		   char *err, size_t errlen)
{
	unsigned int n = nfqd_policy_lookup_count(c->policy);
	struct nfqd_ipset_info *infos = calloc(n ? n : 1, sizeof(*infos));
	int r = 0;

	if (!infos) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned int l = 0; l < n; l++) {
		const struct nfqd_set_lookup *lk = nfqd_policy_lookup(c->policy, l);
		unsigned int rule = sets_rule_of_lookup(c, l);
		const char *text = nfqd_policy_rule_text(c->policy, rule);

		r = nfqd_ipset_info(s, lk->set, &infos[l]);
		if (r == -ENOENT) {
			snprintf(err, errlen,
				 "%s:%u: rule '%s': set '%s' does not exist (create it first, e.g. "
				 "ipset create %s hash:ip)",
				 c->path, c->rule_lines[rule], text, lk->set, lk->set);
			goto out;
		}
		if (r == -EPROTONOSUPPORT) {
			snprintf(err, errlen,
				 "%s:%u: rule '%s': set '%s' is of type %s, whose elements cannot "
				 "be "
				 "built from a packet",
				 c->path, c->rule_lines[rule], text, lk->set, infos[l].type);
			goto out;
		}
		if (r < 0) {
			snprintf(err, errlen, "%s:%u: rule '%s': cannot read set '%s': %s", c->path,
				 c->rule_lines[rule], text, lk->set, nfqd_ipset_error(s, r));
			goto out;
		}
		if (!lk->side && lk->ndirs < infos[l].dims && infos[l].kind != NFQD_IPSET_LIST) {
			snprintf(err, errlen,
				 "%s:%u: rule '%s': set '%s' (%s) has %u dimensions but the rule "
				 "gives %u sides",
				 c->path, c->rule_lines[rule], text, lk->set, infos[l].type,
				 infos[l].dims, lk->ndirs);
			r = -EINVAL;
			goto out;
		}
	}
	r = 0;
out:
	if (r < 0)
		free(infos);
	else
		*out = infos;
	return r;
}

int sets_read(const struct config *c, struct nfqd_ipset_info **out, char *err, size_t errlen)
{
	struct nfqd_ipset *s = NULL;
	int r;

	if (nfqd_policy_lookup_count(c->policy)) {
		r = nfqd_ipset_open(&s);
		if (r < 0) {
			snprintf(err, errlen, "cannot talk to ipset: %s", nfqd_ipset_strerror(r));
			return r;
		}
	}
	r = sets_read_with(s, c, out, err, errlen);
	nfqd_ipset_close(s);
	return r;
}
