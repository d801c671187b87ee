/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* the libc network headers go before the kernel ones, which defer to them */
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/ipset.h"

#include "command.h"
#include "config.h"
#include "inspect.h"
#include "metrics.h"
#include "strbuf.h"

char *command_error(const char *msg)
{
	struct strbuf b = { 0 };

	strbuf_printf(&b, "{\"error\":");
	strbuf_json_string(&b, msg);
	strbuf_printf(&b, "}");
	return strbuf_steal(&b);
}

static void stats_queues(struct strbuf *b, const struct stats_snapshot *s,
			 struct nfqd_counters *total)
{
	for (unsigned int i = 0; i < s->n_queues; i++) {
		const struct stats_queue *q = &s->queues[i];

		for (int k = 0; k < NFQD_CTR_MAX; k++)
			total->v[k] += q->counters.v[k];
		strbuf_printf(b, "%s{\"queue\":%u", i ? "," : "", q->num);
		for (int k = 0; k < NFQD_CTR_MAX; k++)
			strbuf_printf(b, ",\"%s\":%llu", nfqd_counter_name(k),
				      (unsigned long long)q->counters.v[k]);
		strbuf_printf(b, ",\"transport\":");
		strbuf_json_string(b, q->transport ? q->transport : "");
		strbuf_printf(b, ",\"cpu\":%d,\"rcvbuf\":%u,\"conntrack\":%s", q->cpu, q->rcvbuf,
			      q->conntrack ? "true" : "false");
		if (q->kstats_ok)
			strbuf_printf(b,
				      ",\"kernel\":{\"queued\":%u,\"full_dropped\":%u,"
				      "\"user_dropped\":%u,\"last_id\":%u}",
				      q->kstats.queued, q->kstats.full_dropped,
				      q->kstats.user_dropped, q->kstats.last_id);
		strbuf_printf(b, ",\"batch_sizes\":{");
		for (unsigned int k = 0; k < NFQD_BATCH_BUCKETS; k++)
			strbuf_printf(b, "%s\"%s\":%llu", k ? "," : "", nfqd_batch_bucket_name(k),
				      (unsigned long long)q->counters.batch[k]);
		strbuf_printf(b, "},\"batch_messages\":%llu}",
			      (unsigned long long)q->counters.batch_sum);
	}
	/* the totals go on when a reload removes a queue */
	for (int k = 0; s->retired && k < NFQD_CTR_MAX; k++)
		total->v[k] += s->retired[k];
}

static void stats_lookups(struct strbuf *b, const struct stats_snapshot *s)
{
	const struct config *c = s->cfg;

	for (unsigned int l = 0; l < nfqd_policy_lookup_count(c->policy); l++) {
		const struct nfqd_set_lookup *lk = nfqd_policy_lookup(c->policy, l);
		const struct stats_lookup *sum = &s->lookups[l];

		strbuf_printf(b, "%s{\"lookup\":", l ? "," : "");
		strbuf_json_string(b, lk->text);
		strbuf_printf(b, ",\"set\":");
		strbuf_json_string(b, lk->set);
		strbuf_printf(b, ",\"type\":");
		strbuf_json_string(b, s->infos ? s->infos[l].type : "");
		strbuf_printf(b,
			      ",\"mark_bit\":\"0x%08x\",\"by_mark\":%llu,\"by_test\":%llu,"
			      "\"members\":%llu,\"failed\":%llu}",
			      l < c->plan.n_set_bits ? c->plan.set_bit[l] : 0,
			      (unsigned long long)sum->by_mark, (unsigned long long)sum->by_test,
			      (unsigned long long)sum->member, (unsigned long long)sum->failed);
	}
}

/*
 * ,"packets":N,"bytes":N,"queues":[{"queue":Q,"packets":N,"bytes":N},...] for entry r of the
 * per-rule counters (the default's: r = the rule count).
 */
static void stats_rule_counts(struct strbuf *b, const struct stats_snapshot *s, unsigned int r)
{
	unsigned int n = nfqd_policy_rule_count(s->cfg->policy) + 1;
	struct rule_count sum = { 0 };

	for (unsigned int q = 0; s->rule_counts && q < s->n_queues; q++) {
		sum.packets += s->rule_counts[q * n + r].packets;
		sum.bytes += s->rule_counts[q * n + r].bytes;
	}
	strbuf_printf(b, ",\"packets\":%llu,\"bytes\":%llu,\"queues\":[",
		      (unsigned long long)sum.packets, (unsigned long long)sum.bytes);
	for (unsigned int q = 0; q < s->n_queues; q++) {
		struct rule_count c = { 0 };

		if (s->rule_counts)
			c = s->rule_counts[q * n + r];
		strbuf_printf(b, "%s{\"queue\":%u,\"packets\":%llu,\"bytes\":%llu}", q ? "," : "",
			      s->queues[q].num, (unsigned long long)c.packets,
			      (unsigned long long)c.bytes);
	}
	strbuf_printf(b, "]");
}

