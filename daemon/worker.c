/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>

#include "nfqd/conntrack.h"
#include "nfqd/markplan.h"
#include "nfqd/packet.h"
#include "nfqd/policy.h"
#include "nfqd/setlookup.h"
#include "nfqd/queue.h"
#include "nfqd/stats.h"
#include "nfqd/transport.h"
#include "nfqd/verdict.h"

#include "config.h"
#include "handover.h"
#include "log.h"
#include "rulecount.h"
#include "worker.h"

/* A blocked receive wakes this often to look at the stop flag, in case the wake-up signal
 * came just before it blocked. */
#define RECV_TIMEOUT_MS 200

/* Lifetime of a conntrack entry created for a dropped flow; each later packet of the flow
 * renews it, as for any entry of its protocol. */
#define DROPPED_FLOW_TIMEOUT 30

/*
 * The shutdown drain runs as long as it makes progress, however many packets that takes (a full
 * queue of 65536 took 0.2 to 0.35 s on a 2-core VM, release or sanitizer build, and several
 * times that when the machine is loaded): it gives up only when neither the socket nor the
 * kernel's queue has let a packet go for this long. Shorter than the unit's TimeoutStopSec, so
 * that a stuck drain still ends with the fail-side verdict, not systemd's SIGKILL.
 */
#define DRAIN_IDLE_MS 5000

/* How long the end of a worker waits for the transport's sends to complete, and for a ring
 * transport to stop receiving at a hand-over. */
#define TX_WAIT_MS	5000

#define PACKET_MSG_TYPE ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)

static const char *verdict_name(uint32_t v)
{
	return v == NF_ACCEPT ? "accept" : "drop";
}

static void add_verdict(struct worker *w, const struct nfqd_verdict *v, struct nfqd_counters *acc);

/* A verdict as a rule writes it: "accept", "drop", "queue 3". */
static const char *verdict_text(uint32_t v, char *buf, size_t size)
{
	if ((v & NF_VERDICT_MASK) != NF_QUEUE)
		return verdict_name(v);
	snprintf(buf, size, "queue %u", v >> 16);
	return buf;
}

void lookup_counters_follow(const struct nfqd_policy *from, const struct nfqd_policy *to,
			    const struct lookup_counters *in, struct lookup_counters *out)
{
	unsigned int n_from = from ? nfqd_policy_lookup_count(from) : 0;

	memset(out, 0, NFQD_POLICY_MAX_LOOKUPS * sizeof(*out));
	for (unsigned int l = 0; l < nfqd_policy_lookup_count(to); l++) {
		const char *text = nfqd_policy_lookup(to, l)->text;

		for (unsigned int o = 0; o < n_from; o++) {
			if (strcmp(nfqd_policy_lookup(from, o)->text, text) == 0) {
				out[l].by_mark = __atomic_load_n(&in[o].by_mark, __ATOMIC_RELAXED);
				out[l].by_test = __atomic_load_n(&in[o].by_test, __ATOMIC_RELAXED);
				out[l].member = __atomic_load_n(&in[o].member, __ATOMIC_RELAXED);
				out[l].failed = __atomic_load_n(&in[o].failed, __ATOMIC_RELAXED);
				break;
			}
		}
	}
}

/*
 * The per-rule counters for generation rs, carried over from the generation in use
 * (rule_counts_follow()), published in rs for the readers before the generation is announced.
 * A counter array left in the slot belongs to a worker of this slot that has ended: readers look
 * at a slot's array only once its worker announced the generation, so it can go.
 */
static void take_rule_counts(struct worker *w, struct ruleset *rs)
{
	const struct nfqd_policy *to = rs->cfg->policy;
	struct rule_counts *rc = rule_counts_follow(w->rs ? w->policy : NULL, to, w->rules);
	struct rule_counts *old =
		atomic_load_explicit(&rs->rule_counts[w->index], memory_order_relaxed);

	if (!rc)
		log_error("queue %u: out of memory for the counters of %u rules: they are not "
			  "counted until the next reload",
			  nfqd_queue_num(w->queue), nfqd_policy_rule_count(to));
	atomic_store_explicit(&rs->rule_counts[w->index], rc, memory_order_release);
	free(old);
	w->rules = rc;
}

/*
 * Take the current ruleset generation for the next batch. A new one brings its policy, plan
 * and set lookups; the lookup counters follow their lookup by its text, so that a lookup the
 * new policy keeps keeps its counts wherever it is numbered now, and a new one starts at 0.
 */
static void take_ruleset(struct worker *w)
{
	struct ruleset *rs = ruleset_current(&w->shared->rulesets);
	struct lookup_counters moved[NFQD_POLICY_MAX_LOOKUPS];
	const struct config *c = rs->cfg;
	struct nfqd_policy_marks pm;

	/* announced after the switch: a reader told that every worker uses rs finds its counters
	 * already moved */
	/* announced when it was taken: nothing to store on the hot path */
	if (rs == w->rs)
		return;
	take_rule_counts(w, rs);
	lookup_counters_follow(w->rs ? w->policy : NULL, c->policy, w->lookups, moved);
	for (unsigned int l = 0; l < NFQD_POLICY_MAX_LOOKUPS; l++) {
		__atomic_store_n(&w->lookups[l].by_mark, moved[l].by_mark, __ATOMIC_RELAXED);
		__atomic_store_n(&w->lookups[l].by_test, moved[l].by_test, __ATOMIC_RELAXED);
		__atomic_store_n(&w->lookups[l].member, moved[l].member, __ATOMIC_RELAXED);
		__atomic_store_n(&w->lookups[l].failed, moved[l].failed, __ATOMIC_RELAXED);
	}
	w->rs = rs;
	w->policy = c->policy;
	w->plan = c->plan;
	w->set_lookup = c->set_lookup;
	w->n_lookups = nfqd_policy_lookup_count(c->policy);
	nfqd_policy_marks(c->policy, &pm);
	w->ct_mask = pm.ct_mask;
	w->reach = rs->reach;
	w->setlookup = rs->setlookup[w->index];
	w->set_timeout_ms = c->set_timeout_ms;
	droplog_limit_set(&w->log_limit, c->log_rate, c->log_period_s, c->log_burst);
	ruleset_announce(&w->rs_seen, rs);
}

/*
 * "auto" took a backend after a preferred one could not open: say why, once per process (every
 * queue meets the same kernel).
 */
static void note_fallback(const struct worker *w, const struct config *c, const char *why)
{
	static bool said;

	if (!why || said || strcmp(c->transport, "auto") != 0)
		return;
	said = true;
	log_notice("transport auto: %s; using %s", why, nfqd_transport_name(w->transport));
}

int worker_init(struct worker *w, unsigned int index, uint16_t queue, const struct config *c,
		struct worker_shared *shared, char *err, size_t errlen)
{
	struct nfqd_policy_marks pm;
	struct nfqd_queue_config qc = {
		.num = queue,
		.copy_range = c->copy_range,
		.max_len = c->max_len,
		.rcvbuf_max = c->rcvbuf_max,
		.fail_open = c->fail_open,
		.gso = true,
	};
	struct nfqd_transport_params tp = {
		.batch = c->batch,
		.msg_size = c->recv_buffer ? c->recv_buffer : nfqd_queue_msg_size(c->copy_range),
		.timeout_ms = RECV_TIMEOUT_MS,
		.depth = c->max_len,
	};
	const char *why = NULL;
	int r;

