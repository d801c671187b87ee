/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd: the daemon. Reads the config, binds every queue, starts one pinned worker per queue,
 * answers the control socket, and on SIGTERM/SIGINT drains every queue and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/un.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "nfqd/ipset.h"
#include "nfqd/policy.h"
#include "nfqd/queue.h"
#include "nfqd/stats.h"
#include "nfqd/transport.h"

#include "capture.h"
#include "command.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "droplog.h"
#include "fanout.h"
#include "handover.h"
#include "ifwatch.h"
#include "log.h"
#include "metrics.h"
#include "overload.h"
#include "placement.h"
#include "privilege.h"
#include "reject.h"
#include "reload.h"
#include "ruleset.h"
#include "rules.h"
#include "sets.h"
#include "upgrade.h"
#include "watchdog.h"
#include "worker.h"

#ifndef NFQD_VERSION
#define NFQD_VERSION "0"
#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nfqd [-c FILE] [--check] [--last-good FILE]\n"
		"       nfqd rules [-c FILE] [--ipv6]\n"
		"Netfilter queue verdict daemon: reads packets from iptables NFQUEUE rules,\n"
		"classifies them by the rules in the config and returns verdicts in batches.\n"
		"\n"
		"  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		"      --check        validate the configuration and exit: 0 when valid,\n"
		"                     1 with FILE:LINE: what is wrong; also looks up the sets\n"
		"                     the rules name (when the kernel answers) and warns about\n"
		"                     rules that can never match or that an earlier rule shadows\n"
		"      --last-good FILE  keep a copy of every configuration that loaded in FILE\n"
		"                     (default $RUNTIME_DIRECTORY/" RELOAD_LAST_GOOD_NAME " under\n"
		"                     systemd, none otherwise; '' for none), and serve with it\n"
		"                     when the configuration does not load at start\n"
		"  -v, --verbose      log debug messages too\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"nfqd rules prints the iptables-restore --noflush script (ip6tables-restore with\n"
		"--ipv6) that defines chain NFQD with what the configuration needs in front of "
		"its\n"
		"NFQUEUE rule: set lookups in mark bits, the flow cache, the connmark restore.\n"
		"\n"
		"Runs in the foreground and logs to stderr (systemd style); stop it with SIGTERM,\n"
		"reload the configuration with SIGHUP (or nfqctl reload).\n"
		"Counters: nfqctl -s SOCKET stats; the ruleset in force: nfqctl -s SOCKET "
		"status\n");
}

/* A full queue of max-len messages that the receive buffer's cap cannot hold: say what a burst
 * beyond it costs, once at start. */
static void log_rcvbuf_cap(const struct config *cfg)
{
	struct nfqd_queue_config qc = {
		.copy_range = cfg->copy_range,
		.max_len = cfg->max_len,
		.rcvbuf_max = cfg->rcvbuf_max,
	};
	uint64_t need = nfqd_queue_rcvbuf_for(cfg->copy_range, cfg->max_len);
	uint64_t want = nfqd_queue_rcvbuf_want(&qc);

	if (want >= need)
		return;
	log_warning("socket receive buffer capped at %llu bytes per queue (rcvbuf-max); max-len %u "
		    "at copy-range %u needs %llu: a burst beyond it is not delivered to nfqd "
		    "(counted as enobufs) and the kernel %s it (fail-open = %s)",
		    (unsigned long long)want, cfg->max_len, cfg->copy_range,
		    (unsigned long long)need, cfg->fail_open ? "accepts" : "drops",
		    cfg->fail_open ? "yes" : "no");
}

static const char *verdict_word(uint32_t v)
{
	return v == NF_ACCEPT ? "accept" : "drop";
}

/*
 * The per-rule counters of the snapshot's queues, as the rules in force number them (the queues
 * of out, in the order take_snapshot() found them). Without memory the rules show zeros.
 */
static void snapshot_rule_counts(struct daemon *d, struct stats_snapshot *out)
{
	size_t n = (size_t)nfqd_policy_rule_count(d->cfg->policy) + 1;
	unsigned int q = 0;

	out->rule_counts = calloc(out->n_queues ? out->n_queues * n : 1, sizeof(*out->rule_counts));
	for (unsigned int i = 0; out->rule_counts && i < d->n_workers && q < out->n_queues; i++) {
		if (!d->workers[i].queue)
			continue;
		if (worker_rule_counts(&d->workers[i], &d->shared.rulesets, d->cfg->policy,
				       &out->rule_counts[q++ * n]) < 0) {
			free(out->rule_counts);
			out->rule_counts = NULL;
		}
	}
}

