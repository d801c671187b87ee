/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <ini.h>
/* The libc network headers go before the kernel ones, which defer to them. */
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "nfqd/policy.h"
#include "nfqd/queue.h"
#include "nfqd/transport.h"

#include "config.h"
#include "reject.h"

enum key {
	KEY_QUEUES,
	KEY_FANOUT,
	KEY_COPY_RANGE,
	KEY_MAX_LEN,
	KEY_FAIL_OPEN,
	KEY_TRANSPORT,
	KEY_BATCH,
	KEY_RECV_BUFFER,
	KEY_RCVBUF_MAX,
	KEY_CPU_AFFINITY,
	KEY_DEFAULT,
	KEY_RULE,
	KEY_FLOW_CACHE,
	KEY_ON_SET_ERROR,
	KEY_ON_UNREADABLE,
	KEY_SET_LOOKUP,
	KEY_MARK_BITS,
	KEY_SET_TIMEOUT,
	KEY_CONTROL,
	KEY_CONTROL_GROUP,
	KEY_CONTROL_MODE,
	KEY_USER,
	KEY_SECCOMP,
	KEY_METRICS_TEXTFILE,
	KEY_METRICS_INTERVAL,
	KEY_LOG_RATE,
	KEY_LOG_BURST,
	KEY_MAX
};

struct parse;
typedef int key_parser(struct parse *p, const char *value);

struct key_def {
	const char *section;
	const char *name;
	key_parser *parse;
	bool repeatable;
};

/* Where a line of the file starts in the logical line it was joined into. */
struct segment {
	size_t off;	   /* offset in parse.logical */
	unsigned int line; /* line of the file */
};

struct parse {
	struct config *c;
	const char *file;
	FILE *stream;
	unsigned int line;     /* first line of the file of the logical line being parsed */
	unsigned int phys;     /* lines of the file read so far */
	unsigned int err_line; /* line of the first error, 0 when none */
	char err[512];
	unsigned int set_on[KEY_MAX]; /* line where each key was set */
	char *linebuf;		      /* one line of the file, from getline() */
	size_t linecap;
	char *logical; /* the lines of the file joined by continuations, comments removed */
	size_t loglen, logcap;
	struct segment *segs; /* the lines of the file that make up logical */
	unsigned int nsegs;
	size_t segcap;
	const char *value;  /* the value of the key = value line handed to libinih */
	bool prev_key;	    /* the logical line before was a key = value line */
	unsigned int *lmap; /* line of the file that starts each line libinih read */
	unsigned int nlmap;
	size_t lmapcap;
};

static const char *const sections[] = { "queue", "policy", "daemon", "metrics", "log" };

/* err_line of an error about the file as a whole */
#define NO_LINE 0xffffffffu

/* The first error wins: later ones are often consequences of it. */
static int fail(struct parse *p, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parse *p, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	if (p->err_line)
		return 0;
	p->err_line = line ? line : NO_LINE;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return 0;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out,
		      const char **why)
{
	char *end;
	unsigned long v;

	/* set on every path: callers read it after a check the optimiser cannot follow */
	*out = 0;
	if (!isdigit((unsigned char)s[0])) {
		*why = "is not a number";
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0') {
		*why = "is not a number";
		return -EINVAL;
	}
	if (errno == ERANGE || v < min || v > max) {
		*why = "is out of range";
		return -ERANGE;
	}
	*out = v;
	return 0;
}

static int number(struct parse *p, const char *key, const char *value, unsigned long min,
		  unsigned long max, unsigned long *out)
{
	const char *why;
	int r = parse_uint(value, min, max, out, &why);
	if (r == -ERANGE)
		return fail(p, p->line, "%s: '%s' is out of range (%lu..%lu)", key, value, min,
			    max);
	if (r < 0)
		return fail(p, p->line, "%s: '%s' is not a number", key, value);
	return 1;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int config_parse_queues(const char *s, uint16_t *out, unsigned int *n, const char **why)
{
	uint8_t seen[65536 / 8] = { 0 };
	unsigned int count = 0;
	const char *tok = s;

	if (*s == '\0') {
		*why = "is empty";
		return -EINVAL;
	}
	while (*tok) {
		unsigned long lo, hi;
		char *end;

		if (!isdigit((unsigned char)*tok)) {
			*why = "is not a queue number, range (0-3) or list (0,2,5)";
			return -EINVAL;
		}
		lo = strtoul(tok, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1])) {
				*why = "is not a queue number, range (0-3) or list (0,2,5)";
				return -EINVAL;
			}
			hi = strtoul(end + 1, &end, 10);
		}
		if (*end != ',' && *end != '\0') {
			*why = "is not a queue number, range (0-3) or list (0,2,5)";
			return -EINVAL;
		}
		if (lo > 65535 || hi > 65535) {
			*why = "names a queue above 65535";
			return -ERANGE;
		}
		if (lo > hi) {
			*why = "has a range whose start is above its end";
			return -EINVAL;
		}
		for (unsigned long q = lo; q <= hi; q++) {
			if (seen[q / 8] & (1u << (q % 8))) {
				*why = "lists a queue twice";
				return -EINVAL;
			}
			if (count == CONFIG_MAX_QUEUES) {
				*why = "lists more than 256 queues";
				return -E2BIG;
			}
			seen[q / 8] |= (uint8_t)(1u << (q % 8));
			count++;
		}
		tok = *end == ',' ? end + 1 : end;
		if (*end == ',' && *tok == '\0') {
			*why = "ends with a comma";
			return -EINVAL;
		}
	}
	*n = 0;
	for (unsigned int q = 0; q < 65536 && *n < count; q++)
		if (seen[q / 8] & (1u << (q % 8)))
			out[(*n)++] = (uint16_t)q;
	return 0;
}

