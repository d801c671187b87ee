/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPv6 through ip6tables NFQUEUE and nfqd: prefixes, ports, extension header chains and
 * unreadable packets, counted end to end.
 */
#include <netinet/in.h>

#include "itest.h"
#include "pktbuild.h"

#define N 2000

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "v6") < 0)
		return -1;
	it = *state;
	/* Neighbour discovery is ICMPv6: queue only UDP, so the link keeps working. */
	return ns_sh(it->t.fw, "ip6tables -A INPUT -p udp -j NFQUEUE --queue-num 0");
}

static long long send6(struct itest *it, uint16_t port, unsigned long n)
{
	return udp_send(it->t.cli, NULL, it->t.fw6, port, n, 64, 4, 32, 200);
}

static void test_ipv6_accept_delivers_every_packet(void **state)
{
	struct itest *it = *state;
	int sink;
	unsigned int queued, last_id;

	itest_nfqd(it, "[policy]\ndefault = accept\n");
	sink = udp_sink_open(it->t.fw, "::", 5000);
	assert_true(sink >= 0);
	assert_int_equal(send6(it, 5000, N), N);
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	assert_int_equal(itest_wait_stat(it, 0, "received", N), N);
	assert_int_equal(itest_wait_stat(it, 0, "accepted", N), N);
	assert_int_equal(kernel_queue_line(it->t.fw, 0, &queued, &last_id), 0);
	assert_int_equal(last_id, N);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_ipv6_destination_prefix_rule_drops_matching_only(void **state)
{
	struct itest *it = *state;
	int sink;

	/* the first rule's prefix does not cover fd00:199::2; the second does */
	itest_nfqd(it, "[policy]\nrule = drop dst 2001:db8::/32\n"
		       "rule = drop dst fd00:199::/64 dport 5001\n");
	sink = udp_sink_open(it->t.fw, "::", 5000);
	assert_true(sink >= 0);
	assert_int_equal(send6(it, 5000, N), N);
	assert_int_equal(udp_sink_wait(sink, N, ITEST_DEADLINE_MS), N);
	close(sink);

	sink = udp_sink_open(it->t.fw, "::", 5001);
	assert_true(sink >= 0);
	assert_int_equal(send6(it, 5001, N), N);
	/* once nfqd has dropped them all, none is at the sink */
	itest_wait_total(it, "dropped", N);
	assert_int_equal(udp_sink_count(sink, 0, 0), 0);

	assert_int_equal(itest_wait_stat(it, 0, "accepted", N), N);
	assert_int_equal(itest_wait_stat(it, 0, "dropped", N), N);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_ipv4_rule_never_matches_ipv6_packets(void **state)
{
	struct itest *it = *state;
	int sink;

	itest_nfqd(it, "[policy]\nrule = drop src 0.0.0.0/0\n");
	sink = udp_sink_open(it->t.fw, "::", 5000);
	assert_true(sink >= 0);
	assert_int_equal(send6(it, 5000, 500), 500);
	assert_int_equal(udp_sink_wait(sink, 500, ITEST_DEADLINE_MS), 500);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

#define N_RAW	     200
#define RULE_6666    "[policy]\ndefault = accept\nrule = drop proto udp dport 6666\n"
#define STAT_WAIT_MS 60000
#define LOG_CUT_SHORT                                                                              \
	"unreadable packet fd00:199::1 -> fd00:199::2, protocol 17: UDP header cut short"

/*
 * Fill the body of the options header at opt (len bytes) with options the kernel skips: it
 * refuses more than 7 bytes of padding in a row, so all but the last byte go into options of
 * the experimental type 0x1e (RFC 4727), whose top bits say "skip if unknown".
 */
static void fill_options(uint8_t *opt, size_t len)
{
	size_t rem = len - 2, l;
	uint8_t *p = opt + 2;

	while (rem >= 2) {
		l = rem - 2 > 255 ? 255 : rem - 2;
		p[0] = 0x1e;
		p[1] = (uint8_t)l;
		p += 2 + l;
		rem -= 2 + l;
	}
}

/*
 * A UDP datagram from the client to the firewall's port 6666, behind n destination options
 * headers of hdr_len bytes each, which the kernel accepts as well-formed.
 */
static size_t udp_behind_dstopts(struct itest *it, uint8_t *buf, size_t n, size_t hdr_len)
{
	struct pb pb;
	int len;

	pb_init(&pb, buf, PB_PKT_MAX);
	pb_ipv6(&pb, it->t.cli6, it->t.fw6, 64);
	for (size_t i = 0; i < n; i++)
		pb_ipv6_ext(&pb, IPPROTO_DSTOPTS, hdr_len);
	pb_udp(&pb, IPPROTO_UDP, 40000, 6666);
	pb_data(&pb, NULL, 32);
	len = pb_finish(&pb);
	assert_true(len > 0);
	/* the UDP checksum does not cover the extension headers */
	for (size_t i = 0; i < n; i++)
		fill_options(buf + 40 + i * hdr_len, hdr_len);
	return (size_t)len;
}

/*
 * Send N_RAW of the datagram behind n headers of hdr_len bytes to an nfqd with config, and wait
 * until nfqd has read them all. Returns the stats (malloc'd) and the datagrams the sink on 6666
 * got in *delivered.
 */
static char *send_behind_dstopts(struct itest *it, const char *config, size_t n, size_t hdr_len,
				 uint64_t *delivered)
{
	static uint8_t pkt[PB_PKT_MAX];
	size_t len = udp_behind_dstopts(it, pkt, n, hdr_len);
	char *json;
	int sink;

	itest_nfqd(it, config);
	sink = udp_sink_open(it->t.fw, "::", 6666);
	assert_true(sink >= 0);
	assert_int_equal(raw_ip_send(it->t.cli, pkt, len, N_RAW, 500), N_RAW);
	json = itest_wait_stat_json(it, 0, "received", N_RAW, STAT_WAIT_MS);
	/* a verdict is applied inside the send that carries it: what was accepted is there now */
	*delivered = udp_sink_count(sink, 300, 10000);
	close(sink);
	return json;
}

/*
 * The first hiding place: UDP to 6666 behind one 88-byte destination options header,
 * with a copy range of 128, ends exactly where the UDP header starts. The rule cannot see the
 * port; the packet is unreadable and gets on-unreadable = drop (the default) instead of the
 * default accept, is counted and logged with its reason.
 */
static void test_udp_behind_88_byte_dstopts_cut_by_copy_range_is_dropped_as_unreadable(void **state)
{
	struct itest *it = *state;
	uint64_t delivered = 0;
	char *json;

	json = send_behind_dstopts(it, "[queue]\ncopy-range = 128\n" RULE_6666, 1, 88, &delivered);
	assert_int_equal(delivered, 0);
	assert_int_equal(stats_get(json, 0, "unreadable"), N_RAW);
	assert_int_equal(stats_get(json, -1, "unreadable"), N_RAW);
	assert_int_equal(stats_get(json, 0, "dropped"), N_RAW);
	assert_int_equal(stats_get(json, 0, "accepted"), 0);
	free(json);
	itest_stop_logged(it, LOG_CUT_SHORT "; verdict drop (on-unreadable)");
}

/*
 * The same packets with on-unreadable = accept reach the socket: the kernel delivers them, so the
 * drop above is nfqd's doing. They are still counted as unreadable.
 */
static void test_on_unreadable_accept_lets_the_cut_packets_through(void **state)
{
	struct itest *it = *state;
	uint64_t delivered = 0;
	char *json;

	json = send_behind_dstopts(
		it, "[queue]\ncopy-range = 128\n" RULE_6666 "on-unreadable = accept\n", 1, 88,
		&delivered);
	assert_int_equal(delivered, N_RAW);
	assert_int_equal(stats_get(json, 0, "unreadable"), N_RAW);
	assert_int_equal(stats_get(json, 0, "accepted"), N_RAW);
	free(json);
	itest_stop_logged(it, LOG_CUT_SHORT "; verdict accept (on-unreadable)");
}

/*
 * on-unreadable = evaluate: the rules decide with what was read. A copy range of 132 cuts the UDP
 * header after its ports: the port rule sees 6666 and drops them, by rule, still counted and
 * logged as unreadable.
 */
static void test_on_unreadable_evaluate_lets_the_port_rule_decide_with_what_was_read(void **state)
{
	struct itest *it = *state;
	uint64_t delivered = 0;
	char *json;

	json = send_behind_dstopts(
		it, "[queue]\ncopy-range = 132\n" RULE_6666 "on-unreadable = evaluate\n", 1, 88,
		&delivered);
	assert_int_equal(delivered, 0);
	assert_int_equal(stats_get(json, 0, "dropped"), N_RAW);
	assert_int_equal(stats_get(json, 0, "unreadable"), N_RAW);
	free(json);
	itest_stop_logged(it, LOG_CUT_SHORT "; verdict drop (on-unreadable = evaluate)");
}

/*
 * The second hiding place: 17 destination options headers before UDP to 6666. With the whole
 * packet, the chain is walked to the port and the rule drops it (it is not unreadable); with a
 * copy range that ends inside the chain it is unreadable and dropped as such.
 */
static void test_udp_behind_17_extension_headers_is_dropped_by_the_port_rule(void **state)
{
	struct itest *it = *state;
	uint64_t delivered = 0;
	char *json;

	json = send_behind_dstopts(it, "[queue]\ncopy-range = 1500\n" RULE_6666, 17, 8, &delivered);
	assert_int_equal(delivered, 0);
	assert_int_equal(stats_get(json, 0, "dropped"), N_RAW);
	assert_int_equal(stats_get(json, 0, "unreadable"), 0);
	assert_int_equal(stats_get(json, 0, "malformed"), 0);
	free(json);
	free(itest_stop(it, 5000, NULL));
}

static void test_udp_behind_17_extension_headers_past_the_copy_range_is_unreadable(void **state)
{
	struct itest *it = *state;
	uint64_t delivered = 0;
	char *json;

	json = send_behind_dstopts(it, "[queue]\ncopy-range = 128\n" RULE_6666, 17, 8, &delivered);
	assert_int_equal(delivered, 0);
	assert_int_equal(stats_get(json, 0, "dropped"), N_RAW);
	assert_int_equal(stats_get(json, 0, "unreadable"), N_RAW);
	free(json);
	itest_stop_logged(it, "IPv6 extension headers past the copy range; verdict drop");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ipv6_accept_delivers_every_packet, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_ipv6_destination_prefix_rule_drops_matching_only, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_rule_never_matches_ipv6_packets, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_udp_behind_88_byte_dstopts_cut_by_copy_range_is_dropped_as_unreadable,
			setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_on_unreadable_accept_lets_the_cut_packets_through, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_on_unreadable_evaluate_lets_the_port_rule_decide_with_what_was_read,
			setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_udp_behind_17_extension_headers_is_dropped_by_the_port_rule, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_udp_behind_17_extension_headers_past_the_copy_range_is_unreadable,
			setup, itest_teardown),
	};

	return cmocka_run_group_tests_name("integration: IPv6", tests, NULL, NULL);
}
