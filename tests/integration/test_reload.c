/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live reload on the real kernel: a hundred reloads alternating two policies under a steady
 * flood lose nothing and never judge a packet by a mix of the two; a bad configuration keeps
 * the old policy and names FILE:LINE; queues added and removed by reload are bound and unbound
 * without touching the others; a start with a bad configuration serves the last good one; a
 * change of the generated rules waits until the loaded chain holds them.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>

#include "itest.h"

#define RELOADS 100
#define BETWEEN 300  /* packets sent at least between two reloads */
#define FLOWS	4    /* sockets per port: the queue balance spreads them over both queues */
#define P_BOTH	5003 /* accepted by both policies */
#define P_NONE	5004 /* dropped by both policies */
#define P_DIFF	5005 /* accepted by A, dropped by B */
#define P_Q1	5006 /* to queue 1 in the queue test */
#define P_CHAIN 5007 /* through chain NFQD in the chain test */

/*
 * Two policies whose mix is visible. Each accepts P_BOTH and drops P_NONE, but by rules that
 * combine into the opposite: A's first rule with B's second accepts P_NONE; B's first rule with
 * A's second drops P_BOTH. A packet judged by parts of both policies therefore shows up as a
 * P_NONE packet delivered or a P_BOTH packet missing. P_DIFF tells which policy is in force.
 */
#define QUEUE_HEAD "[queue]\nqueues = 0-1\nmax-len = 65536\n[policy]\n"
#define POLICY_A   QUEUE_HEAD "rule = accept dport 5003\nrule = drop dport 5003-5004\n"
#define POLICY_B                                                                                   \
	QUEUE_HEAD "rule = drop dport 5004\nrule = accept dport 5003-5004\nrule = drop dport "     \
		   "5005\n"
/* B with a typo on line 8 */
#define POLICY_BAD POLICY_B "rule = dorp dport 5006\n"
#define BAD_LINE   ":8: "

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "rl") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw,
		     "iptables -A INPUT -p udp --dport 5003:5005 -j NFQUEUE --queue-balance 0:1 && "
		     "iptables -A INPUT -p udp --dport 5006 -j NFQUEUE --queue-num 1");
}

/* Send n datagrams to port from the client, one flow. */
static void send_to(struct itest *it, uint16_t port, unsigned long n)
{
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, port, n, 32, 1, 16, 200),
			 (long long)n);
}

/* The number nfqd reports for key in the status document. */
static uint64_t status_num(struct itest *it, const char *key)
{
	char *json = nfqd_control(&it->d, "status\n");
	char pat[64];
	const char *at;
	uint64_t v = UINT64_MAX;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = json ? strstr(json, pat) : NULL;
	if (at)
		v = strtoull(at + strlen(pat), NULL, 10);
	if (v == UINT64_MAX)
		fprintf(stderr, "status: %s\n", json ? json : "(none)");
	free(json);
	if (v == UINT64_MAX)
		fail_msg("no '%s' in nfqd's status", key);
	return v;
}

/* A steady flood to the three ports of the policies, counted per port. */
struct sender {
	pthread_t thread;
	int fds[3][FLOWS];
	atomic_int stop;
	atomic_ullong total;
	unsigned long long sent[3];
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	uint64_t seq = 0;

	while (!atomic_load(&s->stop)) {
		for (int p = 0; p < 3; p++)
			for (int f = 0; f < FLOWS; f++) {
				long long n = udp_flow_send(s->fds[p][f], 4, &seq, 4, 0);

				if (n > 0) {
					s->sent[p] += (unsigned long long)n;
					atomic_fetch_add(&s->total, (unsigned long long)n);
				}
			}
		usleep(500);
	}
	return NULL;
}

