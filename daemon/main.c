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

#include "config.h"
#include "control.h"
#include "ifwatch.h"
#include "log.h"
#include "rules.h"
#include "strbuf.h"
#include "worker.h"

#ifndef NFQD_VERSION
#define NFQD_VERSION "0"
#endif

struct daemon {
	struct config *cfg;
	struct nfqd_ipset_info *infos; /* the set of each lookup, read at start */
	struct ifwatch *ifwatch;
	struct worker *workers;
	unsigned int n_workers;
	struct worker_shared shared;
	sd_event *ev;
	struct control *ctl;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nfqd [-c FILE] [--check]\n"
		"       nfqd rules [-c FILE] [--ipv6]\n"
		"Netfilter queue verdict daemon: reads packets from iptables NFQUEUE rules,\n"
		"classifies them by the rules in the config and returns verdicts in batches.\n"
		"\n"
		"  -c, --config FILE  configuration file (default " CONFIG_DEFAULT_PATH ")\n"
		"      --check        validate the configuration and exit: 0 when valid,\n"
		"                     1 with FILE:LINE: what is wrong\n"
		"  -v, --verbose      log debug messages too\n"
		"  -h, --help         show this help\n"
		"  -V, --version      show the version\n"
		"\n"
		"nfqd rules prints the iptables-restore --noflush script (ip6tables-restore with\n"
		"--ipv6) that defines chain NFQD with what the configuration needs in front of "
		"its\n"
		"NFQUEUE rule: set lookups in mark bits, the flow cache, the connmark restore.\n"
		"\n"
		"Runs in the foreground and logs to stderr (systemd style); stop it with SIGTERM.\n"
		"Counters: nfqctl -s SOCKET stats\n");
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

static char *stats_json(struct daemon *d)
{
	struct nfqd_counters total = { { 0 } };
	struct strbuf b = { 0 };

	strbuf_printf(&b, "{\"version\":");
	strbuf_json_string(&b, NFQD_VERSION);
	strbuf_printf(&b, ",\"queues\":[");
	for (unsigned int i = 0; i < d->n_workers; i++) {
		const struct worker *w = &d->workers[i];
		struct nfqd_counters c;
		struct nfqd_queue_kstats ks;

		worker_counters(w, &c);
		for (int k = 0; k < NFQD_CTR_MAX; k++)
			total.v[k] += c.v[k];
		strbuf_printf(&b, "%s{\"queue\":%u", i ? "," : "", nfqd_queue_num(w->queue));
		for (int k = 0; k < NFQD_CTR_MAX; k++)
			strbuf_printf(&b, ",\"%s\":%llu", nfqd_counter_name(k),
				      (unsigned long long)c.v[k]);
		strbuf_printf(&b, ",\"transport\":");
		strbuf_json_string(&b, nfqd_transport_name(w->transport));
		strbuf_printf(&b, ",\"cpu\":%d,\"rcvbuf\":%u,\"conntrack\":%s", w->cpu,
			      nfqd_queue_rcvbuf(w->queue), w->conntrack ? "true" : "false");
		if (nfqd_queue_kstats(nfqd_queue_num(w->queue), &ks) == 0)
			strbuf_printf(&b,
				      ",\"kernel\":{\"queued\":%u,\"full_dropped\":%u,"
				      "\"user_dropped\":%u,\"last_id\":%u}",
				      ks.queued, ks.full_dropped, ks.user_dropped, ks.last_id);
		strbuf_printf(&b, "}");
	}
	strbuf_printf(&b, "],\"set_lookup\":");
	strbuf_json_string(&b, config_set_lookup_name(d->cfg->set_lookup));
	strbuf_printf(&b, ",\"flow_cache\":%s,\"lookups\":[",
		      d->cfg->flow_cache ? "true" : "false");
	for (unsigned int l = 0; l < nfqd_policy_lookup_count(d->cfg->policy); l++) {
		const struct nfqd_set_lookup *lk = nfqd_policy_lookup(d->cfg->policy, l);
		struct lookup_counters sum = { 0 }, one;

		for (unsigned int i = 0; i < d->n_workers; i++) {
			worker_lookup_counters(&d->workers[i], l, &one);
			sum.by_mark += one.by_mark;
			sum.by_test += one.by_test;
			sum.member += one.member;
			sum.failed += one.failed;
		}
		strbuf_printf(&b, "%s{\"lookup\":", l ? "," : "");
		strbuf_json_string(&b, lk->text);
		strbuf_printf(&b, ",\"set\":");
		strbuf_json_string(&b, lk->set);
		strbuf_printf(&b, ",\"type\":");
		strbuf_json_string(&b, d->infos[l].type);
		strbuf_printf(&b,
			      ",\"mark_bit\":\"0x%08x\",\"by_mark\":%llu,\"by_test\":%llu,"
			      "\"members\":%llu,\"failed\":%llu}",
			      l < d->cfg->plan.n_set_bits ? d->cfg->plan.set_bit[l] : 0,
			      (unsigned long long)sum.by_mark, (unsigned long long)sum.by_test,
			      (unsigned long long)sum.member, (unsigned long long)sum.failed);
	}
	/* how each rule's set terms are answered */
	strbuf_printf(&b, "],\"rules\":[");
	for (unsigned int r = 0; r < nfqd_policy_rule_count(d->cfg->policy); r++) {
		uint32_t lk = nfqd_policy_rule_lookups(d->cfg->policy, r);

		strbuf_printf(&b, "%s{\"rule\":", r ? "," : "");
		strbuf_json_string(&b, nfqd_policy_rule_text(d->cfg->policy, r));
		strbuf_printf(&b, ",\"set_lookup\":");
		strbuf_json_string(&b, lk ? config_set_lookup_name(d->cfg->set_lookup) : "none");
		strbuf_printf(&b, "}");
	}
	strbuf_printf(&b, "],\"total\":{");
	for (int k = 0; k < NFQD_CTR_MAX; k++)
		strbuf_printf(&b, "%s\"%s\":%llu", k ? "," : "", nfqd_counter_name(k),
			      (unsigned long long)total.v[k]);
	strbuf_printf(&b, "}}");
	return strbuf_steal(&b);
}

