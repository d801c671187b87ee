/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reject verdict on the real kernel, IPv4 and IPv6: nfqd hands a rejected packet back with
 * NF_REPEAT and a reject code in its mark, and the REJECT rules of the generated chain NFQD
 * answer it - a TCP RST, an ICMP / ICMPv6 error of the rule's kind. Every packet gets one verdict
 * from nfqd; a packet the chain does not answer is dropped, not looped; behind a plain queue rule
 * a reject rule is refused.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "itest.h"
#include "rawsend.h"

#define CONFIG                                                                                     \
	"[policy]\nrule = reject proto tcp dport 81\nrule = reject dport 82\n"                     \
	"rule = reject with icmp admin-prohibited dport 83\n"
/* chain NFQD of CONFIG: its REJECT rules first, in the order of the answers */
#define RULE_TCP_RESET 1
#define RULE_PORT      2
#define RULE_ADMIN     3

/* ICMP destination unreachable and ICMPv6 destination unreachable, with the codes asked for */
#define ICMP_UNREACH	       3
#define ICMP_PORT_UNREACH      3
#define ICMP_ADMIN_PROHIBITED  13
#define ICMP6_UNREACH	       1
#define ICMP6_PORT_UNREACH     4
#define ICMP6_ADMIN_PROHIBITED 1

/* The client's traffic to these ports goes through chain NFQD, in both families. */
static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "rej") < 0)
		return -1;
	it = *state;
	for (int v6 = 0; v6 < 2; v6++)
		if (ns_sh(it->t.fw,
			  "%1$s -N NFQD && %1$s -A INPUT -p tcp --dport 81 -j NFQD && "
			  "%1$s -A INPUT -p udp --dport 82:83 -j NFQD",
			  v6 ? "ip6tables" : "iptables") != 0)
			return -1;
	return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The chain NFQD for CONFIG, IPv4 and IPv6, then nfqd. */
static void start_with_chain(struct itest *it, const char *config)
{
	assert_int_equal(nfqd_rules_load(it->t.fw, config, false), 0);
	assert_int_equal(nfqd_rules_load(it->t.fw, config, true), 0);
	itest_nfqd(it, config);
}

/* A socket of type in the client's namespace, connected to the firewall's port; -errno of the
 * connect in *err. */
static int client_socket(struct itest *it, bool v6, int type, uint16_t port, int *err)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	int h = ns_enter(it->t.cli), fd;
	/* the kernel's own limit: 6 SYNs, about 127 s before ETIMEDOUT */
	int syncnt = 6;

	assert_true(h >= 0);
	fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);
	ns_leave(h);
	assert_true(fd >= 0);
	if (type == SOCK_STREAM)
		assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt)),
				 0);
	if (v6) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, it->t.fw6, &a6->sin6_addr), 1);
	} else {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, it->t.fw4, &a4->sin_addr), 1);
	}
	*err = connect(fd, (struct sockaddr *)&ss, v6 ? sizeof(*a6) : sizeof(*a4)) == -1 ? -errno
											 : 0;
	return fd;
}

/* A raw ICMP (ICMPv6) socket in the client's namespace: it sees every ICMP error coming in. */
static int icmp_socket(struct itest *it, bool v6)
{
	int h = ns_enter(it->t.cli), fd;

	assert_true(h >= 0);
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC,
		    v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	ns_leave(h);
	assert_true(fd >= 0);
	return fd;
}

/*
 * Wait for the ICMP destination-unreachable error about a UDP datagram to port on raw socket
 * fd; its type and code in *type and *code. IPv4 raw sockets read the IP header too; the error
 * quotes the datagram's IP header (no options, no extension headers here) and UDP header.
 */
static void wait_icmp_error(int fd, bool v6, uint16_t port, int *type, int *code)
{
	uint8_t buf[2048];
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (elapsed_ms(&t0) < ITEST_DEADLINE_MS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		size_t icmp, udp;
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		assert_true(n > 0);
		icmp = v6 ? 0 : (size_t)(buf[0] & 0xf) * 4;
		udp = v6 ? icmp + 8 + 40 : icmp + 8 + 20;
		if ((size_t)n < udp + 4 || buf[icmp] != (v6 ? ICMP6_UNREACH : ICMP_UNREACH) ||
		    (buf[udp + 2] << 8 | buf[udp + 3]) != port)
			continue;
		*type = buf[icmp];
		*code = buf[icmp + 1];
		return;
	}
	fail_msg("no ICMP%s destination unreachable about port %u within %d ms", v6 ? "v6" : "",
		 port, ITEST_DEADLINE_MS);
}

