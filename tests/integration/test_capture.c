/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqctl capture against the real kernel: the packets nfqd drops, over IPv4 and IPv6, UDP and
 * TCP, read back by tshark with the 5-tuples they were sent with and nothing else; Ctrl-C and
 * nfqd's stop end a capture with a valid file; one capture at a time; a client that does not
 * read loses records, counted, while every packet still gets its verdict.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include "bgproc.h"
#include "capwire.h"
#include "itest.h"

#define RULES "[policy]\ndefault = accept\nrule = drop dport 9\n"

static int setup(void **state)
{
	struct itest *it;

	if (itest_setup(state, "cap") < 0)
		return -1;
	it = *state;
	/* Neighbour discovery is ICMPv6: queue only UDP and TCP, so the link keeps working. */
	return ns_sh(it->t.fw, "iptables -A INPUT -p udp -j NFQUEUE --queue-num 0 && "
			       "iptables -A INPUT -p tcp -j NFQUEUE --queue-num 0 && "
			       "ip6tables -A INPUT -p udp -j NFQUEUE --queue-num 0 && "
			       "ip6tables -A INPUT -p tcp -j NFQUEUE --queue-num 0");
}

static bool have_tshark(void)
{
	return system("command -v tshark >/dev/null 2>&1") == 0;
}

/* One packet sent: "udp 10.199.0.1:41001 > 10.199.0.2:9", as the test writes a 5-tuple. */
struct tuple {
	const char *proto;
	bool v6;
	uint16_t sport;
};

static void tuple_text(const struct itest *it, const struct tuple *t, uint16_t dport, char *buf,
		       size_t len)
{
	if (t->v6)
		snprintf(buf, len, "%s [%s]:%u > [%s]:%u", t->proto, it->t.cli6, t->sport,
			 it->t.fw6, dport);
	else
		snprintf(buf, len, "%s %s:%u > %s:%u", t->proto, it->t.cli4, t->sport, it->t.fw4,
			 dport);
}

/*
 * Send one packet of t from the client to dport: a UDP datagram, or a TCP SYN (the socket is
 * closed at once, so that no retransmission follows).
 */
static void send_one(struct itest *it, const struct tuple *t, uint16_t dport)
{
	struct sockaddr_storage from = { 0 }, to = { 0 };
	bool udp = strcmp(t->proto, "udp") == 0;
	int af = t->v6 ? AF_INET6 : AF_INET;
	socklen_t sl;
	int h, fd, one = 1;

	if (t->v6) {
		struct sockaddr_in6 *f = (struct sockaddr_in6 *)&from,
				    *d = (struct sockaddr_in6 *)&to;

		f->sin6_family = d->sin6_family = AF_INET6;
		f->sin6_port = htons(t->sport);
		d->sin6_port = htons(dport);
		assert_int_equal(inet_pton(AF_INET6, it->t.cli6, &f->sin6_addr), 1);
		assert_int_equal(inet_pton(AF_INET6, it->t.fw6, &d->sin6_addr), 1);
		sl = sizeof(struct sockaddr_in6);
	} else {
		struct sockaddr_in *f = (struct sockaddr_in *)&from, *d = (struct sockaddr_in *)&to;

		f->sin_family = d->sin_family = AF_INET;
		f->sin_port = htons(t->sport);
		d->sin_port = htons(dport);
		assert_int_equal(inet_pton(AF_INET, it->t.cli4, &f->sin_addr), 1);
		assert_int_equal(inet_pton(AF_INET, it->t.fw4, &d->sin_addr), 1);
		sl = sizeof(struct sockaddr_in);
	}
	h = ns_enter(it->t.cli);
	assert_true(h >= 0);
	fd = socket(af, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
	ns_leave(h);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sl), 0);
	if (udp) {
		assert_int_equal(sendto(fd, "capture", 7, 0, (struct sockaddr *)&to, sl), 7);
	} else {
		/* the SYN leaves inside connect() */
		assert_int_equal(connect(fd, (struct sockaddr *)&to, sl), -1);
		assert_int_equal(errno, EINPROGRESS);
	}
	close(fd);
}