static void test_hundred_reloads_under_flood_lose_nothing_and_never_mix(void **state)
{
	struct itest *it = *state;
	struct sender snd = { 0 };
	struct sink_thread sinks[3] = { 0 };
	unsigned long long sent = 0, got[3];
	uint64_t received, accepted, dropped, full0, full1;
	unsigned int queued, last_id;
	struct timespec t0, t1;
	long long ms, reload_us = 0, reload_max_us = 0;
	char srcs[512];
	char *json;

	assert_int_equal(topo_add_client_addrs(&it->t, FLOWS, srcs, sizeof(srcs)), 0);
	itest_nfqd(it, POLICY_A);
	for (int p = 0; p < 3; p++) {
		char *save = NULL, list[512];
		const char *src;
		int f = 0;

		sinks[p].fd = udp_sink_open(it->t.fw, "0.0.0.0", (uint16_t)(P_BOTH + p));
		assert_true(sinks[p].fd >= 0);
		assert_int_equal(sink_thread_start(&sinks[p], sinks[p].fd), 0);
		/* one flow per client address: the queue balance hashes addresses */
		snprintf(list, sizeof(list), "%s", srcs);
		for (src = strtok_r(list, ",", &save); src && f < FLOWS;
		     src = strtok_r(NULL, ",", &save), f++) {
			snd.fds[p][f] =
				udp_flow_open(it->t.cli, src, it->t.fw4, (uint16_t)(P_BOTH + p));
			assert_true(snd.fds[p][f] >= 0);
		}
		assert_int_equal(f, FLOWS);
	}
	assert_int_equal(pthread_create(&snd.thread, NULL, sender_main, &snd), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* reload i loads B when i is odd, A when even: generation i + 1; traffic in between */
	for (unsigned int i = 1; i <= RELOADS; i++) {
		struct timespec r0, r1;
		long long us;

		unsigned long long at = atomic_load(&snd.total);

		clock_gettime(CLOCK_MONOTONIC, &r0);
		itest_reload_ok(it, i % 2 ? POLICY_B : POLICY_A, i + 1);
		clock_gettime(CLOCK_MONOTONIC, &r1);
		us = (r1.tv_sec - r0.tv_sec) * 1000000LL + (r1.tv_nsec - r0.tv_nsec) / 1000;
		reload_us += us;
		reload_max_us = us > reload_max_us ? us : reload_max_us;
		for (int waited = 0; atomic_load(&snd.total) < at + BETWEEN; waited++) {
			if (waited >= ITEST_DEADLINE_MS)
				fail_msg("the flood sent %llu packets in %d ms",
					 atomic_load(&snd.total) - at, waited);
			usleep(1000);
		}
	}

	atomic_store(&snd.stop, 1);
	pthread_join(snd.thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int p = 0; p < 3; p++)
		sent += snd.sent[p];
	ms = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;

	/* every packet sent reached nfqd and got its verdict */
	received = itest_wait_total(it, "received", sent);
	accepted = itest_total(it, "accepted");
	dropped = itest_wait_total(it, "dropped", sent - accepted);
	got[0] = sink_thread_stop_at(&sinks[0], snd.sent[0], ITEST_DEADLINE_MS);
	got[1] = sink_thread_stop_at(&sinks[1], 0, 0);
	got[2] = sink_thread_stop_at(&sinks[2], accepted - got[0], ITEST_DEADLINE_MS);
	json = itest_stats(it);
	full0 = stats_get(json, 0, "full_dropped");
	full1 = stats_get(json, 1, "full_dropped");
	free(json);
	fprintf(stderr,
		"reload: %u reloads in %lld ms (each answered in %lld us on average, %lld us at "
		"most), flood %llu packets/s\n",
		RELOADS, ms, reload_us / RELOADS, reload_max_us,
		ms ? sent * 1000 / (unsigned long long)ms : 0);
	fprintf(stderr,
		"reload: %u reloads under a flood of %llu packets: to %d sent %llu got %llu, to %d "
		"sent %llu got %llu, to %d sent %llu got %llu; nfqd received %llu accepted %llu "
		"dropped %llu\n",
		RELOADS, sent, P_BOTH, snd.sent[0], got[0], P_NONE, snd.sent[1], got[1], P_DIFF,
		snd.sent[2], got[2], (unsigned long long)received, (unsigned long long)accepted,
		(unsigned long long)dropped);
	assert_int_equal(received, sent);
	assert_int_equal(accepted + dropped, sent);
	assert_int_equal(full0, 0);
	assert_int_equal(full1, 0);
	/* nothing lost: what was accepted was delivered */
	assert_int_equal(got[0] + got[1] + got[2], accepted);
	/* never a mix: P_BOTH always accepted, P_NONE always dropped */
	assert_int_equal(got[0], snd.sent[0]);
	assert_int_equal(got[1], 0);
	for (unsigned int q = 0; q < 2; q++) {
		assert_int_equal(kernel_queue_line(it->t.fw, q, &queued, &last_id), 0);
		assert_int_equal(queued, 0);
	}
	/* the counters went on across the reloads */
	assert_int_equal(status_num(it, "generation"), RELOADS + 1);

	/* and the policy in force is the last one loaded: A accepts P_DIFF, B drops it */
	{
		struct itest_count before = itest_count(it);
		int sink = sinks[2].fd;

		send_to(it, P_DIFF, 50);
		assert_int_equal(itest_delivered(it, &before, 50, sink), 50);
		itest_reload_ok(it, POLICY_B, RELOADS + 2);
		before = itest_count(it);
		send_to(it, P_DIFF, 50);
		assert_int_equal(itest_delivered(it, &before, 50, sink), 0);
	}
	for (int p = 0; p < 3; p++) {
		close(sinks[p].fd);
		for (int f = 0; f < FLOWS; f++)
			close(snd.fds[p][f]);
	}
	free(itest_stop(it, 5000, NULL));
}

/* Send SIGHUP, and wait until the status number key reaches want. */
static void sighup_until(struct itest *it, const char *key, uint64_t want)
{
	uint64_t have;

	assert_int_equal(kill(it->d.pid, SIGHUP), 0);
	for (int waited = 0; (have = status_num(it, key)) < want; waited += 10) {
		if (waited >= ITEST_DEADLINE_MS)
			fail_msg("after SIGHUP, status %s is %llu after %d ms, not %llu", key,
				 (unsigned long long)have, waited, (unsigned long long)want);
		usleep(10 * 1000);
	}
}

/* The status document (malloc'd), failing the test when there is none. */
static char *status_text(struct itest *it)
{
	char *json = nfqd_control(&it->d, "status\n");

	if (!json || !strstr(json, "\"generation\":")) {
		itest_print_log(it);
		fprintf(stderr, "status: %s\n", json ? json : "(none)");
		free(json);
		fail_msg("no status from the control socket");
	}
	return json;
}

static void test_a_bad_config_keeps_the_old_policy_and_names_file_and_line(void **state)
{
	struct itest *it = *state;
	struct itest_count before;
	char where[128];
	char *r, *log;
	int sink;

	itest_nfqd(it, POLICY_A);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", P_DIFF);
	assert_true(sink >= 0);
	snprintf(where, sizeof(where), "%s" BAD_LINE, it->d.conf);

	/* nfqctl reload answers the error, FILE:LINE first */
	itest_write_conf(it, POLICY_BAD);
	r = nfqd_control(&it->d, "reload\n");
	assert_non_null(r);
	if (!strstr(r, "{\"error\":") || !strstr(r, where) || !strstr(r, "'dorp'"))
		fail_msg("reload of a bad file answered %s, not the error at %s", r, where);
	free(r);
	/* SIGHUP too: it is logged at error priority, and status tells */
	sighup_until(it, "reloads", 2);
	r = status_text(it);
	if (!strstr(r, "\"generation\":1,") || !strstr(r, "\"result\":\"error\"") ||
	    !strstr(r, where))
		fail_msg("status after the bad reloads: %s", r);
	free(r);
	log = nfqd_log(&it->d);
	snprintf(where, sizeof(where),
		 "error: reload failed, generation 1 stays in force: %s" BAD_LINE, it->d.conf);
	if (!log || !strstr(log, where))
		fail_msg("nfqd did not log '%s':\n%s", where, log ? log : "");
	free(log);

	/* A is still in force: P_DIFF accepted, P_NONE dropped (B's first rule not applied) */
	before = itest_count(it);
	send_to(it, P_DIFF, 40);
	send_to(it, P_NONE, 40);
	assert_int_equal(itest_delivered(it, &before, 80, sink), 40);
	assert_int_equal(itest_total(it, "dropped") - before.dropped, 40);

	/* the file fixed, SIGHUP applies B */
	itest_write_conf(it, POLICY_B);
	sighup_until(it, "generation", 2);
	r = status_text(it);
	if (!strstr(r, "\"result\":\"ok\""))
		fail_msg("status after the good reload: %s", r);
	free(r);
	before = itest_count(it);
	send_to(it, P_DIFF, 40);
	assert_int_equal(itest_delivered(it, &before, 40, sink), 0);
	close(sink);
	free(itest_stop(it, 5000, NULL));
}

static void test_queues_added_and_removed_by_reload(void **state)
{
	struct itest *it = *state;
	struct itest_count before;
	unsigned int queued, last_id0, last_id;
	int sink0, sink1;
	char *log;

	itest_nfqd(it, "[queue]\nqueues = 0\n");
	sink0 = udp_sink_open(it->t.fw, "0.0.0.0", P_BOTH);
	sink1 = udp_sink_open(it->t.fw, "0.0.0.0", P_Q1);
	assert_true(sink0 >= 0 && sink1 >= 0);
	assert_int_equal(kernel_queue_line(it->t.fw, 1, &queued, &last_id), -1);
	/* one flow to P_BOTH: the balance takes it to one queue, 0 only is bound: send to 0 */
	itest_fw(it, "iptables -I INPUT -p udp --dport %d -j NFQUEUE --queue-num 0", P_BOTH);
	before = itest_count(it);
	send_to(it, P_BOTH, 100);
	assert_int_equal(itest_delivered(it, &before, 100, sink0), 100);
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id0), 0);
	assert_int_equal(last_id0, 100);

	/* queue 1 added: bound, and its traffic gets verdicts */
	itest_reload_ok(it, "[queue]\nqueues = 0-1\n", 2);
	assert_int_equal(kernel_queue_line(it->t.fw, 1, &queued, &last_id), 0);
	before = itest_count(it);
	send_to(it, P_Q1, 200);
	assert_int_equal(itest_delivered(it, &before, 200, sink1), 200);
	assert_int_equal(itest_stat(it, 1, "received"), 200);
	/* queue 0 untouched: still the same binding (its ids go on) and counters */
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
	assert_int_equal(last_id, last_id0);
	assert_int_equal(itest_stat(it, 0, "received"), 100);

	/* queue 1 removed: unbound in the kernel, queue 0 serves on */
	itest_reload_ok(it, "[queue]\nqueues = 0\n", 3);
	assert_int_equal(kernel_queue_line(it->t.fw, 1, &queued, &last_id), -1);
	before = itest_count(it);
	send_to(it, P_BOTH, 100);
	assert_int_equal(itest_delivered(it, &before, 100, sink0), 100);
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
	assert_int_equal(last_id, last_id0 + 100);
	assert_int_equal(itest_stat(it, 0, "received"), 200);
	close(sink0);
	close(sink1);
	log = itest_stop(it, 5000, NULL);
	if (!strstr(log, "queue 1: bound by the reload") ||
	    !strstr(log, "queue 1: unbound: no longer configured"))
		fail_msg("nfqd did not log the queue's binding and unbinding:\n%s", log);
	free(log);
}