/* Fill a snapshot of the counters for the stats command (command.h). */
static int take_snapshot(void *user, struct stats_snapshot *out, struct stats_queue *queues,
			 unsigned int n_max)
{
	struct daemon *d = user;

	out->version = NFQD_VERSION;
	out->generation = d->shared.rulesets.last_gen;
	out->cfg = d->cfg;
	out->infos = d->infos;
	out->queues = queues;
	out->n_queues = 0;
	for (unsigned int i = 0; i < d->n_workers && out->n_queues < n_max; i++) {
		const struct worker *w = &d->workers[i];
		struct stats_queue *q = &queues[out->n_queues];

		/* a free slot: its queue was removed by a reload */
		if (!w->queue)
			continue;
		out->n_queues++;
		worker_counters(w, &q->counters);
		q->num = nfqd_queue_num(w->queue);
		q->transport = nfqd_transport_name(w->transport);
		q->cpu = w->cpu;
		q->rcvbuf = nfqd_queue_rcvbuf(w->queue);
		q->conntrack = w->conntrack;
		q->kstats_ok = nfqd_queue_kstats_of(w->queue, &q->kstats) == 0;
	}
	snapshot_rule_counts(d, out);
	out->retired = d->retired;
	out->fail_open_counted =
		overload_fail_open_passed(d->overload, &out->fail_open_passed) == 0;
	for (unsigned int l = 0; l < nfqd_policy_lookup_count(d->cfg->policy); l++) {
		struct stats_lookup *sum = &out->lookups[l];
		const struct lookup_counters *gone = &d->retired_lookups[l];

		sum->by_mark = gone->by_mark;
		sum->by_test = gone->by_test;
		sum->member = gone->member;
		sum->failed = gone->failed;
		for (unsigned int i = 0; i < d->n_workers; i++) {
			struct lookup_counters one;

			worker_lookup_counters(&d->workers[i], l, &one);
			sum->by_mark += one.by_mark;
			sum->by_test += one.by_test;
			sum->member += one.member;
			sum->failed += one.failed;
		}
	}
	return 0;
}

/* The watchdog's view of the workers (watchdog.h). */
static unsigned int read_heartbeats(void *user, unsigned int *queues, uint64_t *beats,
				    unsigned int max)
{
	const struct daemon *d = user;
	unsigned int n = 0;

	/* a free slot (a queue a reload removed) has no worker to watch */
	for (unsigned int i = 0; i < d->n_workers && n < max; i++) {
		if (!d->workers[i].queue || !d->workers[i].running)
			continue;
		queues[n] = nfqd_queue_num(d->workers[i].queue);
		beats[n++] = worker_heartbeat(&d->workers[i]);
	}
	return n;
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;
	char why[256];

	if (handover_successor_follows(why, sizeof(why))) {
		d->stop_mode = WORKER_STOP_HANDOVER;
		log_info("SIG%s received; %s: handing the queues over to the next nfqd (they stay "
			 "bound)",
			 sigabbrev_np((int)si->ssi_signo), why);
	} else {
		d->stop_mode = WORKER_STOP_DRAIN;
		log_info("SIG%s received; draining the queues (%s)",
			 sigabbrev_np((int)si->ssi_signo), why);
	}
	sd_event_exit(sd_event_source_get_event(s), 0);
	return 0;
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	char msg[1024];

	(void)s;
	(void)si;
	/* reload_run() logs the outcome */
	(void)reload_run(userdata, "SIGHUP received", msg, sizeof(msg));
	return 0;
}

static int64_t cmd_reload(void *user, char *msg, size_t len)
{
	return reload_run(user, "nfqctl reload", msg, len);
}

static char *cmd_status(void *user)
{
	return reload_status_json(user);
}

/*
 * A worker cannot go on: nfqd exits with status 1. Under a service manager that holds the
 * sockets (Restart=on-failure in the unit), the queues are handed over rather than drained and
 * unbound, so that the restart adopts them with every packet queued meanwhile, and re-queues
 * what the failed worker read and could not answer. Without one, a drain is what saves most.
 */
static int on_fatal(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
	uint64_t v;

	(void)revents;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_error("cannot read the worker failure event: %s", strerror(errno));
	if (handover_stored()) {
		d->stop_mode = WORKER_STOP_HANDOVER;
		log_error("a worker cannot go on: exiting; the queues stay bound in the service "
			  "manager's fd store for the restart to adopt");
	} else {
		d->stop_mode = WORKER_STOP_DRAIN;
		log_error("a worker cannot go on: draining the queues and exiting");
	}
	sd_event_exit(sd_event_source_get_event(s), 1);
	return 0;
}

void daemon_read_allowed_cpus(struct daemon *d)
{
	/* unknown: no CPU is allowed, so that nothing is pinned */
	if (sched_getaffinity(0, sizeof(d->allowed), &d->allowed) == -1)
		CPU_ZERO(&d->allowed);
}

int daemon_fanout_cpus(const struct daemon *d, int *cpus)
{
	const struct placement *p = &d->cfg->placement;
	int n = 0;

	for (int c = 0; c < CPU_SETSIZE; c++) {
		bool listed = p->mode != CPU_AFFINITY_LIST;

		for (unsigned int i = 0; !listed && i < p->n_cpus; i++)
			listed = p->cpus[i] == c;
		if (listed && CPU_ISSET(c, &d->allowed))
			cpus[n++] = c;
	}
	return n;
}

