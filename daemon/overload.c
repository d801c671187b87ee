/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nfqd/chaincount.h"
#include "nfqd/queue.h"
#include "nfqd/stats.h"

#include "config.h"
#include "log.h"
#include "overload.h"
#include "rules.h"
#include "worker.h"

/* What the kernel had counted for the queue of one worker slot at the last look. */
struct seen {
	const struct nfqd_queue *queue; /* the slot's queue then: a reload may put another */
	uint64_t queue_full, enobufs;
};

struct overload {
	sd_event_source *timer;
	const struct worker *workers; /* the daemon's slots (CONFIG_MAX_QUEUES) */
	const unsigned int *n;	      /* slots below *n may be in use */
	bool fail_open;
	uint32_t max_len;
	struct seen *seen;
	struct nfqd_chaincount *pass; /* NULL without fail-open */
	uint64_t passed;	      /* at the last look */
	int pass_err;		      /* the last read's result, to say a change once */
};

static void look_at_queues(struct overload *o)
{
	for (unsigned int i = 0; i < *o->n; i++) {
		const struct worker *w = &o->workers[i];
		struct seen *s = &o->seen[i];
		struct nfqd_counters c;
		uint64_t full, lost;
		uint16_t num;

		if (!w->queue)
			continue;
		num = nfqd_queue_num(w->queue);
		worker_counters(w, &c);
		if (s->queue != w->queue) {
			/* a queue new to this slot (start or reload): its past is not news */
			s->queue = w->queue;
			s->queue_full = c.v[NFQD_CTR_QUEUE_FULL];
			s->enobufs = c.v[NFQD_CTR_ENOBUFS];
			continue;
		}
		full = c.v[NFQD_CTR_QUEUE_FULL] - s->queue_full;
		lost = c.v[NFQD_CTR_ENOBUFS] - s->enobufs;
		s->queue_full = c.v[NFQD_CTR_QUEUE_FULL];
		s->enobufs = c.v[NFQD_CTR_ENOBUFS];
		if (full)
			log_warning("queue %u: %llu packets dropped as queue-full in the last %d s "
				    "(max-len %u; %llu since the start)",
				    num, (unsigned long long)full, OVERLOAD_PERIOD_S, o->max_len,
				    (unsigned long long)s->queue_full);
		if (lost)
			log_warning(
				"queue %u: %llu packets not delivered to nfqd in the last %d s: "
				"socket receive buffer full (%u bytes); the kernel %s them "
				"(fail-open = %s; %llu since the start)",
				num, (unsigned long long)lost, OVERLOAD_PERIOD_S,
				nfqd_queue_rcvbuf(w->queue), o->fail_open ? "accepted" : "dropped",
				o->fail_open ? "yes" : "no", (unsigned long long)s->enobufs);
	}
}

static void look_at_passes(struct overload *o)
{
	uint64_t now = 0;
	int r = nfqd_chaincount_read(o->pass, &now);

	if (r != o->pass_err) {
		if (r == -ENOENT)
			log_notice("fail-open: packets that pass without nfqd's verdict are not "
				   "counted: chain " RULES_PASS_CHAIN " of the " RULES_PASS_TABLE
				   " table is not loaded (see `nfqd rules`)");
		else if (r < 0)
			log_warning("fail-open: cannot read chain " RULES_PASS_CHAIN
				    " of the " RULES_PASS_TABLE " table: %s",
				    strerror(-r));
		else if (o->pass_err != 1)
			log_info("fail-open: packets that pass without nfqd's verdict are counted "
				 "by chain " RULES_PASS_CHAIN " of the " RULES_PASS_TABLE " table");
		o->pass_err = r;
	}
	if (r < 0)
		return;
	/* a chain loaded again starts from 0 */
	if (now > o->passed)
		log_warning("%llu packets passed the queues without nfqd's verdict (fail-open) in "
			    "the last %d s (%llu counted by chain " RULES_PASS_CHAIN ")",
			    (unsigned long long)(now - o->passed), OVERLOAD_PERIOD_S,
			    (unsigned long long)now);
	o->passed = now;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct overload *o = userdata;

	look_at_queues(o);
	if (o->pass)
		look_at_passes(o);
	/* a time source is one-shot: set the next time and turn it on again */
	if (sd_event_source_set_time(s, usec + OVERLOAD_PERIOD_S * 1000000ull) < 0)
		return 0;
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int overload_open(struct overload **out, sd_event *ev, const struct config *c,
		  const struct worker *workers, const unsigned int *n, char *err, size_t errlen)
{
	struct overload *o = calloc(1, sizeof(*o));
	uint64_t now;
	int r;

	if (!o || !(o->seen = calloc(CONFIG_MAX_QUEUES, sizeof(*o->seen)))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	o->workers = workers;
	o->n = n;
	o->fail_open = c->fail_open;
	o->max_len = c->max_len;
	/* what happened before the start is not news */
	look_at_queues(o);
	if (c->fail_open) {
		r = nfqd_chaincount_open(&o->pass, RULES_PASS_TABLE, RULES_PASS_CHAIN);
		if (r < 0) {
			snprintf(err, errlen,
				 "cannot open a netlink socket to count fail-open "
				 "passes: %s",
				 strerror(-r));
			goto fail;
		}
		o->pass_err = 1; /* nothing said yet */
		look_at_passes(o);
	}
	r = sd_event_now(ev, CLOCK_MONOTONIC, &now);
	if (r >= 0)
		r = sd_event_add_time(ev, &o->timer, CLOCK_MONOTONIC,
				      now + OVERLOAD_PERIOD_S * 1000000ull, 0, on_timer, o);
	if (r < 0) {
		snprintf(err, errlen, "cannot set up the overload timer: %s", strerror(-r));
		goto fail;
	}
	*out = o;
	return 0;
fail:
	overload_close(o);
	return r;
}

void overload_close(struct overload *o)
{
	if (!o)
		return;
	sd_event_source_disable_unref(o->timer);
	nfqd_chaincount_free(o->pass);
	free(o->seen);
	free(o);
}

int overload_fail_open_passed(struct overload *o, uint64_t *passed)
{
	if (!o || !o->pass)
		return -ENOENT;
	return nfqd_chaincount_read(o->pass, passed);
}
