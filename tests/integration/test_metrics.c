/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd's Prometheus metrics on the real kernel: `nfqctl metrics` of a live nfqd passes
 * `promtool check metrics`; Debian's prometheus-node-exporter, its textfile collector reading
 * the directory nfqd writes to (after nfqd dropped its privileges, under its system call
 * filter), serves nfqd's series with the numbers of known traffic; a textfile that cannot be
 * written is logged once, not at every interval, and once more when it works again.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "bgproc.h"
#include "itest.h"

#define P_R1	5201  /* dropped by rule 1 */
#define P_R3	5202  /* accepted by rule 3 */
#define P_DEF	5203  /* the default */
#define NE_PORT 19100 /* node-exporter's, on the firewall namespace's own loopback */
#define RULES                                                                                      \
	"[policy]\nrule = drop proto udp dport 5201\nrule = accept iif a\"b\\c\n"                  \
	"rule = accept proto udp dport 5202\n"

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "pm") < 0)
		return -1;
	it = *state;
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp --dport 5201:5203 -j NFQUEUE "
			       "--queue-num 0");
}

static bool have(const char *prog)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* Traffic of known numbers: 10 packets to rule 1, 20 to rule 3, 5 to the default (accepted
 * ones to sinks, so that no port unreachable disturbs the sender). */
static void known_traffic(struct itest *it)
{
	int s3 = udp_sink_open(it->t.fw, "0.0.0.0", P_R3);
	int sd = udp_sink_open(it->t.fw, "0.0.0.0", P_DEF);

	assert_true(s3 >= 0 && sd >= 0);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, P_R1, 10, 100, 1, 4, 200), 10);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, P_R3, 20, 100, 1, 4, 200), 20);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, P_DEF, 5, 100, 1, 4, 200), 5);
	itest_wait_total(it, "received", 35);
	assert_int_equal(udp_sink_wait(s3, 20, ITEST_DEADLINE_MS), 20);
	assert_int_equal(udp_sink_wait(sd, 5, ITEST_DEADLINE_MS), 5);
	close(s3);
	close(sd);
}

static void test_promtool_accepts_the_metrics_of_a_live_nfqd(void **state)
{
	struct itest *it = *state;
	char *out = NULL;
	int r;

	if (!have("promtool")) {
		fprintf(stderr, "promtool is not installed (Debian package prometheus): skipped\n");
		skip();
	}
	itest_nfqd(it, "[queue]\nqueues = 0\n" RULES);
	known_traffic(it);
	r = ns_sh_out(it->t.fw, &out,
		      "%s -s %s metrics > %s/m.prom && promtool check metrics "
		      "< %s/m.prom 2>&1 && echo PROMTOOL-OK && cat %s/m.prom",
		      nfqctl_bin(), it->d.control, it->d.dir, it->d.dir, it->d.dir);
	if (r != 0 || !out || !strstr(out, "PROMTOOL-OK"))
		fail_msg("promtool check metrics failed (%d):\n%s", r, out ? out : "");
	/* the numbers of the traffic, read back through nfqctl's decoding of the answer */
	if (!strstr(out, "\nnfqd_rule_matches_total{queue=\"0\",text=\"drop proto udp dport "
			 "5201\",occurrence=\"1\",verdict=\"drop\"} 10\n") ||
	    !strstr(out, "\nnfqd_rule_matches_total{queue=\"0\",text=\"accept iif a\\\"b\\\\c\","
			 "occurrence=\"1\",verdict=\"accept\"} 0\n") ||
	    !strstr(out, "\nnfqd_default_matches_total{queue=\"0\",verdict=\"accept\"} 5\n"))
		fail_msg("the metrics lack the traffic's numbers:\n%s", out);
	free(out);
	free(itest_stop(it, 5000, NULL));
}

