/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Faults injected into nfqd's worker for real: strace attached to the worker thread alone turns
 * its system calls into errors, other return values or delays (`-e inject=...`), while the rest
 * of nfqd runs untouched. The seccomp filter must be off (`[daemon] seccomp = no`): strace skips
 * a call by turning it into number -1, which the kernel checks against the filter after the
 * tracer, and the filter would kill nfqd for it. The filter has tests of its own
 * (integration.privilege).
 */
#ifndef NFQD_ITRACE_H
#define NFQD_ITRACE_H

#include <signal.h>

#include "itest.h"

/* The thread id of nfqd's one worker (nfqd_worker_tid()), asserted to exist. */
static inline pid_t itrace_worker_tid(pid_t pid)
{
	pid_t tid = nfqd_worker_tid(pid);

	assert_true(tid > 0);
	return tid;
}

/* The pid tracing task tid, from its status; -1 when it cannot be read. */
static inline pid_t itrace_tracer_of(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	pid_t tracer = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "TracerPid:", 10) == 0)
			tracer = (pid_t)strtol(line + 10, NULL, 10);
	fclose(f);
	return tracer;
}

/*
 * Attach strace to nfqd's worker thread with `-e trace=<trace> -e <inject>` (e.g. trace
 * "sendto", inject "inject=sendto:error=EPERM:when=1..2"). Returns strace's pid once it is
 * attached; stop it with itrace_detach().
 */
static inline pid_t itrace_worker(struct itest *it, const char *trace, const char *inject)
{
	pid_t tid = itrace_worker_tid(it->d.pid), st;
	char tids[16], traces[64];

	snprintf(tids, sizeof(tids), "%d", (int)tid);
	snprintf(traces, sizeof(traces), "trace=%s", trace);
	st = fork();
	assert_true(st >= 0);
	if (st == 0) {
		execlp("strace", "strace", "-qq", "-o", "/dev/null", "-e", traces, "-e", inject,
		       "-p", tids, (char *)NULL);
		_exit(127);
	}
	for (int waited = 0; itrace_tracer_of(it->d.pid, tid) != st; waited += 10) {
		if (waited > ITEST_DEADLINE_MS || waitpid(st, NULL, WNOHANG) == st)
			fail_msg("strace did not attach to nfqd's worker %d", (int)tid);
		usleep(10000);
	}
	return st;
}

/* Stop the strace of itrace_worker(): the worker runs on untraced. */
static inline void itrace_detach(pid_t tracer)
{
	kill(tracer, SIGTERM);
	waitpid(tracer, NULL, 0);
}

#endif /* NFQD_ITRACE_H */
