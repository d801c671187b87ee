/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fixtures for integration tests on the real kernel: a fresh topology per test (namespaces,
 * veth, addresses), nfqd started inside the firewall namespace, and cleanup of all of it
 * whatever the test's outcome.
 */
#ifndef NFQD_ITEST_H
#define NFQD_ITEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "nfqd/queue.h"
#include "netns.h"
#include "traffic.h"

/* Deadline of every wait for a condition: generous, for a loaded machine. */
#define ITEST_DEADLINE_MS TEST_DEADLINE_MS

struct itest {
	struct topo t;
	struct nfqd_proc d;
	bool have_d;
};

static inline int itest_setup(void **state, const char *tag)
{
	struct itest *it = calloc(1, sizeof(*it));

	if (!it)
		return -1;
	if (geteuid() != 0) {
		fprintf(stderr, "integration tests need root (network namespaces, iptables)\n");
		free(it);
		return -1;
	}
	if (topo_create(&it->t, tag) < 0) {
		free(it);
		return -1;
	}
	*state = it;
	return 0;
}

static inline void itest_print_log(struct itest *it)
{
	char *log;

	if (!it->have_d)
		return;
	log = nfqd_log(&it->d);
	fprintf(stderr, "---- nfqd log ----\n%s------------------\n", log ? log : "");
	free(log);
}

static inline int itest_teardown(void **state)
{
	struct itest *it = *state;

	if (!it)
		return 0;
	if (it->have_d) {
		nfqd_cleanup(&it->d);
		it->have_d = false;
	}
	topo_destroy(&it->t);
	free(it);
	*state = NULL;
	return 0;
}

/* Start nfqd in the firewall namespace with config and fail the test unless it gets ready. */
static inline void itest_nfqd(struct itest *it, const char *config)
{
	int st = 0;
	int r = nfqd_start(&it->d, it->t.fw, config, ITEST_DEADLINE_MS, &st);

	it->have_d = true;
	if (r != 0) {
		itest_print_log(it);
		fail_msg("nfqd did not start (%d, exit status %d)", r,
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
}

/*
 * Stop nfqd with SIGTERM, expect a clean exit; returns its log (malloc'd). It may take up to
 * timeout_ms or ITEST_DEADLINE_MS, whichever is longer: a test that bounds the time of a stop
 * checks *elapsed_ms itself, so that a loaded machine makes no false failure here.
 */
static inline char *itest_stop(struct itest *it, int timeout_ms, long *elapsed_ms)
{
	int st = -1;
	long el = 0;
	/* nfqd_stop() waits at least TEST_DEADLINE_MS */
	int deadline = timeout_ms > ITEST_DEADLINE_MS ? timeout_ms : ITEST_DEADLINE_MS;
	int r = nfqd_stop(&it->d, SIGTERM, deadline, &st, &el);
	char *log = nfqd_log(&it->d);

	if (r != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "---- nfqd log ----\n%s------------------\n", log ? log : "");
		/* fail_msg() does not return: nothing may be left allocated */
		free(log);
		fail_msg("nfqd did not exit 0 within %d ms (r=%d status=0x%x, %ld ms)", deadline, r,
			 st, el);
	}
	if (elapsed_ms)
		*elapsed_ms = el;
	return log;
}

/* The kernel's line for queue num in the firewall namespace; fails the test when it is not
 * bound. */
static inline struct nfqd_queue_kstats itest_kline(struct itest *it, unsigned int num)
{
	struct nfqd_queue_kstats ks = { 0 };
	char *out = NULL, *line, *save = NULL;
	bool found = false;

	assert_int_equal(ns_sh_out(it->t.fw, &out, "cat /proc/net/netfilter/nfnetlink_queue"), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint32_t n;

		if (nfqd_queue_kstats_parse(line, &n, &ks) == 0 && n == num) {
			found = true;
			break;
		}
	}
	free(out);
	if (!found)
		fail_msg("queue %u is not bound in the firewall namespace", num);
	return ks;
}

/* Stats from the control socket, failing the test when there is no answer. */
static inline char *itest_stats(struct itest *it)
{
	char *json = nfqd_control(&it->d, "stats\n");

	if (!json || !strstr(json, "\"total\"")) {
		itest_print_log(it);
		fprintf(stderr, "stats: %s\n", json ? json : "(none)");
		free(json);
		fail_msg("no stats from the control socket");
		return NULL; /* not reached: fail_msg() does not return */
	}
	return json;
}

/* The transport queue 0 of the running nfqd uses ("mmap", "mmsg", "uring"), from its stats. */
static inline const char *itest_transport(struct itest *it)
{
	static const char *const names[] = { "mmap", "mmsg", "uring" };
	char *json = itest_stats(it);
	const char *found = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[64];

		snprintf(want, sizeof(want), "\"transport\":\"%s\"", names[i]);
		if (strstr(json, want))
			found = names[i];
	}
	if (!found)
		fail_msg("no known transport in %s", json);
	free(json);
	return found;
}