int daemon_worker_cpu(const struct daemon *d, unsigned int slot)
{
	const struct config *c = d->cfg;
	uint16_t queue = nfqd_queue_num(d->workers[slot].queue);
	int cpus[CPU_SETSIZE];

	/* The operator said never to pin, cpu fanout or not: the scheduler places the workers. */
	if (c->placement.mode == CPU_AFFINITY_NONE)
		return -1;
	if (c->fanout == FANOUT_CPU)
		return fanout_worker_cpu(c, queue, slot, cpus, daemon_fanout_cpus(d, cpus));
	return placement_cpu(&c->placement, slot, &d->allowed);
}

/* Warn about the rules that can never match or that an earlier rule shadows. */
void daemon_log_lint(const struct config *c)
{
	int n = nfqd_policy_lint(c->policy, NULL, 0);
	struct nfqd_policy_lint *found;

	if (n <= 0)
		return;
	found = calloc((size_t)n, sizeof(*found));
	if (!found) {
		log_error("out of memory for the %d warnings about the rules", n);
		return;
	}
	n = nfqd_policy_lint(c->policy, found, (unsigned int)n);
	for (int i = 0; i < n; i++) {
		unsigned int r = found[i].rule;

		if (found[i].kind == NFQD_LINT_SHADOWED)
			log_warning(
				"%s:%u: rule '%s' is never reached: rule '%s' on line %u before "
				"it matches every packet it matches",
				c->path, c->rule_lines[r], nfqd_policy_rule_text(c->policy, r),
				nfqd_policy_rule_text(c->policy, (unsigned int)found[i].by),
				c->rule_lines[found[i].by]);
		else
			log_warning("%s:%u: rule '%s' %s", c->path, c->rule_lines[r],
				    nfqd_policy_rule_text(c->policy, r), found[i].msg);
	}
	free(found);
}

/*
 * --check of reject rules, where the kernel answers: the loaded chain NFQD must hold the rules
 * of cfg, and no plain queue rule sends to its queues (reject_check_now()). infos: the sets, NULL
 * when they could not be read. Returns 0 when cfg has no reject rule, they are answered, or the
 * kernel cannot be asked (said so in *note); -EBADR when they would not be answered (logged).
 */
static int check_rejects(const struct config *cfg, const struct nfqd_ipset_info *infos, char *note,
			 size_t len)
{
	char msg[1024];
	int r;

	if (reject_first_rule(cfg) < 0)
		return 0;
	/* the plan needs the sets' types */
	r = nfqd_policy_lookup_count(cfg->policy) && !infos
		    ? -ENOENT
		    : reject_check_now(cfg, infos, msg, sizeof(msg));
	if (r == -EBADR) {
		log_error("%s", msg);
		return r;
	}
	if (r < 0) {
		log_notice("%s: whether the reject rules are answered was not checked",
			   r == -ENOENT ? "the sets were not read" : msg);
		snprintf(note, len, "; reject rules not checked");
		return 0;
	}
	snprintf(note, len, "; reject rules answered by the loaded chain " RULES_CHAIN);
	return 0;
}

/*
 * --check: the file has been read. Warn about dead rules, then, where the kernel answers, check
 * that every set the rules name exists and fits its rule, and that the reject rules are
 * answered. Returns the exit status.
 */
static int check_config(struct config *cfg, const char *path)
{
	unsigned int n_sets = nfqd_policy_lookup_count(cfg->policy);
	struct nfqd_ipset_info *infos = NULL;
	struct nfqd_ipset *s = NULL;
	char qlist[512], sets[64] = "", rejects[96] = "";
	char err[1024];
	int r = 0;

	daemon_log_lint(cfg);
	if (n_sets) {
		bool opened;

		r = nfqd_ipset_open(&s);
		opened = r == 0;
		if (opened)
			r = sets_read_with(s, cfg, &infos, err, sizeof(err));
		nfqd_ipset_close(s);
		/* ipset's netlink answers only to CAP_NET_ADMIN */
		if (!opened || r == -EPERM || r == -EACCES) {
			free(infos);
			infos = NULL;
			log_notice("cannot reach the kernel's ipset (%s): the sets the rules name "
				   "were not checked, only the file",
				   nfqd_ipset_strerror(r));
			snprintf(sets, sizeof(sets), "; sets not checked");
		} else if (r < 0) {
			log_error("%s", err);
			free(infos);
			return 1;
		} else {
			snprintf(sets, sizeof(sets), "; %u set lookup%s checked in the kernel",
				 n_sets, n_sets == 1 ? "" : "s");
		}
	}
	r = check_rejects(cfg, infos, rejects, sizeof(rejects));
	free(infos);
	if (r < 0)
		return 1;
	config_format_queues(cfg, qlist, sizeof(qlist));
	printf("%s: configuration ok: queues %s, %u rule%s, default %s%s%s\n", path, qlist,
	       nfqd_policy_rule_count(cfg->policy),
	       nfqd_policy_rule_count(cfg->policy) == 1 ? "" : "s",
	       verdict_word(nfqd_policy_default(cfg->policy)), sets, rejects);
	return 0;
}