/*
 * The 5-tuples tshark reads from file, one "proto src:sport > dst:dport" line each, in file
 * order, into out (malloc'd).
 */
static char *tshark_tuples(const char *file)
{
	char cmd[512], line[512];
	struct strbuf_local {
		char *s;
		size_t len, cap;
	} b = { 0 };
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "tshark -r %s -T fields -E separator=, -e ip.proto -e ipv6.nxt -e ip.src "
		 "-e ipv6.src -e ip.dst -e ipv6.dst -e udp.srcport -e tcp.srcport -e udp.dstport "
		 "-e tcp.dstport 2>/dev/null",
		 file);
	f = popen(cmd, "r");
	assert_non_null(f);
	b.cap = 4096;
	b.s = calloc(1, b.cap);
	assert_non_null(b.s);
	while (fgets(line, sizeof(line), f)) {
		char *fld[10] = { 0 }, *p = line, out[300];
		const char *proto, *src, *dst, *sp, *dp;
		bool v6;

		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < 10; i++)
			fld[i] = strsep(&p, ",");
		for (int i = 0; i < 10; i++)
			if (!fld[i])
				fld[i] = "";
		v6 = *fld[3] != '\0';
		proto = strcmp(v6 ? fld[1] : fld[0], "17") == 0	 ? "udp"
			: strcmp(v6 ? fld[1] : fld[0], "6") == 0 ? "tcp"
								 : "?";
		src = v6 ? fld[3] : fld[2];
		dst = v6 ? fld[5] : fld[4];
		sp = *fld[6] ? fld[6] : fld[7];
		dp = *fld[8] ? fld[8] : fld[9];
		if (v6)
			snprintf(out, sizeof(out), "%s [%s]:%s > [%s]:%s\n", proto, src, sp, dst,
				 dp);
		else
			snprintf(out, sizeof(out), "%s %s:%s > %s:%s\n", proto, src, sp, dst, dp);
		if (b.len + strlen(out) + 1 > b.cap) {
			b.cap *= 2;
			b.s = realloc(b.s, b.cap);
			assert_non_null(b.s);
		}
		memcpy(b.s + b.len, out, strlen(out) + 1);
		b.len += strlen(out);
	}
	pclose(f);
	return b.s;
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* tshark reads exactly the lines want holds, as tshark_tuples() writes them, in file order. */
static void expect_tshark(const char *file, const char *want)
{
	char *got = tshark_tuples(file);

	if (strcmp(got, want) != 0)
		fail_msg("tshark read:\n%swanted:\n%s", got, want);
	free(got);
}

/* The lines of text sorted, newline-ended, into a new string (malloc'd). */
static char *sorted_lines(const char *text)
{
	char *copy = strdup(text), *save = NULL, *lines[256], *out;
	size_t n = 0, len = 0;

	assert_non_null(copy);
	for (char *l = strtok_r(copy, "\n", &save); l && n < 256; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(*lines), cmp_lines);
	out = calloc(1, strlen(text) + 2);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(out + len, "%s\n", lines[i]);
	free(copy);
	return out;
}

/*
 * Start `nfqctl capture ARGS -w FILE` (its stderr to the stdout bgproc reads) until it says it
 * is capturing; with "-w -" in ARGS, its stdout goes to FILE.
 */
static void start_capture(struct itest *it, struct bgproc *bg, const char *args, char *file,
			  size_t filelen)
{
	char cmd[1024];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	int st = 0;

	assert_int_equal(bgproc_init(bg), 0);
	snprintf(file, filelen, "%s/cap.pcap", bg->dir);
	/* "-w -": the pcap data on stdout into the file, the messages where bgproc reads */
	if (strstr(args, "-w -"))
		snprintf(cmd, sizeof(cmd), "exec %s -s %s capture %s 2>&1 >%s", nfqctl_bin(),
			 it->d.control, args, file);
	else
		snprintf(cmd, sizeof(cmd), "exec %s -s %s capture %s -w %s 2>&1", nfqctl_bin(),
			 it->d.control, args, file);
	if (bgproc_start(bg, it->t.fw, argv, "nfqctl: capturing to", ITEST_DEADLINE_MS, &st) != 0) {
		char *log = bgproc_log(bg);

		itest_print_log(it);
		fail_msg("nfqctl capture did not start (status 0x%x): %s %s", st, bg->out,
			 log ? log : "");
	}
}