void config_format_queues(const struct config *c, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < c->n_queues && off < len;) {
		unsigned int j = i;
		int r;

		while (j + 1 < c->n_queues && c->queues[j + 1] == c->queues[j] + 1)
			j++;
		if (j == i)
			r = snprintf(buf + off, len - off, "%s%u", off ? "," : "", c->queues[i]);
		else
			r = snprintf(buf + off, len - off, "%s%u-%u", off ? "," : "", c->queues[i],
				     c->queues[j]);
		if (r < 0)
			break;
		off += (size_t)r;
		i = j + 1;
	}
}

static int key_queues(struct parse *p, const char *v)
{
	const char *why;

	if (config_parse_queues(v, p->c->queues, &p->c->n_queues, &why) < 0)
		return fail(p, p->line, "queues: '%s' %s", v, why);
	return 1;
}

static int key_copy_range(struct parse *p, const char *v)
{
	unsigned long n;

	if (!number(p, "copy-range", v, CONFIG_COPY_RANGE_MIN, NFQD_COPY_RANGE_MAX, &n))
		return 0;
	p->c->copy_range = (uint32_t)n;
	return 1;
}

static int key_max_len(struct parse *p, const char *v)
{
	unsigned long n;
	const char *why;

	/* any number above the kernel's limit, before the generic range message */
	if (parse_uint(v, CONFIG_MAX_LEN_MAX + 1ul, ULONG_MAX, &n, &why) == 0)
		return fail(p, p->line,
			    "max-len: '%s' is above %u, the most packets the kernel holds in one "
			    "queue (its table of queued packets takes at most %u since Linux 6.18; "
			    "the rest would be dropped as queue-full whatever max-len says)",
			    v, CONFIG_MAX_LEN_MAX, CONFIG_MAX_LEN_MAX);
	if (!number(p, "max-len", v, 1, CONFIG_MAX_LEN_MAX, &n))
		return 0;
	p->c->max_len = (uint32_t)n;
	return 1;
}

static const char *const fanout_names[FANOUT_MAX] = { "balance", "cpu" };

const char *config_fanout_name(enum fanout f)
{
	return f < FANOUT_MAX ? fanout_names[f] : "?";
}

static int key_fanout(struct parse *p, const char *v)
{
	for (int f = 0; f < FANOUT_MAX; f++)
		if (strcmp(v, fanout_names[f]) == 0) {
			p->c->fanout = (enum fanout)f;
			return 1;
		}
	return fail(p, p->line, "fanout: '%s' is not balance or cpu", v);
}

static int key_fail_open(struct parse *p, const char *v)
{
	if (parse_bool(v, &p->c->fail_open) < 0)
		return fail(p, p->line, "fail-open: '%s' is not yes or no", v);
	return 1;
}

static int key_transport(struct parse *p, const char *v)
{
	if (!nfqd_transport_known(v) || strlen(v) >= sizeof(p->c->transport))
		return fail(p, p->line, "transport: unknown transport '%s' (this build has: %s)", v,
			    nfqd_transport_names());
	strcpy(p->c->transport, v);
	return 1;
}

static int key_batch(struct parse *p, const char *v)
{
	unsigned long n;

	if (!number(p, "batch", v, 1, NFQD_TRANSPORT_BATCH_MAX, &n))
		return 0;
	p->c->batch = (unsigned int)n;
	return 1;
}

static int key_recv_buffer(struct parse *p, const char *v)
{
	unsigned long n;

	if (strcmp(v, "auto") == 0) {
		p->c->recv_buffer = 0;
		return 1;
	}
	if (!isdigit((unsigned char)v[0]))
		return fail(p, p->line, "recv-buffer: '%s' is not 'auto' or a number of bytes", v);
	if (!number(p, "recv-buffer", v, CONFIG_RECV_BUFFER_MIN, CONFIG_RECV_BUFFER_MAX, &n))
		return 0;
	p->c->recv_buffer = (uint32_t)n;
	return 1;
}

/* A listed CPU must be one the process may run on now: a worker pinned elsewhere could not
 * start. */