/* Say how every set lookup is answered, and what the flow cache and ct marks rely on. */
static void log_methods(const struct daemon *d)
{
	const struct config *c = d->cfg;
	bool conntrack = d->n_workers && d->workers[0].conntrack;
	struct nfqd_policy_marks pm;

	for (unsigned int l = 0; l < nfqd_policy_lookup_count(c->policy); l++) {
		const struct nfqd_set_lookup *lk = nfqd_policy_lookup(c->policy, l);
		unsigned int rule = sets_rule_of_lookup(c, l);
		const char *how;
		char bit[64] = "";

		if (l < c->plan.n_set_bits)
			snprintf(bit, sizeof(bit), " (mark bit 0x%08x)", c->plan.set_bit[l]);
		if (c->set_lookup == SET_LOOKUP_TEST)
			how = "by IPSET_CMD_TEST, one per distinct element of each batch";
		else if (c->set_lookup == SET_LOOKUP_MARK)
			how = "only by the kernel's mark bits set by the generated rules";
		else
			how = "by the kernel's mark bits when the packet went through the "
			      "generated "
			      "rules, else by IPSET_CMD_TEST";
		log_info("rule %u '%s': %s (%s set %s) answered %s%s", rule + 1,
			 nfqd_policy_rule_text(c->policy, rule), lk->text, d->infos[l].type,
			 lk->set, how, bit);
	}
	nfqd_policy_marks(c->policy, &pm);
	if (pm.ct_mask || c->flow_cache)
		log_info("conntrack: %s",
			 conntrack ? "the kernel gives NFQA_CT: ct marks are read "
				     "from it and flow verdicts stamped with it"
				   : "the kernel gives no NFQA_CT: ct marks are read "
				     "from the packet mark the generated rules "
				     "restored, flow verdicts handed back with "
				     "NF_REPEAT for them to save");
	if (c->flow_cache)
		log_info("flow cache: connmark bits 0x%08x (accept) 0x%08x (drop); needs the rules "
			 "of `nfqd rules` loaded",
			 c->plan.flow_accept, c->plan.flow_drop);
}

void daemon_log_final(const struct worker *w)
{
	struct nfqd_counters c;

	nfqd_counters_read(&c, &w->counters, NULL);
	if (!w->final.kstats_ok) {
		log_info("queue %u: final: received=%llu accepted=%llu dropped=%llu "
			 "truncated=%llu errors=%llu enobufs=%llu",
			 nfqd_queue_num(w->queue), (unsigned long long)c.v[NFQD_CTR_RECEIVED],
			 (unsigned long long)c.v[NFQD_CTR_ACCEPTED],
			 (unsigned long long)c.v[NFQD_CTR_DROPPED],
			 (unsigned long long)c.v[NFQD_CTR_TRUNCATED],
			 (unsigned long long)c.v[NFQD_CTR_ERRORS],
			 (unsigned long long)w->final.drops);
		return;
	}
	/* kernel_last_id counts every packet the queue took: each was received by nfqd or lost
	 * to a full socket buffer (enobufs); kernel_queued is what was left without a verdict. */
	log_info("queue %u: final: received=%llu accepted=%llu dropped=%llu truncated=%llu "
		 "errors=%llu enobufs=%llu swept=%u kernel_last_id=%u kernel_queued=%u "
		 "kernel_full_dropped=%u kernel_user_dropped=%u",
		 nfqd_queue_num(w->queue), (unsigned long long)c.v[NFQD_CTR_RECEIVED],
		 (unsigned long long)c.v[NFQD_CTR_ACCEPTED],
		 (unsigned long long)c.v[NFQD_CTR_DROPPED],
		 (unsigned long long)c.v[NFQD_CTR_TRUNCATED],
		 (unsigned long long)c.v[NFQD_CTR_ERRORS], (unsigned long long)w->final.drops,
		 w->final.swept, w->final.kstats.last_id, w->final.kstats.queued,
		 w->final.kstats.full_dropped, w->final.kstats.user_dropped);
}

static void stop_workers(struct daemon *d)
{
	atomic_store(&d->shared.stop, d->stop_mode ? d->stop_mode : WORKER_STOP_DRAIN);
	for (unsigned int i = 0; i < d->n_workers; i++)
		worker_wake(&d->workers[i]);
	for (unsigned int i = 0; i < d->n_workers; i++)
		worker_join(&d->workers[i]);
}

static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	signal(SIGPIPE, SIG_IGN);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Start every worker and wait until each has started its queue (or failed to). Returns 0, or -1
 * after logging what failed.
 */
static int start_workers(struct daemon *d)
{
	int r;

	daemon_read_allowed_cpus(d);
	for (unsigned int i = 0; i < d->n_workers; i++) {
		if (!d->workers[i].queue)
			continue;
		r = worker_start(&d->workers[i], daemon_worker_cpu(d, i));
		if (r < 0) {
			log_error("queue %u: cannot start its worker thread: %s",
				  nfqd_queue_num(d->workers[i].queue), strerror(-r));
			for (unsigned int j = i; j < d->n_workers; j++)
				d->workers[j].start_err = r;
			break;
		}
	}
	/* Every started worker posts once, whether its queue started or not. */
	for (unsigned int i = 0; i < d->n_workers; i++)
		if (d->workers[i].running)
			while (sem_wait(&d->shared.started) == -1 && errno == EINTR)
				;

	for (unsigned int i = 0; i < d->n_workers; i++) {
		if (!d->workers[i].queue)
			continue;
		if (d->workers[i].start_err < 0) {
			if (d->workers[i].running)
				log_error("queue %u: cannot start the queue: %s",
					  nfqd_queue_num(d->workers[i].queue),
					  strerror(-d->workers[i].start_err));
			return -1;
		}
		log_info("queue %u: bound, worker on cpu %d, transport %s, receive buffer %u bytes",
			 nfqd_queue_num(d->workers[i].queue), d->workers[i].cpu,
			 nfqd_transport_name(d->workers[i].transport),
			 nfqd_queue_rcvbuf(d->workers[i].queue));
	}

	return 0;
}