/* Wait for nfqctl to end by itself; its exit status. */
static int wait_capture(struct itest *it, struct bgproc *bg)
{
	int st = -1;

	if (proc_wait_exit(&bg->pid, ITEST_DEADLINE_MS, &st, NULL) != 0) {
		itest_print_log(it);
		fail_msg("nfqctl capture did not end: %s", bg->out);
	}
	(void)bgproc_said(bg, "");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_dropped_packets_read_back_with_their_5_tuples(void **state)
{
	static const struct tuple dropped[] = {
		{ "udp", false, 41001 }, { "tcp", false, 41002 }, { "udp", true, 41003 },
		{ "tcp", true, 41004 },	 { "udp", false, 41005 }, { "tcp", false, 41006 },
		{ "udp", true, 41007 },	 { "tcp", true, 41008 },
	};
	static const struct tuple accepted[] = {
		{ "udp", false, 42001 },
		{ "udp", true, 42002 },
	};
	const unsigned int n = sizeof(dropped) / sizeof(dropped[0]);
	struct itest *it = *state;
	char file[96], want[2048] = "", line[200], *got, *want_sorted, said[96];
	struct bgproc bg;
	int sink4, sink6;
	size_t len = 0;

	if (!have_tshark()) {
		fprintf(stderr, "SKIP: tshark is not installed (Debian package tshark): the "
				"capture cannot be read back\n");
		skip();
	}
	itest_nfqd(it, RULES);
	sink4 = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	sink6 = udp_sink_open(it->t.fw, "::", 5001);
	assert_true(sink4 >= 0 && sink6 >= 0);
	start_capture(it, &bg, "-q 0 --verdict drop -c 8", file, sizeof(file));

	/* accepted packets between the dropped ones: none of them may appear */
	for (unsigned int i = 0; i < n; i++) {
		send_one(it, &accepted[i % 2], accepted[i % 2].v6 ? 5001 : 5000);
		send_one(it, &dropped[i], 9);
		tuple_text(it, &dropped[i], 9, line, sizeof(line));
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s\n", line);
	}
	assert_int_equal(wait_capture(it, &bg), 0);
	snprintf(said, sizeof(said),
		 "nfqctl: %u packets captured, 0 dropped (the count was reached)", n);
	if (!strstr(bg.out, said))
		fail_msg("nfqctl said: %s", bg.out);

	got = tshark_tuples(file);
	want_sorted = sorted_lines(want);
	{
		char *got_sorted = sorted_lines(got);

		if (strcmp(got_sorted, want_sorted) != 0)
			fail_msg("tshark read:\n%swanted:\n%s", got_sorted, want_sorted);
		free(got_sorted);
	}
	free(got);
	free(want_sorted);

	/* every packet kept its verdict */
	assert_int_equal(udp_sink_wait(sink4, n / 2, ITEST_DEADLINE_MS), n / 2);
	assert_int_equal(udp_sink_wait(sink6, n / 2, ITEST_DEADLINE_MS), n / 2);
	assert_int_equal(itest_wait_stat(it, 0, "dropped", n), n);
	assert_int_equal(itest_wait_stat(it, 0, "accepted", n), n);
	assert_int_equal(itest_stat(it, 0, "capture_dropped"), 0);
	free(itest_stop(it, 2000, NULL));
	bgproc_cleanup(&bg);
	close(sink4);
	close(sink6);
}

/* Size of file, 0 when absent. */
static long long file_size(const char *file)
{
	struct stat st;

	return stat(file, &st) == 0 ? (long long)st.st_size : 0;
}

static void test_ctrl_c_ends_the_capture_with_a_valid_file(void **state)
{
	static const struct tuple t = { "udp", false, 43001 };
	struct itest *it = *state;
	/* pcap file header, then per packet a record header and IPv4 + UDP + 7 bytes */
	const long long want_size = 24 + 5 * (16 + 20 + 8 + 7);
	char file[96], line[200], want[1200] = "";
	struct bgproc bg;
	long long deadline;
	int st = -1;
	size_t len = 0;

	if (!have_tshark()) {
		fprintf(stderr, "SKIP: tshark is not installed (Debian package tshark)\n");
		skip();
	}
	itest_nfqd(it, RULES);
	start_capture(it, &bg, "", file, sizeof(file));
	for (int i = 0; i < 5; i++) {
		send_one(it, &t, 9);
		tuple_text(it, &t, 9, line, sizeof(line));
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s\n", line);
	}
	/* nfqctl flushes the file after each read from the socket */
	deadline = test_now_ms() + ITEST_DEADLINE_MS;
	while (file_size(file) < want_size && test_now_ms() < deadline)
		usleep(20 * 1000);
	if (file_size(file) != want_size)
		fail_msg("the capture file has %lld bytes, not %lld", file_size(file), want_size);

	assert_int_equal(bgproc_stop(&bg, SIGINT, ITEST_DEADLINE_MS, &st), 0);
	(void)bgproc_said(&bg, "");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    !strstr(bg.out, "nfqctl: 5 packets captured, 0 dropped (stopped)"))
		fail_msg("nfqctl after SIGINT: status 0x%x: %s", st, bg.out);
	expect_tshark(file, want);
	free(itest_stop(it, 2000, NULL));
	bgproc_cleanup(&bg);
}