/*
 * Every packet nfqd read got one verdict: the kernel's queue holds none, its last id is what
 * nfqd received, and each was rejected (none came back unanswered).
 */
static void assert_each_rejected_once(struct itest *it, uint64_t n)
{
	struct nfqd_queue_kstats ks;

	assert_int_equal(itest_wait_total(it, "rejected", n), n);
	ks = itest_kline(it, 0);
	if (ks.queued != 0 || ks.last_id != n || itest_total(it, "received") != n ||
	    itest_total(it, "reject_loops") != 0 || itest_total(it, "dropped") != 0)
		fail_msg("kernel: queued %u, last id %u; nfqd: received %llu, rejected %llu, "
			 "reject_loops %llu, dropped %llu; expected %llu each rejected once",
			 ks.queued, ks.last_id, (unsigned long long)itest_total(it, "received"),
			 (unsigned long long)itest_total(it, "rejected"),
			 (unsigned long long)itest_total(it, "reject_loops"),
			 (unsigned long long)itest_total(it, "dropped"), (unsigned long long)n);
}

/*
 * A TCP connect to port 81 is refused: the REJECT rule answers the SYN with a RST (its counter
 * says so; the ICMP rules stay at 0), ECONNREFUSED long before the kernel would give up.
 */
static void test_tcp_connect_is_refused_with_a_reset_in_ipv4_and_ipv6(void **state)
{
	struct itest *it = *state;
	uint64_t syns = 0;

	start_with_chain(it, CONFIG);
	for (int v6 = 0; v6 < 2; v6++) {
		struct timespec t0;
		long ms;
		int err, fd;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		fd = client_socket(it, v6, SOCK_STREAM, 81, &err);
		ms = elapsed_ms(&t0);
		close(fd);
		fprintf(stderr, "reject: IPv%d TCP connect to port 81: %s after %ld ms\n",
			v6 ? 6 : 4, strerror(-err), ms);
		if (err != -ECONNREFUSED || ms >= ITEST_DEADLINE_MS)
			fail_msg("IPv%d connect: %s after %ld ms, not refused at once", v6 ? 6 : 4,
				 strerror(-err), ms);
		assert_true(xt_rule_packets(it->t.fw, v6, "filter", "NFQD", RULE_TCP_RESET) >= 1);
		assert_int_equal(xt_rule_packets(it->t.fw, v6, "filter", "NFQD", RULE_PORT), 0);
		assert_int_equal(xt_rule_packets(it->t.fw, v6, "filter", "NFQD", RULE_ADMIN), 0);
		syns += xt_rule_packets(it->t.fw, v6, "filter", "NFQD", RULE_TCP_RESET);
	}
	assert_each_rejected_once(it, syns);
	/* three answers: two code bits above the marker */
	itest_stop_logged(it, "reject: answered by the REJECT rules of chain NFQD, codes in mark "
			      "bits 0x06000000");
}

/*
 * One UDP datagram to port on a connected socket; returns the error the socket reports (its
 * next send or recv after the ICMP error) and the ICMP error's type and code.
 */
static int udp_answer(struct itest *it, bool v6, uint16_t port, int *type, int *code)
{
	int raw = icmp_socket(it, v6), err, fd = client_socket(it, v6, SOCK_DGRAM, port, &err);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char byte = 'x';

	assert_int_equal(err, 0);
	assert_int_equal(send(fd, &byte, 1, 0), 1);
	wait_icmp_error(raw, v6, port, type, code);
	/* the UDP socket has its error by the time the raw socket has the message */
	assert_int_equal(poll(&p, 1, ITEST_DEADLINE_MS), 1);
	err = recv(fd, &byte, 1, MSG_DONTWAIT) == -1 ? errno : 0;
	close(fd);
	close(raw);
	return err;
}