static void test_a_start_with_a_bad_config_serves_the_last_good_one(void **state)
{
	struct itest *it = *state;
	struct nfqd_proc first;
	struct itest_count before;
	char dir[] = "/tmp/nfqd-test-lg-XXXXXX", lg[64], where[128];
	char *want, *have, *log, *r;
	struct stat st;
	int sink;

	assert_non_null(mkdtemp(dir));
	snprintf(lg, sizeof(lg), "%s/last-good.conf", dir);
	/* as systemd says where the unit's RuntimeDirectory is */
	assert_int_equal(setenv("RUNTIME_DIRECTORY", dir, 1), 0);
	itest_nfqd(it, POLICY_A);
	/* the configuration as loaded, 0600 */
	want = NULL;
	assert_int_equal(ns_sh_out(it->t.fw, &want, "cat %s", it->d.conf), 0);
	assert_int_equal(ns_sh_out(it->t.fw, &have, "cat %s", lg), 0);
	assert_string_equal(have, want);
	free(want);
	free(have);
	assert_int_equal(stat(lg, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(itest_stop(it, 5000, NULL));

	/* a restart with a bad file: the last good one (its control socket too) serves */
	first = it->d;
	it->have_d = false;
	itest_nfqd(it, POLICY_BAD);
	snprintf(it->d.control, sizeof(it->d.control), "%s", first.control);
	r = status_text(it);
	snprintf(where, sizeof(where), "%s" BAD_LINE, it->d.conf);
	if (!strstr(r, "\"serving_last_good\":true") || !strstr(r, where))
		fail_msg("status of an nfqd started with a bad file: %s", r);
	free(r);
	log = nfqd_log(&it->d);
	if (!log || !strstr(log, "does not load: serving with the last good configuration") ||
	    !strstr(log, where))
		fail_msg("nfqd did not report the bad file loudly:\n%s", log ? log : "");
	free(log);
	/* A's behaviour: P_DIFF accepted, P_NONE dropped */
	sink = udp_sink_open(it->t.fw, "0.0.0.0", P_DIFF);
	assert_true(sink >= 0);
	before = itest_count(it);
	send_to(it, P_DIFF, 40);
	send_to(it, P_NONE, 40);
	assert_int_equal(itest_delivered(it, &before, 80, sink), 40);
	close(sink);
	/* serving the last good file does not overwrite it */
	assert_int_equal(ns_sh(it->t.fw, "! grep -q dorp %s", lg), 0);
	free(itest_stop(it, 5000, NULL));
	unsetenv("RUNTIME_DIRECTORY");
	nfqd_cleanup(&first);
	unlink(lg);
	rmdir(dir);
}

/* Counter key of the stats' lookup object whose text is lookup; UINT64_MAX when absent. */
static uint64_t lookup_stat(struct itest *it, const char *lookup, const char *key)
{
	char *json = itest_stats(it), pat[96];
	const char *at, *end;
	uint64_t v = UINT64_MAX;

	snprintf(pat, sizeof(pat), "{\"lookup\":\"%s\",", lookup);
	at = strstr(json, pat);
	end = at ? strchr(at, '}') : NULL;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	at = at ? strstr(at, pat) : NULL;
	if (at && at < end)
		v = strtoull(at + strlen(pat), NULL, 10);
	if (v == UINT64_MAX)
		fprintf(stderr, "stats: %s\n", json);
	free(json);
	return v;
}

#define SETS_HEAD "[queue]\nqueues = 0-1\n[policy]\nset-lookup = test\n"

/*
 * A set lookup keeps its counters when a reload renumbers it; a new one starts at 0. A queue
 * whose worker judges by set rules is removed under traffic.
 */
static void test_lookup_counters_follow_their_lookup_across_reloads(void **state)
{
	struct itest *it = *state;
	struct itest_count before;
	struct flood fl = { 0 };
	unsigned int queued, last_id;
	int sink;

	itest_fw(it, "ipset create bl hash:ip && ipset add bl %s && ipset create al hash:ip",
		 it->t.cli4);
	itest_nfqd(it, SETS_HEAD "rule = drop src @bl\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", P_BOTH);
	assert_true(sink >= 0);
	before = itest_count(it);
	send_to(it, P_BOTH, 30);
	assert_int_equal(itest_delivered(it, &before, 30, sink), 0);
	assert_int_equal(lookup_stat(it, "src @bl", "members"), 30);

	/* 'src @bl' is lookup 1 now, after the new 'dst @al' */
	itest_reload_ok(it, SETS_HEAD "rule = accept dst @al\nrule = drop src @bl\n", 2);
	assert_int_equal(lookup_stat(it, "src @bl", "members"), 30);
	assert_int_equal(lookup_stat(it, "dst @al", "by_test"), 0);
	before = itest_count(it);
	send_to(it, P_BOTH, 20);
	assert_int_equal(itest_delivered(it, &before, 20, sink), 0);
	assert_int_equal(lookup_stat(it, "src @bl", "members"), 50);
	assert_int_equal(lookup_stat(it, "dst @al", "by_test"), 20);
	assert_int_equal(lookup_stat(it, "dst @al", "members"), 0);

	/* queue 1, busy with set tests, removed */
	assert_int_equal(flood_start(&fl, it->t.cli, NULL, it->t.fw4, P_Q1, 4, 32), 0);
	itest_wait_stat(it, 1, "received", 100);
	itest_reload_ok(
		it, "[queue]\nqueues = 0\n[policy]\nset-lookup = test\nrule = drop src @bl\n", 3);
	flood_stop(&fl);
	assert_int_equal(kernel_queue_line(it->t.fw, 1, &queued, &last_id), -1);
	/* every packet was dropped by the set rule, queue 1's too: the totals keep them */
	assert_true(itest_total(it, "dropped") > 50);
	assert_int_equal(itest_total(it, "received"), itest_total(it, "dropped"));
	assert_int_equal(lookup_stat(it, "src @bl", "members"), itest_total(it, "dropped"));
	assert_int_equal(lookup_stat(it, "dst @al", "members"), UINT64_MAX);
	close(sink);
	free(itest_stop(it, 5000, NULL));
}

/* Set rules answered in mark bits: the chain NFQD of `nfqd rules` sets them. bl holds the client,
 * al nothing: CHAIN_OLD accepts the client, CHAIN_NEW drops it. */
#define CHAIN_HEAD "[queue]\nqueues = 0\n[policy]\nset-lookup = mark\n"
#define CHAIN_OLD  CHAIN_HEAD "rule = drop src @al\n"
#define CHAIN_NEW  CHAIN_HEAD "rule = drop src @bl\n"

/* Load the rules `nfqd rules` generates for nfqd's configuration file, as the operator would. */
static void load_rules_of_conf(struct itest *it)
{
	/* the generator's own failure must not hide behind the pipe */
	itest_fw(it,
		 "rules=$(%s rules -c %s) && printf '%%s\\n' \"$rules\" | iptables-restore "
		 "--noflush",
		 nfqd_bin(), it->d.conf);
}

/*
 * A reload that changes the generated rules (a set rule under set-lookup = mark) is refused
 * while chain NFQD holds the running configuration's rules, with the command that loads the new
 * ones, and applied by the next reload once they are loaded: then the new policy is in force.
 * A start whose configuration the loaded chain does not match is warned about.
 */
static void test_a_rules_change_is_applied_once_the_loaded_chain_holds_it(void **state)
{
	struct itest *it = *state;
	struct itest_count before;
	char cmd[512];
	char *r, *log;
	int sink;

	itest_fw(it, "ipset create bl hash:ip && ipset add bl %s && ipset create al hash:ip",
		 it->t.cli4);
	/* the operator's order: the rules first, then nfqd. In IPv6 too: its set rules are left
	 * out (IPv4 sets), so its rules are the same for both configurations, and the IPv6 chain
	 * is read at each check and must hold them. */
	assert_int_equal(nfqd_rules_load(it->t.fw, CHAIN_OLD, false), 0);
	assert_int_equal(nfqd_rules_load(it->t.fw, CHAIN_OLD, true), 0);
	itest_nfqd(it, CHAIN_OLD);
	itest_fw(it, "iptables -I INPUT -p udp --dport %d -j NFQD", P_CHAIN);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", P_CHAIN);
	assert_true(sink >= 0);
	before = itest_count(it);
	send_to(it, P_CHAIN, 30);
	assert_int_equal(itest_delivered(it, &before, 30, sink), 30);

	/* refused while the old rules are loaded: the message names the command, no restart */
	itest_write_conf(it, CHAIN_NEW);
	r = nfqd_control(&it->d, "reload\n");
	snprintf(cmd, sizeof(cmd), "nfqd rules -c %s | iptables-restore --noflush", it->d.conf);
	if (!r || !strstr(r, "{\"error\":") || !strstr(r, cmd) ||
	    !strstr(r, "IPv4: the rules of the running configuration") ||
	    !strstr(r, "ip6tables-restore --noflush; nfqctl reload") || strstr(r, "IPv6:") ||
	    strstr(r, "restart"))
		fail_msg("a reload with the old rules loaded answered %s, not a refusal naming "
			 "'%s' and nfqctl reload",
			 r ? r : "(nothing)", cmd);
	free(r);
	assert_int_equal(status_num(it, "generation"), 1);
	before = itest_count(it);
	send_to(it, P_CHAIN, 30);
	assert_int_equal(itest_delivered(it, &before, 30, sink), 30);

	/* the new rules loaded, the same reload is applied, and the new policy drops */
	load_rules_of_conf(it);
	itest_reload_ok(it, CHAIN_NEW, 2);
	before = itest_count(it);
	send_to(it, P_CHAIN, 30);
	assert_int_equal(itest_delivered(it, &before, 30, sink), 0);
	assert_int_equal(itest_total(it, "dropped") - before.dropped, 30);
	close(sink);
	log = itest_stop(it, 5000, NULL);
	if (!strstr(log, "the loaded chain NFQD holds the rules of") ||
	    !strstr(log, "the loaded chain NFQD holds the new ones")) {
		fprintf(stderr, "---- nfqd log ----\n%s------------------\n", log);
		fail_msg("nfqd did not log that the loaded chain holds its rules");
	}
	free(log);

	/* a start with the old configuration while the new rules are loaded: warned, named */
	it->have_d = false;
	nfqd_cleanup(&it->d);
	itest_nfqd(it, CHAIN_OLD);
	snprintf(cmd, sizeof(cmd), "warning: %s: the loaded chain NFQD does not hold the rules",
		 it->d.conf);
	log = itest_stop(it, 5000, NULL);
	if (!strstr(log, cmd) || !strstr(log, "iptables-restore --noflush")) {
		fprintf(stderr, "---- nfqd log ----\n%s------------------\n", log);
		fail_msg("nfqd did not warn '%s' with the command at start", cmd);
	}
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_hundred_reloads_under_flood_lose_nothing_and_never_mix, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_bad_config_keeps_the_old_policy_and_names_file_and_line, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_queues_added_and_removed_by_reload, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_start_with_a_bad_config_serves_the_last_good_one, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_lookup_counters_follow_their_lookup_across_reloads, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_rules_change_is_applied_once_the_loaded_chain_holds_it, setup,
			itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: live reload", tests, NULL, NULL);
}
