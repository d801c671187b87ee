/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP through the queue with NFQA_CFG_F_GSO: locally sent TCP leaves as GSO packets of up to
 * 64 KiB (veth offloads segmentation), so queueing on OUTPUT of the sender shows them whole.
 * The transfer is verified byte by byte at the receiver.
 */
#include "itest.h"

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "gso") < 0)
		return -1;
	it = *state;
	/* nfqd runs in "fw"; here "fw" is the sender and "cli" the receiver */
	return ns_sh(it->t.fw, "iptables -A OUTPUT -o veth0 -p tcp -j NFQUEUE --queue-num 0");
}

static void transfer(struct itest *it, const char *config, size_t bytes)
{
	char why[256] = "";
	uint64_t received, accepted;
	char *log;

	itest_nfqd(it, config);
	if (tcp_transfer(it->t.fw, it->t.cli, it->t.cli4, 7000, bytes, why, sizeof(why)) != 0) {
		itest_print_log(it);
		fail_msg("TCP transfer through the queue failed: %s", why);
	}
	/* large segments went through the queue whole, and none was dropped */
	assert_true(itest_stat(it, 0, "gso") > 0);
	assert_int_equal(itest_stat(it, 0, "dropped"), 0);
	assert_int_equal(itest_stat(it, 0, "truncated"), 0);
	assert_int_equal(itest_stat(it, 0, "errors"), 0);
	/* every packet received was accepted: counted once nfqd has stopped, since the
	 * connection's last packets may still be on their way while it runs */
	log = itest_stop(it, 2000, NULL);
	received = final_get(log, 0, "received");
	accepted = final_get(log, 0, "accepted");
	free(log);
	assert_int_equal(received, accepted);
}

static void test_64k_tcp_transfer_with_gso_headers_only(void **state)
{
	transfer(*state, "[queue]\ncopy-range = 128\n", 64 * 1024);
}

static void test_64k_tcp_transfer_with_gso_whole_packets_copied(void **state)
{
	/* the whole 64 KiB GSO packet reaches nfqd: buffers sized for the copy range */
	transfer(*state, "[queue]\ncopy-range = 65531\n", 64 * 1024);
}

static void test_8m_tcp_transfer_with_gso(void **state)
{
	transfer(*state, "[queue]\ncopy-range = 128\n", 8 * 1024 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_64k_tcp_transfer_with_gso_headers_only, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_64k_tcp_transfer_with_gso_whole_packets_copied,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_8m_tcp_transfer_with_gso, setup,
						itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: TCP with GSO", tests, NULL, NULL);
}