static void test_write_to_stdout_with_a_dash(void **state)
{
	static const struct tuple t4 = { "udp", false, 44001 }, t6 = { "udp", true, 44002 };
	struct itest *it = *state;
	char file[96], want[512], l4[200], l6[200];
	struct bgproc bg;

	if (!have_tshark()) {
		fprintf(stderr, "SKIP: tshark is not installed (Debian package tshark)\n");
		skip();
	}
	itest_nfqd(it, RULES);
	start_capture(it, &bg, "--verdict drop -c 2 -w -", file, sizeof(file));
	send_one(it, &t4, 9);
	send_one(it, &t6, 9);
	assert_int_equal(wait_capture(it, &bg), 0);
	if (!strstr(bg.out, "nfqctl: capturing to stdout") ||
	    !strstr(bg.out, "nfqctl: 2 packets captured, 0 dropped (the count was reached)"))
		fail_msg("nfqctl said: %s", bg.out);
	tuple_text(it, &t4, 9, l4, sizeof(l4));
	tuple_text(it, &t6, 9, l6, sizeof(l6));
	snprintf(want, sizeof(want), "%s\n%s\n", l4, l6);
	expect_tshark(file, want);
	free(itest_stop(it, 2000, NULL));
	bgproc_cleanup(&bg);
}

static void test_one_capture_at_a_time_and_nfqd_stop_ends_it(void **state)
{
	struct itest *it = *state;
	char file[96], *answer;
	struct bgproc bg;

	itest_nfqd(it, RULES);
	start_capture(it, &bg, "--rule 1", file, sizeof(file));
	answer = nfqd_control(&it->d, "capture\n");
	if (!answer || !strstr(answer, "\"error\":\"busy: a capture runs already") ||
	    !strstr(answer, "\"busy\":true"))
		fail_msg("a second capture got: %s", answer ? answer : "(nothing)");
	free(answer);
	/* bad arguments are named */
	answer = nfqd_control(&it->d, "capture verdict=dorp\n");
	if (!answer ||
	    strcmp(answer, "{\"error\":\"capture: bad verdict 'dorp': want accept, drop or "
			   "queue\"}\n") != 0)
		fail_msg("a bad verdict got: %s", answer ? answer : "(nothing)");
	free(answer);

	free(itest_stop(it, 2000, NULL));
	assert_int_equal(wait_capture(it, &bg), 0);
	if (!strstr(bg.out, "nfqctl: 0 packets captured, 0 dropped (nfqd stopped)"))
		fail_msg("nfqctl said: %s", bg.out);
	bgproc_cleanup(&bg);
}

