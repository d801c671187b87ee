/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqctl top: a live view of nfqd, from its stats polled once an interval; every rate is the
 * difference of two samples over the time between them. Plain ANSI escapes (the alternate
 * screen, no new dependency); --once prints one plain frame, --json the same figures as JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "json.h"
#include "nfqctl-client.h"
#include "strbuf.h"

#define TOP_QUEUES  64
#define TOP_RULES   4096
#define TOP_BUCKETS 10

static const char *const bucket_names[TOP_BUCKETS] = { "1",  "2",  "4",	  "8",	 "16",
						       "32", "64", "128", "256", "+Inf" };

/* One queue's counters in a sample. */
struct top_queue {
	unsigned int num;
	uint64_t received, accepted, dropped, queued;
	uint64_t full, user, rcvbuf; /* kernel drops: queue full, socket full, SO_MEMINFO */
	uint64_t buckets[TOP_BUCKETS];
};

/* One rule's counters in a sample, keyed by its text (a reload renumbers rules). */
struct top_rule {
	unsigned int num, line;
	char text[160];
	uint64_t packets;
};

/* One poll of the stats. */
struct sample {
	double t; /* CLOCK_MONOTONIC seconds */
	char version[32];
	unsigned int nq, nr;
	struct top_queue q[TOP_QUEUES];
	struct top_rule *r; /* TOP_RULES */
	char default_verdict[16];
	uint64_t default_packets;
};

/* One interval's figures: rates per second, histogram counts of the interval. */
struct q_rates {
	unsigned int num;
	double pkts, accept, drop, queue, full, user, rcvbuf;
	uint64_t buckets[TOP_BUCKETS];
};

struct r_rate {
	const struct top_rule *rule;
	double pkts;
};