	memset(w, 0, sizeof(*w));
	w->index = index;
	w->cpu = -1;
	w->shared = shared;
	if (shared->droplog) {
		w->logring = droplog_ring(shared->droplog, index);
		if (!w->logring) {
			snprintf(err, errlen, "queue %u: cannot allocate its drop log ring: %s",
				 queue, strerror(ENOMEM));
			return -ENOMEM;
		}
	}
	w->fail_verdict = c->fail_open ? NF_ACCEPT : NF_DROP;
	w->flow_cache = c->flow_cache;
	nfqd_policy_marks(c->policy, &pm);
	/* Conntrack data costs room in every message: ask only when something reads it. */
	qc.conntrack = pm.ct_mask != 0 || c->flow_cache;

	w->kept_fd = -1;
	r = handover_open_queue(shared->handover, &w->queue, &qc, &w->adopted);
	if (r == -EBUSY) {
		struct nfqd_queue_kstats ks;
		char owner[64] = "";

		if (nfqd_queue_kstats(queue, &ks) == 0)
			snprintf(owner, sizeof(owner), " (netlink port %u)", ks.portid);
		snprintf(err, errlen,
			 "queue %u is already bound by another process%s; is another nfqd "
			 "running?",
			 queue, owner);
		return r;
	}
	if (r == -EPERM) {
		snprintf(err, errlen,
			 "queue %u: permission denied binding the queue: nfqd needs "
			 "CAP_NET_ADMIN",
			 queue);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "queue %u: cannot bind the queue: %s", queue, strerror(-r));
		return r;
	}
	w->conntrack = nfqd_queue_has_conntrack(w->queue);

	tp.adopted = w->adopted;
	r = nfqd_transport_open(&w->transport, c->transport, nfqd_queue_fd(w->queue), &tp, &why);
	if (r < 0) {
		snprintf(err, errlen, "queue %u: transport '%s' cannot work here: %s", queue,
			 c->transport, why ? why : strerror(-r));
		return r;
	}
	note_fallback(w, c, why);

	/* Batch verdicts and sweeps cover id ranges: only where ids come in order. */
	w->ordered = nfqd_transport_caps(w->transport) & NFQD_TRANSPORT_ORDERED;
	r = nfqd_batcher_new(&w->batcher, queue, c->batch, w->ordered ? NFQD_BATCHER_ORDERED : 0);
	if (r < 0) {
		snprintf(err, errlen, "queue %u: cannot set up the verdict batcher: %s", queue,
			 strerror(-r));
		return r;
	}

	w->cap = c->batch;
	w->pkts = calloc(w->cap, sizeof(*w->pkts));
	w->answers = calloc(w->cap, sizeof(*w->answers));
	w->by_test = calloc(w->cap, sizeof(*w->by_test));
	if (!w->pkts || !w->answers || !w->by_test) {
		snprintf(err, errlen, "queue %u: out of memory", queue);
		return -ENOMEM;
	}
	if (c->flow_cache) {
		r = nfqd_ct_open(&w->ct, w->cap);
		if (r == -ENOBUFS) {
			snprintf(
				err, errlen,
				"queue %u: the ctnetlink socket of the flow cache cannot get "
				"buffers for a batch of %u (%zu bytes to send, %zu to receive): "
				"nfqd needs CAP_NET_ADMIN, or raise net.core.wmem_max and rmem_max",
				queue, w->cap, nfqd_ct_sndbuf_need(w->cap),
				nfqd_ct_rcvbuf_need(w->cap));
			return r;
		}
		if (r < 0) {
			snprintf(err, errlen,
				 "queue %u: cannot open ctnetlink for the flow cache: %s", queue,
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

void worker_destroy(struct worker *w)
{
	nfqd_ct_close(w->ct);
	free(w->by_test);
	free(w->answers);
	free(w->pkts);
	nfqd_batcher_free(w->batcher);
	nfqd_transport_close(w->transport);
	if (w->handed_over)
		w->kept_fd = nfqd_queue_detach(w->queue);
	else
		nfqd_queue_free(w->queue);
	w->queue = NULL;
}

void worker_counters(const struct worker *w, struct nfqd_counters *out)
{
	struct nfqd_queue_kstats ks;
	uint64_t drops;

	nfqd_counters_read(out, &w->counters, NULL);
	if (!w->queue)
		return;
	/* the kernel counts these itself: read when asked, never per packet */
	if (nfqd_queue_drops(w->queue, &drops) == 0)
		out->v[NFQD_CTR_ENOBUFS] = drops;
	if (nfqd_queue_kstats_of(w->queue, &ks) == 0)
		out->v[NFQD_CTR_QUEUE_FULL] = ks.full_dropped;
	if (w->transport) {
		struct nfqd_transport_stats ts;

		nfqd_transport_stats(w->transport, &ts);
		out->v[NFQD_CTR_RING_FULL] = ts.ring_full;
		out->v[NFQD_CTR_RING_COPIES] = ts.ring_copies;
		out->v[NFQD_CTR_RING_EMPTY] = ts.ring_empty;
		out->v[NFQD_CTR_RING_TX_FULL] = ts.tx_ring_full;
	}
}

void worker_lookup_counters(const struct worker *w, unsigned int i, struct lookup_counters *out)
{
	const struct lookup_counters *c = &w->lookups[i];

	out->by_mark = __atomic_load_n(&c->by_mark, __ATOMIC_RELAXED);
	out->by_test = __atomic_load_n(&c->by_test, __ATOMIC_RELAXED);
	out->member = __atomic_load_n(&c->member, __ATOMIC_RELAXED);
	out->failed = __atomic_load_n(&c->failed, __ATOMIC_RELAXED);
}

int worker_rule_counts(const struct worker *w, struct ruleset_pub *pub,
		       const struct nfqd_policy *to, struct rule_count *out)
{
	uint64_t gen = atomic_load_explicit(&w->rs_seen, memory_order_acquire);
	struct ruleset *rs = ruleset_find(pub, gen);
	const struct rule_counts *rc =
		rs ? atomic_load_explicit(&rs->rule_counts[w->index], memory_order_acquire) : NULL;
	unsigned int n = nfqd_policy_rule_count(to);
	int *map;

	memset(out, 0, ((size_t)n + 1) * sizeof(*out));
	if (!rc)
		return 0;
	rule_count_read(&rc->c[rc->n_rules], &out[n]);
	if (rs->cfg->policy == to) {
		for (unsigned int r = 0; r < n; r++)
			rule_count_read(&rc->c[r], &out[r]);
		return 0;
	}
	/* the worker has not taken the generation in force yet: its rules by their text */
	map = malloc((n ? n : 1) * sizeof(*map));
	if (!map || rule_counts_map(rs->cfg->policy, to, map) < 0) {
		free(map);
		return -ENOMEM;
	}
	for (unsigned int r = 0; r < n; r++)
		if (map[r] >= 0)
			rule_count_read(&rc->c[map[r]], &out[r]);
	free(map);
	return 0;
}

/* Single-writer update of a lookup counter, as nfqd_counter_add(). */
static void lookup_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static void fatal(struct worker *w, const char *what, int err)
{
	uint64_t one = 1;

	log_error("queue %u: %s: %s; stopping", nfqd_queue_num(w->queue), what, strerror(-err));
	if (write(w->shared->fatal_fd, &one, sizeof(one)) == -1)
		log_error("queue %u: cannot tell the main thread: %s", nfqd_queue_num(w->queue),
			  strerror(errno));
}

static void commit(struct worker *w, const struct nfqd_counters *acc)
{
	nfqd_counters_commit(&w->counters, acc);
}

/* The sweeps a worker asks the batcher for (nfqd/verdict.h). */
enum sweep_kind {
	SWEEP_NEXT, /* the unreadable packets below the next id: nfqd_batcher_sweep(all 0) */
	SWEEP_ALL,  /* every queued packet, at the drain: nfqd_batcher_sweep(all 1) */
	SWEEP_SEEN, /* up to the highest id read, after a failed send: nfqd_batcher_sweep_seen() */
	SWEEP_READ, /* unordered: what was read and had no id, once caught up: sweep_read() */
	SWEEP_UNSENT, /* unordered: a failed build again, first: nfqd_batcher_unsent() */
	SWEEP_KIND_MAX,
};

/*
 * Ask the batcher for a sweep with the fail-side verdict. The batcher refuses only a verdict it
 * cannot send, which the fail-side one never is, and a sweep that needs ids in order on a
 * transport without it, which the worker never asks for; should either happen, say so, as those
 * packets then wait for the shutdown's sweep.
 */
static void request_sweep(struct worker *w, enum sweep_kind kind, struct nfqd_counters *acc)
{
	static const char *const what[SWEEP_KIND_MAX] = {
		[SWEEP_NEXT] = "the unreadable packets",
		[SWEEP_ALL] = "every queued packet",
		[SWEEP_SEEN] = "the packets of a failed send",
		[SWEEP_READ] = "the unreadable packets read",
		[SWEEP_UNSENT] = "the packets of a failed send (sent again)",
	};
	int r;

	switch (kind) {
	case SWEEP_SEEN:
		r = nfqd_batcher_sweep_seen(w->batcher, w->fail_verdict);
		break;
	case SWEEP_READ:
		r = nfqd_batcher_sweep_read(w->batcher, w->fail_verdict);
		break;
	case SWEEP_UNSENT:
		r = nfqd_batcher_unsent(w->batcher);
		break;
	default:
		r = nfqd_batcher_sweep(w->batcher, w->fail_verdict, kind == SWEEP_ALL);
		break;
	}
	if (r == 0)
		return;
	acc->v[NFQD_CTR_ERRORS]++;
	log_error("queue %u: cannot sweep %s with the fail-side verdict (%s): %s%s",
		  nfqd_queue_num(w->queue), what[kind], verdict_name(w->fail_verdict), strerror(-r),
		  r == -EOPNOTSUPP ? " (transport gives no id order); they wait for the drain"
				   : "");
}

/*
 * A packet message met without a verdict of its own (no readable id, or one the batcher
 * refused). In order, a sweep below the next id reaches it; without order, a sweep of what was
 * read, once the transport has caught up (settle_unordered()).
 */
static void owe_unreadable(struct worker *w, struct nfqd_counters *acc)
{
	if (w->ordered)
		request_sweep(w, SWEEP_NEXT, acc);
	else
		w->unread_met = true;
}

/* Say what becomes of the verdicts of a send that failed (flush()). */
static void log_send_failed(const struct worker *w, const struct nfqd_batch_stats *st, int err,
			    bool again, unsigned long sup)
{
	if (w->ordered)
		log_error("queue %u: cannot send %u verdicts (%u messages): %s; their packets get "
			  "the fail-side verdict (%s) by a sweep%s (%lu similar messages "
			  "suppressed)",
			  nfqd_queue_num(w->queue), st->verdicts, st->messages, strerror(-err),
			  verdict_name(w->fail_verdict),
			  again ? ", tried again until it goes out" : ", sent now", sup);
	else
		log_error("queue %u: cannot send %u verdicts (%u messages): %s; they are sent "
			  "again%s, before anything more is received (%lu similar messages "
			  "suppressed)",
			  nfqd_queue_num(w->queue), st->verdicts, st->messages, strerror(-err),
			  again ? " until they go out" : " now", sup);
}

/*
 * Send every verdict the batcher holds, in one send. When the send fails, its packets are still
 * queued: with ordered delivery every packet up to the highest id read has been given a verdict
 * in some build, so a sweep up to that id reaches only them (and the unreadable ones among them)
 * and is sent at once. Without ordered delivery no such sweep is sound (an id below the highest
 * read may not have been read yet), so the failed build itself goes out again, first
 * (nfqd_batcher_unsent()). If that fails too it stays owed, and the receive loop tries again on
 * every turn: on a quiet queue no later packet would bring it.
 */
static void flush(struct worker *w, struct nfqd_counters *acc)
{
	struct nfqd_batch_stats st;
	const void *buf;
	size_t len;
	unsigned long sup;
	int r;

	for (int attempt = 0;; attempt++) {
		nfqd_batcher_build(w->batcher, &buf, &len, &st);
		if (len == 0) {
			w->sweep_owed = false;
			return;
		}
		r = nfqd_transport_send(w->transport, buf, len);
		if (r >= 0) {
			acc->v[NFQD_CTR_SENDS]++;
			acc->v[NFQD_CTR_VERDICT_MSGS] += st.messages;
			acc->v[NFQD_CTR_BATCH_MSGS] += st.batch_messages;
			w->sweep_owed = false;
			nfqd_batcher_orphans_sent(w->batcher);
			/* a build after a repeated failure may have left verdicts for the next */
			if (nfqd_batcher_pending(w->batcher) == 0)
				return;
			continue;
		}
		acc->v[NFQD_CTR_ERRORS]++;
		request_sweep(w, w->ordered ? SWEEP_SEEN : SWEEP_UNSENT, acc);
		w->sweep_owed = true;
		if (ratelimit_ok(&w->rl_io, &sup))
			log_send_failed(w, &st, r, attempt > 0, sup);
		if (attempt > 0)
			return;
	}
}

/*
 * Sends the transport completed later (NFQD_TRANSPORT_ASYNC_TX) and that failed: as for a send
 * that fails at once in flush(), their packets are still queued, and a sweep up to the highest
 * id read reaches them; it goes with the next flush (or send_owed_sweep()).
 */
static void note_tx_errors(struct worker *w, struct nfqd_counters *acc)
{
	unsigned long sup;
	int err = 0;
	unsigned int n = nfqd_transport_tx_errors(w->transport, &err);

	if (n == 0)
		return;
	acc->v[NFQD_CTR_ERRORS] += n;
	request_sweep(w, SWEEP_SEEN, acc);
	w->sweep_owed = true;
	if (ratelimit_ok(&w->rl_io, &sup))
		log_error("queue %u: %u verdict sends failed when the kernel took them: %s; their "
			  "packets get the fail-side verdict (%s) by a sweep (%lu similar messages "
			  "suppressed)",
			  nfqd_queue_num(w->queue), n, strerror(-err),
			  verdict_name(w->fail_verdict), sup);
}

/* Send the sweep a failed send left owed, if any (see flush()). */
static void send_owed_sweep(struct worker *w)
{
	struct nfqd_counters acc = { .v = { 0 } };

	if (!w->sweep_owed)
		return;
	flush(w, &acc);
	commit(w, &acc);
}

/*
 * Send what a failed send left owed; returns whether the worker may receive. Without ordered
 * ids it may not while a failed build is owed: that build goes out first, and the batcher holds
 * only it and one batch more.
 */
static bool may_receive(struct worker *w)
{
	send_owed_sweep(w);
	return w->ordered || !w->sweep_owed;
}

static void add_verdict(struct worker *w, const struct nfqd_verdict *v, struct nfqd_counters *acc)
{
	int r = nfqd_batcher_add(w->batcher, v);

	if (r == -ENOSPC) {
		flush(w, acc);
		r = nfqd_batcher_add(w->batcher, v);
	}
	if (r == 0)
		w->adds++;
	if (r < 0) {
		unsigned long sup;

		acc->v[NFQD_CTR_ERRORS]++;
		/* In receive order: every packet read before this one is in the batcher. */
		owe_unreadable(w, acc);
		if (ratelimit_ok(&w->rl_packet, &sup))
			log_error("queue %u: packet %u: verdict refused by the batcher: %s (%lu "
				  "similar messages suppressed)",
				  nfqd_queue_num(w->queue), v->id, strerror(-r), sup);
	}
}

static void handle_packet(struct worker *w, const struct nlmsghdr *nlh, size_t avail,
			  struct nfqd_counters *acc);

/* Log a change of state of a lookup's set, once for all workers. */
static void log_set_state(struct worker *w, unsigned int i, int err)
{
	const struct nfqd_set_lookup *l = nfqd_policy_lookup(w->policy, i);
	int old = atomic_exchange(&w->rs->set_state[i], err);

	if (old == err)
		return;
	if (err == 0)
		log_notice("set '%s' (%s) answers again: its rules work as written", l->set,
			   l->text);
	else if (err == -ENOENT)
		log_warning("set '%s' (%s) does not exist: its rules give the on-set-error verdict "
			    "(%s) until it is back",
			    l->set, l->text, verdict_name(nfqd_policy_on_set_error(w->policy)));
	else
		log_warning("set '%s' (%s) cannot be tested: %s; its rules give the on-set-error "
			    "verdict (%s)",
			    l->set, l->text, err > -4096 ? strerror(-err) : "refused by ipset",
			    verdict_name(nfqd_policy_on_set_error(w->policy)));
}

/* The set lookups evaluation may read for packet pkt: those of the rules up to the first that
 * matches with every set answer unknown (a set term never ends the walk earlier than that). */
static uint32_t reachable_lookups(const struct worker *w, const struct nfqd_packet *pkt)
{
	struct nfqd_decision d;
	unsigned int n = nfqd_policy_rule_count(w->policy);

	nfqd_policy_eval(w->policy, pkt, NULL, &d);
	/* an unreadable packet's verdict comes before any rule, so before any set */
	if (n == 0 || ((d.flags & NFQD_DECISION_UNREADABLE) && d.rule < 0 &&
		       nfqd_policy_on_unreadable(w->policy) != NFQD_ON_UNREADABLE_EVALUATE))
		return 0;
	return w->reach[d.rule >= 0 ? (unsigned int)d.rule : n - 1];
}

/* What the preparation of a round's packets did, for the work done once per round. */
struct round {
	bool tests; /* some packet's lookups are asked of the kernel: the exchange is begun */
	unsigned int by_mark; /* packets whose lookups the mark bits answered */
};

/*
 * Answers from the kernel's mark bits, or tests registered for the exchange. A marked packet's
 * answers are read from its mark alone: the set-lookup exchange is begun only for the first
 * packet of the round that needs a test, and the lookup counters are added once per round.
 */
static void prepare(struct worker *w, unsigned int i, struct round *round,
		    struct nfqd_counters *acc)
{
	struct nfqd_packet *pkt = &w->pkts[i];
	bool marked = (pkt->mark & w->plan.marker) != 0;
	uint32_t need;

	memset(&w->answers[i], 0, sizeof(w->answers[i]));
	w->by_test[i] = 0;
	if (marked) {
		acc->v[NFQD_CTR_MARKED]++;
		/* Without NFQA_CT the generated rules restored the connmark bits the ct mark
		 * rules read into the packet mark. */
		if (!w->conntrack && w->ct_mask) {
			pkt->ct_mark = pkt->mark & w->ct_mask;
			pkt->flags |= NFQD_PKT_HAS_CTMARK;
		}
	}
	if (!w->n_lookups)
		return;
	if (marked && w->set_lookup != SET_LOOKUP_TEST && w->plan.n_set_bits) {
		nfqd_markplan_answers(&w->plan, pkt->mark, &w->answers[i]);
		round->by_mark++;
		return;
	}
	if (w->set_lookup == SET_LOOKUP_MARK) {
		if (!atomic_exchange(&w->shared->unmarked_logged, 1))
			log_warning(
				"set-lookup = mark, but packets arrive without nfqd's marker: "
				"their set rules cannot match; load the rules of `nfqd rules` or "
				"use set-lookup = auto");
		return;
	}
	need = reachable_lookups(w, pkt);
	if (!need)
		return;
	if (!round->tests)
		nfqd_setlookup_begin(w->setlookup);
	nfqd_setlookup_add(w->setlookup, i, pkt, need);
	w->by_test[i] = 1;
	round->tests = true;
}

/* Count the answers to lookups in mask: by test, or the members and failures read. */
static void count_answers(struct worker *w, uint32_t mask, const struct nfqd_set_answers *ans,
			  bool by_test)
{
	while (mask) {
		unsigned int l = (unsigned int)__builtin_ctz(mask);
		uint32_t bit = 1u << l;

		mask &= mask - 1;
		if (by_test) {
			lookup_add(&w->lookups[l].by_test, 1);
			continue;
		}
		if (ans->known & ans->member & bit)
			lookup_add(&w->lookups[l].member, 1);
		if (ans->failed & bit)
			lookup_add(&w->lookups[l].failed, 1);
	}
}

/* The packet's addresses as text, for a message; "?" when they are unknown. */
static void packet_addrs(const struct nfqd_packet *pkt, char src[INET6_ADDRSTRLEN],
			 char dst[INET6_ADDRSTRLEN])
{
	int af = pkt->l3 == 4 ? AF_INET : AF_INET6;

	if (!(pkt->flags & NFQD_PKT_HAS_L3))
		return;
	inet_ntop(af, &pkt->src, src, INET6_ADDRSTRLEN);
	inet_ntop(af, &pkt->dst, dst, INET6_ADDRSTRLEN);
}

/*
 * A reject that could not be handed to the chain (NFQD_STAMP_REJECT_UNMARKED, _LOOP): counted,
 * and said at most about once a second per worker, with what to do about it.
 */
static void note_reject_dropped(struct worker *w, const struct nfqd_packet *pkt,
				enum nfqd_stamp how, struct nfqd_counters *acc)
{
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?";
	bool loop = how == NFQD_STAMP_REJECT_LOOP;
	unsigned long sup;

	acc->v[loop ? NFQD_CTR_REJECT_LOOPS : NFQD_CTR_REJECT_UNMARKED]++;
	if (!ratelimit_ok(&w->rl_reject, &sup))
		return;
	packet_addrs(pkt, src, dst);
	log_warning("queue %u: packet %s -> %s %s; dropped instead: load the rules of `nfqd "
		    "rules` and send traffic to the queue only through chain NFQD (%lu similar "
		    "messages suppressed)",
		    nfqd_queue_num(w->queue), src, dst,
		    loop ? "came back with a reject code: the loaded chain NFQD did "
			   "not answer it"
			 : "is to be rejected but did not come through chain NFQD (no marker): "
			   "nothing would answer it",
		    sup);
}

/*
 * The verdict for a decision (nfqd_markplan_verdict()). A dropped packet takes its unconfirmed
 * conntrack entry with it, so a dropped flow's entry is created over ctnetlink once the batch's
 * verdicts are sent; it counts as stamped when the kernel took it. Returns how it is stamped.
 */
static enum nfqd_stamp make_verdict(struct worker *w, const struct nfqd_packet *pkt,
				    const struct nfqd_decision *d, bool by_test,
				    struct nfqd_verdict *v, struct nfqd_counters *acc)
{
	const struct nfqd_verdict_env env = {
		.plan = &w->plan,
		.flow_cache = w->flow_cache,
		.conntrack = w->conntrack,
	};
	uint32_t stamp;
	enum nfqd_stamp how = nfqd_markplan_verdict(&env, pkt, d, by_test, v, &stamp);

	switch (how) {
	case NFQD_STAMP_CREATE:
		(void)nfqd_ct_add(w->ct, pkt, stamp, w->plan.flow | w->plan.sets,
				  DROPPED_FLOW_TIMEOUT);
		break;
	case NFQD_STAMP_CTMARK:
	case NFQD_STAMP_REPEAT:
		acc->v[NFQD_CTR_STAMPED]++;
		break;
	case NFQD_STAMP_REJECT:
		acc->v[NFQD_CTR_REJECTED]++;
		break;
	case NFQD_STAMP_REJECT_UNMARKED:
	case NFQD_STAMP_REJECT_LOOP:
		note_reject_dropped(w, pkt, how, acc);
		break;
	default:
		break;
	}
	return how;
}

/*
 * Count an unreadable packet and say why, at most about once a second per worker: the queue,
 * the addresses when known, the protocol, the reason and the verdict given.
 */
static void note_unreadable(struct worker *w, const struct nfqd_packet *pkt,
			    const struct nfqd_decision *d, struct nfqd_counters *acc)
{
	char src[INET6_ADDRSTRLEN] = "?", dst[INET6_ADDRSTRLEN] = "?", why[96], proto[16], vbuf[16];
	unsigned long sup;

	acc->v[NFQD_CTR_UNREADABLE]++;
	if (!ratelimit_ok(&w->rl_unreadable, &sup))
		return;
	packet_addrs(pkt, src, dst);
	if (pkt->flags & NFQD_PKT_HAS_PROTO)
		snprintf(proto, sizeof(proto), "%u", pkt->l4_proto);
	else
		snprintf(proto, sizeof(proto), "unknown");
	if (nfqd_packet_unreadable_text(pkt, why, sizeof(why)) < 0)
		snprintf(why, sizeof(why), "unknown reason");
	log_warning("queue %u: unreadable packet %s -> %s, protocol %s: %s; verdict %s (%s) (%lu "
		    "similar messages suppressed)",
		    nfqd_queue_num(w->queue), src, dst, proto, why,
		    verdict_text(d->verdict, vbuf, sizeof(vbuf)),
		    nfqd_policy_on_unreadable(w->policy) == NFQD_ON_UNREADABLE_EVALUATE
			    ? "on-unreadable = evaluate"
			    : "on-unreadable",
		    sup);
}

/*
 * A batch whose set answers did not all come within set-timeout: counted, and said at most about
 * once a second per worker. A set that times out keeps the state log_set_state() last logged:
 * a kernel that answers late now and then would otherwise log two lines per batch.
 */
static void note_set_timeout(struct worker *w, uint64_t failed, struct nfqd_counters *acc)
{
	unsigned long sup;

	acc->v[NFQD_CTR_SET_TIMEOUTS]++;
	if (ratelimit_ok(&w->rl_set_timeout, &sup))
		log_warning("queue %u: the kernel's set answers did not all come within "
			    "set-timeout (%u ms): on-set-error verdict (%s) for %llu packets (%lu "
			    "similar messages suppressed)",
			    nfqd_queue_num(w->queue), w->set_timeout_ms,
			    verdict_name(nfqd_policy_on_set_error(w->policy)),
			    (unsigned long long)failed, sup);
}

/*
 * Count a decision for its rule, or for the default when no rule matched; not the on-set-error
 * and on-unreadable verdicts, which no rule gave (rulecount.h).
 */
static void count_rule(struct worker *w, const struct nfqd_packet *pkt,
		       const struct nfqd_decision *d)
{
	if (!w->rules || (d->flags & NFQD_DECISION_SET_FAILED))
		return;
	if (d->rule < 0 && (d->flags & NFQD_DECISION_UNREADABLE) &&
	    nfqd_policy_on_unreadable(w->policy) != NFQD_ON_UNREADABLE_EVALUATE)
		return;
	rule_count_add(&w->rules->c[d->rule >= 0 ? (unsigned int)d->rule : w->rules->n_rules],
		       pkt->packet_len);
}

/*
 * Hand the packet of a `log` rule to the drop log, within the rule's rate limit: a few loads and
 * stores into this worker's own ring; no system call but one clock read per batch (vDSO).
 */
static void note_log(struct worker *w, const struct nfqd_packet *pkt, const struct nfqd_decision *d,
		     struct nfqd_counters *acc)
{
	if (!w->log_now) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		w->log_now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	if (!w->logring || d->rule < 0)
		return;
	if (!droplog_admit(&w->rs->log_tat[d->rule], &w->log_limit, w->log_now))
		acc->v[NFQD_CTR_LOG_SUPPRESSED]++;
	else if (droplog_push(w->logring, pkt, d,
			      nfqd_policy_rule_log_prefix(w->policy, (unsigned int)d->rule),
			      w->rs->gen, w->log_now) < 0)
		acc->v[NFQD_CTR_LOG_RING_FULL]++;
	else
		acc->v[NFQD_CTR_LOGGED]++;
}

/* Classify the packets parsed so far and hand their verdicts to the batcher. */
static void classify(struct worker *w, struct nfqd_counters *acc)
{
	struct round round = { 0 };
	bool timed_out = false;
	uint64_t set_failed = acc->v[NFQD_CTR_SET_FAILED];
	uint32_t all = w->n_lookups ? UINT32_MAX >> (32 - w->n_lookups) : 0;

	if (w->n_pkts == 0)
		return;
	for (unsigned int i = 0; i < w->n_pkts; i++)
		prepare(w, i, &round, acc);
	if (round.by_mark)
		for (unsigned int l = 0; l < w->n_lookups; l++)
			lookup_add(&w->lookups[l].by_mark, round.by_mark);
	if (round.tests) {
		int r = nfqd_setlookup_run(w->setlookup);

		if (r > 0)
			acc->v[NFQD_CTR_SET_TESTS] += (uint64_t)r;
		timed_out = nfqd_setlookup_timed_out(w->setlookup);
		for (unsigned int l = 0; l < w->n_lookups; l++) {
			int err = nfqd_setlookup_state(w->setlookup, l)->err;

			if (err != -ETIMEDOUT)
				log_set_state(w, l, err);
		}
	}

	for (unsigned int i = 0; i < w->n_pkts; i++) {
		const struct nfqd_packet *pkt = &w->pkts[i];
		struct nfqd_set_answers *ans = &w->answers[i];
		struct nfqd_decision d;
		struct nfqd_verdict v;
		enum nfqd_stamp how;

		if (w->by_test[i]) {
			nfqd_setlookup_answers(w->setlookup, i, ans);
			count_answers(w, (ans->known | ans->failed) & all, ans, true);
		}
		nfqd_policy_eval(w->policy, pkt, ans, &d);
		count_answers(w, d.lookups_read & ((ans->known & ans->member) | ans->failed) & all,
			      ans, false);
		if (d.flags & NFQD_DECISION_SET_FAILED)
			acc->v[NFQD_CTR_SET_FAILED]++;
		if (d.flags & NFQD_DECISION_UNREADABLE)
			note_unreadable(w, pkt, &d, acc);
		count_rule(w, pkt, &d);
		if (d.flags & NFQD_DECISION_LOG)
			note_log(w, pkt, &d, acc);
		how = make_verdict(w, pkt, &d, w->by_test[i], &v, acc);
		/* fail-open holds for a queue nobody serves as for our own */
		if ((v.verdict & NF_VERDICT_MASK) == NF_QUEUE && w->fail_verdict == NF_ACCEPT)
			v.verdict |= NF_VERDICT_FLAG_QUEUE_BYPASS;
		if ((v.verdict & NF_VERDICT_MASK) == NF_QUEUE)
			acc->v[NFQD_CTR_QUEUED]++;
		else if (v.verdict == NF_DROP)
			acc->v[NFQD_CTR_DROPPED]++;
		else if (how != NFQD_STAMP_REJECT)
			acc->v[NFQD_CTR_ACCEPTED]++;
		add_verdict(w, &v, acc);
		/* The payload stays in the receive buffer until the transport's release. */
		if (capture_on(&w->shared->capture))
			acc->v[NFQD_CTR_CAPTURE_DROPPED] += (uint64_t)capture_packet(
				&w->shared->capture, w->index, pkt, d.verdict,
				d.rule >= 0 ? (uint32_t)d.rule + 1 : 0);
	}
	w->n_pkts = 0;
	if (timed_out)
		note_set_timeout(w, acc->v[NFQD_CTR_SET_FAILED] - set_failed, acc);
}

static void handle_packet(struct worker *w, const struct nlmsghdr *nlh, size_t avail,
			  struct nfqd_counters *acc)
{
	struct nfqd_packet *pkt;

	acc->v[NFQD_CTR_RECEIVED]++;
	if (w->n_pkts == w->cap)
		classify(w, acc);
	pkt = &w->pkts[w->n_pkts];
	if (nfqd_packet_parse(pkt, nlh, avail) < 0) {
		unsigned long sup;

		/*
		 * No id, so no verdict of its own: in order, a sweep over it comes with the first
		 * later id, and the batcher requires the packets read before it to be added first
		 * (their ids bound where it lies), so classify them now.
		 */
		acc->v[NFQD_CTR_ERRORS]++;
		if (w->ordered)
			classify(w, acc);
		owe_unreadable(w, acc);
		if (ratelimit_ok(&w->rl_packet, &sup))
			log_warning("queue %u: a packet message without a readable id (%zu bytes); "
				    "it gets the fail-side verdict (%s) (%lu similar messages "
				    "suppressed)",
				    nfqd_queue_num(w->queue), avail, verdict_name(w->fail_verdict),
				    sup);
		return;
	}
	/* Re-queued already (requeue_orphans(), settle_unordered()): the kernel has it under a
	 * new id. */
	if (w->stale_set && (int32_t)(pkt->id - w->stale_upto) <= 0) {
		acc->v[NFQD_CTR_STALE]++;
		return;
	}
	/* far past the re-queue: before the ids wrap round to it, no late message can come */
	if (!w->ordered && w->stale_set && (int32_t)(pkt->id - w->stale_upto) > 0x40000000)
		w->stale_set = false;
	if (!w->got_packet) {
		w->got_packet = true;
		if (w->ordered && nfqd_batcher_orphans_pending(w->batcher))
			log_info("queue %u: adopted: any packets below id %u, read by a previous "
				 "nfqd and never "
				 "answered, are re-queued (NF_REPEAT) and classified again",
				 nfqd_queue_num(w->queue), pkt->id);
	}
	if (pkt->flags & NFQD_PKT_MSG_TRUNC)
		acc->v[NFQD_CTR_TRUNCATED]++;
	if (pkt->flags & NFQD_PKT_MALFORMED)
		acc->v[NFQD_CTR_MALFORMED]++;
	if (pkt->flags & NFQD_PKT_GSO)
		acc->v[NFQD_CTR_GSO]++;
	w->n_pkts++;
}

static void handle_error(struct worker *w, const struct nlmsghdr *nlh, struct nfqd_counters *acc)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	unsigned long sup;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		acc->v[NFQD_CTR_ERRORS]++;
		return;
	}
	/* Success answers to the queue's start and freeze requests. */
	if (e->error == 0)
		return;
	/* A sweep that found every packet already given its verdict. */
	if (e->error == -ENOENT && nlh->nlmsg_seq == nfqd_batcher_sweep_seq())
		return;
	acc->v[NFQD_CTR_ERRORS]++;
	if (ratelimit_ok(&w->rl_kernel, &sup))
		log_error("queue %u: the kernel refused a message (type 0x%x, seq %u): %s (%lu "
			  "similar messages suppressed)",
			  nfqd_queue_num(w->queue), e->msg.nlmsg_type, nlh->nlmsg_seq,
			  strerror(-e->error), sup);
}

/*
 * Bytes that are no netlink message. Without ordered ids they may be a packet's message (a ring
 * frame holds one), so what was read is swept once caught up: a sweep that finds nothing costs
 * an ENOENT, a packet left without a verdict would wait for the drain.
 */
static void note_garbage(struct worker *w, struct nfqd_counters *acc)
{
	acc->v[NFQD_CTR_ERRORS]++;
	if (!w->ordered)
		w->unread_met = true;
}

static void handle_batch(struct worker *w, const struct nfqd_rx_msg *msgs, int n,
			 struct nfqd_counters *acc)
{
	for (int i = 0; i < n; i++) {
		const struct nlmsghdr *nlh = msgs[i].data;
		int len = (int)msgs[i].len;

		if (msgs[i].flags & NFQD_RX_TRUNC) {
			/* The kernel sends one packet message per datagram; a cut one still has
			 * its id at the front. */
			if ((size_t)len >= sizeof(*nlh) && nlh->nlmsg_type == PACKET_MSG_TYPE)
				handle_packet(w, nlh, (size_t)len, acc);
			else
				note_garbage(w, acc);
			continue;
		}
		while (mnl_nlmsg_ok(nlh, len)) {
			if (nlh->nlmsg_type == PACKET_MSG_TYPE)
				handle_packet(w, nlh, nlh->nlmsg_len, acc);
			else if (nlh->nlmsg_type == NLMSG_ERROR)
				handle_error(w, nlh, acc);
			else if (nlh->nlmsg_type != NLMSG_NOOP && nlh->nlmsg_type != NLMSG_DONE)
				acc->v[NFQD_CTR_ERRORS]++;
			nlh = mnl_nlmsg_next(nlh, &len);
		}
		if (len > 0)
			note_garbage(w, acc);
	}
}

/* Create the conntrack entries of the batch's dropped flows, now that their packets are gone. */
static void stamp_dropped_flows(struct worker *w, struct nfqd_counters *acc)
{
	unsigned int failed = 0;
	int r = nfqd_ct_flush(w->ct, &failed);

	if (r > 0)
		acc->v[NFQD_CTR_STAMPED] += (uint64_t)r;
	if (r < 0 || failed) {
		unsigned long sup;

		acc->v[NFQD_CTR_ERRORS]++;
		if (ratelimit_ok(&w->rl_kernel, &sup))
			log_warning(
				"queue %u: the flow cache could not record %u dropped flows: %s "
				"(their packets keep coming to nfqd) (%lu similar messages "
				"suppressed)",
				nfqd_queue_num(w->queue), r < 0 ? 0 : failed,
				r < 0 ? strerror(-r) : "refused by conntrack", sup);
	}
}

/*
 * Without ordered ids, what a receive that left the transport caught up settles (docs/DESIGN.md,
 * "Order"): every packet given an id before it looked has had its message read, so a batch
 * verdict up to an id read, after the verdicts of everything read, reaches only packets nobody
 * can read. First the re-queue of those the set-up left without a message, then the sweep of the
 * unreadable ones. An unreadable packet may have an id above every id read so far: the sweep
 * reaches it only once a receive after a caught-up one has read a packet (its id is higher),
 * so a second sweep follows then. added: this receive gave the batcher a verdict. Returns
 * whether something was requested.
 */
static bool settle_unordered(struct worker *w, bool caught, bool added, struct nfqd_counters *acc)
{
	bool tail, asked = false;
	int r;

	if (w->ordered)
		return false;
	if (!caught) {
		if (w->unread_wait && added)
			w->unread_wait_added = true;
		return false;
	}
	if (w->orphans_owed) {
		w->orphans_owed = false;
		r = nfqd_batcher_orphans_upto(w->batcher, NF_REPEAT, w->orphans_upto);
		if (r < 0) {
			acc->v[NFQD_CTR_ERRORS]++;
			log_error(
				"queue %u: cannot re-queue the packets up to id %u left without a "
				"message: %s; they wait for the drain",
				nfqd_queue_num(w->queue), w->orphans_upto, strerror(-r));
		} else {
			log_info("queue %u: %u packets were queued when transport %s was set up: "
				 "those up to id %u it holds no message of (a previous nfqd read "
				 "them, or the set-up dropped their messages) are re-queued "
				 "(NF_REPEAT) to be classified again",
				 nfqd_queue_num(w->queue), w->orphans_queued,
				 nfqd_transport_name(w->transport), w->orphans_upto);
			/*
			 * On the kernel's ring every message up to there was read by now; a ring
			 * emulated over a socket may still hold some: they are re-queued already.
			 */
			w->stale_set = true;
			w->stale_upto = w->orphans_upto;
			asked = true;
		}
	}
	tail = w->unread_wait && (w->unread_wait_added || added);
	if (w->unread_met || tail) {
		request_sweep(w, SWEEP_READ, acc);
		asked = true;
	}
	w->unread_wait = w->unread_met || (w->unread_wait && !tail);
	w->unread_wait_added = false;
	w->unread_met = false;
	return asked;
}

/* One receive, its verdicts sent. Returns what the receive returned. */
static int step(struct worker *w, unsigned int flags)
{
	struct nfqd_counters acc = { .v = { 0 } };
	const struct nfqd_rx_msg *msgs;
	int n = nfqd_transport_recv(w->transport, &msgs, flags);
	/* what this receive left, before anything else can receive */
	bool caught = !w->ordered && n >= 0 && nfqd_transport_caught_up(w->transport);
	uint64_t adds = w->adds;

	/*
	 * One generation judges the whole batch: the one in force when the batch came, so that
	 * a packet read after a reload was answered is judged by the new rules. Taken after an
	 * empty receive too, so that an idle worker lets the old generation go.
	 */
	take_ruleset(w);
	w->log_now = 0;
	note_tx_errors(w, &acc);
	if (n <= 0) {
		/* a quiet queue settles what it owes at the receive timeout */
		if (n == 0 && settle_unordered(w, caught, false, &acc))
			flush(w, &acc);
		commit(w, &acc);
		return n;
	}
	acc.v[NFQD_CTR_BATCHES] = 1;
	acc.batch[nfqd_batch_bucket((uint64_t)n)] = 1;
	acc.batch_sum = (uint64_t)n;
	handle_batch(w, msgs, n, &acc);
	/* The views point into the receive buffers: classify before handing them back. */
	classify(w, &acc);
	/* after this receive's verdicts, so that its sweeps go after them */
	settle_unordered(w, caught, w->adds != adds, &acc);
	/* Never hold a verdict back waiting for more packets. */
	flush(w, &acc);
	/* After the verdicts: a ring backend gives the buffers back to the kernel. */
	nfqd_transport_release(w->transport);
	if (w->ct)
		stamp_dropped_flows(w, &acc);
	commit(w, &acc);
	return n;
}

static int recv_error_is_fatal(int err)
{
	return err == -EBADF || err == -ENOTSOCK || err == -EFAULT || err == -EINVAL;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read the frozen queue until the kernel holds nothing more for it. Every packet queued before
 * the freeze has its message in the socket (or lost it to a full buffer: then it is not queued
 * either), so an empty socket and an empty queue end the drain. Packets can still be queued
 * while the kernel queue is non-empty and the socket empty (a message still on its way, or one
 * whose verdict the kernel refused): wait for them, but only while the queue keeps shrinking.
 * Returns the packets read.
 */
static uint64_t drain_read(struct worker *w, bool frozen)
{
	uint16_t num = nfqd_queue_num(w->queue);
	long long start = now_ms(), progress = start;
	uint32_t last_queued = UINT32_MAX;
	uint64_t read = 0;

	for (;;) {
		struct nfqd_queue_kstats ks;
		int r;

		if (!may_receive(w)) {
			if (now_ms() - progress > DRAIN_IDLE_MS) {
				log_warning(
					"queue %u: the drain could not send verdicts for %d ms; "
					"stopping after %llu packets read",
					num, DRAIN_IDLE_MS, (unsigned long long)read);
				return read;
			}
			/* a send that fails now may not in a moment; do not spin meanwhile */
			usleep(1000);
			continue;
		}
		r = step(w, NFQD_RECV_NOWAIT);
		if (r > 0) {
			read += (uint64_t)r;
			progress = now_ms();
			continue;
		}
		if (r < 0 && r != -EINTR && r != -EAGAIN) {
			log_error(
				"queue %u: receive failed during the drain after %llu packets: %s",
				num, (unsigned long long)read, strerror(-r));
			return read;
		}
		/* unfrozen, a queue under a flood never runs dry: stop at the first empty socket */
		if (!frozen || nfqd_queue_kstats_of(w->queue, &ks) < 0 || ks.queued == 0)
			return read;
		if (ks.queued < last_queued) {
			last_queued = ks.queued;
			progress = now_ms();
		}
		if (now_ms() - progress > DRAIN_IDLE_MS) {
			log_warning("queue %u: the drain made no progress for %d ms: %u packets "
				    "still queued after %llu read in %lld ms",
				    num, DRAIN_IDLE_MS, ks.queued, (unsigned long long)read,
				    now_ms() - start);
			return read;
		}
		if (!may_receive(w))
			continue;
		/* a blocking receive: wakes when a message comes, else after RECV_TIMEOUT_MS */
		r = step(w, 0);
		if (r > 0) {
			read += (uint64_t)r;
			progress = now_ms();
		}
	}
}

/*
 * Wait until the kernel has taken every verdict message queued (NFQD_TRANSPORT_ASYNC_TX), and
 * sweep after those that failed, before the worker ends.
 */
static void settle_sends(struct worker *w)
{
	for (int round = 0; round < 3; round++) {
		struct nfqd_counters acc = { .v = { 0 } };
		int r = nfqd_transport_tx_wait(w->transport, TX_WAIT_MS);

		if (r < 0) {
			log_error("queue %u: verdict sends not completed after %d ms: %s",
				  nfqd_queue_num(w->queue), TX_WAIT_MS, strerror(-r));
			return;
		}
		note_tx_errors(w, &acc);
		if (w->sweep_owed)
			flush(w, &acc);
		commit(w, &acc);
		if (!w->sweep_owed && acc.v[NFQD_CTR_ERRORS] == 0)
			return;
	}
}

/*
 * Freeze the queue and give every packet in it a verdict. Once the freeze request has been
 * handled (the kernel does it inside send()), no packet enters the queue; the drain then reads
 * for as long as it makes progress (drain_read()), and what is left gets the fail-side verdict.
 */
static void drain(struct worker *w)
{
	struct nfqd_counters acc = { .v = { 0 } };
	uint16_t num = nfqd_queue_num(w->queue);
	long long start = now_ms();
	int r = nfqd_queue_freeze(w->queue);
	uint64_t read;

	if (r < 0)
		log_error("queue %u: cannot freeze the queue for the drain: %s", num, strerror(-r));
	read = drain_read(w, r >= 0);
	log_info("queue %u: the drain read %llu messages in %lld ms", num, (unsigned long long)read,
		 now_ms() - start);

	w->final.kstats_ok = nfqd_queue_kstats_of(w->queue, &w->final.kstats) == 0;
	if (w->final.kstats_ok && w->final.kstats.queued > 0) {
		w->final.swept = w->final.kstats.queued;
		request_sweep(w, SWEEP_ALL, &acc);
		flush(w, &acc);
		commit(w, &acc);
		log_warning("queue %u: %u packets still queued after the drain got the fail-side "
			    "verdict (%s)",
			    num, w->final.swept, verdict_name(w->fail_verdict));
	}
	settle_sends(w);
	(void)nfqd_queue_drops(w->queue, &w->final.drops);
}

/*
 * A queue adopted from a process that died may hold packets that process read and never
 * answered: no message of theirs will come again. They lie below the first id this worker reads,
 * and the batcher re-queues them (NF_REPEAT) ahead of the first batch's verdicts. When the socket
 * is empty while the kernel lists packets queued, they are all such orphans (or in flight to the
 * socket): re-queue up to the last id the kernel had given before the empty receive, and skip
 * the late messages of those ids.
 */
static void requeue_orphans(struct worker *w)
{
	struct nfqd_counters acc = { .v = { 0 } };
	struct nfqd_queue_kstats ks;
	bool ks_ok;
	int r;

	if (!w->adopted || nfqd_batcher_orphans(w->batcher, NF_REPEAT) < 0)
		return;
	ks_ok = nfqd_queue_kstats_of(w->queue, &ks) == 0;
	do
		r = step(w, NFQD_RECV_NOWAIT);
	while (r > 0 && !w->got_packet);
	if (w->got_packet)
		return;
	/* Without the proc file (not root), what the adoption itself read is known. */
	if (!ks_ok && nfqd_queue_skipped(w->queue, &ks.last_id)) {
		ks_ok = true;
		ks.queued = 1;
	}
	if (!ks_ok || ks.queued == 0) {
		nfqd_batcher_orphans_cancel(w->batcher);
		return;
	}
	w->stale_set = true;
	w->stale_upto = ks.last_id;
	(void)nfqd_batcher_orphans_upto(w->batcher, NF_REPEAT, ks.last_id);
	flush(w, &acc);
	commit(w, &acc);
	log_info(
		"queue %u: %u packets queued and none to read: a previous nfqd read them and never "
		"answered; re-queued (NF_REPEAT) up to id %u to classify them again",
		nfqd_queue_num(w->queue), ks.queued, ks.last_id);
}

/*
 * Stop for a successor: every packet read has had its verdict (each step sends its batch's);
 * the queue stays bound and keeps its max-len, so the kernel holds what comes meanwhile. A ring
 * backend may have taken messages from the socket that the worker has not read yet: it stops
 * taking more, the worker answers what it took, and waits for the sends to complete.
 */
static void hand_over(struct worker *w)
{
	int r = nfqd_transport_rx_stop(w->transport, TX_WAIT_MS);

	if (r < 0)
		log_error("queue %u: the transport did not stop receiving for the hand-over: %s",
			  nfqd_queue_num(w->queue), strerror(-r));
	while (may_receive(w) && step(w, NFQD_RECV_NOWAIT) > 0)
		;
	send_owed_sweep(w);
	settle_sends(w);
	w->final.kstats_ok = nfqd_queue_kstats_of(w->queue, &w->final.kstats) == 0;
	(void)nfqd_queue_drops(w->queue, &w->final.drops);
	w->handed_over = true;
}

/*
 * Without ordered ids (the mmap ring, whose set-up leaves every message the socket held unread
 * for good, after a fresh bind as after an adoption): the packets queued now up to the kernel's
 * last id that the ring holds no message of will never be read. They are re-queued at the first
 * receive that leaves the transport caught up, after the verdicts of those it does hold
 * (settle_unordered()). Without the proc file (not root), what the adoption itself read is
 * known; otherwise they stay queued until the drain, and that is said.
 */
static void note_orphans_unordered(struct worker *w)
{
	struct nfqd_queue_kstats ks;
	uint32_t upto;

	if (nfqd_queue_kstats_of(w->queue, &ks) == 0) {
		w->orphans_owed = ks.queued > 0;
		w->orphans_upto = ks.last_id;
		w->orphans_queued = ks.queued;
		return;
	}
	if (nfqd_queue_skipped(w->queue, &upto)) {
		w->orphans_owed = true;
		w->orphans_upto = upto;
		w->orphans_queued = 0;
		log_warning(
			"queue %u: cannot read the kernel's queue statistics "
			"(/proc/net/netfilter/nfnetlink_queue); re-queueing only the packets up "
			"to id %u the adoption read",
			nfqd_queue_num(w->queue), upto);
		return;
	}
	log_warning("queue %u: cannot read the kernel's queue statistics "
		    "(/proc/net/netfilter/nfnetlink_queue): packets queued before transport %s "
		    "was set up, whose messages it dropped, stay queued until the drain",
		    nfqd_queue_num(w->queue), nfqd_transport_name(w->transport));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	sigset_t wake;
	int r;

	/* The main thread blocks every signal it handles; a worker takes only the wake-up. */
	sigemptyset(&wake);
	sigaddset(&wake, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);

	/* The queue has taken packets since its bind; their messages wait in the socket. */
	w->start_err = nfqd_transport_attach(w->transport);
	sem_post(&w->shared->started);
	if (w->start_err < 0)
		return NULL;

	if (w->ordered)
		requeue_orphans(w);
	else
		note_orphans_unordered(w);
	while (!atomic_load_explicit(&w->shared->stop, memory_order_relaxed) &&
	       !atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		/* Single writer: a plain increment, no locked instruction per turn. */
		atomic_store_explicit(&w->heartbeat, worker_heartbeat(w) + 1, memory_order_relaxed);
		if (!may_receive(w)) {
			/* the failed build goes first; do not spin on a send that keeps failing */
			usleep(1000);
			continue;
		}
		r = step(w, 0);
		send_owed_sweep(w);
		if (r >= 0)
			continue;
		nfqd_counter_add(&w->counters, NFQD_CTR_ERRORS, 1);
		if (recv_error_is_fatal(r)) {
			fatal(w, "cannot receive", r);
			/* the main thread decides between a hand-over and a drain (on_fatal) */
			while (!atomic_load(&w->shared->stop) && !atomic_load(&w->stop))
				usleep(10000);
			break;
		}
		unsigned long sup;
		if (ratelimit_ok(&w->rl_io, &sup))
			log_error("queue %u: receive failed: %s (%lu similar messages suppressed)",
				  nfqd_queue_num(w->queue), strerror(-r), sup);
		/* Do not spin on an error that repeats. */
		usleep(1000);
	}
	if (atomic_load(&w->shared->stop) == WORKER_STOP_HANDOVER)
		hand_over(w);
	else
		drain(w);
	return NULL;
}

uint64_t worker_heartbeat(const struct worker *w)
{
	return atomic_load_explicit(&w->heartbeat, memory_order_relaxed);
}

static void wake_handler(int sig)
{
	(void)sig;
}

/* Without SA_RESTART, so that the signal ends a blocking receive with EINTR. */
static void install_wake_handler(void)
{
	struct sigaction sa = { .sa_handler = wake_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

int worker_start(struct worker *w, int cpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_attr_t attr;
	int r;

	pthread_once(&once, install_wake_handler);

	r = pthread_attr_init(&attr);
	if (r)
		return -r;
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		r = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		if (r) {
			pthread_attr_destroy(&attr);
			return -r;
		}
	}
	r = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (r)
		return -r;
	w->cpu = cpu;
	w->running = true;
	return 0;
}

int worker_pin(struct worker *w, int cpu)
{
	cpu_set_t set;
	int r;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	r = pthread_setaffinity_np(w->thread, sizeof(set), &set);
	if (r)
		return -r;
	w->cpu = cpu;
	return 0;
}

void worker_stop(struct worker *w)
{
	atomic_store(&w->stop, 1);
	worker_wake(w);
}

void worker_wake(struct worker *w)
{
	if (w->running)
		pthread_kill(w->thread, SIGUSR1);
}

void worker_join(struct worker *w)
{
	if (!w->running)
		return;
	pthread_join(w->thread, NULL);
	w->running = false;
}
