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

#include "netns.h"
#include "traffic.h"

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
	int r = nfqd_start(&it->d, it->t.fw, config, 5000, &st);

	it->have_d = true;
	if (r != 0) {
		itest_print_log(it);
		fail_msg("nfqd did not start (%d, exit status %d)", r,
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
}

/* Stop nfqd with SIGTERM, expect a clean exit within timeout_ms; returns its log (malloc'd). */
static inline char *itest_stop(struct itest *it, int timeout_ms, long *elapsed_ms)
{
	int st = -1;
	long el = 0;
	int r = nfqd_stop(&it->d, SIGTERM, timeout_ms, &st, &el);
	char *log = nfqd_log(&it->d);

	if (r != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "---- nfqd log ----\n%s------------------\n", log);
		fail_msg("nfqd did not exit 0 within %d ms (r=%d status=0x%x)", timeout_ms, r, st);
	}
	if (elapsed_ms)
		*elapsed_ms = el;
	return log;
}

/* Stats from the control socket, failing the test when there is no answer. */
static inline char *itest_stats(struct itest *it)
{
	char *json = nfqd_control(&it->d, "stats\n");

	if (!json || !strstr(json, "\"total\"")) {
		itest_print_log(it);
		fail_msg("no stats from the control socket: %s", json ? json : "(none)");
	}
	return json;
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
static inline char *itest_wait_stat(struct itest *it, int queue, const char *key, uint64_t want,
				    int timeout_ms)
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

/* Run a command in the firewall namespace and fail the test if it fails. */
#define itest_fw(it, ...)  assert_int_equal(ns_sh((it)->t.fw, __VA_ARGS__), 0)
#define itest_cli(it, ...) assert_int_equal(ns_sh((it)->t.cli, __VA_ARGS__), 0)

#endif /* NFQD_ITEST_H */