/* A UDP sender to port 82 gets ICMP / ICMPv6 port unreachable: ECONNREFUSED on its socket. */
static void test_udp_sender_gets_port_unreachable_in_ipv4_and_ipv6(void **state)
{
	struct itest *it = *state;

	start_with_chain(it, CONFIG);
	for (int v6 = 0; v6 < 2; v6++) {
		int type = -1, code = -1, err = udp_answer(it, v6, 82, &type, &code);

		fprintf(stderr, "reject: IPv%d UDP to port 82: ICMP type %d code %d, socket %s\n",
			v6 ? 6 : 4, type, code, strerror(err));
		assert_int_equal(type, v6 ? ICMP6_UNREACH : ICMP_UNREACH);
		assert_int_equal(code, v6 ? ICMP6_PORT_UNREACH : ICMP_PORT_UNREACH);
		assert_int_equal(err, ECONNREFUSED);
		assert_int_equal(xt_rule_packets(it->t.fw, v6, "filter", "NFQD", RULE_PORT), 1);
	}
	assert_each_rejected_once(it, 2);
	free(itest_stop(it, 5000, NULL));
}

/* `reject with icmp admin-prohibited` answers with that code: ICMP 3/13, ICMPv6 1/1. */
static void test_with_admin_prohibited_gives_that_code_in_ipv4_and_ipv6(void **state)
{
	struct itest *it = *state;

	start_with_chain(it, CONFIG);
	for (int v6 = 0; v6 < 2; v6++) {
		int type = -1, code = -1;

		udp_answer(it, v6, 83, &type, &code);
		fprintf(stderr, "reject: IPv%d UDP to port 83: ICMP type %d code %d\n", v6 ? 6 : 4,
			type, code);
		assert_int_equal(type, v6 ? ICMP6_UNREACH : ICMP_UNREACH);
		assert_int_equal(code, v6 ? ICMP6_ADMIN_PROHIBITED : ICMP_ADMIN_PROHIBITED);
		assert_int_equal(xt_rule_packets(it->t.fw, v6, "filter", "NFQD", RULE_ADMIN), 1);
		assert_int_equal(xt_rule_packets(it->t.fw, v6, "filter", "NFQD", RULE_PORT), 0);
	}
	assert_each_rejected_once(it, 2);
	free(itest_stop(it, 5000, NULL));
}

#define N_LOOP 5

/*
 * A chain that does not answer (its REJECT rules deleted after the load) sends the packet back
 * with its reject code: nfqd drops it, counts it and says so, once per packet - no loop.
 */
static void test_a_packet_back_with_its_reject_code_is_dropped_not_looped(void **state)
{
	struct itest *it = *state;
	struct nfqd_queue_kstats ks;
	int sink;

	start_with_chain(it, CONFIG);
	itest_fw(it, "iptables -D NFQD %d && iptables -D NFQD %d && iptables -D NFQD %d",
		 RULE_ADMIN, RULE_PORT, RULE_TCP_RESET);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 82);
	assert_true(sink >= 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 82, N_LOOP, 16, 1, 1, 0), N_LOOP);
	assert_int_equal(itest_wait_total(it, "reject_loops", N_LOOP), N_LOOP);
	ks = itest_kline(it, 0);
	if (ks.queued != 0 || ks.last_id != 2 * N_LOOP ||
	    itest_total(it, "received") != 2 * N_LOOP || itest_total(it, "rejected") != N_LOOP ||
	    itest_total(it, "dropped") != N_LOOP)
		fail_msg("kernel: queued %u, last id %u; nfqd: received %llu, rejected %llu, "
			 "dropped %llu; expected each of %d packets read twice, rejected, then "
			 "dropped",
			 ks.queued, ks.last_id, (unsigned long long)itest_total(it, "received"),
			 (unsigned long long)itest_total(it, "rejected"),
			 (unsigned long long)itest_total(it, "dropped"), N_LOOP);
	assert_int_equal(udp_sink_count(sink, 0, 0), 0);
	close(sink);
	itest_stop_logged(it,
			  "came back with a reject code: the loaded chain NFQD did not answer it");
}

/*
 * With chain NFQD loaded but the traffic sent to the queue by a plain NFQUEUE rule, a reject
 * would not be answered: nfqd drops the packet, counts it and says so.
 */
