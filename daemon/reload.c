/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <systemd/sd-daemon.h>

#include "nfqd/chaincount.h"
#include "nfqd/chainplan.h"
#include "nfqd/policy.h"
#include "nfqd/queue.h"
#include "nfqd/transport.h"

#include "config.h"
#include "daemon.h"
#include "fanout.h"
#include "ifwatch.h"
#include "log.h"
#include "reject.h"
#include "reload.h"
#include "rules.h"
#include "ruleset.h"
#include "sets.h"
#include "strbuf.h"
#include "worker.h"

/* How often the main thread looks whether the workers have moved past a retired generation:
 * an idle worker takes the new one within its receive timeout. */
#define REAP_INTERVAL_USEC 100000

/* Longest a reload waits for the workers to take the new generation (they take it within a
 * batch, or at once when idle: woken). */
#define RELOAD_SWITCH_MS 2000

/* Read the regular file at path whole into *out (*out_len bytes, then a NUL). */
static int read_text(const char *path, char **out, size_t *out_len, char *err, size_t errlen)
{
	int fd = config_open_file(path, err, errlen);
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) == -1) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot read the file: %s", path, strerror(-r));
		goto out;
	}
	if ((uint64_t)st.st_size > RELOAD_TEXT_MAX) {
		snprintf(err, errlen, "%s: is %lld bytes, more than a configuration (%u)", path,
			 (long long)st.st_size, RELOAD_TEXT_MAX);
		r = -EFBIG;
		goto out;
	}
	text = malloc(RELOAD_TEXT_MAX + 1);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, text + len, RELOAD_TEXT_MAX + 1 - len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = -errno;
			snprintf(err, errlen, "%s: cannot read the file: %s", path, strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > RELOAD_TEXT_MAX) {
			snprintf(err, errlen, "%s: grew beyond %u bytes while read", path,
				 RELOAD_TEXT_MAX);
			r = -EFBIG;
			goto out;
		}
	}
	text[len] = '\0';
	*out = text;
	*out_len = len;
	text = NULL;
	r = 0;
out:
	free(text);
	close(fd);
	return r;
}

int reload_load(const char *path, struct ruleset **out, char *err, size_t errlen)
{
	struct nfqd_ipset_info *infos = NULL;
	struct config *cfg = NULL;
	char *text = NULL;
	size_t len = 0;
	int r = read_text(path, &text, &len, err, errlen);

	if (r < 0)
		return r;
	r = config_load_mem(&cfg, path, text, len, err, errlen);
	if (r < 0) {
		free(text);
		return r;
	}
	r = sets_read(cfg, &infos, err, errlen);
	if (r < 0) {
		config_free(cfg);
		free(text);
		return r;
	}
	r = ruleset_new(out, cfg, text, infos);
	if (r == 0)
		(*out)->text_len = len;
	if (r < 0)
		snprintf(err, errlen, "%s: out of memory", path);
	return r;
}

/*
 * reload_load() of a start: a configuration whose reject rules the kernel's ruleset would not
 * answer is refused as a file that does not load (the last good one may serve instead).
 */
static int load_at_start(const char *path, struct ruleset **out, char *err, size_t len)
{
	int r = reload_load(path, out, err, len);

	if (r == 0 && reject_check_now((*out)->cfg, (*out)->infos, err, len) == -EBADR) {
		ruleset_free(*out);
		*out = NULL;
		r = -EBADR;
	}
	return r;
}