/* GET /metrics from 127.0.0.1:port inside ns; the body (malloc'd), or NULL. */
static char *scrape(const char *ns, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap + 1), *body;
	int h = ns_enter(ns), fd = -1;

	if (h < 0 || !buf)
		goto fail;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ns_leave(h);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
		goto fail;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *b = realloc(buf, 2 * cap + 1);

			if (!b)
				goto fail;
			buf = b;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || !strstr(buf, " 200 ") || !body) {
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static void test_node_exporter_serves_the_textfile_nfqd_writes(void **state)
{
	static const char *const want[] = {
		"\nnfqd_rule_matches_total{occurrence=\"1\",queue=\"0\",text=\"drop proto udp "
		"dport 5201\",verdict=\"drop\"} 10\n",
		"\nnfqd_rule_bytes_total{occurrence=\"1\",queue=\"0\",text=\"drop proto udp dport "
		"5201\",verdict=\"drop\"} 1280\n",
		"\nnfqd_rule_matches_total{occurrence=\"1\",queue=\"0\",text=\"accept proto udp "
		"dport 5202\",verdict=\"accept\"} 20\n",
		"\nnfqd_rule_matches_total{occurrence=\"1\",queue=\"0\",text=\"accept iif "
		"a\\\"b\\\\c\",verdict=\"accept\"} 0\n",
		"\nnfqd_default_matches_total{queue=\"0\",verdict=\"accept\"} 5\n",
		"\nnfqd_packets_total{queue=\"0\",verdict=\"drop\"} 10\n",
		"\nnfqd_packets_total{queue=\"0\",verdict=\"accept\"} 25\n",
		"\nnfqd_received_total{queue=\"0\"} 35\n",
		"\nnfqd_rule_info{line=\"6\",occurrence=\"1\",rule=\"3\",text=\"accept proto udp "
		"dport 5202\",verdict=\"accept\"} 1\n",
		"\nnode_textfile_scrape_error 0\n",
	};
	struct itest *it = *state;
	struct bgproc ne = { .pid = -1, .out_fd = -1 };
	char conf[512], listen[64], dirarg[96], *body = NULL;
	size_t missing = 0;
	int st = 0;

	if (!have("prometheus-node-exporter")) {
		fprintf(stderr, "prometheus-node-exporter is not installed: skipped\n");
		skip();
	}
	assert_int_equal(bgproc_init(&ne), 0);
	snprintf(conf, sizeof(conf),
		 "[queue]\nqueues = 0\n" RULES "[metrics]\ntextfile = %s/nfqd.prom\ninterval = 1\n",
		 ne.dir);
	itest_nfqd(it, conf);
	snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d", NE_PORT);
	snprintf(dirarg, sizeof(dirarg), "--collector.textfile.directory=%s", ne.dir);
	char *const argv[] = { "/usr/bin/prometheus-node-exporter",
			       listen,
			       "--collector.disable-defaults",
			       "--collector.textfile",
			       dirarg,
			       NULL };
	if (bgproc_start(&ne, it->t.fw, argv, NULL, ITEST_DEADLINE_MS, &st) != 0) {
		bgproc_cleanup(&ne);
		fail_msg("prometheus-node-exporter did not start");
	}
	known_traffic(it);
	/* nfqd writes every second: wait until a scrape shows every number */
	for (int waited = 0; waited < ITEST_DEADLINE_MS; waited += 100) {
		free(body);
		body = scrape(it->t.fw, NE_PORT);
		missing = 0;
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (!body || !strstr(body, want[i]))
				missing = i + 1;
		if (!missing)
			break;
		usleep(100 * 1000);
	}
	if (missing) {
		char *log = bgproc_log(&ne);

		fprintf(stderr, "---- node-exporter ----\n%s\n---- scrape ----\n%s\n", log,
			body ? body : "(none)");
		free(log);
		free(body);
		bgproc_cleanup(&ne);
		fail_msg("the scrape lacks %s", want[missing - 1]);
	}
	free(body);
	assert_int_equal(bgproc_stop(&ne, SIGTERM, 5000, NULL), 0);
	bgproc_cleanup(&ne);
	free(itest_stop(it, 5000, NULL));
}

/* Occurrences of text in s. */
static unsigned int count_of(const char *s, const char *text)
{
	unsigned int n = 0;

	for (const char *at = strstr(s, text); at; at = strstr(at + 1, text))
		n++;
	return n;
}

/*
 * A textfile whose directory is missing: one warning naming the path and the reason, however
 * many intervals pass; once the directory is there the file appears, and nfqd says so once.
 */
static void test_a_failing_textfile_is_logged_once_per_change(void **state)
{
	struct itest *it = *state;
	char dir[] = "/tmp/nfqd-pm-XXXXXX", conf[512], path[96], *log = NULL;
	const char *warn = "cannot write the textfile";
	struct stat st;
	int waited;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(rmdir(dir), 0);
	snprintf(path, sizeof(path), "%s/nfqd.prom", dir);
	snprintf(conf, sizeof(conf),
		 "[queue]\nqueues = 0\n" RULES "[metrics]\ntextfile = %s\ninterval = 1\n", path);
	itest_nfqd(it, conf);
	/* the first write comes at once; four more intervals must add no line */
	for (waited = 0; waited < ITEST_DEADLINE_MS; waited += 100) {
		free(log);
		log = nfqd_log(&it->d);
		if (strstr(log, warn))
			break;
		usleep(100 * 1000);
	}
	if (!strstr(log, warn) || !strstr(log, path) || !strstr(log, "No such file or directory"))
		fail_msg("no warning about the missing directory:\n%s", log);
	free(log);
	sleep(4); /* four intervals, during which a warning per interval would show */
	log = nfqd_log(&it->d);
	if (count_of(log, warn) != 1)
		fail_msg("%u warnings about the textfile, expected 1:\n%s", count_of(log, warn),
			 log);
	free(log);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (waited = 0; waited < ITEST_DEADLINE_MS && stat(path, &st) != 0; waited += 100)
		usleep(100 * 1000);
	log = nfqd_log(&it->d);
	if (stat(path, &st) != 0 || count_of(log, "is written again") != 1 ||
	    count_of(log, warn) != 1)
		fail_msg("after the directory came, the textfile %s is %s:\n%s", path,
			 stat(path, &st) == 0 ? "there" : "missing", log);
	free(log);
	free(itest_stop(it, 5000, NULL));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_promtool_accepts_the_metrics_of_a_live_nfqd,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_node_exporter_serves_the_textfile_nfqd_writes,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_a_failing_textfile_is_logged_once_per_change,
						setup, itest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
