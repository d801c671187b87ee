/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The drop log's pure parts: the line of a record (IPv4 and IPv6, with and without ports,
 * prefix, interfaces, unknown facts), a record written by droplog_push() read back through the
 * ring, the ring's fullness reported, and the rate limit's exact burst and rate, shared by
 * threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <linux/netfilter.h>

#include "droplog.h"

/* A record of the given facts, with prefix after it, in buf. */
static struct droplog_record *record(void *buf, int family, const char *src, const char *dst,
				     uint8_t proto, bool ports, const char *prefix)
{
	struct droplog_record *r = buf;

	memset(r, 0, sizeof(*r));
	r->rule = 2;
	r->verdict = NF_DROP;
	r->queue = 0;
	r->len = 60;
	r->proto = proto;
	r->flags = DROPLOG_F_PROTO;
	if (family) {
		r->flags |= DROPLOG_F_ADDRS;
		r->family = (uint8_t)family;
		assert_int_equal(inet_pton(family == 6 ? AF_INET6 : AF_INET, src, &r->src), 1);
		assert_int_equal(inet_pton(family == 6 ? AF_INET6 : AF_INET, dst, &r->dst), 1);
	}
	if (ports) {
		r->flags |= DROPLOG_F_PORTS;
		r->sport = 1234;
		r->dport = 443;
	}
	if (prefix) {
		r->prefix_len = (uint8_t)strlen(prefix);
		memcpy(r->prefix, prefix, r->prefix_len);
	}
	return r;
}

static void assert_line(const struct droplog_record *r, const char *iif, const char *oif,
			const char *want)
{
	char line[512];
	size_t n = droplog_format(r, iif, oif, line, sizeof(line));

	assert_string_equal(line, want);
	assert_int_equal(n, strlen(want));
}

static void test_lines_name_rule_prefix_verdict_queue_protocol_addresses_ports(void **state)
{
	_Alignas(8) char buf[sizeof(struct droplog_record) + NFQD_LOG_PREFIX_MAX];
	struct droplog_record *r;

	(void)state;
	r = record(buf, 4, "192.0.2.1", "198.51.100.7", IPPROTO_TCP, true, "BL");
	r->iif = 2;
	assert_line(r, "eth0", NULL,
		    "nfqd-drop: [BL] rule 3 drop queue 0 tcp 192.0.2.1:1234 -> 198.51.100.7:443 "
		    "iif eth0 len 60");
	/* an interface whose name is not known now is written by index */
	assert_line(r, NULL, NULL,
		    "nfqd-drop: [BL] rule 3 drop queue 0 tcp 192.0.2.1:1234 -> 198.51.100.7:443 "
		    "iif 2 len 60");
	r = record(buf, 6, "2001:db8::1", "2001:db8::2", IPPROTO_UDP, true, NULL);
	r->verdict = NF_ACCEPT;
	r->queue = 7;
	r->oif = 5;
	assert_line(r, NULL, "wg0",
		    "nfqd-drop: rule 3 accept queue 7 udp [2001:db8::1]:1234 -> [2001:db8::2]:443 "
		    "oif wg0 len 60");
	r = record(buf, 6, "2001:db8::1", "2001:db8::2", IPPROTO_ICMPV6, false, "a b: ");
	r->verdict = ((uint32_t)3 << 16) | NF_QUEUE;
	assert_line(r, NULL, NULL,
		    "nfqd-drop: [a b: ] rule 3 queue 3 queue 0 icmpv6 2001:db8::1 -> 2001:db8::2 "
		    "len 60");
	r = record(buf, 4, "10.0.0.1", "10.0.0.2", 253, false, NULL);
	assert_line(r, NULL, NULL,
		    "nfqd-drop: rule 3 drop queue 0 proto 253 10.0.0.1 -> 10.0.0.2 len 60");
	/* an unreadable packet: nothing is claimed that was not read */
	r = record(buf, 0, NULL, NULL, 0, false, NULL);
	r->flags = 0;
	assert_line(r, NULL, NULL, "nfqd-drop: rule 3 drop queue 0 proto ? ? -> ? len 60");
}

static void test_a_line_too_long_for_the_buffer_is_cut_not_overrun(void **state)
{
	_Alignas(8) char buf[sizeof(struct droplog_record) + NFQD_LOG_PREFIX_MAX];
	struct droplog_record *r = record(buf, 6, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, true,
					  "0123456789abcdef0123456789abcdef");
	char line[40];

	(void)state;
	memset(line, 'x', sizeof(line));
	assert_int_equal(droplog_format(r, NULL, NULL, line, 20), 19);
	assert_string_equal(line, "nfqd-drop: [0123456");
	assert_int_equal(line[20], 'x');
}