int reload_load_at_start(struct reload_status *st, struct ruleset **out)
{
	char err[1024], lg_err[1024];
	int r = load_at_start(st->config_path, out, err, sizeof(err));

	if (r == 0)
		return 0;
	log_error("%s", err);
	if (!st->last_good || access(st->last_good, F_OK) != 0)
		return r;
	if (load_at_start(st->last_good, out, lg_err, sizeof(lg_err)) < 0) {
		log_error("the last good configuration does not load either: %s", lg_err);
		return r;
	}
	st->from_last_good = true;
	snprintf(st->start_error, sizeof(st->start_error), "%s", err);
	log_error("%s does not load: serving with the last good configuration %s, which an "
		  "earlier nfqd loaded; fix the file and reload (nfqctl reload, systemctl reload "
		  "nfqd)",
		  st->config_path, st->last_good);
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void reload_save_last_good(struct daemon *d)
{
	const struct ruleset *rs = atomic_load(&d->shared.rulesets.current);
	const char *path = d->reload.last_good;
	const char *step = "create";
	char tmp[4096];
	int fd, r;

	if (!path || d->reload.from_last_good)
		return;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		log_error("cannot keep the last good configuration in '%s': the path is too long",
			  path);
		return;
	}
	/* A rename replaces the file whole: a reader, or nfqd starting after a crash, never
	 * sees half of it. */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		r = -errno;
		goto fail;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		r = -errno;
		goto fail;
	}
	step = "write";
	r = write_all(fd, rs->text, rs->text_len);
	if (r == 0 && fsync(fd) == -1)
		r = -errno;
	if (close(fd) == -1 && r == 0)
		r = -errno;
	if (r == 0) {
		step = "rename";
		r = rename(tmp, path) == -1 ? -errno : 0;
	}
	if (r == 0)
		return;
	(void)unlink(tmp);
fail:
	log_error("cannot keep the last good configuration in '%s' (%s '%s'): %s", path, step, tmp,
		  strerror(-r));
}

static bool has_queue(const struct config *c, unsigned int q)
{
	for (unsigned int i = 0; i < c->n_queues; i++)
		if (c->queues[i] == q)
			return true;
	return false;
}

static bool slot_used(const struct daemon *d, unsigned int slot)
{
	return d->workers[slot].queue != NULL;
}

/* The lowest generation the running workers announced: what the retired ones are reaped by. */
static uint64_t min_seen(const struct daemon *d)
{
	uint64_t min = UINT64_MAX;

	for (unsigned int i = 0; i < d->n_workers; i++) {
		uint64_t s;

		if (!d->workers[i].running)
			continue;
		s = atomic_load(&d->workers[i].rs_seen);
		if (s < min)
			min = s;
	}
	return min;
}

static int on_reap(sd_event_source *s, uint64_t usec, void *userdata);

/* Free what no worker uses any more, and look again later while something waits. */
static void reap(struct daemon *d)
{
	int r;

	ruleset_reap(&d->shared.rulesets, min_seen(d));
	if (!ruleset_retired_pending(&d->shared.rulesets) || d->reload.reap_armed)
		return;
	r = sd_event_add_time_relative(d->ev, NULL, CLOCK_MONOTONIC, REAP_INTERVAL_USEC, 0, on_reap,
				       d);
	if (r < 0)
		log_error("cannot arm the timer that frees old rulesets: %s; they are freed at the "
			  "next reload or at exit",
			  strerror(-r));
	else
		d->reload.reap_armed = true;
}

static int on_reap(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void)s;
	(void)usec;
	d->reload.reap_armed = false;
	reap(d);
	return 0;
}

/*
 * Wake every worker and wait, up to RELOAD_SWITCH_MS, until all announce generation gen: when
 * the reload answers, every packet read from then on is judged by it, and the counters (of
 * the lookups that moved) are where its stats say.
 */
static void switch_workers(struct daemon *d, uint64_t gen)
{
	struct timespec start, now;
	long long ms = 0;

	for (unsigned int i = 0; i < d->n_workers; i++)
		worker_wake(&d->workers[i]);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (min_seen(d) < gen) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (now.tv_sec - start.tv_sec) * 1000LL + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (ms >= RELOAD_SWITCH_MS) {
			log_warning("generation %llu: not every worker took it within %lld ms; "
				    "they take it with their next batch",
				    (unsigned long long)gen, ms);
			return;
		}
		usleep(1000);
	}
}

