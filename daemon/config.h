/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqd.conf: an INI file read with libinih.
 *
 *	[queue]   queues, fanout, copy-range, max-len, fail-open, transport, batch, recv-buffer,
 *	          cpu-affinity
 *	[policy]  default, rule (repeated; in order), flow-cache, on-set-error, on-unreadable,
 *	          set-lookup, mark-bits, set-timeout
 *	[daemon]  control, control-group, control-mode, user,
 *	          seccomp
 *	[log]     rate, burst (the drop log's limit per rule)
 *
 * Comments start with '#' or ';', at the start of a line or after a blank. A line that ends with
 * a backslash (before any comment) continues on the next line, the backslash read as a blank; a
 * line that is blank or only a comment ends the continuation. Indentation means nothing.
 * Only a regular file is read; a NUL byte or another control character than a tab refuses it.
 * Every error names the file, the line and the offending word (in a continued rule, the line of
 * the offending word); a file with any error is refused whole.
 */
#ifndef NFQD_DAEMON_CONFIG_H
#define NFQD_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_PATH    "/etc/nfqd/nfqd.conf"
#define CONFIG_DEFAULT_CONTROL "/run/nfqd/control.sock"
#define CONFIG_MAX_QUEUES      256
#define CONFIG_COPY_RANGE_MIN  64
/*
 * The most packets the kernel holds in one queue, whatever max-len asks: since Linux 6.18
 * (e19079adcd26, made per queue by 936206e3f6ff) each queue finds its packets by id in an
 * rhashtable of at most 32768 buckets, which takes at most twice that many entries; the insert
 * of one more fails (E2BIG) and the kernel counts the packet as queue-full (queue_dropped) or,
 * with fail-open, lets it through. A larger value would be logged but never be in force.
 */
#define CONFIG_MAX_LEN_MAX     65536
#define CONFIG_RECV_BUFFER_MIN 256
#define CONFIG_RECV_BUFFER_MAX (1u << 20)
#define CONFIG_LINE_MAX	       8192  /* bytes on one line of the file, without its end */
#define CONFIG_VALUE_MAX       16384 /* bytes of a line joined with its continuations */

/* The control socket's permissions when control-mode is not set. */
#define CONFIG_DEFAULT_CONTROL_MODE 0660
#define CONFIG_USER_MAX		    32 /* useradd's limit on a name */
#define CONFIG_RCVBUF_MAX_MIN	    (256u << 10)
#define CONFIG_RCVBUF_MAX_MAX	    2147483647u /* the kernel caps a buffer at INT_MAX */

/* [metrics] */
#define CONFIG_METRICS_INTERVAL_DEFAULT 15
#define CONFIG_METRICS_INTERVAL_MIN	1
#define CONFIG_METRICS_INTERVAL_MAX	3600
#define CONFIG_METRICS_PATH_MAX		4000 /* below PATH_MAX, with room for ".tmp" */

#include "nfqd/markplan.h"
#include "nfqd/setlookup.h"

#include "placement.h"

/* set-timeout: a worker's wait for set answers, per batch. The default is far below the
 * drain's and the watchdog's scales (hundreds of milliseconds, seconds); the kernel answers in
 * microseconds when it answers at all. */
#define CONFIG_SET_TIMEOUT_DEFAULT_MS NFQD_SETLOOKUP_TIMEOUT_MS
#define CONFIG_SET_TIMEOUT_MIN_MS     1
#define CONFIG_SET_TIMEOUT_MAX_MS     1000

/* [log]: each rule logs at most burst lines at once and rate lines per period on average. */
#define CONFIG_LOG_RATE_DEFAULT	 10
#define CONFIG_LOG_BURST_DEFAULT 20
#define CONFIG_LOG_RATE_MAX	 1000000
#define CONFIG_LOG_BURST_MAX	 1000000

struct nfqd_policy;

/* How set lookups are answered (the worker chooses per packet with SET_LOOKUP_AUTO). */
enum set_lookup {
	SET_LOOKUP_AUTO, /* kernel mark bits when the packet went through the generated rules,
			    else IPSET_CMD_TEST */
	SET_LOOKUP_TEST, /* always IPSET_CMD_TEST */
	SET_LOOKUP_MARK, /* only the kernel's mark bits (generated rules required) */
	SET_LOOKUP_MAX
};

/*
 * How the generated NFQUEUE rule spreads packets over the queue range A..B, and so where each
 * worker runs (fanout.h).
 */
enum fanout {
	FANOUT_BALANCE, /* --queue-balance A:B: by a hash of the addresses */
	FANOUT_CPU,	/* --queue-cpu-fanout: queue A + (cpu % (B - A + 1)), where it arrived */
	FANOUT_MAX
};

struct config {
	char *path;			    /* the file read */
	uint16_t queues[CONFIG_MAX_QUEUES]; /* ascending, no duplicates */
	unsigned int n_queues;
	enum fanout fanout;	    /* balance */
	uint32_t copy_range;	    /* 128 */
	uint32_t max_len;	    /* 8192 */
	bool fail_open;		    /* false */
	char transport[16];	    /* "auto" */
	unsigned int batch;	    /* 64 */
	uint32_t recv_buffer;	    /* 0: sized for the copy range */
	uint64_t rcvbuf_max;	    /* cap on a queue socket's receive buffer: 64 MiB */
	struct placement placement; /* cpu-affinity: auto */
	struct nfqd_policy *policy; /* default accept, no rules */
	unsigned int *rule_lines;   /* line of each rule in the file */
	bool flow_cache;	    /* flow-cache = connmark */
	enum set_lookup set_lookup; /* auto */
	uint32_t mark_bits;	    /* 0xff000000 */
	struct nfqd_markplan plan;  /* nfqd's mark bits, from the above */
	char *control;		    /* control socket path */
	gid_t control_gid;	    /* its group; (gid_t)-1: nfqd's own (root's) group */
	unsigned int control_mode;  /* its permissions, 0660 */
	char *user;		    /* run as this user once started; NULL: stay root */
	unsigned int user_line;	    /* line of the user key */
	bool seccomp;		    /* the system call filter; true */

	/* [policy] set-timeout: bound of a worker's waits for set answers, per batch; 50 */
	unsigned int set_timeout_ms;

	/* [metrics] (metrics.h) */
	char *metrics_textfile;	       /* textfile: write the metrics there; NULL: none */
	unsigned int metrics_interval; /* interval: seconds between writes; 15 */
	/* [log] rate = log_rate/log_period_s (10/s), burst = log_burst (20) */
	unsigned int log_rate;
	unsigned int log_period_s;
	unsigned int log_burst;
};

/* "balance", "cpu". */
const char *config_fanout_name(enum fanout f);

/* "auto", "test", "mark". */
const char *config_set_lookup_name(enum set_lookup s);

/*
 * Read and validate the file at path. Returns 0 and *out (free with config_free), or -errno
 * with err holding one line "FILE:LINE: what is wrong" (or "FILE: ..." when no line applies).
 */
int config_load(struct config **out, const char *path, char *err, size_t errlen);

/*
 * Open path for reading when it is a regular file (a FIFO or a device is refused without being
 * opened). Returns the fd, or -errno with err holding "FILE: what is wrong".
 */
int config_open_file(const char *path, char *err, size_t errlen);

/* Parse the len bytes at buf (NUL bytes refused as in a file) as if they were the file name. */
int config_load_mem(struct config **out, const char *name, const char *buf, size_t len, char *err,
		    size_t errlen);

/* Parse an INI text as if it were the file `name` (for tests and --check of stdin). */
int config_load_string(struct config **out, const char *name, const char *text, char *err,
		       size_t errlen);

void config_free(struct config *c);

/*
 * Parse a queue list: "3", "0-3", "0,2,5", "0-3,8". Fills out[] ascending, *n entries.
 * Returns 0, or -EINVAL with why (a static string) explaining.
 */
int config_parse_queues(const char *s, uint16_t *out, unsigned int *n, const char **why);

/* Format a queue list compactly ("0-3,8") into buf. */
void config_format_queues(const struct config *c, char *buf, size_t len);

#endif /* NFQD_DAEMON_CONFIG_H */