static char *on_command(void *user, const char *cmd)
{
	struct daemon *d = user;
	struct strbuf b = { 0 };

	if (strcmp(cmd, "stats") == 0)
		return stats_json(d);
	strbuf_printf(&b, "{\"error\":");
	if (cmd[0] == '\0') {
		strbuf_json_string(&b, "empty request; commands: stats");
	} else {
		char msg[CONTROL_REQUEST_MAX + 64];

		snprintf(msg, sizeof(msg), "unknown command '%s'; commands: stats", cmd);
		strbuf_json_string(&b, msg);
	}
	strbuf_printf(&b, "}");
	return strbuf_steal(&b);
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)s;
	(void)userdata;
	log_info("SIG%s received; draining the queues", sigabbrev_np((int)si->ssi_signo));
	sd_event_exit(sd_event_source_get_event(s), 0);
	return 0;
}

static int on_hup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)s;
	(void)si;
	(void)userdata;
	log_notice("SIGHUP received: this version cannot reload its configuration; restart nfqd "
		   "to apply a new one");
	return 0;
}

static int on_fatal(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	uint64_t v;

	(void)revents;
	(void)userdata;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_error("cannot read the worker failure event: %s", strerror(errno));
	sd_event_exit(sd_event_source_get_event(s), 1);
	return 0;
}

/* CPUs this process may run on, in order, for round-robin pinning. */
static int allowed_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == -1)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

/* The first rule (1-based, for messages) that reads lookup l. */
static unsigned int rule_of_lookup(const struct config *c, unsigned int l)
{
	for (unsigned int r = 0; r < nfqd_policy_rule_count(c->policy); r++)
		if (nfqd_policy_rule_lookups(c->policy, r) & (1u << l))
			return r;
	return 0;
}

