/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqctl capture: ask nfqd for a capture, read its JSON header line and the framed records that
 * follow (capwire.h), and write the packets to a pcap file through libpcap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <pcap/pcap.h>

#include "capwire.h"
#include "json.h"
#include "nfqctl-client.h"

/* Whole records are decoded from this buffer; the largest is a header and 64 KiB. */
#define BUF_BYTES (256u << 10)
/* Waiting for the header line, and for the end of the stream after Ctrl-C. */
#define HEADER_MS 15000
#define END_MS	  10000

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void capture_usage(FILE *f)
{
	fprintf(f, "Usage: nfqctl [-s SOCKET] capture [-q QUEUE] [--verdict accept|drop|queue]\n"
		   "                                  [--rule N|default] [-c COUNT] -w FILE\n"
		   "Write the packets nfqd gives a verdict to FILE in pcap format (raw IP), as far "
		   "as\n"
		   "the copy range brings them; -w - writes to standard output. Ends after COUNT\n"
		   "packets, or on Ctrl-C (the file stays valid), or when nfqd stops; then prints\n"
		   "how many packets were captured and how many nfqd dropped from the capture\n"
		   "because they came faster than they were read. Root or nfqd's own user only.\n"
		   "\n"
		   "  -q, --queue QUEUE   packets of this queue only\n"
		   "      --verdict WORD  packets given this verdict only\n"
		   "      --rule N        packets decided by rule N (1 = the first), or by the\n"
		   "                      default verdict (default)\n"
		   "  -c, --count COUNT   stop after COUNT packets\n"
		   "  -w, --write FILE    the pcap file to write\n");
}

/* A whole decimal number from min to max, or -1 with the option named. */
static int option_number(const char *opt, const char *val, unsigned long long min,
			 unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = val[0] >= '0' && val[0] <= '9' ? strtoull(val, &end, 10) : 0;
	if (val[0] < '0' || val[0] > '9' || errno || *end || *out < min || *out > max) {
		fprintf(stderr,
			"nfqctl capture: option %s wants a number from %llu to %llu, not "
			"'%s'\n",
			opt, min, max, val);
		return -1;
	}
	return 0;
}

struct capture_opts {
	char req[256];
	const char *file;
};

/* Parse the options into the request line. Returns 0, 1 for --help, -1 for a bad option. */
static int parse_options(int argc, char **argv, struct capture_opts *o)
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "verdict", required_argument, NULL, 'V' },
		{ "rule", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'c' },
		{ "write", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long n;
	size_t len = (size_t)snprintf(o->req, sizeof(o->req), "capture");
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:q:c:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (option_number("-q/--queue", optarg, 0, 65535, &n) < 0)
				return -1;
			len += (size_t)snprintf(o->req + len, sizeof(o->req) - len, " queue=%llu",
						n);
			break;
		case 'V':
			if (capwire_verdict_parse(optarg) < 0) {
				fprintf(stderr,
					"nfqctl capture: option --verdict wants accept, drop "
					"or queue, not '%s'\n",
					optarg);
				return -1;
			}
			len += (size_t)snprintf(o->req + len, sizeof(o->req) - len, " verdict=%s",
						optarg);
			break;
		case 'r':
			if (strcmp(optarg, "default") == 0)
				n = 0;
			else if (option_number("--rule", optarg, 1, UINT32_MAX, &n) < 0)
				return -1;
			len += (size_t)snprintf(o->req + len, sizeof(o->req) - len, " rule=%s",
						n ? optarg : "default");
			break;
		case 'c':
			if (option_number("-c/--count", optarg, 1, UINT64_MAX, &n) < 0)
				return -1;
			len += (size_t)snprintf(o->req + len, sizeof(o->req) - len, " count=%llu",
						n);
			break;
		case 'w':
			o->file = optarg;
			break;
		case 'h':
			capture_usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "nfqctl capture: option '%s' needs an argument\n",
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr,
				"nfqctl capture: unknown option '%s'\nTry 'nfqctl capture "
				"--help'.\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nfqctl capture: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->file) {
		fprintf(stderr, "nfqctl capture: option -w FILE is required (-w - for standard "
				"output)\n");
		return -1;
	}
	snprintf(o->req + len, sizeof(o->req) - len, "\n");
	return 0;
}

/* Wait for fd to be readable until deadline (-1: none), with SIGINT and SIGTERM let through
 * only while waiting. Returns 1 ready, 0 timed out or interrupted. */