static int key_cpu_affinity(struct parse *p, const char *v)
{
	struct placement *pl = &p->c->placement;
	const char *why;
	cpu_set_t allowed;
	char list[256];
	int bad;

	if (placement_parse(pl, v, &why) < 0)
		return fail(p, p->line, "cpu-affinity: '%s' %s", v, why);
	if (pl->mode != CPU_AFFINITY_LIST)
		return 1;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == -1)
		return fail(p, p->line, "cpu-affinity: cannot read the CPUs nfqd may run on: %s",
			    strerror(errno));
	bad = placement_check(pl, &allowed);
	if (bad >= 0) {
		placement_format_set(&allowed, list, sizeof(list));
		return fail(p, p->line,
			    "cpu-affinity: '%s' names CPU %d, which nfqd may not run on (allowed: "
			    "%s)",
			    v, bad, list);
	}
	return 1;
}

static int key_rcvbuf_max(struct parse *p, const char *v)
{
	unsigned long n;

	if (!number(p, "rcvbuf-max", v, CONFIG_RCVBUF_MAX_MIN, CONFIG_RCVBUF_MAX_MAX, &n))
		return 0;
	p->c->rcvbuf_max = n;
	return 1;
}

static int key_default(struct parse *p, const char *v)
{
	struct nfqd_policy_error perr;
	uint32_t verdict;

	if (nfqd_policy_parse_verdict(v, &verdict, &perr) < 0)
		return fail(p, p->line, "default: %s", perr.msg);
	nfqd_policy_set_default(p->c->policy, verdict);
	return 1;
}

/* The line of the file on which the character at of the current logical line stands. */
static unsigned int line_at(const struct parse *p, const char *at)
{
	size_t off = (size_t)(at - p->logical);
	unsigned int line = p->line;

	for (unsigned int i = 0; i < p->nsegs && p->segs[i].off <= off; i++)
		line = p->segs[i].line;
	return line;
}

/*
 * Where the 1-based word n of a rule (words split as the policy splits them: a quoted
 * log-prefix is one word) starts.
 */
static const char *rule_word(const char *v, unsigned int n)
{
	const char *s = v;

	for (unsigned int i = 0; *s; i++) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (i + 1 == n || !*s)
			return s;
		if (*s == '"' && strchr(s + 1, '"'))
			s = strchr(s + 1, '"') + 1;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	return v;
}

static int key_rule(struct parse *p, const char *v)
{
	struct nfqd_policy_error perr;
	unsigned int n = nfqd_policy_rule_count(p->c->policy);
	unsigned int *lines;
	int r;

	lines = realloc(p->c->rule_lines, (n + 1) * sizeof(*lines));
	if (!lines)
		return fail(p, p->line, "rule '%s': out of memory", v);
	p->c->rule_lines = lines;
	r = nfqd_policy_add_rule(p->c->policy, v, &perr);
	if (r == -ENOMEM)
		return fail(p, p->line, "rule '%s': out of memory", v);
	/* in a rule continued over several lines, the line of the offending word */
	if (r < 0)
		return fail(p, perr.word ? line_at(p, rule_word(v, perr.word)) : p->line,
			    "rule '%s': %s", v, perr.msg);
	lines[n] = p->line;
	return 1;
}

static int key_flow_cache(struct parse *p, const char *v)
{
	if (strcmp(v, "off") == 0)
		p->c->flow_cache = false;
	else if (strcmp(v, "connmark") == 0)
		p->c->flow_cache = true;
	else
		return fail(p, p->line, "flow-cache: '%s' is not off or connmark", v);
	return 1;
}

static int key_on_set_error(struct parse *p, const char *v)
{
	struct nfqd_policy_error perr;
	uint32_t verdict;

	if (nfqd_policy_parse_verdict(v, &verdict, &perr) < 0)
		return fail(p, p->line, "on-set-error: '%s' is not drop or accept", v);
	nfqd_policy_set_on_set_error(p->c->policy, verdict);
	return 1;
}

static int key_on_unreadable(struct parse *p, const char *v)
{
	enum nfqd_on_unreadable mode;

	if (nfqd_policy_parse_on_unreadable(v, &mode, NULL) < 0)
		return fail(p, p->line, "on-unreadable: '%s' is not drop, accept or evaluate", v);
	nfqd_policy_set_on_unreadable(p->c->policy, mode);
	return 1;
}

static const char *const set_lookup_names[SET_LOOKUP_MAX] = {
	[SET_LOOKUP_AUTO] = "auto",
	[SET_LOOKUP_TEST] = "test",
	[SET_LOOKUP_MARK] = "mark",
};

const char *config_set_lookup_name(enum set_lookup s)
{
	return (unsigned int)s < SET_LOOKUP_MAX ? set_lookup_names[s] : "?";
}

static int key_set_lookup(struct parse *p, const char *v)
{
	for (int i = 0; i < SET_LOOKUP_MAX; i++) {
		if (strcmp(v, set_lookup_names[i]) == 0) {
			p->c->set_lookup = (enum set_lookup)i;
			return 1;
		}
	}
	return fail(p, p->line, "set-lookup: '%s' is not auto, test or mark", v);
}

