/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mmap transport against this machine's real kernel, which (like every kernel since 4.6)
 * has no mmap netlink: `transport = auto` tries mmap first, falls back to mmsg with ONE log line
 * for the whole process saying why, and serves every packet; an explicit `transport = mmap`
 * refuses to start, naming the kernel's reason. The ring itself is exercised against a
 * simulated kernel in the unit tests, not here.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>

#include "itest.h"

#define PORT	5000
#define PACKETS 300

#define NO_MMAP_WHY                                                                                \
	"kernel has no mmap netlink (NETLINK_RX_RING: ENOPROTOOPT; removed in Linux 4.6)"

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "mmap") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp --dport %d -j NFQUEUE --queue-balance 0:1",
		     PORT);
}

static int teardown(void **state)
{
	return itest_teardown(state);
}

/*
 * auto on a kernel without mmap netlink: both queues on mmsg, exactly one line for the whole
 * process (not one per queue) naming mmap's reason and the transport taken, and every packet
 * read once and accepted: nfqd's counts equal the kernel's ids and the sink's count.
 */
static void test_auto_falls_back_to_mmsg_with_one_line_and_serves_every_packet(void **state)
{
	struct itest *it = *state;
	int sink = udp_sink_open(it->t.fw, "0.0.0.0", PORT);
	struct nfqd_queue_kstats k0, k1;
	uint64_t received, accepted;
	char *json, *log;

	assert_true(sink >= 0);
	itest_nfqd(it, "[queue]\nqueues = 0-1\ntransport = auto\n[policy]\ndefault = accept\n");
	json = itest_stats(it);
	if (itest_count_of(json, "\"transport\":\"mmsg\"") != 2)
		fprintf(stderr, "want both queues on mmsg: %s\n", json);
	assert_int_equal(itest_count_of(json, "\"transport\":\"mmsg\""), 2);
	assert_int_equal(itest_count_of(json, "\"transport\":\"mmap\""), 0);
	free(json);

	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, PORT, PACKETS, 32, 8, 8, 0), PACKETS);
	assert_int_equal(udp_sink_wait(sink, PACKETS, ITEST_DEADLINE_MS), PACKETS);
	close(sink);
	received = itest_wait_total(it, "received", PACKETS);
	accepted = itest_wait_total(it, "accepted", PACKETS);
	k0 = itest_kline(it, 0);
	k1 = itest_kline(it, 1);
	if (received != PACKETS || accepted != PACKETS || k0.last_id + k1.last_id != PACKETS ||
	    k0.queued + k1.queued != 0)
		fprintf(stderr,
			"sent %d: received %llu accepted %llu; kernel ids %u + %u, queued %u + "
			"%u\n",
			PACKETS, (unsigned long long)received, (unsigned long long)accepted,
			k0.last_id, k1.last_id, k0.queued, k1.queued);
	assert_int_equal(received, PACKETS);
	assert_int_equal(accepted, PACKETS);
	assert_int_equal(k0.last_id + k1.last_id, PACKETS);
	assert_int_equal(k0.queued + k1.queued, 0);
	/* the ring counters stay 0 off the ring */
	assert_int_equal(itest_total(it, "ring_full"), 0);
	assert_int_equal(itest_total(it, "ring_copies"), 0);
	assert_int_equal(itest_total(it, "ring_empty"), 0);
	assert_int_equal(itest_total(it, "ring_tx_full"), 0);

	log = itest_stop(it, 5000, NULL);
	if (itest_count_of(log, "transport auto:") != 1 ||
	    itest_count_of(log, "transport auto: " NO_MMAP_WHY "; using mmsg") != 1)
		fprintf(stderr, "want one line 'transport auto: %s; using mmsg' in:\n%s\n",
			NO_MMAP_WHY, log);
	assert_int_equal(itest_count_of(log, "transport auto:"), 1);
	assert_int_equal(itest_count_of(log, "transport auto: " NO_MMAP_WHY "; using mmsg"), 1);
	free(log);
}

/*
 * An explicit `transport = mmap` on a kernel without mmap netlink: nfqd exits non-zero before
 * it is ready, with the kernel's reason naming the queue, and leaves no queue bound.
 */
static void test_explicit_mmap_refuses_to_start_with_the_kernels_reason(void **state)
{
	struct itest *it = *state;
	char *log, *procfile = NULL;
	int st = 0;
	int r;

	r = nfqd_start(&it->d, it->t.fw, "[queue]\nqueues = 0-1\ntransport = mmap\n",
		       ITEST_DEADLINE_MS, &st);
	it->have_d = true;
	log = nfqd_log(&it->d);
	assert_non_null(log);
	if (r != 1 || !WIFEXITED(st) || WEXITSTATUS(st) == 0 ||
	    !strstr(log, "transport 'mmap' cannot work here: " NO_MMAP_WHY))
		fprintf(stderr, "start %d, status 0x%x; nfqd's log:\n%s\n", r, st, log);
	assert_int_equal(r, 1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_non_null(strstr(log, "queue 0: transport 'mmap' cannot work here: " NO_MMAP_WHY));
	free(log);

	/* nothing left bound: the kernel lists no queue of nfqd's */
	assert_int_equal(ns_sh_out(it->t.fw, &procfile, "cat /proc/net/netfilter/nfnetlink_queue"),
			 0);
	if (procfile[0] != '\0')
		fprintf(stderr, "queues still bound:\n%s\n", procfile);
	assert_string_equal(procfile, "");
	free(procfile);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_auto_falls_back_to_mmsg_with_one_line_and_serves_every_packet, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_explicit_mmap_refuses_to_start_with_the_kernels_reason, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
