/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
/* the libc network headers go before the kernel ones, which defer to them */
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/ipset.h"
#include "nfqd/policy.h"

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "rulecount.h"
#include "strbuf.h"

/* Prometheus' escapes of a label value: backslash, double quote and line feed. */
static void label_value(struct strbuf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			strbuf_printf(b, "\\\\");
		else if (*v == '"')
			strbuf_printf(b, "\\\"");
		else if (*v == '\n')
			strbuf_printf(b, "\\n");
		else
			strbuf_printf(b, "%c", *v);
	}
}

/* The HELP and TYPE lines of a family; help text needs no escape (no backslash, no newline). */
static void family(struct strbuf *b, const char *name, const char *type, const char *help)
{
	strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_u64(struct strbuf *b, uint64_t v)
{
	strbuf_printf(b, "} %llu\n", (unsigned long long)v);
}

/* The counters rendered by families of their own, not as nfqd_<name>_total. */
static bool own_family(int c)
{
	return c == NFQD_CTR_RECEIVED || c == NFQD_CTR_ACCEPTED || c == NFQD_CTR_DROPPED ||
	       c == NFQD_CTR_QUEUED || c == NFQD_CTR_BATCHES || c == NFQD_CTR_ENOBUFS ||
	       c == NFQD_CTR_QUEUE_FULL;
}

static void render_info(struct strbuf *b, const struct stats_snapshot *s)
{
	family(b, "nfqd_build_info", "gauge", "nfqd's version, as the label; always 1.");
	strbuf_printf(b, "nfqd_build_info{version=\"");
	label_value(b, s->version ? s->version : "");
	strbuf_printf(b, "\"} 1\n");
	family(b, "nfqd_ruleset_generation", "gauge",
	       "The ruleset generation in force: 1 at start, one more per reload.");
	strbuf_printf(b, "nfqd_ruleset_generation %llu\n", (unsigned long long)s->generation);
	family(b, "nfqd_rules", "gauge", "Rules in the ruleset in force.");
	strbuf_printf(b, "nfqd_rules %u\n", nfqd_policy_rule_count(s->cfg->policy));
}

static void render_queue_counters(struct strbuf *b, const struct stats_snapshot *s)
{
	static const struct {
		int counter;
		const char *verdict;
	} verdicts[] = {
		{ NFQD_CTR_ACCEPTED, "accept" },
		{ NFQD_CTR_DROPPED, "drop" },
		{ NFQD_CTR_QUEUED, "queue" },
	};
	char name[96];

	family(b, "nfqd_received_total", "counter", "Packet messages read from the queue.");
	for (unsigned int q = 0; q < s->n_queues; q++) {
		strbuf_printf(b, "nfqd_received_total{queue=\"%u\"", s->queues[q].num);
		sample_u64(b, s->queues[q].counters.v[NFQD_CTR_RECEIVED]);
	}
	family(b, "nfqd_packets_total", "counter",
	       "Verdicts given, by verdict (queue: handed to another queue).");
	for (unsigned int q = 0; q < s->n_queues; q++)
		for (size_t k = 0; k < sizeof(verdicts) / sizeof(verdicts[0]); k++) {
			strbuf_printf(b, "nfqd_packets_total{queue=\"%u\",verdict=\"%s\"",
				      s->queues[q].num, verdicts[k].verdict);
			sample_u64(b, s->queues[q].counters.v[verdicts[k].counter]);
		}
	for (int c = 0; c < NFQD_CTR_MAX; c++) {
		if (own_family(c))
			continue;
		snprintf(name, sizeof(name), "nfqd_%s_total", nfqd_counter_name(c));
		family(b, name, "counter", nfqd_counter_help(c));
		for (unsigned int q = 0; q < s->n_queues; q++) {
			strbuf_printf(b, "%s{queue=\"%u\"", name, s->queues[q].num);
			sample_u64(b, s->queues[q].counters.v[c]);
		}
	}
}

static void render_kernel(struct strbuf *b, const struct stats_snapshot *s)
{
	family(b, "nfqd_kernel_dropped_total", "counter",
	       "Packets the kernel dropped or could not deliver to nfqd: full (the queue held "
	       "max-len), user (the socket could not take the message, the kernel's count), "
	       "rcvbuf (the socket's own drop count).");
	for (unsigned int q = 0; q < s->n_queues; q++) {
		const struct stats_queue *sq = &s->queues[q];

		strbuf_printf(b, "nfqd_kernel_dropped_total{queue=\"%u\",reason=\"full\"", sq->num);
		sample_u64(b, sq->counters.v[NFQD_CTR_QUEUE_FULL]);
		if (sq->kstats_ok) {
			strbuf_printf(b, "nfqd_kernel_dropped_total{queue=\"%u\",reason=\"user\"",
				      sq->num);
			sample_u64(b, sq->kstats.user_dropped);
		}
		strbuf_printf(b, "nfqd_kernel_dropped_total{queue=\"%u\",reason=\"rcvbuf\"",
			      sq->num);
		sample_u64(b, sq->counters.v[NFQD_CTR_ENOBUFS]);
	}
	family(b, "nfqd_kernel_queued", "gauge",
	       "Packets waiting in the kernel's queue for a verdict now.");
	for (unsigned int q = 0; q < s->n_queues; q++) {
		if (!s->queues[q].kstats_ok)
			continue;
		strbuf_printf(b, "nfqd_kernel_queued{queue=\"%u\"", s->queues[q].num);
		sample_u64(b, s->queues[q].kstats.queued);
	}
	family(b, "nfqd_queue_info", "gauge", "The transport each queue uses, as a label; 1.");
	for (unsigned int q = 0; q < s->n_queues; q++) {
		strbuf_printf(b, "nfqd_queue_info{queue=\"%u\",transport=\"", s->queues[q].num);
		label_value(b, s->queues[q].transport ? s->queues[q].transport : "");
		strbuf_printf(b, "\"} 1\n");
	}
	family(b, "nfqd_queue_rcvbuf_bytes", "gauge",
	       "The socket receive buffer the kernel granted the queue.");
	for (unsigned int q = 0; q < s->n_queues; q++) {
		strbuf_printf(b, "nfqd_queue_rcvbuf_bytes{queue=\"%u\"", s->queues[q].num);
		sample_u64(b, s->queues[q].rcvbuf);
	}
}

/* The batch sizes as a Prometheus histogram: cumulative buckets ending in +Inf = _count. */
static void render_batches(struct strbuf *b, const struct stats_snapshot *s)
{
	family(b, "nfqd_batch_size", "histogram",
	       "Messages returned by each receive call of the queue.");
	for (unsigned int q = 0; q < s->n_queues; q++) {
		const struct nfqd_counters *c = &s->queues[q].counters;
		uint64_t cum = 0;

		for (unsigned int k = 0; k < NFQD_BATCH_BUCKETS; k++) {
			cum += c->batch[k];
			strbuf_printf(b, "nfqd_batch_size_bucket{queue=\"%u\",le=\"%s\"",
				      s->queues[q].num, nfqd_batch_bucket_name(k));
			sample_u64(b, cum);
		}
		strbuf_printf(b, "nfqd_batch_size_sum{queue=\"%u\"", s->queues[q].num);
		sample_u64(b, c->batch_sum);
		strbuf_printf(b, "nfqd_batch_size_count{queue=\"%u\"", s->queues[q].num);
		sample_u64(b, cum);
	}
}

/* text="...",occurrence="N",verdict="..." of rule r */
static void rule_labels(struct strbuf *b, const struct nfqd_policy *p, unsigned int r,
			const unsigned int *occ)
{
	char vbuf[32];

	strbuf_printf(b, "text=\"");
	label_value(b, nfqd_policy_rule_text(p, r));
	strbuf_printf(b, "\",occurrence=\"%u\",verdict=\"", occ[r]);
	label_value(b, nfqd_policy_rule_verdict_text(p, r, vbuf, sizeof(vbuf)));
	strbuf_printf(b, "\"");
}

/* One per-rule family: field 0 packets, 1 bytes, of every rule on every queue. */
static void render_rule_family(struct strbuf *b, const struct stats_snapshot *s,
			       const unsigned int *occ, const char *name, int bytes,
			       const char *help)
{
	const struct nfqd_policy *p = s->cfg->policy;
	unsigned int n = nfqd_policy_rule_count(p);

	family(b, name, "counter", help);
	for (unsigned int r = 0; r < n; r++)
		for (unsigned int q = 0; q < s->n_queues; q++) {
			const struct rule_count *c =
				s->rule_counts ? &s->rule_counts[q * (n + 1) + r] : NULL;

			strbuf_printf(b, "%s{queue=\"%u\",", name, s->queues[q].num);
			rule_labels(b, p, r, occ);
			sample_u64(b, !c ? 0 : bytes ? c->bytes : c->packets);
		}
}

static void render_rules(struct strbuf *b, const struct stats_snapshot *s)
{
	const struct nfqd_policy *p = s->cfg->policy;
	unsigned int n = nfqd_policy_rule_count(p);
	const char *dv = nfqd_policy_default(p) == NF_ACCEPT ? "accept" : "drop";
	unsigned int *occ = calloc(n ? n : 1, sizeof(*occ));

	if (!occ || rule_counts_occurrences(p, occ) < 0) {
		free(occ);
		b->oom = true;
		return;
	}
	family(b, "nfqd_rule_info", "gauge",
	       "Each rule in force: its position (rule, from 1) and line in the file; 1.");
	for (unsigned int r = 0; r < n; r++) {
		strbuf_printf(b, "nfqd_rule_info{rule=\"%u\",line=\"%u\",", r + 1,
			      s->cfg->rule_lines ? s->cfg->rule_lines[r] : 0);
		rule_labels(b, p, r, occ);
		strbuf_printf(b, "} 1\n");
	}
	render_rule_family(b, s, occ, "nfqd_rule_matches_total", 0,
			   "Packets the rule gave its verdict to.");
	render_rule_family(b, s, occ, "nfqd_rule_bytes_total", 1,
			   "Bytes (full IP length) of the packets the rule gave its verdict to.");
	free(occ);
	for (int bytes = 0; bytes < 2; bytes++) {
		const char *name =
			bytes ? "nfqd_default_bytes_total" : "nfqd_default_matches_total";

		family(b, name, "counter",
		       bytes ? "Bytes (full IP length) of the packets given the default verdict."
			     : "Packets no rule matched, given the default verdict.");
		for (unsigned int q = 0; q < s->n_queues; q++) {
			const struct rule_count *c =
				s->rule_counts ? &s->rule_counts[q * (n + 1) + n] : NULL;

			strbuf_printf(b, "%s{queue=\"%u\",verdict=\"%s\"", name, s->queues[q].num,
				      dv);
			sample_u64(b, !c ? 0 : bytes ? c->bytes : c->packets);
		}
	}
}

/* lookup="src @bl",set="bl" */
static void lookup_labels(struct strbuf *b, const struct nfqd_set_lookup *lk)
{
	strbuf_printf(b, "lookup=\"");
	label_value(b, lk->text);
	strbuf_printf(b, "\",set=\"");
	label_value(b, lk->set);
	strbuf_printf(b, "\"");
}

static void render_lookups(struct strbuf *b, const struct stats_snapshot *s)
{
	const struct nfqd_policy *p = s->cfg->policy;
	unsigned int n = nfqd_policy_lookup_count(p);

	family(b, "nfqd_set_lookup_answers_total", "counter",
	       "Set lookups answered, by how: mark (the kernel's mark bits) or test "
	       "(IPSET_CMD_TEST).");
	for (unsigned int l = 0; l < n; l++)
		for (int by = 0; by < 2; by++) {
			strbuf_printf(b, "nfqd_set_lookup_answers_total{");
			lookup_labels(b, nfqd_policy_lookup(p, l));
			strbuf_printf(b, ",by=\"%s\"", by ? "test" : "mark");
			sample_u64(b, by ? s->lookups[l].by_test : s->lookups[l].by_mark);
		}
	family(b, "nfqd_set_lookup_members_total", "counter", "Set lookups answered 'member'.");
	for (unsigned int l = 0; l < n; l++) {
		strbuf_printf(b, "nfqd_set_lookup_members_total{");
		lookup_labels(b, nfqd_policy_lookup(p, l));
		sample_u64(b, s->lookups[l].member);
	}
	family(b, "nfqd_set_lookup_failed_total", "counter",
	       "Set lookups that failed (set missing, kernel refusal).");
	for (unsigned int l = 0; l < n; l++) {
		strbuf_printf(b, "nfqd_set_lookup_failed_total{");
		lookup_labels(b, nfqd_policy_lookup(p, l));
		sample_u64(b, s->lookups[l].failed);
	}
}

char *metrics_render(const struct stats_snapshot *s)
{
	struct strbuf b = { 0 };

	render_info(&b, s);
	render_queue_counters(&b, s);
	render_kernel(&b, s);
	render_batches(&b, s);
	render_rules(&b, s);
	render_lookups(&b, s);
	/* counted by the chain NFQD-PASS, when it is loaded: no series otherwise */
	if (s->fail_open_counted) {
		family(&b, "nfqd_fail_open_passed_total", "counter",
		       "Packets that passed the queues without nfqd's verdict under fail-open.");
		strbuf_printf(&b, "nfqd_fail_open_passed_total %llu\n",
			      (unsigned long long)s->fail_open_passed);
	}
	if (b.oom) {
		strbuf_free(&b);
		return NULL;
	}
	return strbuf_steal(&b);
}

/* {"metrics":"TEXT"} */
static char *metrics_json(const struct stats_snapshot *s)
{
	struct strbuf b = { 0 };
	char *text = metrics_render(s);

	if (!text)
		return NULL;
	strbuf_printf(&b, "{\"metrics\":");
	strbuf_json_string(&b, text);
	strbuf_printf(&b, "}");
	free(text);
	return strbuf_steal(&b);
}

char *metrics_command(void *daemon, const char *args)
{
	(void)args;
	return command_render(daemon, metrics_json);
}

int metrics_write_file(const char *path, const char *text, const char **step)
{
	size_t len = strlen(text), done = 0;
	char tmp[CONFIG_METRICS_PATH_MAX + 8];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	*step = "create";
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1)
		return -errno;
	/* the unit's UMask=0077 would leave it unreadable to node-exporter's user */
	if (fchmod(fd, 0644) == -1)
		r = -errno;
	*step = "write";
	while (r == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n >= 0)
			done += (size_t)n;
		else if (errno != EINTR)
			r = -errno;
	}
	if (close(fd) == -1 && r == 0)
		r = -errno;
	if (r == 0) {
		*step = "rename";
		if (rename(tmp, path) == -1)
			r = -errno;
	}
	if (r < 0)
		unlink(tmp);
	return r;
}