static void test_a_reject_of_an_unmarked_packet_is_dropped_and_counted(void **state)
{
	struct itest *it = *state;
	int sink;

	start_with_chain(it, CONFIG);
	itest_fw(it, "iptables -I INPUT -p udp --dport 82 -j NFQUEUE --queue-num 0");
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 82);
	assert_true(sink >= 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 82, N_LOOP, 16, 1, 1, 0), N_LOOP);
	assert_int_equal(itest_wait_total(it, "reject_unmarked", N_LOOP), N_LOOP);
	assert_int_equal(itest_total(it, "dropped"), N_LOOP);
	assert_int_equal(itest_total(it, "rejected"), 0);
	assert_int_equal(udp_sink_count(sink, 0, 0), 0);
	close(sink);
	itest_stop_logged(it, "is to be rejected but did not come through chain NFQD (no marker)");
}

/* nfqd --check -c FILE in the firewall namespace: its exit status, its output in *out. */
static int check_in_fw(struct itest *it, const char *conf, char **out)
{
	*out = NULL;
	return ns_sh_out(it->t.fw, out, "%s --check -c %s 2>&1", nfqd_bin(), conf);
}

#define REFUSED_CONFIG "[policy]\nrule = drop dport 84\nrule = reject dport 82\n"
#define REFUSED_AT     ":3: rule 'reject dport 82': a reject is answered by the REJECT rules"

/*
 * Behind a plain queue rule that nfqd did not generate (no chain NFQD), a reject rule is refused
 * with FILE:LINE and what to do: nfqd does not start, --check fails, a reload keeps the old
 * configuration.
 */
static void test_a_reject_rule_behind_a_plain_queue_rule_is_refused(void **state)
{
	struct itest *it = *state;
	char want[256], *out = NULL, *r, *log;
	int st = 0;

	itest_fw(it, "iptables -A INPUT -p udp --dport 82 -j NFQUEUE --queue-num 0");

	/* the start: nfqd exits with the message */
	it->have_d = true;
	assert_int_equal(nfqd_start(&it->d, it->t.fw, REFUSED_CONFIG, ITEST_DEADLINE_MS, &st), 1);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	snprintf(want, sizeof(want), "%s" REFUSED_AT, it->d.conf);
	log = nfqd_log(&it->d);
	if (!log || !strstr(log, want) || !strstr(log, "iptables -A INPUT -j NFQD"))
		fail_msg("nfqd did not refuse to start with '%s':\n%s", want, log ? log : "");
	free(log);

	/* --check, with the kernel's answer */
	if (check_in_fw(it, it->d.conf, &out) != 1 || !out || !strstr(out, want))
		fail_msg("nfqd --check did not fail with '%s': %s", want, out ? out : "");
	free(out);

	/* a reload: refused, the running configuration stays */
	nfqd_cleanup(&it->d);
	itest_nfqd(it, "[policy]\nrule = drop dport 84\n");
	itest_write_conf(it, REFUSED_CONFIG);
	snprintf(want, sizeof(want), "%s" REFUSED_AT, it->d.conf);
	r = nfqd_control(&it->d, "reload\n");
	if (!r || !strstr(r, "{\"error\":") || !strstr(r, want))
		fail_msg("reload answered %s, not the refusal '%s'", r ? r : "(nothing)", want);
	free(r);
	r = nfqd_control(&it->d, "status\n");
	if (!r || !strstr(r, "\"generation\":1,"))
		fail_msg("status after the refused reload: %s", r ? r : "(nothing)");
	free(r);
	free(itest_stop(it, 5000, NULL));
}

/*
 * With chain NFQD loaded, a plain queue rule elsewhere that sends to nfqd's queue is refused
 * too, in IPv4 and IPv6, naming its chain and its queues; without it the check passes.
 */
