/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nfqd/policy.h"

#include "rulecount.h"

struct rule_counts *rule_counts_new(unsigned int n_rules)
{
	struct rule_counts *rc = calloc(1, sizeof(*rc) + ((size_t)n_rules + 1) * sizeof(rc->c[0]));

	if (rc)
		rc->n_rules = n_rules;
	return rc;
}

/* Rule indexes ordered by canonical text, then by index: equal texts in order of occurrence. */
static int by_text(const void *a, const void *b, void *policy)
{
	unsigned int i = *(const unsigned int *)a, j = *(const unsigned int *)b;
	int c = strcmp(nfqd_policy_rule_text(policy, i), nfqd_policy_rule_text(policy, j));

	if (c)
		return c;
	return i < j ? -1 : i > j;
}

static unsigned int *sorted_rules(const struct nfqd_policy *p, unsigned int n)
{
	unsigned int *idx = malloc((n ? n : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	for (unsigned int i = 0; i < n; i++)
		idx[i] = i;
	/* the comparison only reads the policy */
	qsort_r(idx, n, sizeof(*idx), by_text, (void *)p);
	return idx;
}

int rule_counts_map(const struct nfqd_policy *from, const struct nfqd_policy *to, int *map)
{
	unsigned int n_from = from ? nfqd_policy_rule_count(from) : 0;
	unsigned int n_to = nfqd_policy_rule_count(to);
	unsigned int *f = NULL, *t = NULL, a = 0, b = 0;
	int r = -ENOMEM;

	for (unsigned int i = 0; i < n_to; i++)
		map[i] = -1;
	if (n_from == 0 || n_to == 0)
		return 0;
	/*
	 * Sorted by (text, index), the k-th occurrence of a text in one policy meets the k-th in
	 * the other in a single merge: O(n log n) for the 4096 rules a policy may hold.
	 */
	f = sorted_rules(from, n_from);
	t = sorted_rules(to, n_to);
	if (!f || !t)
		goto out;
	while (a < n_from && b < n_to) {
		int c = strcmp(nfqd_policy_rule_text(from, f[a]), nfqd_policy_rule_text(to, t[b]));

		if (c < 0) {
			a++;
		} else if (c > 0) {
			b++;
		} else {
			map[t[b]] = (int)f[a];
			a++;
			b++;
		}
	}
	r = 0;
out:
	free(f);
	free(t);
	return r;
}

int rule_counts_occurrences(const struct nfqd_policy *p, unsigned int *occ)
{
	unsigned int n = nfqd_policy_rule_count(p);
	unsigned int *idx = sorted_rules(p, n);

	if (!idx)
		return -ENOMEM;
	for (unsigned int k = 0; k < n; k++) {
		bool same = k > 0 && strcmp(nfqd_policy_rule_text(p, idx[k - 1]),
					    nfqd_policy_rule_text(p, idx[k])) == 0;

		occ[idx[k]] = same ? occ[idx[k - 1]] + 1 : 1;
	}
	free(idx);
	return 0;
}

struct rule_counts *rule_counts_follow(const struct nfqd_policy *from, const struct nfqd_policy *to,
				       const struct rule_counts *in)
{
	unsigned int n = nfqd_policy_rule_count(to);
	struct rule_counts *out = rule_counts_new(n);
	int *map;

	if (!out)
		return NULL;
	if (!in)
		return out;
	map = malloc((n ? n : 1) * sizeof(*map));
	if (!map || rule_counts_map(from, to, map) < 0) {
		free(map);
		free(out);
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++)
		if (map[i] >= 0 && (unsigned int)map[i] < in->n_rules)
			rule_count_read(&in->c[map[i]], &out->c[i]);
	rule_count_read(&in->c[in->n_rules], &out->c[n]);
	free(map);
	return out;
}