static int key_mark_bits(struct parse *p, const char *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 0);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno == ERANGE || n > 0xffffffffull)
		return fail(p, p->line, "mark-bits: '%s' is not a 32-bit mask (e.g. 0xff000000)",
			    v);
	if (n == 0)
		return fail(p, p->line, "mark-bits: '%s' leaves nfqd no bit", v);
	p->c->mark_bits = (uint32_t)n;
	return 1;
}

/* Milliseconds: "50ms", "1s", or a bare number of milliseconds. */
static int key_set_timeout(struct parse *p, const char *v)
{
	unsigned long n, scale = 1;
	char num[24];
	const char *why;
	size_t digits = strspn(v, "0123456789");

	if (strcmp(v + digits, "s") == 0)
		scale = 1000;
	else if (strcmp(v + digits, "ms") != 0 && v[digits] != '\0')
		digits = 0;
	if (digits == 0 || digits >= sizeof(num))
		return fail(p, p->line,
			    "set-timeout: '%s' is not a duration in milliseconds (e.g. 50ms)", v);
	memcpy(num, v, digits);
	num[digits] = '\0';
	if (parse_uint(num, 0, CONFIG_SET_TIMEOUT_MAX_MS, &n, &why) < 0 ||
	    n * scale < CONFIG_SET_TIMEOUT_MIN_MS || n * scale > CONFIG_SET_TIMEOUT_MAX_MS)
		return fail(p, p->line, "set-timeout: '%s' is out of range (%ums to %ums)", v,
			    CONFIG_SET_TIMEOUT_MIN_MS, CONFIG_SET_TIMEOUT_MAX_MS);
	p->c->set_timeout_ms = (unsigned int)(n * scale);
	return 1;
}

static int key_control(struct parse *p, const char *v)
{
	if (v[0] != '/')
		return fail(p, p->line, "control: '%s' is not an absolute path", v);
	if (strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return fail(p, p->line, "control: '%s' is longer than a socket path may be (%zu)",
			    v, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	free(p->c->control);
	p->c->control = strdup(v);
	if (!p->c->control)
		return fail(p, p->line, "control: out of memory");
	return 1;
}

/* A group name, or a number; resolved now so that --check names an unknown group. */
static int key_control_group(struct parse *p, const char *v)
{
	struct group *g;
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (isdigit((unsigned char)v[0]) && *end == '\0' && errno == 0 && n < (gid_t)-1) {
		p->c->control_gid = (gid_t)n;
		return 1;
	}
	errno = 0;
	g = getgrnam(v);
	if (!g)
		return fail(p, p->line, "control-group: '%s' is not a group of this system%s%s", v,
			    errno ? ": " : "", errno ? strerror(errno) : "");
	p->c->control_gid = g->gr_gid;
	return 1;
}

static int key_control_mode(struct parse *p, const char *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 8);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno == ERANGE || n > 0777)
		return fail(p, p->line,
			    "control-mode: '%s' is not an octal permission mode (e.g. 0660)", v);
	if ((n & 0600) != 0600)
		return fail(p, p->line,
			    "control-mode: '%s' denies the owner read and write (0600 at least)",
			    v);
	p->c->control_mode = (unsigned int)n;
	return 1;
}

/* The user's existence is checked at start (the database may change); here only its form. */
static int key_user(struct parse *p, const char *v)
{
	if (strlen(v) > CONFIG_USER_MAX || strpbrk(v, ":/ \t"))
		return fail(p, p->line, "user: '%s' is not a user name", v);
	free(p->c->user);
	p->c->user = strdup(v);
	if (!p->c->user)
		return fail(p, p->line, "user: out of memory");
	p->c->user_line = p->line;
	return 1;
}

static int key_seccomp(struct parse *p, const char *v)
{
	if (parse_bool(v, &p->c->seccomp) < 0)
		return fail(p, p->line, "seccomp: '%s' is not yes or no", v);
	return 1;
}

/* The directory must exist when nfqd writes (a temporary file beside it, then a rename): only the
 * form is checked here. */
static int key_metrics_textfile(struct parse *p, const char *v)
{
	size_t len = strlen(v);

	if (v[0] != '/')
		return fail(p, p->line, "textfile: '%s' is not an absolute path", v);
	if (v[len - 1] == '/')
		return fail(p, p->line, "textfile: '%s' names a directory, not a file", v);
	if (len > CONFIG_METRICS_PATH_MAX)
		return fail(p, p->line, "textfile: '%s' is longer than %u bytes", v,
			    CONFIG_METRICS_PATH_MAX);
	free(p->c->metrics_textfile);
	p->c->metrics_textfile = strdup(v);
	if (!p->c->metrics_textfile)
		return fail(p, p->line, "textfile: out of memory");
	return 1;
}

static int key_metrics_interval(struct parse *p, const char *v)
{
	unsigned long n;

	if (!number(p, "interval", v, CONFIG_METRICS_INTERVAL_MIN, CONFIG_METRICS_INTERVAL_MAX, &n))
		return 0;
	p->c->metrics_interval = (unsigned int)n;
	return 1;
}