/*
 * Re-execute nfqd, handing it every queue socket and the control socket: the workers stop as
 * for a hand-over (every packet read answered, the queues left bound), then exec. Returns only
 * when the exec failed: the workers then start again on the same sockets, and this process
 * serves on. Returns -errno with err saying why.
 */
static int do_upgrade(struct daemon *d, char *err, size_t errlen)
{
	struct upgrade_fd fds[CONFIG_MAX_QUEUES + 1];
	char names[CONFIG_MAX_QUEUES][32];
	unsigned int n = 0;
	int r;

	sd_notify(0, "RELOADING=1\nSTATUS=Re-executing nfqd");
	d->stop_mode = WORKER_STOP_HANDOVER;
	stop_workers(d);
	for (unsigned int i = 0; i < d->n_workers; i++) {
		if (!d->workers[i].queue)
			continue;
		handover_queue_name(nfqd_queue_num(d->workers[i].queue), names[n],
				    sizeof(names[n]));
		fds[n] = (struct upgrade_fd){ nfqd_queue_fd(d->workers[i].queue), names[n] };
		n++;
	}
	fds[n++] = (struct upgrade_fd){ control_fd(d->ctl), HANDOVER_CONTROL_NAME };
	log_info("upgrade: re-executing '%s' as pid %d with %u sockets", d->upgrade.exe,
		 (int)getpid(), n);
	if (d->cfg->seccomp)
		setenv(PRIVILEGE_FILTER_INHERITED_ENV, "1", 1);
	r = privilege_keep_across_exec(err, errlen);
	if (r == 0)
		r = upgrade_exec(&d->upgrade, fds, n, err, errlen);
	unsetenv(PRIVILEGE_FILTER_INHERITED_ENV);
	privilege_exec_failed();

	log_error("upgrade failed: %s; this nfqd serves on", err);
	d->stop_mode = WORKER_RUN;
	atomic_store(&d->shared.stop, WORKER_RUN);
	for (unsigned int i = 0; i < d->n_workers; i++) {
		d->workers[i].handed_over = false;
		d->workers[i].start_err = 0;
	}
	if (start_workers(d) < 0) {
		sd_event_exit(d->ev, 1);
		return r;
	}
	sd_notifyf(0, "READY=1\nSTATUS=Serving queues %s (upgrade failed: %s)", d->qlist, err);
	return r;
}

static int on_upgrade(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;
	char err[512];

	(void)s;
	d->upgrade_src = sd_event_source_unref(d->upgrade_src);
	(void)do_upgrade(d, err, sizeof(err));
	return 0;
}

/*
 * Check that the binary can be executed, and re-execute it on the loop's next turn (after the
 * control socket's answer went out). Returns 0 with msg saying what happens, or -errno with msg
 * saying why not.
 */
static int request_upgrade(void *user, char *msg, size_t len)
{
	struct daemon *d = user;
	int r;

	if (d->upgrade_src) {
		snprintf(msg, len, "an upgrade is under way already");
		return -EALREADY;
	}
	r = upgrade_check(&d->upgrade, msg, len);
	if (r == 0) {
		r = sd_event_add_defer(d->ev, &d->upgrade_src, on_upgrade, d);
		if (r < 0)
			snprintf(msg, len, "cannot schedule the upgrade: %s", strerror(-r));
	}
	if (r < 0) {
		log_error("upgrade refused: %s; this nfqd serves on", msg);
		return r;
	}
	snprintf(msg, len, "re-executing '%s' as pid %d", d->upgrade.exe, (int)getpid());
	return 0;
}

static int on_usr2(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	char msg[512];

	(void)s;
	(void)si;
	log_info("SIGUSR2 received: upgrade");
	(void)request_upgrade(userdata, msg, sizeof(msg));
	return 0;
}

static int setup_events(struct daemon *d)
{
	int r = sd_event_new(&d->ev);

	if (r < 0)
		return r;
	r = sd_event_add_signal(d->ev, NULL, SIGTERM, on_stop_signal, d);
	if (r >= 0)
		r = sd_event_add_signal(d->ev, NULL, SIGINT, on_stop_signal, d);
	if (r >= 0)
		r = sd_event_add_signal(d->ev, NULL, SIGHUP, on_hup, d);
	if (r >= 0)
		r = sd_event_add_signal(d->ev, NULL, SIGUSR2, on_usr2, d);
	if (r >= 0)
		r = sd_event_add_io(d->ev, NULL, d->shared.fatal_fd, EPOLLIN, on_fatal, d);
	return r;
}