/* Drain and unbind the queue of slot, then free the slot. */
static void stop_slot(struct daemon *d, unsigned int slot)
{
	struct worker *w = &d->workers[slot];
	struct nfqd_counters c;
	char name[32];

	worker_join(w);
	if (w->start_err == 0)
		daemon_log_final(w);
	/* it judged by the generation in force (it took it to drain): numbered as d->cfg */
	worker_counters(w, &c);
	for (int k = 0; k < NFQD_CTR_MAX; k++)
		d->retired[k] += c.v[k];
	for (unsigned int l = 0; l < NFQD_POLICY_MAX_LOOKUPS; l++) {
		struct lookup_counters one;

		worker_lookup_counters(w, l, &one);
		d->retired_lookups[l].by_mark += one.by_mark;
		d->retired_lookups[l].by_test += one.by_test;
		d->retired_lookups[l].member += one.member;
		d->retired_lookups[l].failed += one.failed;
	}
	log_info("queue %u: unbound: no longer configured", nfqd_queue_num(w->queue));
	handover_queue_name(nfqd_queue_num(w->queue), name, sizeof(name));
	worker_destroy(w);
	/* the fd store's copy would keep the queue bound */
	handover_unstore(name);
	memset(w, 0, sizeof(*w));
}

/* Start the worker of a slot bound by the reload; 0, or -errno with the slot freed. */
static int start_slot(struct daemon *d, unsigned int slot, char *msg, size_t len)
{
	struct worker *w = &d->workers[slot];
	unsigned int num = nfqd_queue_num(w->queue);
	int r = worker_start(w, daemon_worker_cpu(d, slot));

	if (r < 0) {
		snprintf(msg, len, "queue %u: cannot start its worker thread: %s", num,
			 strerror(-r));
		worker_destroy(w);
		memset(w, 0, sizeof(*w));
		return r;
	}
	while (sem_wait(&d->shared.started) == -1 && errno == EINTR)
		;
	if (w->start_err < 0) {
		r = w->start_err;
		snprintf(msg, len, "queue %u: cannot start the queue: %s", num, strerror(-r));
		worker_join(w);
		worker_destroy(w);
		memset(w, 0, sizeof(*w));
		return r;
	}
	log_info("queue %u: bound by the reload, worker on cpu %d, transport %s, receive buffer "
		 "%u bytes",
		 num, w->cpu, nfqd_transport_name(w->transport), nfqd_queue_rcvbuf(w->queue));
	return 0;
}

/*
 * Build everything the new generation needs before anything changes: each slot's set lookups,
 * the interface watch, the queues to add bound in free slots (added[] lists them). On failure
 * nothing of it is left and msg says why.
 */
static int prepare(struct daemon *d, struct ruleset *rs, unsigned int *added, unsigned int *n_added,
		   struct ifwatch **iw, char *msg, size_t len)
{
	const struct config *c = rs->cfg;
	unsigned int free_slot = 0;
	int r = 0;

	*n_added = 0;
	*iw = NULL;
	/* the queues removed too: their workers judge by the new rules until they are drained */
	for (unsigned int s = 0; s < d->n_workers && r == 0; s++)
		if (slot_used(d, s))
			r = ruleset_add_slot(rs, s);
	if (r < 0) {
		snprintf(msg, len, "cannot set up the set lookups of the new rules: %s",
			 strerror(-r));
		return r;
	}
	r = ifwatch_open(iw, d->ev, c->policy, msg, len);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < c->n_queues; i++) {
		bool bound = false;

		for (unsigned int s = 0; s < d->n_workers && !bound; s++)
			bound = slot_used(d, s) &&
				nfqd_queue_num(d->workers[s].queue) == c->queues[i];
		if (bound)
			continue;
		while (free_slot < CONFIG_MAX_QUEUES && slot_used(d, free_slot))
			free_slot++;
		/* the queues being removed still hold their slots */
		if (free_slot == CONFIG_MAX_QUEUES) {
			snprintf(msg, len,
				 "queue %u: no free worker slot (%u queues at most, counting those "
				 "this reload removes): remove queues in one reload, add in the "
				 "next",
				 c->queues[i], CONFIG_MAX_QUEUES);
			r = -ENOSPC;
			break;
		}
		r = ruleset_add_slot(rs, free_slot);
		if (r < 0) {
			snprintf(msg, len, "queue %u: cannot set up its set lookups: %s",
				 c->queues[i], strerror(-r));
			break;
		}
		r = worker_init(&d->workers[free_slot], free_slot, c->queues[i], c, &d->shared, msg,
				len);
		if (r < 0) {
			worker_destroy(&d->workers[free_slot]);
			memset(&d->workers[free_slot], 0, sizeof(d->workers[free_slot]));
			break;
		}
		added[(*n_added)++] = free_slot;
		if (free_slot >= d->n_workers)
			d->n_workers = free_slot + 1;
	}
	if (r == 0)
		return 0;
	for (unsigned int i = 0; i < *n_added; i++) {
		worker_destroy(&d->workers[added[i]]);
		memset(&d->workers[added[i]], 0, sizeof(d->workers[added[i]]));
	}
	*n_added = 0;
	ifwatch_close(*iw);
	*iw = NULL;
	return r;
}

