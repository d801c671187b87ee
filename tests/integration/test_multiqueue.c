/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Several queues behind --queue-balance: every queue used, one worker each, no loss
 * (where the workers run: test_placement.c). */
#include "itest.h"

#define N 6000

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "mq") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-balance 0:1");
}

static void test_queue_balance_spreads_flows_and_loses_nothing(void **state)
{
	struct itest *it = *state;
	int sink;
	char *json;
	uint64_t q0, q1, total, accepted, kq0, kq1;
	char srcs[512];

	/* the queue balance hashes addresses and protocol: use many client addresses */
	assert_int_equal(topo_add_client_addrs(&it->t, 16, srcs, sizeof(srcs)), 0);
	itest_nfqd(it, "[queue]\nqueues = 0-1\n[policy]\nrule = drop dport 9\n");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);

	assert_int_equal(udp_send(it->t.cli, srcs, it->t.fw4, 5000, N, 64, 32, 32, 200), N);
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);

	json = itest_stats(it);
	q0 = stats_get(json, 0, "received");
	q1 = stats_get(json, 1, "received");
	total = stats_get(json, -1, "received");
	accepted = stats_get(json, -1, "accepted");
	/* freed before the assertions: a failing test leaks nothing */
	free(json);
	assert_true(q0 > 0);
	assert_true(q1 > 0);
	assert_int_equal(q0 + q1, N);
	assert_int_equal(total, N);
	assert_int_equal(accepted, N);

	json = itest_stop(it, 2000, NULL);
	q0 = final_get(json, 0, "received") + final_get(json, 1, "received");
	kq0 = final_get(json, 0, "kernel_queued");
	kq1 = final_get(json, 1, "kernel_queued");
	free(json);
	assert_int_equal(q0, N);
	assert_int_equal(kq0, 0);
	assert_int_equal(kq1, 0);
	close(sink);
}

static void test_a_queue_nobody_serves_is_not_bound(void **state)
{
	struct itest *it = *state;
	unsigned int queued, last_id;

	/* nfqd serves queue 0 only: queue 1 of the balance stays unbound */
	itest_nfqd(it, "[queue]\nqueues = 0\n");
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
	assert_int_equal(kernel_queue_line(it->t.fw, 1, &queued, &last_id), -1);
	free(itest_stop(it, 2000, NULL));
	/* after the exit no queue is bound */
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queue_balance_spreads_flows_and_loses_nothing,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_a_queue_nobody_serves_is_not_bound, setup,
						itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: several queues", tests, NULL, NULL);
}