/*
 * Keep only what serving the queues needs. Called once every queue is bound and every socket
 * open, and before the worker threads exist: they inherit the credentials, capabilities,
 * no_new_privs and the filter from this thread, so every thread ends up restricted alike.
 */
static int drop_privileges(const struct config *c, const struct privilege_user *user)
{
	char err[512];
	int r = privilege_drop(c->user ? user : NULL, c->seccomp, err, sizeof(err));

	if (r < 0) {
		log_error("cannot drop privileges: %s", err);
		return r;
	}
	if (c->user)
		log_info("privileges: running as user '%s' (uid %u, gid %u) with cap_net_admin "
			 "only, no_new_privs, system call filter %s",
			 c->user, (unsigned int)user->uid, (unsigned int)user->gid,
			 c->seccomp ? "on" : "off (seccomp = no)");
	else
		log_info("privileges: cap_net_admin only, no_new_privs, system call filter %s",
			 c->seccomp ? "on" : "off (seccomp = no)");
	if (c->seccomp && privilege_seccomp_unsynced())
		log_notice("kernel: no seccomp() thread synchronisation (Linux 3.17+): the system "
			   "call filter was installed while nfqd had one thread, so every thread "
			   "started after it inherits it");
	return 0;
}

/* Serve the control socket a predecessor passed, or bind it anew; either way keep it in the fd
 * store, so that a restart leaves clients no gap. */
static int open_control(struct daemon *d, char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;
	int fd = handover_take(&d->handover, HANDOVER_CONTROL_NAME);
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int r;

	if (fd >= 0) {
		r = control_adopt(&d->ctl, d->ev, fd, cfg->control, command_answer, &d->cmd, err,
				  errlen);
		if (r == 0) {
			log_info("control socket '%s': serving the one a previous nfqd passed",
				 cfg->control);
			return 0;
		}
		/*
		 * An upgrade runs under the filter of the image before, which allows no new
		 * control socket: serve the inherited one where it is until a restart.
		 */
		if (r == -EADDRNOTAVAIL && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2 &&
		    control_bound_path(fd, path, sizeof(path)) == 0 &&
		    control_adopt(&d->ctl, d->ev, fd, path, command_answer, &d->cmd, err, errlen) ==
			    0) {
			log_warning("control socket: the config names '%s', but this upgraded nfqd "
				    "keeps serving '%s' until it is restarted",
				    cfg->control, path);
			return 0;
		}
		log_warning("%s; binding it anew", err);
		close(fd);
		handover_unstore(HANDOVER_CONTROL_NAME);
	}
	r = control_open(&d->ctl, d->ev, cfg->control,
			 &(struct control_access){ cfg->control_gid, cfg->control_mode },
			 command_answer, &d->cmd, err, errlen);
	if (r == 0)
		handover_store(control_fd(d->ctl), HANDOVER_CONTROL_NAME);
	return r;
}

/* The capture command (command.h): packets cut where the copy range in force cuts them. */
static char *daemon_capture(void *user, const char *args, const struct command_peer *peer)
{
	struct daemon *d = user;

	return capture_start(d->capture, args, peer, d->cfg->copy_range);
}

/* On a hand-over the socket stays where the successor finds it: in the fd store, at its path. */
static void close_control(struct daemon *d)
{
	if (!d->ctl)
		return;
	if (d->stop_mode == WORKER_STOP_HANDOVER) {
		close(control_detach(d->ctl));
	} else {
		control_close(d->ctl);
		handover_unstore(HANDOVER_CONTROL_NAME);
	}
	d->ctl = NULL;
}

/* A drained queue is unbound, and its socket leaves the fd store; a handed-over one stays. */
static void close_queue(struct worker *w)
{
	bool was_bound = w->queue && !w->handed_over;
	char name[32];

	if (w->queue)
		handover_queue_name(nfqd_queue_num(w->queue), name, sizeof(name));
	worker_destroy(w);
	if (was_bound)
		handover_unstore(name);
	if (w->handed_over && w->kept_fd >= 0)
		close(w->kept_fd);
}

/* Serve with generation rs (taken over) until stopped; st: where it came from; argv: how to
 * execute nfqd again for an upgrade. */