/*
 * Read the header of every set the rules name. A missing set, or one whose elements cannot be
 * built from packets, is a start-up error naming the set and the rule. Returns 0 and *out
 * (malloc'd, one per lookup), or -errno with err filled.
 */
static int read_sets(const struct config *c, struct nfqd_ipset_info **out, char *err, size_t errlen)
{
	unsigned int n = nfqd_policy_lookup_count(c->policy);
	struct nfqd_ipset_info *infos = calloc(n ? n : 1, sizeof(*infos));
	struct nfqd_ipset *s = NULL;
	int r = 0;

	if (!infos) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (n) {
		r = nfqd_ipset_open(&s);
		if (r < 0) {
			snprintf(err, errlen, "cannot talk to ipset: %s", strerror(-r));
			goto out;
		}
	}
	for (unsigned int l = 0; l < n; l++) {
		const struct nfqd_set_lookup *lk = nfqd_policy_lookup(c->policy, l);
		unsigned int rule = rule_of_lookup(c, l);
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
				 c->rule_lines[rule], text, lk->set, strerror(-r));
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
	nfqd_ipset_close(s);
	if (r < 0)
		free(infos);
	else
		*out = infos;
	return r;
}

/* Say how every set lookup is answered, and what the flow cache and ct marks rely on. */
static void log_methods(const struct daemon *d)
{
	const struct config *c = d->cfg;
	bool conntrack = d->n_workers && d->workers[0].conntrack;
	struct nfqd_policy_marks pm;

	for (unsigned int l = 0; l < nfqd_policy_lookup_count(c->policy); l++) {
		const struct nfqd_set_lookup *lk = nfqd_policy_lookup(c->policy, l);
		unsigned int rule = rule_of_lookup(c, l);
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

static void log_final(const struct worker *w)
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
	atomic_store(&d->shared.stop, 1);
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
	signal(SIGPIPE, SIG_IGN);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
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
		r = sd_event_add_io(d->ev, NULL, d->shared.fatal_fd, EPOLLIN, on_fatal, d);
	return r;
}

static int run(struct config *cfg)
{
	struct daemon d = { .cfg = cfg };
	char err[512];
	char qlist[512];
	int cpus[CPU_SETSIZE];
	int n_cpus;
	int r, status = 1;
	bool sem = false;

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
	log_info("version %s starting: queues %s, copy-range %u, max-len %u, fail-open %s, "
		 "transport %s, batch %u; policy: %u rule%s, default %s",
		 NFQD_VERSION, qlist, cfg->copy_range, cfg->max_len, cfg->fail_open ? "yes" : "no",
		 cfg->transport, cfg->batch, nfqd_policy_rule_count(cfg->policy),
		 nfqd_policy_rule_count(cfg->policy) == 1 ? "" : "s",
		 verdict_word(nfqd_policy_default(cfg->policy)));
	for (unsigned int i = 0; i < nfqd_policy_rule_count(cfg->policy); i++)
		log_info("rule %u: %s", i + 1, nfqd_policy_rule_text(cfg->policy, i));
	log_rcvbuf_cap(cfg);

	r = read_sets(cfg, &d.infos, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}

	d.workers = calloc(cfg->n_queues, sizeof(*d.workers));
	if (!d.workers) {
		log_error("out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < cfg->n_queues; i++) {
		r = worker_init(&d.workers[i], i, cfg->queues[i], cfg, d.infos, &d.shared, err,
				sizeof(err));
		d.n_workers = i + 1;
		if (r < 0) {
			log_error("%s", err);
			goto out;
		}
	}

	r = control_open(&d.ctl, d.ev, cfg->control, on_command, &d, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	r = ifwatch_open(&d.ifwatch, d.ev, cfg->policy, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	log_methods(&d);

	if (sem_init(&d.shared.started, 0, 0) == -1) {
		log_error("cannot create a semaphore: %s", strerror(errno));
		goto out;
	}
	sem = true;
	n_cpus = allowed_cpus(cpus, CPU_SETSIZE);
	for (unsigned int i = 0; i < d.n_workers; i++) {
		int cpu = n_cpus > 0 ? cpus[i % (unsigned int)n_cpus] : -1;

		r = worker_start(&d.workers[i], cpu);
		if (r < 0) {
			log_error("queue %u: cannot start its worker thread: %s", cfg->queues[i],
				  strerror(-r));
			for (unsigned int j = i; j < d.n_workers; j++)
				d.workers[j].start_err = r;
			break;
		}
	}
	/* Every started worker posts once, whether its queue started or not. */
	for (unsigned int i = 0; i < d.n_workers; i++)
		if (d.workers[i].running)
			while (sem_wait(&d.shared.started) == -1 && errno == EINTR)
				;

	for (unsigned int i = 0; i < d.n_workers; i++) {
		if (d.workers[i].start_err < 0) {
			if (d.workers[i].running)
				log_error("queue %u: cannot start the queue: %s", cfg->queues[i],
					  strerror(-d.workers[i].start_err));
			goto stop;
		}
		log_info("queue %u: bound, worker on cpu %d, transport %s, receive buffer %u bytes",
			 cfg->queues[i], d.workers[i].cpu,
			 nfqd_transport_name(d.workers[i].transport),
			 nfqd_queue_rcvbuf(d.workers[i].queue));
	}

	sd_notifyf(0, "READY=1\nSTATUS=Serving queues %s", qlist);
	log_info("ready: serving queues %s, control socket %s", qlist, cfg->control);

	r = sd_event_loop(d.ev);
	status = r == 0 ? 0 : 1;
	sd_notify(0, "STOPPING=1\nSTATUS=Draining the queues");

stop:
	stop_workers(&d);
	for (unsigned int i = 0; i < d.n_workers; i++)
		if (d.workers[i].start_err == 0)
			log_final(&d.workers[i]);
out:
	stop_workers(&d);
	control_close(d.ctl);
	ifwatch_close(d.ifwatch);
	for (unsigned int i = 0; i < d.n_workers; i++)
		worker_destroy(&d.workers[i]);
	free(d.workers);
	free(d.infos);
	if (sem)
		sem_destroy(&d.shared.started);
	sd_event_unref(d.ev);
	close(d.shared.fatal_fd);
	if (status == 0)
		log_info("stopped");
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
			fprintf(stderr, "nfqd rules: option '%s' needs an argument\n",
				argv[optind - 1]);
			return 1;
		default:
			fprintf(stderr, "nfqd rules: unknown option '%s'\n", argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nfqd rules: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}
	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqd: %s\n", err);
		return 1;
	}
	r = read_sets(cfg, &infos, err, sizeof(err));
	if (r == 0)
		r = rules_generate(cfg, infos, ipv6, stdout, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "nfqd rules: %s\n", err);
	free(infos);
	config_free(cfg);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },	    { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	    { NULL, 0, NULL, 0 },
	};
	const char *path = CONFIG_DEFAULT_PATH;
	bool check = false;
	struct config *cfg;
	char err[1024];
	int c;

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
			fprintf(stderr, "nfqd: option '%s' needs an argument\n", argv[optind - 1]);
			fprintf(stderr, "Try 'nfqd --help'.\n");
			return 1;
		default:
			fprintf(stderr, "nfqd: unknown option '%s'\n", argv[optind - 1]);
			fprintf(stderr, "Try 'nfqd --help'.\n");
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nfqd: unexpected argument '%s'\n", argv[optind]);
		fprintf(stderr, "Try 'nfqd --help'.\n");
		return 1;
	}

	if (config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqd: %s\n", err);
		return 1;
	}
	if (check) {
		char qlist[512];

		config_format_queues(cfg, qlist, sizeof(qlist));
		printf("%s: configuration ok: queues %s, %u rule%s, default %s\n", path, qlist,
		       nfqd_policy_rule_count(cfg->policy),
		       nfqd_policy_rule_count(cfg->policy) == 1 ? "" : "s",
		       verdict_word(nfqd_policy_default(cfg->policy)));
		config_free(cfg);
		return 0;
	}

	c = run(cfg);
	config_free(cfg);
	return c;
}