struct frame {
	double dt;
	unsigned int nq, nr;
	struct q_rates q[TOP_QUEUES];
	struct q_rates total;
	struct r_rate *r; /* TOP_RULES, busiest first */
	double default_pkts;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t kernel_u64(const struct json_val *q, const char *key)
{
	struct json_val k;

	if (json_member(q, "kernel", &k) < 0)
		return 0;
	return json_member_u64(&k, key, 0);
}

static void read_queue(const struct json_val *v, struct top_queue *q)
{
	struct json_val b;

	q->num = (unsigned int)json_member_u64(v, "queue", 0);
	q->received = json_member_u64(v, "received", 0);
	q->accepted = json_member_u64(v, "accepted", 0);
	q->dropped = json_member_u64(v, "dropped", 0);
	q->queued = json_member_u64(v, "queued", 0);
	q->rcvbuf = json_member_u64(v, "enobufs", 0);
	q->full = kernel_u64(v, "full_dropped");
	q->user = kernel_u64(v, "user_dropped");
	if (json_member(v, "batch_sizes", &b) == 0)
		for (int k = 0; k < TOP_BUCKETS; k++)
			q->buckets[k] = json_member_u64(&b, bucket_names[k], 0);
}

/* Fill s from a stats document. */
static void read_sample(const struct json_val *doc, struct sample *s)
{
	struct json_val arr, e, num;
	size_t pos = 0;
	uint64_t n;

	s->t = now_s();
	s->nq = s->nr = 0;
	json_member_str(doc, "version", s->version, sizeof(s->version));
	if (json_member(doc, "queues", &arr) == 0)
		while (s->nq < TOP_QUEUES && json_next(&arr, &pos, NULL, &e))
			read_queue(&e, &s->q[s->nq++]);
	pos = 0;
	if (json_member(doc, "rules", &arr) == 0) {
		while (s->nr < TOP_RULES && json_next(&arr, &pos, NULL, &e)) {
			struct top_rule *r = &s->r[s->nr];

			/* an nfqd without per-rule counters numbers no rule */
			if (json_member(&e, "rule", &num) < 0 || json_u64(&num, &n) < 0)
				continue;
			r->num = (unsigned int)n;
			r->line = (unsigned int)json_member_u64(&e, "line", 0);
			json_member_str(&e, "text", r->text, sizeof(r->text));
			r->packets = json_member_u64(&e, "packets", 0);
			s->nr++;
		}
	}
	s->default_packets = 0;
	s->default_verdict[0] = '\0';
	if (json_member(doc, "default", &e) == 0) {
		s->default_packets = json_member_u64(&e, "packets", 0);
		json_member_str(&e, "verdict", s->default_verdict, sizeof(s->default_verdict));
	}
}

/* Poll the stats into s. Returns 0, or -1 with err saying why. */
static int take_sample(const char *socket, struct sample *s, char *err, size_t errlen)
{
	struct json_val doc;
	char *reply;

	/* a short bound: the view must go on saying what it sees */
	if (nfqctl_request(socket, "stats", 3000, &reply, err, errlen) < 0)
		return -1;
	if (nfqctl_is_error(reply)) {
		snprintf(err, errlen, "nfqd answered: %s", reply);
		free(reply);
		return -1;
	}
	json_parse(reply, strlen(reply), &doc, NULL);
	read_sample(&doc, s);
	free(reply);
	return 0;
}

/* cur - prev, or cur when the counter restarted (nfqd restarted, a reload reset it). */
static uint64_t delta(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? cur - prev : cur;
}

static const struct top_queue *find_queue(const struct sample *s, unsigned int num)
{
	for (unsigned int i = 0; i < s->nq; i++)
		if (s->q[i].num == num)
			return &s->q[i];
	return NULL;
}

static const struct top_rule *find_rule(const struct sample *s, const char *text)
{
	for (unsigned int i = 0; i < s->nr; i++)
		if (!strcmp(s->r[i].text, text))
			return &s->r[i];
	return NULL;
}

static int by_rate(const void *a, const void *b)
{
	const struct r_rate *x = a, *y = b;

	if (x->pkts != y->pkts)
		return x->pkts < y->pkts ? 1 : -1;
	return (int)x->rule->num - (int)y->rule->num;
}

static void add_rates(struct q_rates *sum, const struct q_rates *q)
{
	sum->pkts += q->pkts, sum->accept += q->accept, sum->drop += q->drop;
	sum->queue += q->queue, sum->full += q->full, sum->user += q->user;
	sum->rcvbuf += q->rcvbuf;
	for (int k = 0; k < TOP_BUCKETS; k++)
		sum->buckets[k] += q->buckets[k];
}

/* The figures of the interval from prev to cur. */
static void compute(const struct sample *prev, const struct sample *cur, struct frame *f)
{
	double dt = cur->t - prev->t > 1e-3 ? cur->t - prev->t : 1e-3;
	const struct top_queue zero = { 0 };

	memset(&f->total, 0, sizeof(f->total));
	f->dt = dt;
	f->nq = cur->nq;
	for (unsigned int i = 0; i < cur->nq; i++) {
		const struct top_queue *c = &cur->q[i], *p = find_queue(prev, c->num);
		struct q_rates *q = &f->q[i];

		p = p ? p : &zero;
		q->num = c->num;
		q->pkts = (double)delta(c->received, p->received) / dt;
		q->accept = (double)delta(c->accepted, p->accepted) / dt;
		q->drop = (double)delta(c->dropped, p->dropped) / dt;
		q->queue = (double)delta(c->queued, p->queued) / dt;
		q->full = (double)delta(c->full, p->full) / dt;
		q->user = (double)delta(c->user, p->user) / dt;
		q->rcvbuf = (double)delta(c->rcvbuf, p->rcvbuf) / dt;
		for (int k = 0; k < TOP_BUCKETS; k++)
			q->buckets[k] = delta(c->buckets[k], p->buckets[k]);
		add_rates(&f->total, q);
	}
	f->nr = cur->nr;
	for (unsigned int i = 0; i < cur->nr; i++) {
		const struct top_rule *p = find_rule(prev, cur->r[i].text);

		f->r[i].rule = &cur->r[i];
		f->r[i].pkts = (double)delta(cur->r[i].packets, p ? p->packets : 0) / dt;
	}
	qsort(f->r, f->nr, sizeof(f->r[0]), by_rate);
	f->default_pkts = (double)delta(cur->default_packets, prev->default_packets) / dt;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

static void queue_line(struct strbuf *b, const char *name, const struct q_rates *q)
{
	strbuf_printf(b, "%6s %10.1f %7.1f %7.1f %7.1f %10.1f %8.1f %8.1f %8.1f\n", name, q->pkts,
		      pct(q->accept, q->pkts), pct(q->drop, q->pkts), pct(q->queue, q->pkts),
		      q->full + q->user + q->rcvbuf, q->full, q->user, q->rcvbuf);
}

/*
 * One plain-text frame of at most rows lines (0: no bound) and cols columns: the queues, the
 * batch sizes of the interval, and as many of the busiest rules as fit.
 */
static void render(struct strbuf *b, const struct sample *cur, const struct frame *f,
		   unsigned int rows, unsigned int cols)
{
	unsigned int used, room;
	char name[16];

	strbuf_printf(b, "QUEUE       PKT/S ACCEPT%%   DROP%%  QUEUE%%   KDROP/S     full     user "
			 "  rcvbuf\n");
	for (unsigned int i = 0; i < f->nq; i++) {
		snprintf(name, sizeof(name), "%u", f->q[i].num);
		queue_line(b, name, &f->q[i]);
	}
	if (f->nq > 1)
		queue_line(b, "all", &f->total);
	strbuf_printf(b, "\nBATCH SIZES (receive calls of the last %.1f s by messages per call)\n",
		      f->dt);
	strbuf_printf(b, "QUEUE");
	for (int k = 0; k < TOP_BUCKETS; k++)
		strbuf_printf(b, " %6s", bucket_names[k]);
	strbuf_printf(b, "\n");
	for (unsigned int i = 0; i < f->nq; i++) {
		strbuf_printf(b, "%5u", f->q[i].num);
		for (int k = 0; k < TOP_BUCKETS; k++)
			strbuf_printf(b, " %6llu", (unsigned long long)f->q[i].buckets[k]);
		strbuf_printf(b, "\n");
	}
	/* the lines besides the rules: the queues, the batch sizes, the titles, the default */
	used = 7 + f->nq * 2 + (f->nq > 1);
	room = !rows ? f->nr : rows > used + 1 ? rows - used : 1;
	strbuf_printf(b, "\nBUSIEST RULES         PKT/S      PACKETS  RULE\n");
	for (unsigned int i = 0; i < f->nr && i < room; i++) {
		const struct top_rule *r = f->r[i].rule;
		int w = cols > 62 ? (int)cols - 42 : 20;

		strbuf_printf(b, "%4u (line %4u) %10.1f %12llu  %.*s\n", r->num, r->line,
			      f->r[i].pkts, (unsigned long long)r->packets, w, r->text);
	}
	if (f->nr == 0 && cur->nr == 0)
		strbuf_printf(b, "(this nfqd counts no packets per rule)\n");
	strbuf_printf(b, "   default        %10.1f %12llu  %s\n", f->default_pkts,
		      (unsigned long long)cur->default_packets, cur->default_verdict);
}

static void json_rates(struct strbuf *b, const struct q_rates *q)
{
	strbuf_printf(b,
		      "\"packets_per_s\":%.1f,\"accepted_per_s\":%.1f,\"dropped_per_s\":%.1f,"
		      "\"queued_per_s\":%.1f,\"kernel_dropped_per_s\":{\"full\":%.1f,\"user\":%.1f,"
		      "\"rcvbuf\":%.1f},\"batch_sizes\":{",
		      q->pkts, q->accept, q->drop, q->queue, q->full, q->user, q->rcvbuf);
	for (int k = 0; k < TOP_BUCKETS; k++)
		strbuf_printf(b, "%s\"%s\":%llu", k ? "," : "", bucket_names[k],
			      (unsigned long long)q->buckets[k]);
	strbuf_printf(b, "}");
}

/* The figures of a frame as one JSON object, on one line. */
static void render_json(struct strbuf *b, const struct sample *cur, const struct frame *f)
{
	strbuf_printf(b, "{\"time\":%lld,\"interval\":%.3f,\"queues\":[", (long long)time(NULL),
		      f->dt);
	for (unsigned int i = 0; i < f->nq; i++) {
		strbuf_printf(b, "%s{\"queue\":%u,", i ? "," : "", f->q[i].num);
		json_rates(b, &f->q[i]);
		strbuf_printf(b, "}");
	}
	strbuf_printf(b, "],\"total\":{");
	json_rates(b, &f->total);
	strbuf_printf(b, "},\"rules\":[");
	for (unsigned int i = 0; i < f->nr; i++) {
		const struct top_rule *r = f->r[i].rule;

		strbuf_printf(b, "%s{\"rule\":%u,\"line\":%u,\"text\":", i ? "," : "", r->num,
			      r->line);
		strbuf_json_string(b, r->text);
		strbuf_printf(b, ",\"packets_per_s\":%.1f,\"packets\":%llu}", f->r[i].pkts,
			      (unsigned long long)r->packets);
	}
	strbuf_printf(b, "],\"default\":{\"verdict\":");
	strbuf_json_string(b, cur->default_verdict);
	strbuf_printf(b, ",\"packets_per_s\":%.1f,\"packets\":%llu}}\n", f->default_pkts,
		      (unsigned long long)cur->default_packets);
}

static volatile sig_atomic_t stop_flag, winch_flag;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		winch_flag = 1;
	else
		stop_flag = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
}

/*
 * Sleep until deadline (CLOCK_MONOTONIC seconds), a signal, or with keys a q (or Ctrl-C read
 * as a byte) on stdin: returns 'q' for the key, else 0. Stdin at its end is not read again.
 */
static int wait_until(double deadline, bool keys)
{
	static bool stdin_done;

	for (;;) {
		double left = deadline - now_s();
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		bool watch = keys && !stdin_done;
		ssize_t n;
		char c;

		if (left <= 0 || stop_flag || winch_flag)
			return 0;
		if (poll(&p, watch ? 1 : 0, (int)(left * 1000) + 1) <= 0 || !watch)
			continue;
		n = read(STDIN_FILENO, &c, 1);
		if (n != 1) {
			/* its end (0), or an error other than a retry */
			stdin_done = n == 0 || (errno != EAGAIN && errno != EINTR);
			continue;
		}
		if (c == 'q' || c == 'Q' || c == 3)
			return 'q';
	}
}

struct term {
	struct termios saved;
	bool raw;
};

static void term_enter(struct term *t)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &t->saved) == 0) {
		raw = t->saved;
		/* keys one at a time, unechoed; Ctrl-C still a signal */
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		t->raw = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
	}
	/* the alternate screen, cursor hidden: the shell's screen comes back as it was */
	fputs("\033[?1049h\033[?25l", stdout);
	fflush(stdout);
}