static int wait_in(int fd, long long deadline, const sigset_t *waitmask)
{
	long long left = deadline < 0 ? -1 : deadline - nfqctl_now_ms();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = left % 1000 * 1000000 };

	if (deadline >= 0 && left <= 0)
		return 0;
	return ppoll(&p, 1, left < 0 ? NULL : &ts, waitmask) > 0;
}

struct stream {
	int fd;
	uint8_t *buf;
	size_t len;
	sigset_t waitmask;
};

/*
 * Read the header line into line (NUL-terminated, without its newline); bytes after it stay in
 * s->buf. Returns 0, or -1 with the reason printed.
 */
static int read_header(const char *path, struct stream *s, char *line, size_t max)
{
	long long deadline = nfqctl_now_ms() + HEADER_MS;
	uint8_t *nl;

	while (!(nl = memchr(s->buf, '\n', s->len))) {
		ssize_t n;

		if (s->len >= max - 1 || !wait_in(s->fd, deadline, &s->waitmask)) {
			fprintf(stderr, "nfqctl capture: %s: %s\n", path,
				s->len >= max - 1 ? "the header line is too long"
				: stop_requested  ? "interrupted"
						  : "no answer in time");
			return -1;
		}
		n = recv(s->fd, s->buf + s->len, max - 1 - s->len, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			fprintf(stderr,
				"nfqctl capture: %s closed the connection without an answer\n",
				path);
			return -1;
		}
		if (n > 0)
			s->len += (size_t)n;
	}
	memcpy(line, s->buf, (size_t)(nl - s->buf));
	line[nl - s->buf] = '\0';
	s->len -= (size_t)(nl - s->buf) + 1;
	memmove(s->buf, nl + 1, s->len);
	return 0;
}

static int check_header(const char *path, const char *line)
{
	const char *why;
	size_t at;

	if (json_validate(line, strlen(line), &at, &why) < 0) {
		fprintf(stderr,
			"nfqctl capture: the answer of %s is not valid JSON: %s at byte %zu\n",
			path, why, at);
		return -1;
	}
	if (strncmp(line, "{\"error\":", 9) == 0) {
		fprintf(stderr, "nfqctl: nfqd answered: %s\n", line);
		return -1;
	}
	if (!strstr(line, "\"format\":\"" CAPWIRE_FORMAT "\"")) {
		fprintf(stderr, "nfqctl capture: %s answered no capture of format %s: %s\n", path,
			CAPWIRE_FORMAT, line);
		return -1;
	}
	return 0;
}

struct tally {
	uint64_t written;
	bool ended;
	struct capwire_rec end;
};

/* Write the whole records in s->buf; keep a partial one. Returns 0, or -1 for a bad record. */
static int take_records(struct stream *s, pcap_dumper_t *dump, struct tally *t)
{
	size_t off = 0;

	while (off < s->len && !t->ended) {
		struct capwire_rec rec;
		char err[160];
		int n = capwire_decode(s->buf + off, s->len - off, &rec, err, sizeof(err));

		if (n < 0) {
			fprintf(stderr, "nfqctl capture: %s (after %" PRIu64 " packets)\n", err,
				t->written);
			return -1;
		}
		if (n == 0)
			break;
		off += (size_t)n;
		if (rec.type == CAPWIRE_END) {
			t->ended = true;
			t->end = rec;
			break;
		}
		struct pcap_pkthdr h = {
			.ts = { .tv_sec = (time_t)(rec.time_ns / 1000000000ULL),
				.tv_usec = (suseconds_t)(rec.time_ns % 1000000000ULL) },
			.caplen = rec.caplen,
			.len = rec.orig_len,
		};
		pcap_dump((u_char *)dump, &h, rec.data);
		t->written++;
	}
	memmove(s->buf, s->buf + off, s->len - off);
	s->len -= off;
	return 0;
}

/* Read records until the END record or the connection's end. Returns 0, or -1 on error. */
static int read_records(const char *path, struct stream *s, pcap_dumper_t *dump, struct tally *t)
{
	long long deadline = -1;

	for (;;) {
		ssize_t n;

		if (take_records(s, dump, t) < 0)
			return -1;
		/* a valid file at every moment; a full disk or a closed pipe ends the capture */
		if (pcap_dump_flush(dump) == -1) {
			fprintf(stderr, "nfqctl capture: cannot write the capture: %s\n",
				strerror(errno));
			return -1;
		}
		if (t->ended)
			return 0;
		if (stop_requested && deadline < 0) {
			/* nfqd answers our end of the stream with the rest of it and its END */
			shutdown(s->fd, SHUT_WR);
			deadline = nfqctl_now_ms() + END_MS;
		}
		if (!wait_in(s->fd, deadline, &s->waitmask)) {
			if (deadline >= 0 && nfqctl_now_ms() >= deadline) {
				fprintf(stderr,
					"nfqctl capture: %s did not end the capture within "
					"%d ms\n",
					path, END_MS);
				return -1;
			}
			continue;
		}
		n = recv(s->fd, s->buf + s->len, BUF_BYTES - s->len, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			fprintf(stderr,
				"nfqctl capture: %s closed the connection before the end of the "
				"capture%s%s\n",
				path, n ? ": " : "", n ? strerror(errno) : "");
			return -1;
		}
		if (n > 0)
			s->len += (size_t)n;
	}
}

