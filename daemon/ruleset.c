/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "ruleset.h"

int ruleset_new(struct ruleset **out, struct config *cfg, char *text, struct nfqd_ipset_info *infos)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));
	unsigned int n = nfqd_policy_rule_count(cfg->policy);
	uint32_t acc = 0;

	if (rs)
		rs->reach = calloc(n ? n : 1, sizeof(*rs->reach));
	if (!rs || !rs->reach) {
		free(rs);
		config_free(cfg);
		free(text);
		free(infos);
		return -ENOMEM;
	}
	rs->cfg = cfg;
	rs->text = text;
	rs->infos = infos;
	/* An evaluation that stops at rule i may read the lookups of rules 0..i. */
	for (unsigned int i = 0; i < n; i++) {
		acc |= nfqd_policy_rule_lookups(cfg->policy, i);
		rs->reach[i] = acc;
	}
	clock_gettime(CLOCK_REALTIME, &rs->loaded);
	*out = rs;
	return 0;
}

int ruleset_add_slot(struct ruleset *rs, unsigned int slot)
{
	const struct config *c = rs->cfg;

	if (slot >= CONFIG_MAX_QUEUES)
		return -EINVAL;
	if (rs->setlookup[slot] || !nfqd_policy_lookup_count(c->policy) ||
	    c->set_lookup == SET_LOOKUP_MARK)
		return 0;
	return nfqd_setlookup_new(&rs->setlookup[slot], c->policy, rs->infos, c->batch);
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (unsigned int i = 0; i < CONFIG_MAX_QUEUES; i++)
		nfqd_setlookup_free(rs->setlookup[i]);
	free(rs->reach);
	free(rs->infos);
	free(rs->text);
	config_free(rs->cfg);
	free(rs);
}

void ruleset_publish(struct ruleset_pub *pub, struct ruleset *rs)
{
	struct ruleset *old;

	rs->gen = ++pub->last_gen;
	old = atomic_exchange(&pub->current, rs);
	if (old) {
		old->next = pub->retired;
		pub->retired = old;
	}
}

/*
 * Sequentially consistent, both: the main thread retires a generation after its exchange and
 * reads the announcements after that, so a worker that loaded the old pointer has either
 * announced an older number (which keeps it) or none yet.
 */
struct ruleset *ruleset_current(struct ruleset_pub *pub)
{
	return atomic_load(&pub->current);
}

void ruleset_announce(_Atomic uint64_t *seen, const struct ruleset *rs)
{
	atomic_store(seen, rs->gen);
}

struct ruleset *ruleset_acquire(struct ruleset_pub *pub, _Atomic uint64_t *seen)
{
	struct ruleset *rs = ruleset_current(pub);

	ruleset_announce(seen, rs);
	return rs;
}

unsigned int ruleset_reap(struct ruleset_pub *pub, uint64_t min_seen)
{
	struct ruleset **p = &pub->retired;
	unsigned int freed = 0;

	while (*p) {
		struct ruleset *rs = *p;

		if (rs->gen < min_seen) {
			*p = rs->next;
			ruleset_free(rs);
			freed++;
		} else {
			p = &rs->next;
		}
	}
	return freed;
}

bool ruleset_retired_pending(const struct ruleset_pub *pub)
{
	return pub->retired != NULL;
}

void ruleset_pub_clear(struct ruleset_pub *pub)
{
	ruleset_reap(pub, UINT64_MAX);
	ruleset_free(atomic_exchange(&pub->current, NULL));
}

/* What one setting fixed at start is called and whether old and new differ in it. */
struct fixed_setting {
	const char *name;
	bool differs;
};

static bool str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * The rules `nfqd rules` prints for c (IPv6 with ipv6) without the comment lines and with one
 * queue: the queue target follows the queues, which a reload may change (the operator's
 * NFQUEUE rule names them). With set-lookup = test and no flow cache nothing reads the mark
 * bits of the set rules, so they are left out too: set rules may then change by reload.
 * Returns a malloc'd text, or NULL with err filled.
 */
static char *rules_plan(const struct config *c, const struct nfqd_ipset_info *infos, bool ipv6,
			char *err, size_t errlen)
{
	bool sets_unread = c->set_lookup == SET_LOOKUP_TEST && !c->flow_cache;
	struct config one = *c;
	char *text = NULL, *plan;
	size_t len = 0, out = 0;
	FILE *f;
	int r;

	one.n_queues = 1;
	one.queues[0] = 0;
	f = open_memstream(&text, &len);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r = rules_generate(&one, infos, ipv6, f, err, errlen);
	if (fclose(f) != 0 && r == 0) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	if (r < 0) {
		free(text);
		return NULL;
	}
	plan = text;
	for (char *line = text; *line;) {
		size_t n = strcspn(line, "\n");

		if (line[n] == '\n')
			n++;
		bool set_rule = memmem(line, n, " --match-set ", 13) != NULL;

		if (line[0] != '#' && !(sets_unread && set_rule)) {
			memmove(plan + out, line, n);
			out += n;
		}
		line += n;
	}
	plan[out] = '\0';
	return plan;
}

int ruleset_check_compatible(const struct config *old, const struct nfqd_ipset_info *old_infos,
			     const struct config *new, const struct nfqd_ipset_info *new_infos,
			     char *err, size_t errlen)
{
	const struct fixed_setting fixed[] = {
		{ "[queue] copy-range", old->copy_range != new->copy_range },
		{ "[queue] max-len", old->max_len != new->max_len },
		{ "[queue] fail-open", old->fail_open != new->fail_open },
		{ "[queue] transport", strcmp(old->transport, new->transport) != 0 },
		{ "[queue] batch", old->batch != new->batch },
		{ "[queue] recv-buffer", old->recv_buffer != new->recv_buffer },
		{ "[queue] rcvbuf-max", old->rcvbuf_max != new->rcvbuf_max },
		{ "[daemon] control", str_differs(old->control, new->control) },
		{ "[daemon] control-group", old->control_gid != new->control_gid },
		{ "[daemon] control-mode", old->control_mode != new->control_mode },
		{ "[daemon] user", str_differs(old->user, new->user) },
		{ "[daemon] seccomp", old->seccomp != new->seccomp },
	};
	int r = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!fixed[i].differs)
			continue;
		snprintf(err, errlen,
			 "%s: %s changed: it is fixed when nfqd starts, a reload cannot apply it; "
			 "restart nfqd to apply it (systemctl restart nfqd)",
			 new->path, fixed[i].name);
		return -EINVAL;
	}
	for (int ipv6 = 0; ipv6 < 2 && r == 0; ipv6++) {
		char *a = rules_plan(old, old_infos, ipv6, err, errlen);
		char *b = a ? rules_plan(new, new_infos, ipv6, err, errlen) : NULL;

		if (!b)
			r = -EINVAL;
		else if (strcmp(a, b) != 0)
			r = -EBADR;
		free(a);
		free(b);
	}
	if (r != -EBADR)
		return r;
	snprintf(err, errlen,
		 "%s: the new configuration needs other iptables rules in chain NFQD than the "
		 "running one (its set lookups, flow cache, ct mark rules or mark-bits differ), "
		 "and nfqd cannot check what is loaded: load the new rules, then restart nfqd: "
		 "nfqd rules -c %s | iptables-restore --noflush; nfqd rules --ipv6 -c %s | "
		 "ip6tables-restore --noflush; systemctl restart nfqd",
		 new->path, new->path, new->path);
	return -EINVAL;
}