/* How many times `what` occurs in text (lines of a log, transports in a stats answer). */
static inline unsigned int itest_count_of(const char *text, const char *what)
{
	unsigned int n = 0;

	for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

/* Stop nfqd as itest_stop() does, and fail the test unless its log holds text. */
static inline void itest_stop_logged(struct itest *it, const char *text)
{
	char *log = itest_stop(it, 5000, NULL);

	if (!strstr(log, text))
		fail_msg("nfqd did not log '%s':\n%s", text, log);
	free(log);
}

/*
 * Wait until the stats counter key of queue (-1: the total) reaches at least want, polling for up
 * to timeout_ms; returns the stats JSON of that moment (malloc'd). Fails the test with the
 * numbers and nfqd's log when it does not.
 */
static inline char *itest_wait_stat_json(struct itest *it, int queue, const char *key,
					 uint64_t want, int timeout_ms)
{
	uint64_t have = 0;
	char *json = NULL;

	for (int waited = 0;; waited += 20) {
		free(json);
		json = itest_stats(it);
		have = stats_get(json, queue, key);
		if (have != UINT64_MAX && have >= want)
			return json;
		if (waited >= timeout_ms)
			break;
		usleep(20000);
	}
	itest_print_log(it);
	fail_msg("stats: %s reached %llu, not %llu, in %d ms: %s", key, (unsigned long long)have,
		 (unsigned long long)want, timeout_ms, json);
	return json;
}

/* nfqd's counter `key` now: of queue `queue`, or the total with -1. The stats are freed
 * before any failure, so that a failing test leaks nothing. */
static inline uint64_t itest_stat(struct itest *it, int queue, const char *key)
{
	char *json = itest_stats(it);
	uint64_t v = stats_get(json, queue, key);

	if (v == UINT64_MAX)
		fprintf(stderr, "stats: %s\n", json);
	free(json);
	if (v == UINT64_MAX)
		fail_msg("no '%s' for queue %d in nfqd's stats", key, queue);
	return v;
}

/*
 * Wait until nfqd's counter `key` (of queue, or the total with -1) is at least want, and return
 * it: nfqd publishes a batch's counters after its verdicts, so what the verdicts did (a sink's
 * count) can be seen before the counters. Compare the result with want exactly: a count past
 * it returns at once and fails the comparison. Fails with the numbers at the deadline.
 */
static inline uint64_t itest_wait_stat(struct itest *it, int queue, const char *key, uint64_t want)
{
	uint64_t v = 0;

	for (int waited = 0; waited < ITEST_DEADLINE_MS; waited += 10) {
		v = itest_stat(it, queue, key);
		if (v >= want)
			return v;
		usleep(10 * 1000);
	}
	itest_print_log(it);
	fail_msg("nfqd's %s (queue %d) is %llu after %d ms, expected %llu", key, queue,
		 (unsigned long long)v, ITEST_DEADLINE_MS, (unsigned long long)want);
	return v;
}

static inline uint64_t itest_total(struct itest *it, const char *key)
{
	return itest_stat(it, -1, key);
}

/* Wait until nfqd's total counter `key` is at least want; fails with both numbers. */
static inline uint64_t itest_wait_total(struct itest *it, const char *key, uint64_t want)
{
	return itest_wait_stat(it, -1, key, want);
}

/* nfqd's counters before some traffic, for itest_delivered(). */
struct itest_count {
	uint64_t accepted, dropped;
};

static inline struct itest_count itest_count(struct itest *it)
{
	return (struct itest_count){ itest_total(it, "accepted"), itest_total(it, "dropped") };
}

/*
 * After n packets were sent to nfqd's queue since `before`, each to be accepted or dropped
 * (no other verdict), the accepted ones going to sink: wait until nfqd has given all n their
 * verdict and the sink holds every one nfqd accepted. Returns the sink's count, which the
 * caller compares with what it expects; fails with the numbers when a deadline passed.
 */
static inline uint64_t itest_delivered(struct itest *it, const struct itest_count *before,
				       uint64_t n, int sink)
{
	struct itest_count now = *before;
	uint64_t got;

	for (int waited = 0;; waited += 10) {
		now = itest_count(it);
		if (now.accepted - before->accepted + now.dropped - before->dropped >= n)
			break;
		if (waited >= ITEST_DEADLINE_MS) {
			itest_print_log(it);
			fail_msg("after %d ms nfqd accepted %llu and dropped %llu of %llu packets",
				 ITEST_DEADLINE_MS,
				 (unsigned long long)(now.accepted - before->accepted),
				 (unsigned long long)(now.dropped - before->dropped),
				 (unsigned long long)n);
		}
		usleep(10 * 1000);
	}
	got = udp_sink_wait(sink, now.accepted - before->accepted, ITEST_DEADLINE_MS);
	if (got < now.accepted - before->accepted)
		fail_msg("nfqd accepted %llu of %llu packets, the sink received %llu",
			 (unsigned long long)(now.accepted - before->accepted),
			 (unsigned long long)n, (unsigned long long)got);
	return got;
}

/* Run a command in the firewall namespace and fail the test if it fails. */
#define itest_fw(it, ...)  assert_int_equal(ns_sh((it)->t.fw, __VA_ARGS__), 0)
#define itest_cli(it, ...) assert_int_equal(ns_sh((it)->t.cli, __VA_ARGS__), 0)

/* Replace nfqd's configuration file with text, as nfqd_start() wrote it. */
static inline void itest_write_conf(struct itest *it, const char *text)
{
	FILE *f = fopen(it->d.conf, "w");

	assert_non_null(f);
	fprintf(f, "%s\n[daemon]\ncontrol = %s\n", text, it->d.control);
	assert_int_equal(fclose(f), 0);
}

/* `nfqctl reload` through the control socket: must answer ok with generation gen. */
static inline void itest_reload_ok(struct itest *it, const char *text, unsigned int gen)
{
	char want[64];
	char *r;

	itest_write_conf(it, text);
	r = nfqd_control(&it->d, "reload\n");
	snprintf(want, sizeof(want), "\"reload\":\"ok\",\"generation\":%u,", gen);
	if (!r || !strstr(r, want)) {
		itest_print_log(it);
		fprintf(stderr, "reload answered: %s\n", r ? r : "(nothing)");
		free(r);
		fail_msg("reload to generation %u failed", gen);
	}
	free(r);
	/* read nfqd's notifications (RELOADING=1, READY=1) as systemd would: an unread socket
	 * holds only a few, and a full one blocks the sender */
	assert_false(nfqd_saw_stopping(&it->d));
}

#endif /* NFQD_ITEST_H */
