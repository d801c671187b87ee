/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "bgproc.h"
#include "netns.h"

#ifndef BENCH_READER_BIN
#define BENCH_READER_BIN "bench_reader"
#endif

const char *bench_reader_bin(void)
{
	return BENCH_READER_BIN;
}

long long test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void read_out(struct bgproc *p)
{
	char scratch[4096];
	ssize_t n;

	if (p->out_fd < 0)
		return;
	for (;;) {
		size_t room = sizeof(p->out) - 1 - p->out_len;
		/* past the kept beginning, the rest is read and thrown away so the pipe never fills
		 */
		n = read(p->out_fd, room ? p->out + p->out_len : scratch,
			 room ? room : sizeof(scratch));
		if (n <= 0)
			break;
		if (room)
			p->out_len += (size_t)n;
	}
	p->out[p->out_len] = '\0';
}

bool bgproc_said(struct bgproc *p, const char *text)
{
	read_out(p);
	return strstr(p->out, text) != NULL;
}

static void child(const struct bgproc *p, const char *ns, char *const argv[], int out)
{
	int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	/* a benchmark or test that dies leaves no program behind serving a queue */
	if (fd == -1 || prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || ns_enter(ns) < 0)
		_exit(126);
	dup2(fd, STDERR_FILENO);
	dup2(out, STDOUT_FILENO);
	execv(argv[0], argv);
	_exit(127);
}

int bgproc_init(struct bgproc *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->out_fd = -1;
	snprintf(p->dir, sizeof(p->dir), "/tmp/nfqd-bg-XXXXXX");
	if (!mkdtemp(p->dir)) {
		p->dir[0] = '\0';
		return -1;
	}
	snprintf(p->log, sizeof(p->log), "%s/stderr.log", p->dir);
	return 0;
}

int bgproc_start(struct bgproc *p, const char *ns, char *const argv[], const char *ready,
		 int timeout_ms, int *status)
{
	int pipefd[2];
	long long deadline;

	if (!p->dir[0])
		return -1;
	if (pipe2(pipefd, O_CLOEXEC) == -1)
		return -1;
	p->pid = fork();
	if (p->pid == 0)
		child(p, ns, argv, pipefd[1]);
	close(pipefd[1]);
	p->out_fd = pipefd[0];
	if (p->pid == -1 || fcntl(p->out_fd, F_SETFL, O_NONBLOCK) == -1)
		return -1;
	if (!ready)
		return 0;

	if (timeout_ms < TEST_DEADLINE_MS)
		timeout_ms = TEST_DEADLINE_MS;
	deadline = test_now_ms() + timeout_ms;
	while (test_now_ms() < deadline) {
		struct pollfd pfd = { .fd = p->out_fd, .events = POLLIN };
		int st;

		if (bgproc_said(p, ready))
			return 0;
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = -1;
			if (status)
				*status = st;
			return 1;
		}
		poll(&pfd, 1, 20);
	}
	fprintf(stderr, "test: %s did not say '%s' within %d ms\n", argv[0], ready, timeout_ms);
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = -1;
	return -1;
}

int proc_wait_exit(pid_t *pid, int timeout_ms, int *status, long *elapsed_ms)
{
	long long start = test_now_ms();

	if (timeout_ms < TEST_DEADLINE_MS)
		timeout_ms = TEST_DEADLINE_MS;
	while (test_now_ms() - start < timeout_ms) {
		int st;

		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			*pid = -1;
			if (status)
				*status = st;
			if (elapsed_ms)
				*elapsed_ms = (long)(test_now_ms() - start);
			return 0;
		}
		usleep(2000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	*pid = -1;
	return -1;
}

int bgproc_stop(struct bgproc *p, int sig, int timeout_ms, int *status)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	/* a stopped process takes no other signal until it is continued */
	kill(p->pid, SIGCONT);
	return proc_wait_exit(&p->pid, timeout_ms, status, NULL);
}

char *file_read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

char *bgproc_log(const struct bgproc *p)
{
	return file_read_all(p->log);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void bgproc_cleanup(struct bgproc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = -1;
	}
	if (p->out_fd >= 0) {
		close(p->out_fd);
		p->out_fd = -1;
	}
	if (p->dir[0]) {
		nftw(p->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
		p->dir[0] = '\0';
	}
}

/* Whether every thread of pid is in the stopped state ('T' in /proc/PID/task/TID/stat). */
static bool all_threads_stopped(pid_t pid)
{
	char path[320];
	DIR *d;
	struct dirent *e;
	bool stopped = true;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	while (stopped && (e = readdir(d))) {
		char state[8];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		if (proc_stat_field(path, 3, state, sizeof(state)) == 0)
			stopped = state[0] == 'T';
	}
	closedir(d);
	return stopped;
}

int proc_stat_field(const char *path, int field, char *out, size_t len)
{
	char buf[1024];
	const char *p;
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f || field < 3)
		goto fail;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	f = NULL;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	for (int i = 2; p && i < field; i++)
		p = strchr(p + 1, ' ');
	if (!p || p[1] == '\0' || p[1] == ' ' || p[1] == '\n')
		goto fail;
	p++;
	n = strcspn(p, " \n");
	if (n >= len)
		goto fail;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
fail:
	if (f)
		fclose(f);
	return -1;
}

int proc_pause(pid_t pid)
{
	if (pid <= 0 || kill(pid, SIGSTOP) == -1)
		return -1;
	for (long long start = test_now_ms(); test_now_ms() - start < TEST_DEADLINE_MS;) {
		if (all_threads_stopped(pid))
			return 0;
		usleep(2000);
	}
	return -1;
}

long proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			kb = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return kb;
}
