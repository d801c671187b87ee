/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/chaincount.h"
#include "nfqd/chainplan.h"

#include "rules.h"
#include "ruleset.h"

int ruleset_new(struct ruleset **out, struct config *cfg, char *text, struct nfqd_ipset_info *infos)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));
	unsigned int n = nfqd_policy_rule_count(cfg->policy);
	uint32_t acc = 0;

	if (rs) {
		rs->reach = calloc(n ? n : 1, sizeof(*rs->reach));
		rs->log_tat = calloc(n ? n : 1, sizeof(*rs->log_tat));
	}
	if (!rs || !rs->reach || !rs->log_tat) {
		if (rs) {
			free(rs->reach);
			free(rs->log_tat);
		}
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
	int r;

	if (slot >= CONFIG_MAX_QUEUES)
		return -EINVAL;
	if (rs->setlookup[slot] || !nfqd_policy_lookup_count(c->policy) ||
	    c->set_lookup == SET_LOOKUP_MARK)
		return 0;
	r = nfqd_setlookup_new(&rs->setlookup[slot], c->policy, rs->infos, c->batch);
	if (r == 0)
		nfqd_setlookup_set_timeout(rs->setlookup[slot], c->set_timeout_ms);
	return r;
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (unsigned int i = 0; i < CONFIG_MAX_QUEUES; i++) {
		nfqd_setlookup_free(rs->setlookup[i]);
		free(atomic_load(&rs->rule_counts[i]));
	}
	free(rs->reach);
	free(rs->log_tat);
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
	/* release: every use of the generation before this one comes before the store, which the
	 * main thread reads before it frees that generation; a plain store on x86, where a
	 * sequentially consistent one is a locked exchange */
	atomic_store_explicit(seen, rs->gen, memory_order_release);
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

struct ruleset *ruleset_find(struct ruleset_pub *pub, uint64_t gen)
{
	struct ruleset *rs = atomic_load(&pub->current);

	if (rs && rs->gen == gen)
		return rs;
	for (rs = pub->retired; rs; rs = rs->next)
		if (rs->gen == gen)
			return rs;
	return NULL;
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

void ruleset_read_loaded(struct nfqd_chaincount *chain, int open_err, struct ruleset_loaded *out)
{
	static const uint8_t families[2] = { NFPROTO_IPV4, NFPROTO_IPV6 };

	for (int f = 0; f < 2; f++) {
		out->tag[f] = 0;
		out->err[f] =
			chain ? nfqd_chainplan_read(chain, families[f], &out->tag[f]) : open_err;
	}
}

/* The plan hashes of c in IPv4 ([0]) and IPv6 ([1]). */
static int plan_hashes(const struct config *c, const struct nfqd_ipset_info *infos,
		       uint64_t hash[2], char *err, size_t errlen)
{
	for (int f = 0; f < 2; f++)
		if (rules_plan_hash(c, infos, f == 1, &hash[f], err, errlen) < 0)
			return -EINVAL;
	return 0;
}

/* The commands that load the rules for path: IPv4, and IPv6 unless v4_only. */
static void load_commands(char *buf, size_t len, const char *path, bool v4_only)
{
	snprintf(buf, len, "nfqd rules -c %s | iptables-restore --noflush", path);
	if (!v4_only)
		snprintf(buf + strlen(buf), len - strlen(buf),
			 "; nfqd rules --ipv6 -c %s | ip6tables-restore --noflush", path);
}

/* Why the loaded chain cannot be compared (loaded NULL: not read), when it cannot: its IPv4
 * chain is missing or unreadable, or its IPv6 chain unreadable. */
static bool unreadable(const struct ruleset_loaded *loaded, char *why, size_t len)
{
	if (!loaded) {
		snprintf(why, len, "nfqd cannot check what is loaded");
		return true;
	}
	if (loaded->err[0] == -ENOENT) {
		snprintf(why, len,
			 "nfqd sees no chain " RULES_CHAIN " in table " RULES_TABLE
			 " of nftables (not loaded, or loaded by iptables-legacy, which nfqd "
			 "cannot read)");
		return true;
	}
	for (int f = 0; f < 2; f++) {
		int e = loaded->err[f];

		if (e < 0 && e != -ENODATA && !(f == 1 && e == -ENOENT)) {
			snprintf(why, len,
				 "nfqd cannot read chain " RULES_CHAIN " (%s) over nftables "
				 "netlink: %s",
				 f ? "IPv6" : "IPv4", strerror(-e));
			return true;
		}
	}
	return false;
}

/*
 * What the loaded chain of family f holds, against want (the plan it should hold) and other (a
 * plan it may hold instead): appended to buf. Returns whether it holds want; a family whose
 * chain is not loaded (IPv6 only) holds what it should.
 */
static bool describe(const struct ruleset_loaded *loaded, int f, uint64_t want, uint64_t other,
		     const char *other_name, char *buf, size_t len)
{
	size_t at = strlen(buf);
	const char *fam = f ? "IPv6" : "IPv4";

	if (loaded->err[f] == -ENOENT || (loaded->err[f] == 0 && loaded->tag[f] == want))
		return true;
	if (loaded->err[f] == -ENODATA)
		snprintf(buf + at, len - at, "%s%s: rules without an nfqd plan tag", at ? "; " : "",
			 fam);
	else if (loaded->tag[f] == other)
		snprintf(buf + at, len - at, "%s%s: the rules of %s", at ? "; " : "", fam,
			 other_name);
	else
		snprintf(buf + at, len - at,
			 "%s%s: the rules of another configuration (nfqd plan "
			 "%016llx)",
			 at ? "; " : "", fam, (unsigned long long)loaded->tag[f]);
	return false;
}

int ruleset_check_loaded(const struct config *c, const struct nfqd_ipset_info *infos,
			 const struct ruleset_loaded *loaded, char *msg, size_t len)
{
	char held[512] = "", cmds[1024];
	uint64_t plan[2];
	bool ok = true;

	if (plan_hashes(c, infos, plan, msg, len) < 0)
		return -EINVAL;
	load_commands(cmds, sizeof(cmds), c->path, loaded && loaded->err[1] == -ENOENT);
	if (unreadable(loaded, held, sizeof(held))) {
		snprintf(msg, len,
			 "%s: the rules of chain " RULES_CHAIN " cannot be checked: %s; "
			 "they are loaded by: %s",
			 c->path, held, cmds);
		return -ENOENT;
	}
	for (int f = 0; f < 2; f++)
		ok &= describe(loaded, f, plan[f], plan[f], "this configuration", held,
			       sizeof(held));
	if (ok)
		return 0;
	snprintf(msg, len,
		 "%s: the loaded chain " RULES_CHAIN " does not hold the rules this configuration "
		 "needs (%s): load them: %s",
		 c->path, held, cmds);
	return -EBADR;
}

int ruleset_check_compatible(const struct config *old, const struct nfqd_ipset_info *old_infos,
			     const struct config *new, const struct nfqd_ipset_info *new_infos,
			     const struct ruleset_loaded *loaded, char *err, size_t errlen)
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
	static const char differ[] =
		"the new configuration needs other iptables rules in chain " RULES_CHAIN
		" than the running one (its set lookups, flow cache, ct mark rules, reject answers "
		"or mark-bits differ)";
	char held[512] = "", cmds[1024];
	uint64_t a[2], b[2];
	bool ok = true;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!fixed[i].differs)
			continue;
		snprintf(err, errlen,
			 "%s: %s changed: it is fixed when nfqd starts, a reload cannot apply it; "
			 "restart nfqd to apply it (systemctl restart nfqd)",
			 new->path, fixed[i].name);
		return -EINVAL;
	}
	if (plan_hashes(old, old_infos, a, err, errlen) < 0 ||
	    plan_hashes(new, new_infos, b, err, errlen) < 0)
		return -EINVAL;
	if (a[0] == b[0] && a[1] == b[1])
		return 0;
	if (unreadable(loaded, held, sizeof(held))) {
		load_commands(cmds, sizeof(cmds), new->path, false);
		snprintf(err, errlen,
			 "%s: %s, and %s: load the new rules, then restart nfqd: %s; "
			 "systemctl restart nfqd",
			 new->path, differ, held, cmds);
		return -EINVAL;
	}
	for (int f = 0; f < 2; f++)
		ok &= describe(loaded, f, b[f], a[f], "the running configuration", held,
			       sizeof(held));
	if (ok)
		return 1;
	load_commands(cmds, sizeof(cmds), new->path, loaded->err[1] == -ENOENT);
	snprintf(err, errlen,
		 "%s: %s, and the loaded chain " RULES_CHAIN " does not hold them yet (%s): load "
		 "the new rules, then reload again: %s; nfqctl reload",
		 new->path, differ, held, cmds);
	return -EINVAL;
}