struct metrics_textfile {
	sd_event_source *timer;
	const struct command_daemon *d;
	char *path;	  /* the textfile last written or tried, NULL: none */
	int err;	  /* the last write's result */
	const char *step; /* and where it failed */
};

/* Log a write's outcome when it differs from the last one's (path, error, step). */
static void note_write(struct metrics_textfile *mt, const char *path, unsigned int interval,
		       int err, const char *step)
{
	bool same_path = mt->path && strcmp(mt->path, path) == 0;

	if (same_path && err == mt->err && (err == 0 || strcmp(step, mt->step) == 0))
		return;
	if (err < 0)
		log_warning("metrics: cannot write the textfile '%s' (%s '%s.tmp', then rename): "
			    "%s; trying again every %u s",
			    path, step, path, strerror(-err), interval);
	else if (same_path)
		log_notice("metrics: the textfile '%s' is written again, every %u s", path,
			   interval);
	else
		log_info("metrics: writing the textfile '%s' every %u s", path, interval);
	if (!same_path) {
		free(mt->path);
		mt->path = strdup(path);
	}
	mt->err = err;
	mt->step = step;
}

static void write_textfile(struct metrics_textfile *mt, unsigned int *interval)
{
	struct stats_snapshot snap;
	struct stats_queue *queues;
	const char *step = "render";
	char *text;
	int r = command_snapshot(mt->d, &snap, &queues);

	if (r < 0) {
		log_error("metrics: cannot take the counters: %s", strerror(-r));
		return;
	}
	*interval = snap.cfg->metrics_interval;
	if (snap.cfg->metrics_textfile) {
		text = metrics_render(&snap);
		r = text ? metrics_write_file(snap.cfg->metrics_textfile, text, &step) : -ENOMEM;
		note_write(mt, snap.cfg->metrics_textfile, *interval, r, step);
		free(text);
	}
	command_snapshot_free(&snap, queues);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct metrics_textfile *mt = userdata;
	unsigned int interval = CONFIG_METRICS_INTERVAL_DEFAULT;
	int r;

	(void)usec;
	write_textfile(mt, &interval);
	r = sd_event_source_set_time_relative(s, (uint64_t)interval * 1000000);
	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (r < 0)
		log_error("metrics: cannot arm the textfile timer again: %s; the textfile is no "
			  "longer written",
			  strerror(-r));
	return 0;
}

int metrics_textfile_open(struct metrics_textfile **out, sd_event *ev,
			  const struct command_daemon *d)
{
	struct metrics_textfile *mt = calloc(1, sizeof(*mt));
	int r;

	if (!mt)
		return -ENOMEM;
	mt->d = d;
	/* the first write at once, in the loop's first turn */
	r = sd_event_add_time_relative(ev, &mt->timer, CLOCK_MONOTONIC, 0, 0, on_timer, mt);
	if (r < 0) {
		free(mt);
		return r;
	}
	*out = mt;
	return 0;
}

void metrics_textfile_close(struct metrics_textfile *mt)
{
	if (!mt)
		return;
	sd_event_source_disable_unref(mt->timer);
	free(mt->path);
	free(mt);
}