/*
 * Connect to nfqd's control socket and ask for a capture of everything; read its header line,
 * and nothing more.
 */
static int stuck_capture(struct itest *it)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ITEST_DEADLINE_MS / 1000 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char c = 0, line[512];
	size_t len = 0;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", it->d.control);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, "capture\n", 8, 0), 8);
	while (c != '\n' && len < sizeof(line) - 1 && recv(fd, &c, 1, 0) == 1)
		line[len++] = c;
	line[len] = '\0';
	if (!strstr(line, "{\"capture\":{"))
		fail_msg("the capture did not start: '%s'", line);
	return fd;
}

/* Longer than nfqd's drain period (10 ms) by far: a client busy elsewhere. */
#define SLOW_CLIENT_MS 500

/*
 * Read fd to its end, decoding the records after the header line (already read): the number of
 * packet records, and the END record (type 0 when none came). Fails on a bad record.
 */
static void read_stream(struct itest *it, int fd, struct capwire_rec *end, uint64_t *records)
{
	size_t cap = 1u << 20, len = 0;
	uint8_t *buf = malloc(cap);
	char err[160];

	assert_non_null(buf);
	memset(end, 0, sizeof(*end));
	*records = 0;
	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		size_t off = 0;
		int r;

		if (n <= 0)
			break;
		len += (size_t)n;
		while ((r = capwire_decode(buf + off, len - off, end, err, sizeof(err))) > 0) {
			off += (size_t)r;
			if (end->type == CAPWIRE_PACKET)
				(*records)++;
		}
		if (r < 0) {
			free(buf);
			itest_print_log(it);
			fail_msg("%s after %llu records", err, (unsigned long long)*records);
		}
		memmove(buf, buf + off, len - off);
		len -= off;
	}
	free(buf);
}

static void test_client_that_does_not_read_loses_records_not_verdicts(void **state)
{
	/* far more than the session's buffer and the ring hold together (about 5 MiB) */
	const unsigned long n = 20000;
	struct itest *it = *state;
	struct capwire_rec end;
	uint64_t lost, records;
	int sink, fd;

	itest_nfqd(it, "[queue]\ncopy-range = 1500\n" RULES);
	sink = udp_sink_open(it->t.fw, "0.0.0.0", 5000);
	assert_true(sink >= 0);
	fd = stuck_capture(it);
	assert_int_equal(udp_send(it->t.cli, NULL, it->t.fw4, 5000, n, 1000, 4, 32, 200), n);
	assert_int_equal(udp_sink_wait(sink, n, ITEST_DEADLINE_MS), n);
	assert_int_equal(itest_wait_stat(it, 0, "accepted", n), n);
	lost = itest_stat(it, 0, "capture_dropped");
	fprintf(stderr, "%lu packets accepted, %llu dropped from the capture nobody read\n", n,
		(unsigned long long)lost);
	if (lost == 0 || lost >= n)
		fail_msg("capture_dropped is %llu of %lu packets", (unsigned long long)lost, n);

	/*
	 * The client ends the capture, then reads only much later, as a slow client may: the rest
	 * of the stream still comes, ended by the END record, and every packet is either in it or
	 * counted as dropped.
	 */
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	usleep(SLOW_CLIENT_MS * 1000);
	read_stream(it, fd, &end, &records);
	if (end.type != CAPWIRE_END || end.verdict != CAPWIRE_END_CLIENT ||
	    end.captured != records || end.captured + end.dropped != n || end.dropped < lost)
		fail_msg("the stream's end: type %u reason %u, %llu captured (%llu records read), "
			 "%llu dropped (%llu counted by the workers), of %lu packets",
			 end.type, end.verdict, (unsigned long long)end.captured,
			 (unsigned long long)records, (unsigned long long)end.dropped,
			 (unsigned long long)lost, n);
	close(fd);
	free(itest_stop(it, 2000, NULL));
	close(sink);
}