static void record(struct daemon *d, int result, const char *msg)
{
	d->reload.reloads++;
	d->reload.last_result = result;
	snprintf(d->reload.last_message, sizeof(d->reload.last_message), "%s", msg);
	clock_gettime(CLOCK_REALTIME, &d->reload.last_at);
}

static void notify_reloading(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)now.tv_sec * 1000000ULL +
			   (unsigned long long)now.tv_nsec / 1000);
}

/*
 * Make rs the generation in force: every worker takes it (within RELOAD_SWITCH_MS), the counters
 * of removed queues are numbered as rs numbers its lookups, its interface watch replaces the old.
 */
static void swap_in(struct daemon *d, const struct ruleset *old, struct ruleset *rs,
		    struct ifwatch *iw)
{
	struct lookup_counters moved[NFQD_POLICY_MAX_LOOKUPS];
	int r = droplog_start(d->shared.droplog, rs->cfg->policy);

	/* its packets are still judged; their records wait in the rings, counted when full */
	if (r < 0)
		log_error("reload: cannot start the drop log's thread: %s; the lines of log rules "
			  "are not written",
			  strerror(-r));
	ruleset_publish(&d->shared.rulesets, rs);
	switch_workers(d, rs->gen);
	/* old is retired, not freed: only reap() frees, later */
	lookup_counters_follow(old->cfg->policy, rs->cfg->policy, d->retired_lookups, moved);
	memcpy(d->retired_lookups, moved, sizeof(moved));
	d->cfg = rs->cfg;
	d->infos = rs->infos;
	ifwatch_close(d->ifwatch);
	d->ifwatch = iw;
	d->reload.from_last_good = false;
}

/*
 * Start the workers of the queues prepare() bound, then drain and unbind the queues rs no longer
 * names. Returns how many added queues could not start (why says the last reason).
 */
/*
 * Under fanout = cpu the CPU of a queue follows the range (queue A+N takes CPU N's packets): after
 * a reload that changed the fanout or the range, move each kept worker whose queue now takes
 * another CPU's packets. A worker that is not pinned stays so; under balance none moves.
 */
static void place_kept(struct daemon *d)
{
	int cpus[CPU_SETSIZE], n = daemon_fanout_cpus(d, cpus);

	if (d->cfg->fanout != FANOUT_CPU)
		return;
	for (unsigned int s = 0; s < d->n_workers; s++) {
		struct worker *w = &d->workers[s];
		unsigned int num;
		int cpu, from = w->cpu, r;

		if (!slot_used(d, s) || !w->running || from < 0)
			continue;
		num = nfqd_queue_num(w->queue);
		cpu = fanout_cpu_of_queue(d->cfg, num, cpus, n);
		if (cpu < 0 || cpu == from)
			continue;
		r = worker_pin(w, cpu);
		if (r < 0)
			log_error("queue %u: cannot move its worker from cpu %d to cpu %d, where "
				  "fanout = cpu now queues its packets: %s",
				  num, from, cpu, strerror(-r));
		else
			log_info("queue %u: worker moved from cpu %d to cpu %d, where fanout = cpu "
				 "now "
				 "queues its packets",
				 num, from, cpu);
	}
}