/* The rules in force with their counters and how their set terms are answered, then the
 * default verdict's counters. */
static void stats_rules(struct strbuf *b, const struct stats_snapshot *s)
{
	const struct config *c = s->cfg;
	unsigned int n = nfqd_policy_rule_count(c->policy);
	char vbuf[32];

	for (unsigned int r = 0; r < n; r++) {
		uint32_t lk = nfqd_policy_rule_lookups(c->policy, r);

		strbuf_printf(b, "%s{\"rule\":%u,\"line\":%u,\"text\":", r ? "," : "", r + 1,
			      c->rule_lines ? c->rule_lines[r] : 0);
		strbuf_json_string(b, nfqd_policy_rule_text(c->policy, r));
		strbuf_printf(b, ",\"verdict\":");
		strbuf_json_string(b,
				   nfqd_policy_rule_verdict_text(c->policy, r, vbuf, sizeof(vbuf)));
		stats_rule_counts(b, s, r);
		strbuf_printf(b, ",\"set_lookup\":");
		strbuf_json_string(b, lk ? config_set_lookup_name(c->set_lookup) : "none");
		strbuf_printf(b, "}");
	}
	strbuf_printf(b, "],\"default\":{\"verdict\":");
	strbuf_json_string(b, nfqd_policy_default(c->policy) == NF_ACCEPT ? "accept" : "drop");
	stats_rule_counts(b, s, n);
	strbuf_printf(b, "}");
}

char *command_stats_json(const struct stats_snapshot *s)
{
	const struct config *c = s->cfg;
	struct nfqd_counters total = { .v = { 0 } };
	struct strbuf b = { 0 };

	strbuf_printf(&b, "{\"version\":");
	strbuf_json_string(&b, s->version ? s->version : "");
	strbuf_printf(&b, ",\"queues\":[");
	stats_queues(&b, s, &total);
	strbuf_printf(&b, "],\"set_lookup\":");
	strbuf_json_string(&b, config_set_lookup_name(c->set_lookup));
	strbuf_printf(&b, ",\"flow_cache\":%s,\"lookups\":[", c->flow_cache ? "true" : "false");
	stats_lookups(&b, s);
	strbuf_printf(&b, "],\"rules\":[");
	stats_rules(&b, s);
	strbuf_printf(&b, ",\"total\":{");
	for (int k = 0; k < NFQD_CTR_MAX; k++)
		strbuf_printf(&b, "%s\"%s\":%llu", k ? "," : "", nfqd_counter_name(k),
			      (unsigned long long)total.v[k]);
	/* the kernel counts fail-open passes for no queue: a total only, null when uncounted */
	if (s->fail_open_counted)
		strbuf_printf(&b, ",\"fail_open_passed\":%llu",
			      (unsigned long long)s->fail_open_passed);
	else
		strbuf_printf(&b, ",\"fail_open_passed\":null");
	strbuf_printf(&b, "}}");
	return strbuf_steal(&b);
}

/* "a, b, c": the names of the table, for error messages. */
static void command_names(struct strbuf *b, const struct command *table, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strbuf_printf(b, "%s%s", i ? ", " : "", table[i].name);
}

static char *error_with_names(const struct command *table, size_t n, const char *fmt,
			      const char *arg)
{
	struct strbuf msg = { 0 };
	char *text, *json;

	strbuf_printf(&msg, fmt, arg);
	strbuf_printf(&msg, "; commands: ");
	command_names(&msg, table, n);
	text = strbuf_steal(&msg);
	if (!text)
		return NULL;
	json = command_error(text);
	free(text);
	return json;
}

char *command_dispatch(const struct command *table, size_t n, void *user, const char *line,
		       const struct command_peer *peer, uid_t self_uid)
{
	size_t len = strcspn(line, " \t");
	const char *args = line + len;
	const struct command *cmd = NULL;
	char msg[160];

	while (*args == ' ' || *args == '\t')
		args++;
	if (len == 0)
		return error_with_names(table, n, "%s", "empty request");
	for (size_t i = 0; i < n; i++) {
		if (strlen(table[i].name) == len && memcmp(table[i].name, line, len) == 0) {
			cmd = &table[i];
			break;
		}
	}
	if (!cmd)
		return error_with_names(table, n, "unknown command '%s'", line);
	if (cmd->changes_state && (!peer || (peer->uid != 0 && peer->uid != self_uid))) {
		const char *why =
			cmd->privileged_why ? cmd->privileged_why : "changes nfqd's state";

		if (peer)
			snprintf(msg, sizeof(msg),
				 "permission denied: '%s' %s and is allowed to root and to uid %u "
				 "only, not to uid %u",
				 cmd->name, why, (unsigned int)self_uid, (unsigned int)peer->uid);
		else
			snprintf(
				msg, sizeof(msg),
				"permission denied: '%s' %s and the peer's credentials are unknown",
				cmd->name, why);
		return command_error(msg);
	}
	if (!cmd->takes_args && *args) {
		snprintf(msg, sizeof(msg), "'%s' takes no argument", cmd->name);
		return command_error(msg);
	}
	if (cmd->run_peer)
		return cmd->run_peer(user, args, peer);
	return cmd->run(user, args);
}

