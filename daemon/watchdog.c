/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "watchdog.h"

void watchdog_core_init(struct watchdog_core *c, uint64_t limit_usec)
{
	*c = (struct watchdog_core){ .limit_usec = limit_usec };
}

void watchdog_core_done(struct watchdog_core *c)
{
	free(c->e);
	c->e = NULL;
	c->n = c->cap = 0;
}

static int core_reserve(struct watchdog_core *c, unsigned int n)
{
	struct watchdog_entry *e;

	if (n <= c->cap)
		return 0;
	e = realloc(c->e, (size_t)n * sizeof(*e));
	if (!e)
		return -ENOMEM;
	c->e = e;
	c->cap = n;
	return 0;
}

int watchdog_core_check(struct watchdog_core *c, const unsigned int *queues, const uint64_t *beats,
			unsigned int n, uint64_t now)
{
	int stalled = 0;
	int r = core_reserve(c, n);

	if (r < 0)
		return r;
	for (unsigned int i = 0; i < n; i++) {
		struct watchdog_entry *e = &c->e[i];

		/* A worker the last check did not know has had no chance to be seen moving. */
		if (i >= c->n || e->queue != queues[i]) {
			*e = (struct watchdog_entry){ .queue = queues[i],
						      .seen = beats[i],
						      .moved = now };
			continue;
		}
		if (beats[i] != e->seen) {
			e->seen = beats[i];
			e->moved = now;
		}
		if (watchdog_core_stalled(c, i, now, NULL))
			stalled++;
	}
	c->n = n;
	return stalled;
}

bool watchdog_core_stalled(const struct watchdog_core *c, unsigned int i, uint64_t now,
			   uint64_t *for_usec)
{
	uint64_t d;

	if (i >= c->cap)
		return false;
	d = now > c->e[i].moved ? now - c->e[i].moved : 0;
	if (for_usec)
		*for_usec = d;
	return d >= c->limit_usec;
}

struct watchdog {
	struct watchdog_source src;
	struct watchdog_core core;
	sd_event_source *timer;
	uint64_t usec;	 /* WatchdogSec= as systemd passed it */
	uint64_t period; /* between checks: half of usec */
	unsigned int *queues;
	uint64_t *beats;
	bool withheld; /* the last check withheld the ping */
};

/* Log each stall once when it starts and once when it ends. */
static void report(struct watchdog *wd, uint64_t now)
{
	for (unsigned int i = 0; i < wd->core.n; i++) {
		struct watchdog_entry *e = &wd->core.e[i];
		uint64_t d = 0;
		bool stalled = watchdog_core_stalled(&wd->core, i, now, &d);

		if (stalled && !e->reported)
			log_error("queue %u: its worker has made no progress for at least %llu ms "
				  "(watchdog "
				  "interval %llu ms); no more watchdog pings, so that systemd "
				  "restarts nfqd",
				  e->queue, (unsigned long long)(d / 1000),
				  (unsigned long long)(wd->usec / 1000));
		else if (!stalled && e->reported)
			log_notice("queue %u: its worker moves again; watchdog pings resume",
				   e->queue);
		e->reported = stalled;
	}
}

static int on_tick(sd_event_source *s, uint64_t when, void *userdata)
{
	struct watchdog *wd = userdata;
	unsigned int n = wd->src.read(wd->src.user, wd->queues, wd->beats, wd->src.max);
	uint64_t now = when;
	int stalled, r;

	/* The time of this wake-up, not the one the timer was set for: after a late loop, ticks
	 * that catch up would otherwise be a period apart on paper and not in the workers' time. */
	(void)sd_event_now(sd_event_source_get_event(s), CLOCK_MONOTONIC, &now);
	stalled = watchdog_core_check(&wd->core, wd->queues, wd->beats, n, now);
	if (stalled < 0) {
		/* Without the bookkeeping nothing is known to be stuck: keep the daemon alive. */
		log_error("watchdog: cannot track %u workers: %s", n, strerror(-stalled));
		stalled = 0;
	}
	report(wd, now);
	if (stalled == 0) {
		r = sd_notify(0, "WATCHDOG=1");
		if (r < 0 && !wd->withheld)
			log_error("watchdog: cannot notify systemd: %s", strerror(-r));
	}
	wd->withheld = stalled > 0;
	/* A time source fires once: set the next check and enable it again. */
	r = sd_event_source_set_time(s, now + wd->period);
	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (r < 0) {
		log_error("watchdog: cannot re-arm the timer: %s", strerror(-r));
		return r;
	}
	return 0;
}

int watchdog_open(struct watchdog **out, sd_event *ev, const struct watchdog_source *src)
{
	struct watchdog *wd;
	uint64_t usec = 0, now;
	int r;

	*out = NULL;
	r = sd_watchdog_enabled(0, &usec);
	if (r <= 0 || usec == 0)
		return r < 0 ? r : 0;
	wd = calloc(1, sizeof(*wd));
	if (!wd)
		return -ENOMEM;
	wd->src = *src;
	wd->usec = usec;
	wd->period = usec / 2;
	/* Stalled: not seen moving across a whole period, which spans hundreds of turns. */
	watchdog_core_init(&wd->core, wd->period);
	wd->queues = calloc(src->max ? src->max : 1, sizeof(*wd->queues));
	wd->beats = calloc(src->max ? src->max : 1, sizeof(*wd->beats));
	r = wd->queues && wd->beats ? 0 : -ENOMEM;
	if (r == 0)
		r = sd_event_now(ev, CLOCK_MONOTONIC, &now);
	/* The first check records the beats; pinging now tells systemd nfqd is alive. */
	if (r >= 0)
		r = sd_event_add_time(ev, &wd->timer, CLOCK_MONOTONIC, now, wd->period / 10,
				      on_tick, wd);
	if (r < 0) {
		watchdog_close(wd);
		return r;
	}
	*out = wd;
	return 0;
}

uint64_t watchdog_usec(const struct watchdog *wd)
{
	return wd ? wd->usec : 0;
}

void watchdog_close(struct watchdog *wd)
{
	if (!wd)
		return;
	sd_event_source_disable_unref(wd->timer);
	watchdog_core_done(&wd->core);
	free(wd->queues);
	free(wd->beats);
	free(wd);
}