/* [log] rate = N/s, N/m or N/h: the lines each rule may log, on average. */
static int key_log_rate(struct parse *p, const char *v)
{
	static const struct {
		const char *unit;
		unsigned int seconds;
	} units[] = { { "/s", 1 }, { "/m", 60 }, { "/h", 3600 } };
	const char *slash = strchr(v, '/');
	unsigned long n;
	const char *why;
	char num[16];

	for (size_t i = 0; slash && i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(slash, units[i].unit) != 0)
			continue;
		if ((size_t)(slash - v) >= sizeof(num))
			break;
		memcpy(num, v, (size_t)(slash - v));
		num[slash - v] = '\0';
		if (parse_uint(num, 1, CONFIG_LOG_RATE_MAX, &n, &why) < 0)
			return fail(p, p->line, "rate: '%s': '%s' %s (1..%u)", v, num, why,
				    CONFIG_LOG_RATE_MAX);
		p->c->log_rate = (unsigned int)n;
		p->c->log_period_s = units[i].seconds;
		return 1;
	}
	return fail(p, p->line, "rate: '%s' is not N/s, N/m or N/h (N: 1-%u)", v,
		    CONFIG_LOG_RATE_MAX);
}

/* [log] burst = N: the lines each rule may log at once, before the rate holds it back. */
static int key_log_burst(struct parse *p, const char *v)
{
	unsigned long n;

	if (!number(p, "burst", v, 1, CONFIG_LOG_BURST_MAX, &n))
		return 0;
	p->c->log_burst = (unsigned int)n;
	return 1;
}

static const struct key_def keys[KEY_MAX] = {
	[KEY_QUEUES] = { "queue", "queues", key_queues, false },
	[KEY_FANOUT] = { "queue", "fanout", key_fanout, false },
	[KEY_COPY_RANGE] = { "queue", "copy-range", key_copy_range, false },
	[KEY_MAX_LEN] = { "queue", "max-len", key_max_len, false },
	[KEY_FAIL_OPEN] = { "queue", "fail-open", key_fail_open, false },
	[KEY_TRANSPORT] = { "queue", "transport", key_transport, false },
	[KEY_BATCH] = { "queue", "batch", key_batch, false },
	[KEY_RECV_BUFFER] = { "queue", "recv-buffer", key_recv_buffer, false },
	[KEY_RCVBUF_MAX] = { "queue", "rcvbuf-max", key_rcvbuf_max, false },
	[KEY_CPU_AFFINITY] = { "queue", "cpu-affinity", key_cpu_affinity, false },
	[KEY_DEFAULT] = { "policy", "default", key_default, false },
	[KEY_RULE] = { "policy", "rule", key_rule, true },
	[KEY_FLOW_CACHE] = { "policy", "flow-cache", key_flow_cache, false },
	[KEY_ON_SET_ERROR] = { "policy", "on-set-error", key_on_set_error, false },
	[KEY_ON_UNREADABLE] = { "policy", "on-unreadable", key_on_unreadable, false },
	[KEY_SET_LOOKUP] = { "policy", "set-lookup", key_set_lookup, false },
	[KEY_MARK_BITS] = { "policy", "mark-bits", key_mark_bits, false },
	[KEY_SET_TIMEOUT] = { "policy", "set-timeout", key_set_timeout, false },
	[KEY_CONTROL] = { "daemon", "control", key_control, false },
	[KEY_CONTROL_GROUP] = { "daemon", "control-group", key_control_group, false },
	[KEY_CONTROL_MODE] = { "daemon", "control-mode", key_control_mode, false },
	[KEY_USER] = { "daemon", "user", key_user, false },
	[KEY_SECCOMP] = { "daemon", "seccomp", key_seccomp, false },
	[KEY_METRICS_TEXTFILE] = { "metrics", "textfile", key_metrics_textfile, false },
	[KEY_METRICS_INTERVAL] = { "metrics", "interval", key_metrics_interval, false },
	[KEY_LOG_RATE] = { "log", "rate", key_log_rate, false },
	[KEY_LOG_BURST] = { "log", "burst", key_log_burst, false },
};

/*
 * Cut a comment ('#' or ';' at the start of a line or after a blank) and the blanks before
 * it off the end of one line of the file. A value never holds either character after a
 * blank.
 */
static void strip_comment(char *v)
{
	char *end;

	for (char *s = v; *s; s++) {
		if ((*s == '#' || *s == ';') && (s == v || isblank((unsigned char)s[-1]))) {
			*s = '\0';
			break;
		}
	}
	end = v + strlen(v);
	while (end > v && isspace((unsigned char)end[-1]))
		*--end = '\0';
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	/* the reader handed libinih a stand-in for the value, which it keeps whole */
	const char *v = p->value ? p->value : value;

	if (p->err_line)
		return 1;

	if (section[0] == '\0')
		return fail(p, p->line,
			    "'%s' is outside any section; put it under [queue], [policy], "
			    "[daemon] or [metrics]",
			    name);

	for (int k = 0; k < KEY_MAX; k++) {
		if (strcmp(keys[k].section, section) != 0 || strcmp(keys[k].name, name) != 0)
			continue;
		if (v[0] == '\0')
			return fail(p, p->line, "%s: missing value", name);
		if (!keys[k].repeatable && p->set_on[k])
			return fail(p, p->line, "%s: set again (first set on line %u)", name,
				    p->set_on[k]);
		p->set_on[k] = p->line;
		return keys[k].parse(p, v);
	}
	return fail(p, p->line, "unknown key '%s' in [%s]", name, section);
}