int command_snapshot(const struct command_daemon *d, struct stats_snapshot *snap,
		     struct stats_queue **queues)
{
	size_t n = d->n_queues ? d->n_queues : 1;
	int r;

	memset(snap, 0, sizeof(*snap));
	/* The counters in each entry are cache-line aligned: calloc() does not promise that. */
	*queues = aligned_alloc(_Alignof(struct stats_queue), n * sizeof(**queues));
	if (!*queues)
		return -ENOMEM;
	memset(*queues, 0, n * sizeof(**queues));
	r = d->snapshot(d->user, snap, *queues, d->n_queues);
	if (r < 0) {
		command_snapshot_free(snap, *queues);
		*queues = NULL;
	}
	return r;
}

void command_snapshot_free(struct stats_snapshot *snap, struct stats_queue *queues)
{
	free(snap->rule_counts);
	snap->rule_counts = NULL;
	free(queues);
}

char *command_render(void *daemon, char *(*render)(const struct stats_snapshot *s))
{
	struct stats_snapshot snap;
	struct stats_queue *queues;
	char msg[128];
	char *out;
	int r = command_snapshot(daemon, &snap, &queues);

	if (r == -ENOMEM)
		return NULL;
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot take the counters: %s", strerror(-r));
		return command_error(msg);
	}
	out = render(&snap);
	command_snapshot_free(&snap, queues);
	return out;
}

static char *cmd_stats(void *user, const char *args)
{
	(void)args;
	return command_render(user, command_stats_json);
}

static char *cmd_upgrade(void *user, const char *args)
{
	const struct command_daemon *d = user;
	struct strbuf b = { 0 };
	char msg[512], err[600];

	(void)args;
	if (!d->upgrade)
		return command_error("this nfqd cannot upgrade itself");
	if (d->upgrade(d->user, msg, sizeof(msg)) < 0) {
		snprintf(err, sizeof(err), "upgrade refused: %s; nfqd serves on", msg);
		return command_error(err);
	}
	strbuf_printf(&b, "{\"upgrade\":");
	strbuf_json_string(&b, msg);
	strbuf_printf(&b, "}");
	return strbuf_steal(&b);
}

/* {"reload":"ok","generation":N,"message":...}, or the error naming FILE:LINE. */
static char *cmd_reload(void *user, const char *args)
{
	const struct command_daemon *d = user;
	struct strbuf b = { 0 };
	char msg[1024] = "";
	int64_t gen;

	(void)args;
	if (!d->reload)
		return command_error("this nfqd cannot reload");
	gen = d->reload(d->user, msg, sizeof(msg));
	if (gen < 0)
		return command_error(msg);
	strbuf_printf(&b, "{\"reload\":\"ok\",\"generation\":%lld,\"message\":", (long long)gen);
	strbuf_json_string(&b, msg);
	strbuf_printf(&b, "}");
	return strbuf_steal(&b);
}

static char *cmd_status(void *user, const char *args)
{
	const struct command_daemon *d = user;

	(void)args;
	if (!d->status)
		return command_error("this nfqd has no status");
	return d->status(d->user);
}

/* Streams packets over the connection: it reveals their contents, so it is privileged. */
static char *cmd_capture(void *user, const char *args, const struct command_peer *peer)
{
	const struct command_daemon *d = user;

	if (!d->capture)
		return command_error("this nfqd cannot capture");
	return d->capture(d->user, args, peer);
}

static const struct command commands[] = {
	{ .name = "stats", .changes_state = false, .takes_args = false, .run = cmd_stats },
	{ .name = "status", .changes_state = false, .takes_args = false, .run = cmd_status },
	{ .name = "reload", .changes_state = true, .takes_args = false, .run = cmd_reload },
	{ .name = "upgrade", .changes_state = true, .takes_args = false, .run = cmd_upgrade },
	{ .name = "rules", .changes_state = false, .takes_args = false, .run = inspect_cmd_rules },
	{ .name = "explain",
	  .changes_state = false,
	  .takes_args = true,
	  .run = inspect_cmd_explain },
	{ .name = "metrics", .changes_state = false, .takes_args = false, .run = metrics_command },
	{ .name = "capture",
	  .changes_state = true,
	  .privileged_why = "shows the packets' contents",
	  .takes_args = true,
	  .run_peer = cmd_capture },
};

char *command_answer(void *daemon, const char *line, const struct command_peer *peer)
{
	const struct command_daemon *d = daemon;

	return command_dispatch(commands, sizeof(commands) / sizeof(commands[0]), daemon, line,
				peer, d->self_uid);
}