static void term_leave(struct term *t)
{
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	if (t->raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
}

static void term_size(unsigned int *rows, unsigned int *cols)
{
	struct winsize ws;

	*rows = 24, *cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
		*rows = ws.ws_row, *cols = ws.ws_col;
}

/* Draw a screen: the header, then body (lines cut to the width, at most rows lines). */
static void draw(const char *socket, const char *version, double interval, const char *status,
		 const char *body, unsigned int rows, unsigned int cols)
{
	char clock[16], head[512];
	time_t t = time(NULL);
	unsigned int line = 2;

	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&t));
	snprintf(head, sizeof(head), "nfqctl top - nfqd %s at %s - every %.1f s - %s - q: quit",
		 *version ? version : "?", socket, interval, clock);
	/*
	 * Each line placed by the cursor and cut to the width, none ended by a newline: a wrapped
	 * line, or a newline on the last row, would scroll the frame off the screen.
	 */
	printf("\033[H\033[2J\033[7m%-*.*s\033[0m", (int)cols, (int)cols, head);
	if (rows > 1)
		printf("\033[2;1H%.*s", (int)cols, status);
	for (const char *p = body; *p && line < rows; line++) {
		size_t n = strcspn(p, "\n");

		printf("\033[%u;1H%.*s", line + 1, (int)(n < cols ? n : cols), p);
		p += n + (p[n] == '\n');
	}
	fflush(stdout);
}