/* Section headers are checked here, on their own line: libinih does not report them. */
static void check_section(struct parse *p, const char *s)
{
	const char *e = strchr(s, ']');
	char name[64];
	size_t len;

	if (!e) {
		fail(p, p->line, "syntax error: expected '[section]' or 'key = value'");
		return;
	}
	len = (size_t)(e - s - 1);
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, s + 1, len);
	name[len] = '\0';
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(name, sections[i]) == 0)
			return;
	fail(p, p->line,
	     "unknown section [%s] (known: [queue], [policy], [daemon], [metrics], [log])", name);
}

static int grow(void **buf, size_t need, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *b;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	b = reallocarray(*buf, n, size);
	if (!b)
		return -ENOMEM;
	*buf = b;
	*cap = n;
	return 0;
}

/*
 * Read one line of the file into p->linebuf, without its line end, refusing what a text
 * file of this format cannot hold. Returns its length, -1 at the end of the file, -2 on an
 * error (reported).
 */
static ssize_t read_line(struct parse *p)
{
	ssize_t n = getline(&p->linebuf, &p->linecap, p->stream);

	if (n < 0)
		return -1;
	p->phys++;
	if (n > 0 && p->linebuf[n - 1] == '\n')
		p->linebuf[--n] = '\0';
	if (n > 0 && p->linebuf[n - 1] == '\r')
		p->linebuf[--n] = '\0';
	/* the rest of the line would be lost to every string function */
	if (memchr(p->linebuf, '\0', (size_t)n)) {
		fail(p, p->phys, "NUL byte in the line (at column %zu): the file is not text",
		     strlen(p->linebuf) + 1);
		return -2;
	}
	if (n > CONFIG_LINE_MAX) {
		fail(p, p->phys, "line is longer than %d bytes (%zd)", CONFIG_LINE_MAX, n);
		return -2;
	}
	for (ssize_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p->linebuf[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			fail(p, p->phys, "control character 0x%02x in the line (at column %zd)", ch,
			     i + 1);
			return -2;
		}
	}
	/* a UTF-8 byte order mark, as libinih allows */
	if (p->phys == 1 && strncmp(p->linebuf, "\xef\xbb\xbf", 3) == 0)
		memmove(p->linebuf, p->linebuf + 3, (size_t)n - 2);
	return n;
}

/*
 * Read the next logical line into p->logical: a line of the file, comment removed, joined
 * with the lines that follow as long as it ends with a backslash. Returns 0, -1 at the end
 * of the file, -2 on an error (reported).
 */
static int read_logical(struct parse *p)
{
	bool more = true;

	p->loglen = 0;
	p->nsegs = 0;
	while (more) {
		ssize_t n = read_line(p);
		size_t len;
		char *s;

		if (n == -1 && !p->nsegs)
			return -1;
		if (n == -1)
			break; /* a continuation at the end of the file ends there */
		if (n < 0)
			return -2;
		if (!p->nsegs)
			p->line = p->phys;
		s = p->linebuf;
		/* a continuation line is joined with one blank between the words */
		if (p->nsegs)
			while (isblank((unsigned char)*s))
				s++;
		strip_comment(s);
		len = strlen(s);
		/* so a line that is only a comment or blanks ends a continued one */
		more = len > 0 && s[len - 1] == '\\';
		if (more) {
			len--;
			while (len > 0 && isblank((unsigned char)s[len - 1]))
				len--;
			s[len++] = ' ';
			s[len] = '\0';
		}
		if (p->loglen + len > CONFIG_VALUE_MAX) {
			fail(p, p->phys, "line continued past %d bytes", CONFIG_VALUE_MAX);
			return -2;
		}
		if (grow((void **)&p->logical, p->loglen + len + 1, &p->logcap, 1) < 0 ||
		    grow((void **)&p->segs, p->nsegs + 1, &p->segcap, sizeof(*p->segs)) < 0) {
			fail(p, p->phys, "out of memory");
			return -2;
		}
		p->segs[p->nsegs++] = (struct segment){ .off = p->loglen, .line = p->phys };
		memcpy(p->logical + p->loglen, s, len + 1);
		p->loglen += len;
	}
	/* the blank that stood for the backslash of a continuation the file ended */
	while (p->loglen > 0 && isblank((unsigned char)p->logical[p->loglen - 1]))
		p->logical[--p->loglen] = '\0';
	/* "a\\" on a continued line would end the value in a backslash that no file can say
	 * plainly (written back, it would continue the line): refuse it rather than guess */
	if (p->nsegs && p->loglen > 0 && p->logical[p->loglen - 1] == '\\') {
		fail(p, p->segs[p->nsegs - 1].line,
		     "the continued value ends with a backslash, which would continue it further");
		return -2;
	}
	return 0;
}

