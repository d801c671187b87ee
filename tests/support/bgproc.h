/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A program other than nfqd running in a test namespace: a benchmark reader, Suricata. Its
 * stdout is read for a readiness line, its stderr kept in a file of a private temporary
 * directory (which the program may use for its own files too).
 */
#ifndef NFQD_TEST_BGPROC_H
#define NFQD_TEST_BGPROC_H

#include <stdbool.h>
#include <sys/types.h>

struct bgproc {
	pid_t pid;
	int out_fd;	/* read end of the program's stdout, non-blocking */
	char dir[32];	/* private temporary directory, removed with everything in it */
	char log[64];	/* the program's stderr */
	char out[4096]; /* what stdout said so far (the beginning) */
	size_t out_len;
};

/* Make p's private directory (for files the program is to read). Returns 0 or -1. */
int bgproc_init(struct bgproc *p);

/*
 * Start argv (argv[0] a path) inside ns, p made by bgproc_init(); with ready not NULL, wait up
 * to timeout_ms (at least TEST_DEADLINE_MS) until stdout has said it.
 * Returns 0 when started (and ready); 1 when the program exited first (wait status in
 * *status if not NULL); -1 on a setup failure or timeout (the program is then killed).
 */
int bgproc_start(struct bgproc *p, const char *ns, char *const argv[], const char *ready,
		 int timeout_ms, int *status);

/* Read what stdout has written since, and whether it has said text (in its first 4 kB). */
bool bgproc_said(struct bgproc *p, const char *text);

/* Send sig, wait up to timeout_ms (at least TEST_DEADLINE_MS) for the exit. Returns 0 with
 * *status, or -1 on timeout (then SIGKILL). */
int bgproc_stop(struct bgproc *p, int sig, int timeout_ms, int *status);

/* The program's stderr so far (malloc'd). */
char *bgproc_log(const struct bgproc *p);

/* Kill (if running), close, and remove the private directory and all it holds. Safe twice. */
void bgproc_cleanup(struct bgproc *p);

/*
 * Wait up to timeout_ms (at least TEST_DEADLINE_MS) for the child *pid to exit, then set *pid to
 * -1. Returns 0 with *status (wait status) and *elapsed_ms (either may be NULL), or -1 on timeout
 * (the child is then killed with SIGKILL and reaped).
 */
int proc_wait_exit(pid_t *pid, int timeout_ms, int *status, long *elapsed_ms);

/*
 * Field `field` (numbered as in proc(5), 3 = state; 1 and 2 not served) of the stat file at
 * path (/proc/PID/stat, /proc/PID/task/TID/stat) into out. The name in field 2 may hold blanks:
 * fields are counted from its closing parenthesis. Returns 0, or -1 when the file cannot be
 * read or has no such field.
 */
int proc_stat_field(const char *path, int field, char *out, size_t len);

/* A whole file (malloc'd, NUL-terminated); an empty string when it cannot be read. */
char *file_read_all(const char *path);

/*
 * Stop pid with SIGSTOP and wait until every one of its threads is stopped (a signal takes
 * effect asynchronously). Returns 0, or -1 when it did not stop within TEST_DEADLINE_MS.
 */
int proc_pause(pid_t pid);

/* A whole-number field of /proc/PID/status in kB ("VmHWM", "VmRSS"); -1 when absent. */
long proc_status_kb(pid_t pid, const char *field);

/* CLOCK_MONOTONIC in milliseconds. */
long long test_now_ms(void);

/* The path of build/tests/bench_reader. */
const char *bench_reader_bin(void);

#endif /* NFQD_TEST_BGPROC_H */