/* Send the request line whole. Returns 0 or -1 with the reason printed. */
static int send_request(const char *path, struct stream *s, const char *req)
{
	size_t sent = 0, len = strlen(req);
	long long deadline = nfqctl_now_ms() + HEADER_MS;

	while (sent < len) {
		ssize_t n = send(s->fd, req + sent, len - sent, MSG_NOSIGNAL);
		struct pollfd p = { .fd = s->fd, .events = POLLOUT };

		if (n >= 0) {
			sent += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || nfqctl_now_ms() >= deadline ||
		    poll(&p, 1, (int)(deadline - nfqctl_now_ms())) < 0) {
			fprintf(stderr, "nfqctl capture: cannot send to %s: %s\n", path,
				errno == EAGAIN ? "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

static const char *end_reason(uint8_t why)
{
	switch (why) {
	case CAPWIRE_END_COUNT:
		return "the count was reached";
	case CAPWIRE_END_CLIENT:
		return "stopped";
	case CAPWIRE_END_STOP:
		return "nfqd stopped";
	default:
		return "ended";
	}
}

/* Capture over the connected stream into o->file. Returns the exit status. */
static int run_capture(const char *path, struct stream *s, const struct capture_opts *o)
{
	struct tally t = { 0 };
	char header[4096];
	pcap_dumper_t *dump;
	pcap_t *p;
	int r;

	if (send_request(path, s, o->req) < 0 || read_header(path, s, header, sizeof(header)) < 0 ||
	    check_header(path, header) < 0)
		return 1;
	/* raw IP: tshark and tcpdump tell IPv4 from IPv6 by the version nibble */
	p = pcap_open_dead_with_tstamp_precision(DLT_RAW, CAPWIRE_SNAP_MAX,
						 PCAP_TSTAMP_PRECISION_NANO);
	if (!p) {
		fprintf(stderr, "nfqctl capture: libpcap cannot make a raw IP capture\n");
		return 1;
	}
	dump = pcap_dump_open(p, o->file);
	if (!dump) {
		fprintf(stderr, "nfqctl capture: cannot write '%s': %s\n", o->file, pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	fprintf(stderr, "nfqctl: capturing to %s: %s\n", strcmp(o->file, "-") ? o->file : "stdout",
		header);
	r = read_records(path, s, dump, &t);
	pcap_dump_close(dump);
	pcap_close(p);
	if (t.ended)
		fprintf(stderr,
			"nfqctl: %" PRIu64 " packets captured, %" PRIu64 " dropped (%s)%s%s\n",
			t.written, t.end.dropped, end_reason(t.end.verdict),
			t.end.captured == t.written ? "" : "; nfqd counted other packets sent: ",
			t.end.captured == t.written ? "" : "the stream is damaged");
	else
		fprintf(stderr, "nfqctl: %" PRIu64 " packets captured before the error\n",
			t.written);
	return r == 0 && t.ended && t.end.captured == t.written ? 0 : 1;
}

int nfqctl_capture(const char *path, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct capture_opts o = { .file = NULL };
	struct stream s = { .fd = -1 };
	sigset_t block;
	int r = parse_options(argc, argv, &o);

	if (r != 0)
		return r > 0 ? 0 : 2;
	/* SIGINT and SIGTERM come through only while nfqctl waits, and end the capture cleanly */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &s.waitmask);
	sigdelset(&s.waitmask, SIGINT);
	sigdelset(&s.waitmask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a reader of -w - that went away is a write error, not a silent death */
	signal(SIGPIPE, SIG_IGN);

	s.buf = malloc(BUF_BYTES);
	if (!s.buf) {
		fprintf(stderr, "nfqctl: out of memory\n");
		return 1;
	}
	s.fd = nfqctl_connect(path, nfqctl_now_ms() + HEADER_MS);
	r = s.fd < 0 ? 1 : run_capture(path, &s, &o);
	if (s.fd >= 0)
		close(s.fd);
	free(s.buf);
	return r;
}