/*
 * libinih's reader callback. libinih holds a line in a buffer of num characters (200 in
 * Debian's build), too short for long rules, and knows no continuation. So the reader reads
 * whole logical lines itself and hands libinih a short stand-in: a section header or blank
 * line as it is, a key = value line as "key=" with the value kept in p->value for the
 * handler. Lines that are neither are reported here, with their line in the file.
 */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *s, *delim, *end;
	bool indented;
	int r;

	p->value = NULL;
	if (p->err_line)
		return NULL; /* the first error wins: nothing after it is read */
	r = read_logical(p);
	if (r < 0)
		return NULL;
	if (grow((void **)&p->lmap, p->nlmap + 1, &p->lmapcap, sizeof(*p->lmap)) < 0) {
		fail(p, p->line, "out of memory");
		return NULL;
	}
	p->lmap[p->nlmap++] = p->line;

	s = p->logical;
	indented = isblank((unsigned char)*s);
	while (isblank((unsigned char)*s))
		s++;
	if (*s == '\0') {
		snprintf(str, (size_t)num, "\n");
		return str;
	}
	if (*s == '[') {
		p->prev_key = false;
		check_section(p, s);
		if (p->err_line)
			return NULL;
		snprintf(str, (size_t)num, "%s\n", s);
		return str;
	}
	delim = strpbrk(s, "=:");
	if (!delim) {
		fail(p, p->line, "syntax error: expected '[section]' or 'key = value'%s",
		     indented && p->prev_key ? " (to continue the value of the line before, end "
					       "that line with '\\')"
					     : "");
		return NULL;
	}
	p->prev_key = true;
	end = delim;
	while (end > s && isblank((unsigned char)end[-1]))
		end--;
	/* no key is this long: the stand-in must fit libinih's buffer */
	if (end - s > 64) {
		fail(p, p->line, "unknown key '%.64s...'", s);
		return NULL;
	}
	p->value = delim + 1;
	while (isblank((unsigned char)*p->value))
		p->value++;
	snprintf(str, (size_t)num, "%.*s=\n", (int)(end - s), s);
	return str;
}
/*
 * Checks that need the whole file: nfqd's mark bits must fit in mark-bits, and the rules'
 * own mark bits must stay clear of them and of each other (on kernels without NFQA_CT the
 * generated rules restore the connmark into the packet mark bits that `ct mark` rules
 * read).
 */
static void finish(struct parse *p)
{
	struct config *c = p->c;
	struct nfqd_policy_marks m, all;
	unsigned int n_lookups = nfqd_policy_lookup_count(c->policy);
	char why[256];
	int r;

	/* The kernel spreads by CPU over a range A..B only: queue A + N takes CPU N's packets. */
	if (c->fanout == FANOUT_CPU &&
	    (c->n_queues < 2 ||
	     (unsigned int)(c->queues[c->n_queues - 1] - c->queues[0]) != c->n_queues - 1)) {
		char list[256];

		config_format_queues(c, list, sizeof(list));
		fail(p, p->set_on[KEY_FANOUT],
		     "fanout: cpu needs a range of two or more queues such as 0-1 (queues %s)",
		     list);
		return;
	}

	r = nfqd_markplan_make(&c->plan, c->mark_bits, c->flow_cache,
			       c->set_lookup != SET_LOOKUP_TEST, n_lookups, why, sizeof(why));
	if (r < 0) {
		fail(p, p->set_on[KEY_MARK_BITS], "%s", why);
		return;
	}
	r = nfqd_markplan_add_rejects(&c->plan, nfqd_policy_reject_answers(c->policy), why,
				      sizeof(why));
	if (r < 0) {
		fail(p,
		     p->set_on[KEY_MARK_BITS] ? p->set_on[KEY_MARK_BITS]
					      : c->rule_lines[reject_first_rule(c)],
		     "%s", why);
		return;
	}

	/* Each rule's own bits against nfqd's; then meta mark bits of one rule against the
	 * ct mark bits of any (the connmark restore writes those packet mark bits). */
	nfqd_policy_marks(c->policy, &all);
	for (unsigned int i = 0; i < nfqd_policy_rule_count(c->policy); i++) {
		nfqd_policy_rule_marks(c->policy, i, &m);
		if ((m.meta_mask | m.ct_mask | m.set_mask) & c->plan.all) {
			fail(p, c->rule_lines[i],
			     "rule '%s': its mark bits overlap nfqd's own (0x%08x, inside "
			     "mark-bits "
			     "0x%08x); move them or change mark-bits",
			     nfqd_policy_rule_text(c->policy, i), c->plan.all, c->mark_bits);
			return;
		}
		if ((m.meta_mask & all.ct_mask) || (m.ct_mask & all.meta_mask)) {
			fail(p, c->rule_lines[i],
			     "rule '%s': meta mark and ct mark rules use the same bits "
			     "0x%08x; the "
			     "connmark is restored into those packet mark bits when the "
			     "kernel "
			     "gives "
			     "no conntrack data",
			     nfqd_policy_rule_text(c->policy, i),
			     (m.meta_mask & all.ct_mask) | (m.ct_mask & all.meta_mask));
			return;
		}
	}
}

