/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "nfqd/queue.h"

#include "bgproc.h"
#include "fdstore.h"
#include "netns.h"

#ifndef NFQD_BIN
#define NFQD_BIN "nfqd"
#endif
#ifndef NFQCTL_BIN
#define NFQCTL_BIN "nfqctl"
#endif

const char *nfqd_bin(void)
{
	const char *bin = getenv("NFQD_TEST_BIN");

	return bin && *bin ? bin : NFQD_BIN;
}

const char *nfqctl_bin(void)
{
	return NFQCTL_BIN;
}

static int run_argv(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid == -1)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int sh(const char *cmd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	int r = run_argv(argv);

	if (r != 0)
		fprintf(stderr, "test setup: '%s' failed (%d)\n", cmd, r);
	return r;
}

static int enter_fd(const char *ns)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (setns(fd, CLONE_NEWNET) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int ns_enter(const char *ns)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (self == -1)
		return -1;
	if (enter_fd(ns) < 0) {
		close(self);
		return -1;
	}
	return self;
}

void ns_leave(int handle)
{
	if (handle < 0)
		return;
	if (setns(handle, CLONE_NEWNET) == -1)
		abort(); /* a test thread left in the wrong namespace would test the wrong thing */
	close(handle);
}

static int ns_vsh(const char *ns, char **out, const char *fmt, va_list ap)
{
	char *cmd;
	int pipefd[2] = { -1, -1 };
	pid_t pid;
	int st;

	if (vasprintf(&cmd, fmt, ap) < 0)
		return -1;
	if (out && pipe2(pipefd, O_CLOEXEC) == -1) {
		free(cmd);
		return -1;
	}
	pid = fork();
	if (pid == -1) {
		free(cmd);
		return -1;
	}
	if (pid == 0) {
		if (enter_fd(ns) < 0)
			_exit(126);
		if (out)
			dup2(pipefd[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	if (out) {
		size_t len = 0, cap = 4096;
		char *buf = malloc(cap);
		ssize_t n;

		close(pipefd[1]);
		while (buf && (n = read(pipefd[0], buf + len, cap - len - 1)) > 0) {
			len += (size_t)n;
			if (len + 1 == cap) {
				char *nb = realloc(buf, cap * 2);

				if (!nb) {
					free(buf);
					buf = NULL;
					break;
				}
				buf = nb;
				cap *= 2;
			}
		}
		close(pipefd[0]);
		if (buf)
			buf[len] = '\0';
		*out = buf;
	}
	if (waitpid(pid, &st, 0) == -1) {
		free(cmd);
		return -1;
	}
	st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (st != 0 && !out)
		fprintf(stderr, "test: in %s: '%s' exited %d\n", ns, cmd, st);
	free(cmd);
	return st;
}

int ns_sh(const char *ns, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = ns_vsh(ns, NULL, fmt, ap);
	va_end(ap);
	return r;
}

int ns_sh_out(const char *ns, char **out, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = ns_vsh(ns, out, fmt, ap);
	va_end(ap);
	return r;
}

int topo_create(struct topo *t, const char *tag)
{
	static unsigned int seq;
	char cmd[2048];
	char a[16], b[16];
	unsigned int n = seq++;

	memset(t, 0, sizeof(*t));
	snprintf(t->cli, sizeof(t->cli), "nfqd-t-%s-%d-%u-cli", tag, (int)getpid(), n);
	snprintf(t->fw, sizeof(t->fw), "nfqd-t-%s-%d-%u-fw", tag, (int)getpid(), n);
	snprintf(t->cli4, sizeof(t->cli4), "10.199.0.1");
	snprintf(t->fw4, sizeof(t->fw4), "10.199.0.2");
	snprintf(t->cli6, sizeof(t->cli6), "fd00:199::1");
	snprintf(t->fw6, sizeof(t->fw6), "fd00:199::2");
	/* Interface names are created in the root namespace first: keep them unique there. */
	snprintf(a, sizeof(a), "nt%d_%ua", (int)getpid() % 1000000, n % 100);
	snprintf(b, sizeof(b), "nt%d_%ub", (int)getpid() % 1000000, n % 100);

	snprintf(cmd, sizeof(cmd),
		 "set -e; ip netns add %1$s; ip netns add %2$s;"
		 "ip link add %3$s type veth peer name %4$s;"
		 "ip link set %3$s netns %1$s; ip link set %4$s netns %2$s;"
		 "ip -n %1$s link set %3$s name veth0; ip -n %2$s link set %4$s name veth0;"
		 "ip -n %1$s addr add %5$s/24 dev veth0; ip -n %2$s addr add %6$s/24 dev veth0;"
		 "ip -n %1$s addr add %7$s/64 dev veth0 nodad;"
		 "ip -n %2$s addr add %8$s/64 dev veth0 nodad;"
		 "ip -n %1$s link set lo up; ip -n %2$s link set lo up;"
		 "ip -n %1$s link set veth0 up; ip -n %2$s link set veth0 up",
		 t->cli, t->fw, a, b, t->cli4, t->fw4, t->cli6, t->fw6);
	t->up = true;
	if (sh(cmd) != 0) {
		topo_destroy(t);
		return -1;
	}
	/* Wait for the link to come up on both sides, so that the first packets are not lost to
	 * neighbour discovery on a link still down. */
	for (long long start = test_now_ms(); test_now_ms() - start < TEST_DEADLINE_MS;) {
		char *o1 = NULL, *o2 = NULL;
		bool ok;

		ns_sh_out(t->cli, &o1, "ip -o link show veth0");
		ns_sh_out(t->fw, &o2, "ip -o link show veth0");
		ok = o1 && o2 && strstr(o1, "LOWER_UP") && strstr(o2, "LOWER_UP");
		free(o1);
		free(o2);
		if (ok)
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "test setup: veth link did not come up within %d ms\n", TEST_DEADLINE_MS);
	topo_destroy(t);
	return -1;
}

int topo_add_client_addrs(struct topo *t, unsigned int n, char *list, size_t len)
{
	size_t off = 0;

	list[0] = '\0';
	for (unsigned int i = 0; i < n && i < 100; i++) {
		int r;

		if (ns_sh(t->cli, "ip addr add 10.199.0.%u/24 dev veth0", 100 + i) != 0)
			return -1;
		r = snprintf(list + off, len - off, "%s10.199.0.%u", i ? "," : "", 100 + i);
		if (r < 0 || (size_t)r >= len - off)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

void topo_destroy(struct topo *t)
{
	char cmd[256];

	if (!t->up)
		return;
	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; true",
		 t->cli, t->fw);
	sh(cmd);
	t->up = false;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static void drain_notify(struct nfqd_proc *p, bool *ready, bool *stopping)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		if (p->store)
			n = fdstore_recv(p->store, p->notify_fd, buf, sizeof(buf));
		else
			n = recv(p->notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			break;
		buf[n] = '\0';
		if (ready && strstr(buf, "READY=1"))
			*ready = true;
		if (stopping && strstr(buf, "STOPPING=1"))
			*stopping = true;
	}
}

/* In the child: pass the store's descriptors as systemd does, numbered from 3. */
static void pass_stored(const struct fdstore *store)
{
	char names[FDSTORE_MAX * 257] = "", num[16];
	int high[FDSTORE_MAX];
	size_t off = 0;

	if (!store || store->n == 0)
		return;
	/* out of the way of 3..3+n first, then into place (dup2 clears close-on-exec) */
	for (unsigned int i = 0; i < store->n; i++)
		high[i] = fcntl(store->ent[i].fd, F_DUPFD, 100);
	for (unsigned int i = 0; i < store->n; i++) {
		dup2(high[i], 3 + (int)i);
		close(high[i]);
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ":" : "",
					store->ent[i].name);
	}
	snprintf(num, sizeof(num), "%u", store->n);
	setenv("LISTEN_FDS", num, 1);
	setenv("LISTEN_FDNAMES", names, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("LISTEN_PID", num, 1);
}

/*
 * NFQD_TEST_TRANSPORT=NAME runs every test on that transport: a "[queue] transport = NAME" for a
 * config that names none (one that does tests a transport on purpose).
 */
static const char *forced_transport(const char *config)
{
	static char line[64];
	const char *name = getenv("NFQD_TEST_TRANSPORT");

	if (!name || !*name || strstr(config, "transport"))
		return "";
	snprintf(line, sizeof(line), "[queue]\ntransport = %s\n", name);
	return line;
}

/* Start nfqd in ns with p's files (the log appended to with append) and wait for READY=1. */
static int spawn_ready(struct nfqd_proc *p, const char *ns, bool append, int timeout_ms,
		       int *status)
{
	long long deadline;

	p->ready = false;
	p->pid = fork();
	if (p->pid == -1)
		return -1;
	if (p->pid == 0) {
		int fd = open(p->log,
			      O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
		char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

		if (fd == -1 || enter_fd(ns) < 0)
			_exit(126);
		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		snprintf(path, sizeof(path), "%s/notify.sock", p->dir);
		setenv("NOTIFY_SOCKET", path, 1);
		pass_stored(p->store);
		execl(nfqd_bin(), "nfqd", "-c", p->conf, (char *)NULL);
		_exit(127);
	}

	if (timeout_ms < TEST_DEADLINE_MS)
		timeout_ms = TEST_DEADLINE_MS;
	deadline = test_now_ms() + timeout_ms;
	while (test_now_ms() < deadline) {
		struct pollfd pfd = { .fd = p->notify_fd, .events = POLLIN };
		int st;

		drain_notify(p, &p->ready, NULL);
		if (p->ready)
			return 0;
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->pid = -1;
			if (status)
				*status = st;
			return 1;
		}
		poll(&pfd, 1, 20);
	}
	fprintf(stderr, "test: nfqd did not report READY=1 within %d ms\n", timeout_ms);
	return -1;
}

int nfqd_start_stored(struct nfqd_proc *p, const char *ns, const char *config,
		      struct fdstore *store, int timeout_ms, int *status)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *full;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->notify_fd = -1;
	p->store = store;
	snprintf(p->dir, sizeof(p->dir), "/tmp/nfqd-test-XXXXXX");
	if (!mkdtemp(p->dir))
		return -1;
	snprintf(p->conf, sizeof(p->conf), "%s/nfqd.conf", p->dir);
	snprintf(p->control, sizeof(p->control), "%s/control.sock", p->dir);
	snprintf(p->log, sizeof(p->log), "%s/nfqd.log", p->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", p->dir);

	if (asprintf(&full, "%s\n[daemon]\ncontrol = %s\n%s", config, p->control,
		     forced_transport(config)) < 0)
		return -1;
	if (write_file(p->conf, full) < 0) {
		free(full);
		return -1;
	}
	free(full);

	p->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (p->notify_fd == -1 || bind(p->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		return -1;
	/* An nfqd running as `[daemon] user =` still reports to it, as to systemd's socket. */
	if (chmod(p->dir, 0711) == -1 || chmod(sa.sun_path, 0666) == -1)
		return -1;
	return spawn_ready(p, ns, false, timeout_ms, status);
}

int nfqd_start(struct nfqd_proc *p, const char *ns, const char *config, int timeout_ms, int *status)
{
	return nfqd_start_stored(p, ns, config, NULL, timeout_ms, status);
}

int nfqd_respawn(struct nfqd_proc *p, const char *ns, int timeout_ms, int *status)
{
	if (p->pid > 0 || p->notify_fd < 0)
		return -1;
	/* what the previous process said is history */
	drain_notify(p, NULL, NULL);
	return spawn_ready(p, ns, true, timeout_ms, status);
}

int nfqd_wait_ready(struct nfqd_proc *p, int timeout_ms)
{
	long long deadline =
		test_now_ms() + (timeout_ms < TEST_DEADLINE_MS ? TEST_DEADLINE_MS : timeout_ms);

	p->ready = false;
	while (test_now_ms() < deadline) {
		struct pollfd pfd = { .fd = p->notify_fd, .events = POLLIN };

		drain_notify(p, &p->ready, NULL);
		if (p->ready)
			return 0;
		poll(&pfd, 1, 20);
	}
	return -1;
}

bool nfqd_saw_stopping(struct nfqd_proc *p)
{
	bool stopping = false;

	drain_notify(p, NULL, &stopping);
	return stopping;
}

int nfqd_stop(struct nfqd_proc *p, int sig, int timeout_ms, int *status, long *elapsed_ms)
{
	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	return proc_wait_exit(&p->pid, timeout_ms, status, elapsed_ms);
}

pid_t nfqd_worker_tid(pid_t pid)
{
	char path[64];
	struct dirent *de;
	pid_t tid = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		long t = strtol(de->d_name, NULL, 10);

		if (t > 0 && t != pid)
			tid = (pid_t)t;
	}
	closedir(d);
	return tid;
}

int nfqd_pause(struct nfqd_proc *p)
{
	return proc_pause(p->pid);
}

void nfqd_cleanup(struct nfqd_proc *p)
{
	char path[160];

	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = -1;
	}
	if (p->notify_fd >= 0) {
		close(p->notify_fd);
		p->notify_fd = -1;
	}
	if (p->dir[0]) {
		const char *names[] = { "nfqd.conf", "control.sock", "nfqd.log", "notify.sock" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", p->dir, names[i]);
			unlink(path);
		}
		rmdir(p->dir);
		p->dir[0] = '\0';
	}
}

char *nfqd_log(const struct nfqd_proc *p)
{
	return file_read_all(p->log);
}

char *nfqd_control(const struct nfqd_proc *p, const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 3 };
	char *buf;
	size_t len = 0, cap = 65536;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->control);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    send(fd, request, strlen(request), MSG_NOSIGNAL) == -1) {
		close(fd);
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (len + 1 == cap)
			break;
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static uint64_t number_after(const char *s, const char *end, const char *key)
{
	char pat[64];
	const char *hit;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	hit = strstr(s, pat);
	if (!hit || (end && hit > end))
		return UINT64_MAX;
	return strtoull(hit + strlen(pat), NULL, 10);
}

uint64_t stats_get(const char *json, int queue, const char *key)
{
	char pat[64];
	const char *obj;

	if (!json)
		return UINT64_MAX;
	if (queue >= 0)
		snprintf(pat, sizeof(pat), "{\"queue\":%d,", queue);
	else
		snprintf(pat, sizeof(pat), "\"total\":{");
	obj = strstr(json, pat);
	if (!obj)
		return UINT64_MAX;
	return number_after(obj, strchr(obj + 1, '}'), key);
}

uint64_t final_get(const char *log, unsigned int queue, const char *key)
{
	char pat[64];
	const char *line, *eol, *hit;

	snprintf(pat, sizeof(pat), "queue %u: final:", queue);
	line = strstr(log, pat);
	if (!line)
		return UINT64_MAX;
	eol = strchr(line, '\n');
	snprintf(pat, sizeof(pat), " %s=", key);
	hit = strstr(line, pat);
	if (!hit || (eol && hit > eol))
		return UINT64_MAX;
	return strtoull(hit + strlen(pat), NULL, 10);
}

int nfqd_rules_load(const char *ns, const char *config, bool ipv6)
{
	char path[] = "/tmp/nfqd-rules-XXXXXX";
	int fd = mkstemp(path);
	int r;

	if (fd < 0)
		return -1;
	if (write(fd, config, strlen(config)) != (ssize_t)strlen(config)) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	/* the generator's own failure must not hide behind the pipe */
	r = ns_sh(ns, "rules=$(%s rules -c %s%s) && printf '%%s\\n' \"$rules\" | %s --noflush",
		  nfqd_bin(), path, ipv6 ? " --ipv6" : "",
		  ipv6 ? "ip6tables-restore" : "iptables-restore");
	unlink(path);
	return r;
}

uint64_t ipt_rule_packets(const char *ns, const char *table, const char *chain, unsigned int rule)
{
	char *out = NULL, *end;
	uint64_t n = UINT64_MAX;
	unsigned long long v;

	if (ns_sh_out(ns, &out, "iptables -w -t %s -L %s %u -v -x -n", table, chain, rule) == 0 &&
	    out) {
		v = strtoull(out, &end, 10);
		if (end != out)
			n = v;
	}
	free(out);
	return n;
}

int kernel_queue_kstats(const char *ns, unsigned int num, struct nfqd_queue_kstats *ks)
{
	int h = ns_enter(ns);
	FILE *f;
	char line[256];
	int r = -1;

	if (h < 0)
		return -1;
	f = fopen("/proc/thread-self/net/netfilter/nfnetlink_queue", "re");
	ns_leave(h);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct nfqd_queue_kstats one;
		uint32_t n;

		if (nfqd_queue_kstats_parse(line, &n, &one) == 0 && n == num) {
			*ks = one;
			r = 0;
		}
	}
	fclose(f);
	return r;
}

int kernel_queue_line(const char *ns, unsigned int num, unsigned int *queued, unsigned int *last_id)
{
	struct nfqd_queue_kstats ks;

	if (kernel_queue_kstats(ns, num, &ks) < 0)
		return -1;
	*queued = ks.queued;
	*last_id = ks.last_id;
	return 0;
}