static void test_a_plain_queue_rule_besides_chain_nfqd_is_refused(void **state)
{
	struct itest *it = *state;
	char want[256], *out = NULL, *log;
	int st = 0;

	assert_int_equal(nfqd_rules_load(it->t.fw, REFUSED_CONFIG, false), 0);
	assert_int_equal(nfqd_rules_load(it->t.fw, REFUSED_CONFIG, true), 0);
	itest_fw(it, "iptables -A FORWARD -p udp -j NFQUEUE --queue-balance 0:1");
	it->have_d = true;
	assert_int_equal(nfqd_start(&it->d, it->t.fw, REFUSED_CONFIG, ITEST_DEADLINE_MS, &st), 1);
	snprintf(want, sizeof(want),
		 "%s:3: rule 'reject dport 82': chain FORWARD of table filter (IPv4) sends packets "
		 "to queues 0-1 with a plain queue rule that nfqd did not generate",
		 it->d.conf);
	log = nfqd_log(&it->d);
	if (!log || !strstr(log, want))
		fail_msg("nfqd did not refuse to start with '%s':\n%s", want, log ? log : "");
	free(log);
	if (check_in_fw(it, it->d.conf, &out) != 1 || !out || !strstr(out, want))
		fail_msg("nfqd --check did not fail with '%s': %s", want, out ? out : "");
	free(out);

	itest_fw(it, "iptables -D FORWARD 1 && ip6tables -A OUTPUT -j NFQUEUE --queue-num 0");
	snprintf(want, sizeof(want),
		 "%s:3: rule 'reject dport 82': chain OUTPUT of table filter (IPv6) sends packets "
		 "to queue 0 with",
		 it->d.conf);
	if (check_in_fw(it, it->d.conf, &out) != 1 || !out || !strstr(out, want))
		fail_msg("nfqd --check did not fail with '%s': %s", want, out ? out : "");
	free(out);

	itest_fw(it, "ip6tables -D OUTPUT 1");
	if (check_in_fw(it, it->d.conf, &out) != 0 || !out ||
	    !strstr(out, "reject rules answered by the loaded chain NFQD"))
		fail_msg("nfqd --check with only chain NFQD loaded: %s", out ? out : "");
	free(out);

	/* a reload reads the ruleset again, under its privileges and syscall filter */
	nfqd_cleanup(&it->d);
	itest_nfqd(it, REFUSED_CONFIG);
	itest_fw(it, "iptables -A FORWARD -p udp -j NFQUEUE --queue-balance 0:1");
	snprintf(want, sizeof(want),
		 "%s:3: rule 'reject dport 82': chain FORWARD of table filter (IPv4) sends packets "
		 "to queues 0-1",
		 it->d.conf);
	out = nfqd_control(&it->d, "reload\n");
	if (!out || !strstr(out, "{\"error\":") || !strstr(out, want))
		fail_msg("reload answered %s, not the refusal '%s'", out ? out : "(nothing)", want);
	free(out);
	free(itest_stop(it, 5000, NULL));
}

/*
 * A start refused for its reject rules is refused as a file that does not load: the last good
 * configuration serves, and status says why.
 */
static void test_a_start_refused_for_its_reject_rules_serves_the_last_good_one(void **state)
{
	struct itest *it = *state;
	char dir[] = "/tmp/nfqd-test-rj-XXXXXX", lg[64], want[256];
	struct nfqd_proc first;
	char *r;

	assert_non_null(mkdtemp(dir));
	snprintf(lg, sizeof(lg), "%s/last-good.conf", dir);
	/* as systemd says where the unit's RuntimeDirectory is */
	assert_int_equal(setenv("RUNTIME_DIRECTORY", dir, 1), 0);
	itest_nfqd(it, "[policy]\nrule = drop dport 84\n");
	free(itest_stop(it, 5000, NULL));

	first = it->d;
	it->have_d = false;
	itest_nfqd(it, REFUSED_CONFIG);
	/* the last good file's control socket */
	snprintf(it->d.control, sizeof(it->d.control), "%s", first.control);
	snprintf(want, sizeof(want), "%s" REFUSED_AT, it->d.conf);
	r = nfqd_control(&it->d, "status\n");
	if (!r || !strstr(r, "\"serving_last_good\":true") || !strstr(r, want))
		fail_msg("status of an nfqd started with refused reject rules: %s", r ? r : "");
	free(r);
	free(itest_stop(it, 5000, NULL));
	unsetenv("RUNTIME_DIRECTORY");
	nfqd_cleanup(&first);
	unlink(lg);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_tcp_connect_is_refused_with_a_reset_in_ipv4_and_ipv6, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_udp_sender_gets_port_unreachable_in_ipv4_and_ipv6, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_with_admin_prohibited_gives_that_code_in_ipv4_and_ipv6, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_packet_back_with_its_reject_code_is_dropped_not_looped, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_reject_of_an_unmarked_packet_is_dropped_and_counted, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_reject_rule_behind_a_plain_queue_rule_is_refused, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_plain_queue_rule_besides_chain_nfqd_is_refused, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_a_start_refused_for_its_reject_rules_serves_the_last_good_one, setup,
			itest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