static struct config *config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->queues[0] = 0;
	c->n_queues = 1;
	c->fanout = FANOUT_BALANCE;
	c->copy_range = 128;
	c->max_len = 8192;
	c->fail_open = false;
	strcpy(c->transport, "auto");
	c->batch = 64;
	c->recv_buffer = 0;
	c->rcvbuf_max = NFQD_QUEUE_RCVBUF_MAX_DEFAULT;
	c->flow_cache = false;
	c->set_lookup = SET_LOOKUP_AUTO;
	c->mark_bits = 0xff000000u;
	c->set_timeout_ms = CONFIG_SET_TIMEOUT_DEFAULT_MS;
	c->seccomp = true;
	c->metrics_interval = CONFIG_METRICS_INTERVAL_DEFAULT;
	c->log_rate = CONFIG_LOG_RATE_DEFAULT;
	c->log_period_s = 1;
	c->log_burst = CONFIG_LOG_BURST_DEFAULT;
	c->control = strdup(CONFIG_DEFAULT_CONTROL);
	c->control_gid = (gid_t)-1;
	c->control_mode = CONFIG_DEFAULT_CONTROL_MODE;
	if (!c->control || nfqd_policy_new(&c->policy) < 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	nfqd_policy_free(c->policy);
	free(c->rule_lines);
	free(c->control);
	free(c->metrics_textfile);
	free(c->user);
	free(c->path);
	free(c);
}

static int load_stream(struct config **out, const char *name, FILE *f, char *err, size_t errlen)
{
	struct parse p = { .file = name, .stream = f };
	int r;

	p.c = config_new();
	if (!p.c) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	p.c->path = strdup(name);

	r = ini_parse_stream(reader, &p, handler, &p);
	if (r > 0 && !p.err_line) {
		/* a line libinih refused that the reader let through: its first line in the
		 * file */
		p.err_line = (unsigned int)r <= p.nlmap ? p.lmap[r - 1] : p.phys;
		snprintf(p.err, sizeof(p.err),
			 "syntax error: expected '[section]' or 'key = value'");
	}
	free(p.linebuf);
	free(p.logical);
	free(p.segs);
	free(p.lmap);
	if (r < 0 || ferror(f)) {
		snprintf(err, errlen, "%s: cannot read the file%s%s", name, ferror(f) ? ": " : "",
			 ferror(f) ? strerror(errno) : "");
		config_free(p.c);
		return -EIO;
	}
	if (!p.err_line)
		finish(&p);
	if (p.err_line == NO_LINE) {
		snprintf(err, errlen, "%s: %s", name, p.err);
		config_free(p.c);
		return -EINVAL;
	}
	if (p.err_line) {
		snprintf(err, errlen, "%s:%u: %s", name, p.err_line, p.err);
		config_free(p.c);
		return -EINVAL;
	}
	if (!p.c->path) {
		snprintf(err, errlen, "%s: out of memory", name);
		config_free(p.c);
		return -ENOMEM;
	}
	*out = p.c;
	return 0;
}

/* What a file that is not a regular file is, for the message refusing it. */
static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "not a regular file";
	}
}

int config_open_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	/*
	 * Only a regular file is a configuration: a directory reads as empty (all defaults:
	 * no rule, accept everything), and a FIFO or a device would block or have effects
	 * on open. stat() before opening keeps those from being opened; fstat() of what was
	 * opened (without blocking) closes the race with a rename in between.
	 */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: is %s, not a configuration file", path,
			 file_kind(st.st_mode));
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: is %s, not a configuration file", path,
			 file_kind(st.st_mode));
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int config_load(struct config **out, const char *path, char *err, size_t errlen)
{
	FILE *f;
	int fd = config_open_file(path, err, errlen), r;

	if (fd < 0)
		return fd;
	f = fdopen(fd, "r");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	r = load_stream(out, path, f, err, errlen);
	fclose(f);
	return r;
}

int config_load_mem(struct config **out, const char *name, const char *buf, size_t len, char *err,
		    size_t errlen)
{
	/* fmemopen() refuses an empty buffer; an empty file is valid (all defaults). */
	FILE *f = fmemopen((void *)(len ? buf : "\n"), len ? len : 1, "r");
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", name, strerror(-r));
		return r;
	}
	r = load_stream(out, name, f, err, errlen);
	fclose(f);
	return r;
}

int config_load_string(struct config **out, const char *name, const char *text, char *err,
		       size_t errlen)
{
	return config_load_mem(out, name, text, strlen(text), err, errlen);
}