static unsigned int change_queues(struct daemon *d, const struct ruleset *rs,
				  const unsigned int *added, unsigned int n_added,
				  unsigned int *n_removed, char *why, size_t len)
{
	unsigned int failed = 0;

	for (unsigned int i = 0; i < n_added; i++)
		if (start_slot(d, added[i], why, len) < 0) {
			log_error("%s", why);
			failed++;
		}
	/* Every removed queue drains at once, then each is joined and unbound. */
	*n_removed = 0;
	for (unsigned int s = 0; s < d->n_workers; s++)
		if (slot_used(d, s) && !has_queue(rs->cfg, nfqd_queue_num(d->workers[s].queue))) {
			worker_stop(&d->workers[s]);
			(*n_removed)++;
		}
	for (unsigned int s = 0; s < d->n_workers; s++)
		if (slot_used(d, s) && atomic_load(&d->workers[s].stop))
			stop_slot(d, s);
	while (d->n_workers > 0 && !slot_used(d, d->n_workers - 1))
		d->n_workers--;
	d->cmd.n_queues = d->n_workers;
	place_kept(d);
	return failed;
}

int64_t reload_run(struct daemon *d, const char *trigger, char *msg, size_t len)
{
	struct ruleset *old = atomic_load(&d->shared.rulesets.current);
	unsigned int added[CONFIG_MAX_QUEUES], n_added = 0, n_removed = 0, failed = 0;
	struct ruleset *rs = NULL;
	struct ifwatch *iw = NULL;
	char qlist[512], why[512] = "";
	int r;

	notify_reloading();
	log_info("%s: reloading %s", trigger, d->reload.config_path);
	r = reload_load(d->reload.config_path, &rs, msg, len);
	if (r == 0)
		daemon_log_lint(rs->cfg);
	if (r == 0) {
		struct ruleset_loaded loaded;

		ruleset_read_loaded(d->chain, d->chain_err, &loaded);
		/* first: a reject rule nothing would answer is named by its line */
		r = reject_check_kernel(rs->cfg, rs->infos, &loaded, d->chain, msg, len);
		if (r == 0)
			r = ruleset_check_compatible(old->cfg, old->infos, rs->cfg, rs->infos,
						     &loaded, msg, len);
		if (r == 1)
			log_info("the generated rules change, and the loaded chain " RULES_CHAIN
				 " holds the new ones");
	}
	if (r == 1)
		r = 0;
	if (r == 0)
		r = prepare(d, rs, added, &n_added, &iw, msg, len);
	if (r < 0) {
		ruleset_free(rs);
		record(d, r, msg);
		log_error("reload failed, generation %llu stays in force: %s",
			  (unsigned long long)old->gen, msg);
		sd_notifyf(0, "READY=1\nSTATUS=Reload failed, generation %llu in force: %s",
			   (unsigned long long)old->gen, msg);
		return r;
	}

	swap_in(d, old, rs, iw);
	failed = change_queues(d, rs, added, n_added, &n_removed, why, sizeof(why));

	config_format_queues(rs->cfg, qlist, sizeof(qlist));
	snprintf(msg, len,
		 "generation %llu from %s: queues %s (%u added, %u removed%s), %u rule%s, default "
		 "%s",
		 (unsigned long long)rs->gen, rs->cfg->path, qlist, n_added - failed, n_removed,
		 failed ? "; some could not be added, see the log" : "",
		 nfqd_policy_rule_count(rs->cfg->policy),
		 nfqd_policy_rule_count(rs->cfg->policy) == 1 ? "" : "s",
		 nfqd_policy_default(rs->cfg->policy) == NF_ACCEPT ? "accept" : "drop");
	record(d, failed ? -EIO : 0, failed ? why : msg);
	log_notice("reloaded: %s", msg);
	for (unsigned int i = 0; i < nfqd_policy_rule_count(rs->cfg->policy); i++)
		log_info("rule %u: %s", i + 1, nfqd_policy_rule_text(rs->cfg->policy, i));
	sd_notifyf(0, "READY=1\nSTATUS=Serving queues %s, generation %llu", qlist,
		   (unsigned long long)rs->gen);
	reload_save_last_good(d);
	reap(d);
	return (int64_t)rs->gen;
}