static void test_capture_is_refused_to_an_unprivileged_user(void **state)
{
	struct itest *it = *state;
	char cmd[512], out[1024] = "", file[64];
	size_t len = 0;
	FILE *f;

	/* the socket is open to everybody: the peer check alone stands in the way */
	itest_nfqd(it, RULES "[daemon]\ncontrol-mode = 0666\n");
	assert_int_equal(chmod(it->d.dir, 0755), 0);
	snprintf(file, sizeof(file), "/tmp/nfqd-cap-nobody-%d.pcap", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=nobody --regid=nogroup --clear-groups %s -s %s capture -c 1 -w "
		 "%s 2>&1; echo status=$?",
		 nfqctl_bin(), it->d.control, file);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (len < sizeof(out) - 1 && fgets(out + len, (int)(sizeof(out) - len), f))
		len = strlen(out);
	pclose(f);
	if (!strstr(out, "nfqctl: nfqd answered: {\"error\":\"permission denied: 'capture' "
			 "shows the packets' contents and is allowed to root and to uid 0 only, "
			 "not to "
			 "uid 65534\"}\nstatus=1\n"))
		fail_msg("nfqctl capture as nobody: %s", out);
	/* refused before anything was written */
	assert_int_equal(access(file, F_OK), -1);
	free(itest_stop(it, 2000, NULL));
}

/* nfqctl capture ARGS as run from a shell: its exit status, its output (stdout and stderr). */
static int nfqctl_run(char *out, size_t size, const char *args)
{
	char cmd[512];
	size_t len = 0;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "%s -s /nonexistent/nfqd.sock capture %s 2>&1", nfqctl_bin(),
		 args);
	f = popen(cmd, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (len < size - 1 && fgets(out + len, (int)(size - len), f))
		len = strlen(out);
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_bad_options_are_named(void **state)
{
	static const struct {
		const char *args, *said;
	} cases[] = {
		{ "--verdict dorp -w x", "nfqctl capture: option --verdict wants accept, drop or "
					 "queue, not 'dorp'\n" },
		{ "-q 70000 -w x",
		  "nfqctl capture: option -q/--queue wants a number from 0 to 65535, "
		  "not '70000'\n" },
		{ "-c 0 -w x", "nfqctl capture: option -c/--count wants a number from 1 to "
			       "18446744073709551615, not '0'\n" },
		{ "--rule x1 -w x", "nfqctl capture: option --rule wants a number from 1 to "
				    "4294967295, not 'x1'\n" },
		{ "-c 3",
		  "nfqctl capture: option -w FILE is required (-w - for standard output)\n" },
		{ "-w", "nfqctl capture: option '-w' needs an argument\n" },
		{ "--snaplen 9 -w x", "nfqctl capture: unknown option '--snaplen'\n" },
		{ "-w x extra", "nfqctl capture: unexpected argument 'extra'\n" },
	};
	char out[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = nfqctl_run(out, sizeof(out), cases[i].args);

		if (st != 2 || strncmp(out, cases[i].said, strlen(cases[i].said)) != 0)
			fail_msg("nfqctl capture %s: status %d: %s", cases[i].args, st, out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dropped_packets_read_back_with_their_5_tuples,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_c_ends_the_capture_with_a_valid_file,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(test_write_to_stdout_with_a_dash, setup,
						itest_teardown),
		cmocka_unit_test_setup_teardown(test_one_capture_at_a_time_and_nfqd_stop_ends_it,
						setup, itest_teardown),
		cmocka_unit_test_setup_teardown(
			test_client_that_does_not_read_loses_records_not_verdicts, setup,
			itest_teardown),
		cmocka_unit_test_setup_teardown(test_capture_is_refused_to_an_unprivileged_user,
						setup, itest_teardown),
		cmocka_unit_test(test_bad_options_are_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