static void test_a_pushed_packet_reads_back_as_its_line(void **state)
{
	struct nfqd_packet pkt = { 0 };
	struct nfqd_decision d = { .verdict = NF_DROP, .rule = 0 };
	struct nfqd_spsc ring;
	const struct droplog_record *r;
	char line[512];
	size_t len;
	unsigned int pushed = 0;

	(void)state;
	pkt.flags = NFQD_PKT_HAS_L3 | NFQD_PKT_HAS_PROTO | NFQD_PKT_HAS_PORTS;
	pkt.l3 = 4;
	pkt.l4_proto = IPPROTO_UDP;
	pkt.queue = 4;
	pkt.indev = 9;
	pkt.packet_len = 1500;
	pkt.sport = 53;
	pkt.dport = 5353;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.9", &pkt.src), 1);
	assert_int_equal(inet_pton(AF_INET, "192.0.2.10", &pkt.dst), 1);
	assert_int_equal(nfqd_spsc_init(&ring, 1024), 0);
	assert_int_equal(droplog_push(&ring, &pkt, &d, "DNS", 7, 123), 0);
	r = nfqd_spsc_peek(&ring, &len);
	assert_non_null(r);
	assert_int_equal(len, sizeof(*r) + 3);
	assert_int_equal(r->gen, 7);
	assert_int_equal(r->time_ns, 123);
	droplog_format(r, "eth1", NULL, line, sizeof(line));
	assert_string_equal(line, "nfqd-drop: [DNS] rule 1 drop queue 4 udp 192.0.2.9:53 -> "
				  "192.0.2.10:5353 iif eth1 len 1500");
	nfqd_spsc_release(&ring);
	/* a full ring refuses the record and says so */
	while (droplog_push(&ring, &pkt, &d, NULL, 7, 124) == 0)
		pushed++;
	assert_true(pushed > 0);
	assert_int_equal(droplog_push(&ring, &pkt, &d, NULL, 7, 124), -ENOBUFS);
	nfqd_spsc_free(&ring);
}

static void test_rate_limit_lets_burst_through_then_one_per_interval(void **state)
{
	struct droplog_limit lim;
	uint64_t tat = 0, t = 1000000000000ull;
	unsigned int passed = 0;

	(void)state;
	droplog_limit_set(&lim, 10, 1, 5); /* 10/s: one per 100 ms; 5 at once */
	assert_int_equal(lim.interval_ns, 100000000);
	for (int i = 0; i < 100; i++)
		passed += droplog_admit(&tat, &lim, t);
	assert_int_equal(passed, 5);
	/* 99 ms later: still nothing; 100 ms: one */
	assert_false(droplog_admit(&tat, &lim, t + 99999999));
	assert_true(droplog_admit(&tat, &lim, t + 100000000));
	assert_false(droplog_admit(&tat, &lim, t + 100000000));
	/* after a quiet second and more the burst is whole again, not more */
	passed = 0;
	for (int i = 0; i < 100; i++)
		passed += droplog_admit(&tat, &lim, t + 5000000000ull);
	assert_int_equal(passed, 5);
	droplog_limit_set(&lim, 1, 3600, 1); /* 1/h, burst 1 */
	assert_int_equal(lim.interval_ns, 3600000000000ull);
	assert_int_equal(lim.tolerance_ns, 0);
}

#define RACE_THREADS 4
#define RACE_TRIES   200000

struct race {
	uint64_t *tat;
	const struct droplog_limit *lim;
	unsigned int passed;
};

static void *racer(void *arg)
{
	struct race *r = arg;

	/* all at the same instant: only the burst may pass, whoever asks */
	for (int i = 0; i < RACE_TRIES; i++)
		r->passed += droplog_admit(r->tat, r->lim, 42000000000ull);
	return NULL;
}

static void test_rate_limit_shared_by_threads_passes_exactly_the_burst(void **state)
{
	struct droplog_limit lim;
	struct race rc[RACE_THREADS];
	pthread_t t[RACE_THREADS];
	uint64_t tat = 0;
	unsigned int total = 0;

	(void)state;
	droplog_limit_set(&lim, 1, 60, 1000);
	for (int i = 0; i < RACE_THREADS; i++) {
		rc[i] = (struct race){ .tat = &tat, .lim = &lim };
		assert_int_equal(pthread_create(&t[i], NULL, racer, &rc[i]), 0);
	}
	for (int i = 0; i < RACE_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		total += rc[i].passed;
	}
	printf("%d threads x %d tries at one instant: %u passed (burst 1000)\n", RACE_THREADS,
	       RACE_TRIES, total);
	assert_int_equal(total, 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_lines_name_rule_prefix_verdict_queue_protocol_addresses_ports),
		cmocka_unit_test(test_a_line_too_long_for_the_buffer_is_cut_not_overrun),
		cmocka_unit_test(test_a_pushed_packet_reads_back_as_its_line),
		cmocka_unit_test(test_rate_limit_lets_burst_through_then_one_per_interval),
		cmocka_unit_test(test_rate_limit_shared_by_threads_passes_exactly_the_burst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