int reload_open_chain(struct daemon *d)
{
	struct ruleset *rs = atomic_load(&d->shared.rulesets.current);
	struct ruleset_loaded loaded;
	char msg[2048];
	int r;

	d->chain_err = nfqd_chaincount_open(&d->chain, RULES_TABLE, RULES_CHAIN);
	if (d->chain_err < 0)
		log_warning("cannot open a netlink socket to read chain " RULES_CHAIN
			    " (reloads that change the generated rules will be refused): %s",
			    strerror(-d->chain_err));
	ruleset_read_loaded(d->chain, d->chain_err, &loaded);
	r = ruleset_check_loaded(rs->cfg, rs->infos, &loaded, msg, sizeof(msg));
	if (r == 0)
		log_info("the loaded chain " RULES_CHAIN " holds the rules of %s", rs->cfg->path);
	else if (r == -ENOENT)
		log_notice("%s", msg);
	else
		log_warning("%s", msg);
	if (reject_check_kernel(rs->cfg, rs->infos, &loaded, d->chain, msg, sizeof(msg)) < 0) {
		log_error("%s", msg);
		return -EBADR;
	}
	if (reject_first_rule(rs->cfg) >= 0)
		log_info("reject: answered by the REJECT rules of chain " RULES_CHAIN
			 ", codes in mark bits 0x%08x",
			 rs->cfg->plan.reject);
	return 0;
}

static void json_time(struct strbuf *b, const struct timespec *ts)
{
	struct tm tm;
	char buf[64];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strbuf_json_string(b, buf);
}

char *reload_status_json(struct daemon *d)
{
	const struct ruleset *rs = atomic_load(&d->shared.rulesets.current);
	const struct reload_status *st = &d->reload;
	struct strbuf b = { 0 };
	char qlist[512];

	config_format_queues(rs->cfg, qlist, sizeof(qlist));
	strbuf_printf(&b, "{\"generation\":%llu,\"loaded_at\":", (unsigned long long)rs->gen);
	json_time(&b, &rs->loaded);
	strbuf_printf(&b, ",\"config\":");
	strbuf_json_string(&b, st->config_path);
	strbuf_printf(&b, ",\"loaded_from\":");
	strbuf_json_string(&b, rs->cfg->path);
	strbuf_printf(&b, ",\"last_good\":");
	if (st->last_good)
		strbuf_json_string(&b, st->last_good);
	else
		strbuf_printf(&b, "null");
	strbuf_printf(&b, ",\"serving_last_good\":%s", st->from_last_good ? "true" : "false");
	if (st->from_last_good) {
		strbuf_printf(&b, ",\"start_error\":");
		strbuf_json_string(&b, st->start_error);
	}
	strbuf_printf(&b, ",\"queues\":");
	strbuf_json_string(&b, qlist);
	strbuf_printf(&b, ",\"rules\":%u,\"reloads\":%u,\"last_reload\":",
		      nfqd_policy_rule_count(rs->cfg->policy), st->reloads);
	if (!st->reloads) {
		strbuf_printf(&b, "null}");
		return strbuf_steal(&b);
	}
	strbuf_printf(&b, "{\"result\":\"%s\",\"at\":", st->last_result == 0 ? "ok" : "error");
	json_time(&b, &st->last_at);
	strbuf_printf(&b, ",\"message\":");
	strbuf_json_string(&b, st->last_message);
	strbuf_printf(&b, "}}");
	return strbuf_steal(&b);
}