static int run(struct ruleset *rs, const struct reload_status *st, char **argv)
{
	struct privilege_user user = { 0 };
	struct config *cfg = rs->cfg;
	struct daemon d = { .cfg = cfg, .infos = rs->infos, .reload = *st };
	struct metrics_textfile *metrics = NULL;
	char err[512];
	char qlist[512];
	int r, status = 1;
	bool sem = false, served = false;

	ruleset_publish(&d.shared.rulesets, rs);

	d.shared.fatal_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d.shared.fatal_fd == -1) {
		log_error("cannot create an eventfd: %s", strerror(errno));
		return 1;
	}
	r = block_signals();
	if (r == 0)
		r = setup_events(&d);
	if (r < 0) {
		log_error("cannot set up the event loop: %s", strerror(-r));
		goto out;
	}

	config_format_queues(cfg, qlist, sizeof(qlist));
	snprintf(d.qlist, sizeof(d.qlist), "%s", qlist);
	log_info("version %s starting: queues %s, copy-range %u, max-len %u, fail-open %s, "
		 "transport %s, batch %u; policy: %u rule%s, default %s",
		 NFQD_VERSION, qlist, cfg->copy_range, cfg->max_len, cfg->fail_open ? "yes" : "no",
		 cfg->transport, cfg->batch, nfqd_policy_rule_count(cfg->policy),
		 nfqd_policy_rule_count(cfg->policy) == 1 ? "" : "s",
		 verdict_word(nfqd_policy_default(cfg->policy)));
	for (unsigned int i = 0; i < nfqd_policy_rule_count(cfg->policy); i++)
		log_info("rule %u: %s", i + 1, nfqd_policy_rule_text(cfg->policy, i));
	log_rcvbuf_cap(cfg);

	/* Before anything is bound: a user that does not exist is a config error. */
	if (cfg->user) {
		r = privilege_user_lookup(cfg->user, &user, err, sizeof(err));
		if (r < 0) {
			log_error("%s:%u: %s", cfg->path, cfg->user_line, err);
			goto out;
		}
	}

	r = upgrade_init(&d.upgrade, argv, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	r = handover_collect(&d.handover, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	if (r > 0)
		log_info("%d socket%s passed by a previous nfqd (LISTEN_FDS)", r,
			 r == 1 ? "" : "s");
	d.shared.handover = &d.handover;
	r = droplog_new(&d.shared.droplog);
	if (r < 0) {
		log_error("cannot set up the drop log: %s", strerror(-r));
		goto out;
	}

	/*
	 * struct worker is cache-line aligned (its counters); calloc() promises only 16 bytes.
	 * A slot for every queue a reload may configure: a running worker never moves.
	 */
	d.workers = aligned_alloc(_Alignof(struct worker), CONFIG_MAX_QUEUES * sizeof(*d.workers));
	if (d.workers)
		memset(d.workers, 0, CONFIG_MAX_QUEUES * sizeof(*d.workers));
	if (!d.workers) {
		log_error("out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < cfg->n_queues; i++) {
		r = ruleset_add_slot(rs, i);
		if (r < 0)
			snprintf(err, sizeof(err), "queue %u: cannot set up set lookups: %s",
				 cfg->queues[i], strerror(-r));
		else
			r = worker_init(&d.workers[i], i, cfg->queues[i], cfg, &d.shared, err,
					sizeof(err));
		d.n_workers = i + 1;
		if (r < 0) {
			log_error("%s", err);
			goto out;
		}
	}

	d.cmd = (struct command_daemon){ .snapshot = take_snapshot,
					 .reload = cmd_reload,
					 .status = cmd_status,
					 .user = &d,
					 .n_queues = d.n_workers,
					 .upgrade = request_upgrade,
					 .capture = daemon_capture,
					 .self_uid = geteuid() };
	r = capture_new(&d.capture, d.ev, &d.shared.capture, &d.n_workers);
	if (r < 0) {
		log_error("cannot set up packet capture: %s", strerror(-r));
		goto out;
	}
	r = open_control(&d, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	handover_release(&d.handover);
	r = ifwatch_open(&d.ifwatch, d.ev, cfg->policy, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	r = overload_open(&d.overload, d.ev, cfg, d.workers, &d.n_workers, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	log_methods(&d);
	if (reload_open_chain(&d) < 0)
		goto out;
	/* Every queue is bound: the file is what a restart falls back on. Written before the drop,
	 * which may take the right to write the runtime directory away ([daemon] user). */
	reload_save_last_good(&d);
	if (drop_privileges(cfg, &user) < 0)
		goto out;

	if (sem_init(&d.shared.started, 0, 0) == -1) {
		log_error("cannot create a semaphore: %s", strerror(errno));
		goto out;
	}
	sem = true;
	r = droplog_start(d.shared.droplog, cfg->policy);
	if (r < 0) {
		log_error("cannot start the drop log's thread: %s", strerror(-r));
		goto stop;
	}
	if (start_workers(&d) < 0)
		goto stop;
	served = true;

	if (d.reload.from_last_good) {
		sd_notifyf(0,
			   "READY=1\nSTATUS=Serving queues %s with the LAST GOOD configuration %s: "
			   "%s\nMAINPID=%d",
			   qlist, d.reload.last_good, d.reload.start_error, (int)getpid());
		log_error("ready: serving queues %s with the last good configuration %s, not %s: "
			  "%s",
			  qlist, d.reload.last_good, d.reload.config_path, d.reload.start_error);
	} else {
		sd_notifyf(0, "READY=1\nSTATUS=Serving queues %s\nMAINPID=%d", qlist,
			   (int)getpid());
		log_info("ready: serving queues %s, control socket %s", qlist, cfg->control);
	}
	r = watchdog_open(&d.watchdog, d.ev,
			  &(struct watchdog_source){ read_heartbeats, &d, CONFIG_MAX_QUEUES });
	if (r < 0)
		log_error("cannot arm the systemd watchdog (WatchdogSec=): %s", strerror(-r));
	else if (d.watchdog)
		log_info("watchdog: %llu ms; pinging while every worker makes progress",
			 (unsigned long long)(watchdog_usec(d.watchdog) / 1000));

	r = metrics_textfile_open(&metrics, d.ev, &d.cmd);
	if (r < 0)
		log_error("metrics: cannot set up the textfile's timer: %s; no textfile is written",
			  strerror(-r));

	r = sd_event_loop(d.ev);
	status = r == 0 ? 0 : 1;
	sd_notify(0, d.stop_mode == WORKER_STOP_HANDOVER
			     ? "STOPPING=1\nSTATUS=Handing the queues over to the next nfqd"
			     : "STOPPING=1\nSTATUS=Draining the queues");

stop:
	stop_workers(&d);
	for (unsigned int i = 0; i < d.n_workers; i++)
		if (d.workers[i].queue && d.workers[i].start_err == 0)
			daemon_log_final(&d.workers[i]);
out:
	stop_workers(&d);
	metrics_textfile_close(metrics);
	/* after the workers: the rings go with it */
	capture_free(d.capture);
	/* after the workers: every record they committed is logged */
	droplog_free(d.shared.droplog);
	d.shared.droplog = NULL;
	watchdog_close(d.watchdog);
	/* A start that failed leaves what it adopted bound and stored, for the next attempt. */
	for (unsigned int i = 0; !served && i < d.n_workers; i++)
		if (d.workers[i].adopted)
			d.workers[i].handed_over = true;
	close_control(&d);
	overload_close(d.overload);
	nfqd_chaincount_free(d.chain);
	ifwatch_close(d.ifwatch);
	for (unsigned int i = 0; i < d.n_workers; i++)
		close_queue(&d.workers[i]);
	handover_forget(&d.handover);
	free(d.workers);
	ruleset_pub_clear(&d.shared.rulesets);
	if (sem)
		sem_destroy(&d.shared.started);
	sd_event_source_unref(d.upgrade_src);
	sd_event_unref(d.ev);
	upgrade_free(&d.upgrade);
	close(d.shared.fatal_fd);
	if (status == 0)
		log_info(d.stop_mode == WORKER_STOP_HANDOVER
				 ? "stopped; the queues stay bound for the next nfqd"
				 : "stopped");
	return status;
}

/* `nfqd rules [-c FILE] [--ipv6]`: print the generated rules. */
static int main_rules(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	struct nfqd_ipset_info *infos = NULL;
	bool ipv6 = false;
	struct config *cfg;
	char err[1024];
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h6", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case '6':
			ipv6 = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			log_error("rules: option '%s' needs an argument (try 'nfqd --help')",
				  argv[optind - 1]);
			return 1;
		default:
			log_error("rules: unknown option '%s' (try 'nfqd --help')",
				  argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		log_error("rules: unexpected argument '%s' (try 'nfqd --help')", argv[optind]);
		return 1;
	}
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	r = sets_read(cfg, &infos, err, sizeof(err));
	if (r == 0)
		r = rules_generate(cfg, infos, ipv6, stdout, err, sizeof(err));
	if (r < 0)
		log_error("rules: %s", err);
	free(infos);
	config_free(cfg);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "last-good", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rundir = getenv("RUNTIME_DIRECTORY");
	struct reload_status st = { 0 };
	struct ruleset *rs;
	char *last_good = NULL;
	const char *path = CONFIG_DEFAULT_PATH;
	bool check = false;
	struct config *cfg;
	char err[1024];
	int c;

	/* stderr is what it will stay: decide its line format before any thread logs */
	log_init();
	if (argc > 1 && strcmp(argv[1], "rules") == 0)
		return main_rules(argc - 1, argv + 1);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'L':
			free(last_good);
			last_good = strdup(optarg);
			if (!last_good) {
				log_error("out of memory");
				return 1;
			}
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("nfqd %s\n", NFQD_VERSION);
			return 0;
		case ':':
			log_error("option '%s' needs an argument (try 'nfqd --help')",
				  argv[optind - 1]);
			return 1;
		default:
			log_error("unknown option '%s' (try 'nfqd --help')", argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (try 'nfqd --help')", argv[optind]);
		return 1;
	}

	if (check) {
		free(last_good);
		if (config_load(&cfg, path, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return 1;
		}
		c = check_config(cfg, path);
		config_free(cfg);
		return c;
	}

	/* systemd names the unit's RuntimeDirectory (the first, when several) */
	if (!last_good && rundir && rundir[0] == '/' &&
	    asprintf(&last_good, "%.*s/%s", (int)strcspn(rundir, ":"), rundir,
		     RELOAD_LAST_GOOD_NAME) < 0) {
		log_error("out of memory");
		return 1;
	}
	st.config_path = path;
	st.last_good = last_good && last_good[0] ? last_good : NULL;
	if (reload_load_at_start(&st, &rs) < 0) {
		free(last_good);
		return 1;
	}
	daemon_log_lint(rs->cfg);

	c = run(rs, &st, argv);
	free(last_good);
	return c;
}