struct options {
	double interval;
	bool once, json;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ "delay", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*o = (struct options){ .interval = 1.0 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:j1", opts, NULL)) != -1) {
		switch (c) {
		case '1':
			o->once = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'd':
			errno = 0;
			o->interval = strtod(optarg, &end);
			if (errno || *end || !isfinite(o->interval) || o->interval < 0.1 ||
			    o->interval > 3600) {
				fprintf(stderr,
					"nfqctl: top: bad interval '%s' after -d: seconds, 0.1 to "
					"3600\n",
					optarg);
				return -1;
			}
			break;
		case ':':
			fprintf(stderr, "nfqctl: top: option '%s' needs an argument\n",
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "nfqctl: top: unknown option '%s'\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nfqctl: top: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* --once and --json: plain frames on stdout. */
static int run_plain(const char *socket, const struct options *o, struct sample s[2],
		     struct frame *f)
{
	struct strbuf b = { 0 };
	char err[512];
	int cur = 0;

	if (take_sample(socket, &s[0], err, sizeof(err)) < 0) {
		fprintf(stderr, "nfqctl: %s\n", err);
		return 1;
	}
	for (;;) {
		wait_until(s[cur].t + o->interval, false);
		if (stop_flag)
			return 0;
		if (take_sample(socket, &s[!cur], err, sizeof(err)) < 0) {
			fprintf(stderr, "nfqctl: %s\n", err);
			return 1;
		}
		cur = !cur;
		compute(&s[!cur], &s[cur], f);
		if (o->json)
			render_json(&b, &s[cur], f);
		else
			render(&b, &s[cur], f, 0, 200);
		if (b.oom) {
			fprintf(stderr, "nfqctl: out of memory\n");
			return 1;
		}
		fputs(b.s, stdout);
		fflush(stdout);
		strbuf_free(&b);
		if (o->once)
			return 0;
	}
}

/* The live view, until q, Ctrl-C or a signal; nfqd going away is said, not fatal. */
static int run_live(const char *socket, const struct options *o, struct sample s[2],
		    struct frame *f)
{
	struct strbuf b = { 0 };
	struct term t = { 0 };
	char err[512], status[640] = "measuring...";
	unsigned int rows, cols;
	bool have = false, gone = false, framed = false;
	double next = now_s();
	int cur = 0, key = 0;

	term_enter(&t);
	term_size(&rows, &cols);
	while (!stop_flag && key != 'q') {
		if (winch_flag) {
			/* the last figures again, laid out for the new size */
			winch_flag = 0;
			term_size(&rows, &cols);
			if (framed) {
				strbuf_free(&b);
				render(&b, &s[cur], f, rows > 2 ? rows - 2 : 1, cols);
			}
		} else {
			next += o->interval;
			if (take_sample(socket, &s[!cur], err, sizeof(err)) < 0) {
				have = framed = false;
				gone = true;
				strbuf_free(&b);
				snprintf(status, sizeof(status),
					 "nfqd is not answering: %s; trying again every %.1f s",
					 err, o->interval);
			} else {
				cur = !cur;
				if (have)
					compute(&s[!cur], &s[cur], f);
				snprintf(status, sizeof(status), "%s",
					 !have && gone ? "nfqd is back: measuring..."
					 : !have       ? "measuring..."
						       : "");
				if (have) {
					gone = false;
					strbuf_free(&b);
					render(&b, &s[cur], f, rows > 2 ? rows - 2 : 1, cols);
					framed = true;
				}
				have = true;
			}
		}
		draw(socket, have ? s[cur].version : "", o->interval, status, b.s ? b.s : "", rows,
		     cols);
		key = wait_until(next, true);
	}
	strbuf_free(&b);
	term_leave(&t);
	return 0;
}

int nfqctl_top(const char *socket, int argc, char **argv)
{
	struct options o;
	struct sample s[2] = { 0 };
	struct frame f = { 0 };
	int r = 1;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	s[0].r = calloc(TOP_RULES, sizeof(struct top_rule));
	s[1].r = calloc(TOP_RULES, sizeof(struct top_rule));
	f.r = calloc(TOP_RULES, sizeof(struct r_rate));
	if (!s[0].r || !s[1].r || !f.r) {
		fprintf(stderr, "nfqctl: out of memory\n");
		goto out;
	}
	catch_signals();
	if (o.once || o.json || !isatty(STDOUT_FILENO))
		r = run_plain(socket, &o, s, &f);
	else
		r = run_live(socket, &o, s, &f);
out:
	free(s[0].r);
	free(s[1].r);
	free(f.r);
	return r;
}
