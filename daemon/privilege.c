/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <seccomp.h>

#include "log.h"
#include "privilege.h"

/*
 * The sanitizer runtimes make calls of their own: at exit LeakSanitizer stops the world (a
 * tracer task made with clone that ptrace-attaches to every thread, after making the process
 * dumpable with prctl), reads /proc/self/maps and /proc/self/task, and reports through its own
 * stack; ASan's error reports do the same reading. The tracer runs with every signal blocked:
 * a call denied there kills it without a line, and the process then spins waiting for it.
 */
#if defined(__SANITIZE_ADDRESS__)
#define NFQD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NFQD_SANITIZER 1
#endif
#endif

/* One allowed system call: by name, with at most one argument that must equal a value. */
struct allowed_call {
	const char *name;
	int arg;	/* index of the argument checked, -1 for none */
	uint64_t value; /* what it must equal */
	const char *why;
};

#define ANY	      -1, 0
#define ARG(n, value) n, (uint64_t)(value)

/*
 * Everything nfqd calls once privileges are dropped. Start-up calls (binding queues, opening
 * sockets, reading the config) happen before and are not here. A call missing from this table
 * kills nfqd with a line naming it: add it here, with the reason.
 */
static const struct allowed_call allowed[] = {
	/* packets: the workers */
	{ "recvmmsg", ANY, "workers: a batch of packets (mmsg transport)" },
	/* The uring transport. The sends and receives it queues are run by the kernel for the ring
	 * and never pass this filter: `transport = mmsg` keeps io_uring out (README, security). */
	{ "io_uring_enter", ANY, "workers: verdicts out and packets in (uring transport)" },
	{ "io_uring_register", ANY,
	  "workers: enabling the ring in its thread (uring transport); reload: a new queue's "
	  "buffer ring" },
	{ "io_uring_setup", ANY, "reload: the ring of a queue added (uring transport)" },
	{ "restart_syscall", ANY,
	  "the kernel's own restart of an interrupted sleep (in systemd's @default set); seen "
	  "at a reload with the uring transport" },
	{ "recvmsg", ANY, "netlink replies, control requests" },
	{ "recvfrom", ANY, "netlink replies (libmnl): ipset, ctnetlink, rtnetlink" },
	{ "sendmsg", ANY, "verdict batches, ipset tests, sd_notify" },
	{ "sendto", ANY, "netlink requests (libmnl): ipset tests, ctnetlink, queue freeze" },
	{ "poll", ANY, "workers: wait for packets" },
	{ "ppoll", ANY, "workers: wait for packets" },
	{ "getsockopt", ANY, "socket drop counters, sd_notify's buffer size" },
	{ "setsockopt", ANY, "sd_notify's send buffer" },
	/* the main thread: event loop, control socket, signals, interface watch */
	{ "epoll_wait", ANY, "sd-event loop" },
	{ "epoll_pwait", ANY, "sd-event loop" },
	{ "epoll_ctl", ANY, "sd-event sources added and removed" },
	{ "accept4", ANY, "control socket clients" },
	{ "timerfd_create", ANY, "sd-event: control client timeouts" },
	{ "timerfd_settime", ANY, "sd-event: control client timeouts" },
	{ "signalfd4", ANY, "sd-event: signal sources" },
	{ "socket", ARG(0, AF_UNIX), "sd_notify; if_nametoindex on link events; D-Bus" },
	{ "connect", ANY, "D-Bus: at SIGTERM, asking systemd whether a restart follows" },
	{ "getsockname", ANY, "D-Bus: sd-bus checks its connection" },
	{ "ioctl", ARG(1, SIOCGIFINDEX), "if_nametoindex on link events" },
	{ "ioctl", ARG(1, SIOCGIFNAME), "if_indextoname: interface names in drop log lines" },
	{ "fcntl", ARG(1, F_GETFL), "control replies: blocking mode" },
	{ "fcntl", ARG(1, F_SETFL), "control replies: blocking mode" },
	{ "unlink", ANY, "the control socket at exit" },
	/* reload (reload.c): read the file, sockets of the new ruleset, queues added */
	{ "socket", ARG(0, AF_NETLINK),
	  "reload: ipset tests, rtnetlink link events, queues added (nfnetlink_queue)" },
	{ "bind", ANY, "reload: the netlink sockets of a new ruleset and of queues added" },
	{ "getsockname", ANY, "reload: libmnl's bind learns the port id" },
	{ "rename", ANY, "the last good configuration, replaced whole" },
	{ "renameat", ANY, "the last good configuration, replaced whole" },
	{ "renameat2", ANY, "the last good configuration, replaced whole" },
	{ "fsync", ANY, "the last good configuration, on disk before the rename" },
	{ "fchmod", ANY, "the metrics textfile: readable to node-exporter whatever the umask" },
	/* files: the kernel's queue counters */
	{ "pread64", ANY, "the queues' proc file, opened at start" },
	{ "openat", ANY, "sd-event: boot id; /proc/net/netfilter/nfnetlink_queue as root" },
	{ "newfstatat", ANY, "stdio" },
	{ "fstat", ANY, "stdio" },
	{ "lseek", ANY, "stdio" },
	{ "read", ANY, "eventfd, signalfd, timerfd, files" },
	{ "write", ANY, "log lines, eventfd" },
	{ "writev", ANY, "log lines (sanitizer reports, stdio)" },
	{ "close", ANY, "sockets and files" },
	/* time */
	{ "clock_gettime", ANY, "deadlines, rate limits (when the vDSO is not used)" },
	{ "gettimeofday", ANY, "time() without the vDSO" },
	{ "time", ANY, "rate limits without the vDSO" },
	{ "clock_nanosleep", ANY, "usleep after a receive error" },
	{ "nanosleep", ANY, "usleep after a receive error" },
	/* threads: start, synchronise, stop */
	{ "clone3", ANY, "worker threads" },
	{ "clone", ANY, "worker threads (fallback of clone3)" },
	{ "set_robust_list", ANY, "a new thread" },
	{ "rseq", ANY, "a new thread" },
	{ "sched_setaffinity", ANY, "pinning a worker to its CPU" },
	{ "sched_getaffinity", ANY, "pinning a worker to its CPU" },
	{ "sched_yield", ANY, "lock back-off" },
	{ "futex", ANY, "semaphores, joins, locks" },
	{ "getpid", ANY, "thread signals" },
	{ "getuid", ANY, "sd_notify's credentials" },
	{ "geteuid", ANY, "sd_notify's credentials" },
	{ "getgid", ANY, "sd_notify's credentials" },
	{ "getegid", ANY, "sd_notify's credentials" },
	{ "gettid", ANY, "thread signals" },
	{ "tgkill", ANY, "waking a worker (SIGUSR1); raising SIGSYS" },
	{ "rt_sigprocmask", ANY, "thread signal masks" },
	{ "rt_sigreturn", ANY, "return from the wake-up and SIGSYS handlers" },
	{ "rt_sigaction", ANY, "the SIGSYS handler restoring the default action" },
	{ "madvise", ANY, "freeing a thread's stack" },
	{ "exit", ANY, "a thread ends" },
	{ "exit_group", ANY, "the process ends" },
	/* memory */
	{ "brk", ANY, "malloc" },
	{ "mmap", ANY, "malloc, thread stacks, io_uring rings and receive buffers" },
	{ "munmap", ANY, "free, thread stacks" },
	{ "mprotect", ANY, "thread stack guards, malloc arenas" },
	{ "mremap", ANY, "realloc of large blocks" },
	{ "getrandom", ANY, "malloc and sd-event hash seeds" },
	/*
	 * an upgrade (nfqctl upgrade, SIGUSR2): the checks and the exec, then the new image's
	 * start-up, which runs under this same filter (it cannot be lifted): the dynamic loader,
	 * the config, the sets, the queue and control sockets, the privilege drop
	 */
	{ "access", ANY, "upgrade: is the binary executable" },
	{ "fcntl", ARG(1, F_DUPFD_CLOEXEC), "upgrade: the sockets out of the way" },
	{ "fcntl", ARG(1, F_GETFD), "upgrade: which descriptors are open; sd_listen_fds" },
	{ "fcntl", ARG(1, F_SETFD), "upgrade: sd_listen_fds marks the sockets close-on-exec" },
	{ "dup2", ANY, "upgrade: the sockets to 3, 4, ..." },
	{ "dup3", ANY, "upgrade: descriptors put back after a failed exec" },
	{ "execve", ANY, "upgrade: the new image" },
	{ "arch_prctl", ANY, "upgrade, new image: the dynamic loader's thread pointer" },
	{ "set_tid_address", ANY, "upgrade, new image: libc start-up" },
	{ "prlimit64", ANY, "upgrade, new image: libc start-up (stack limit)" },
	{ "readlink", ANY, "upgrade, new image: /proc/self/exe" },
	{ "eventfd2", ANY, "upgrade, new image: the worker failure event" },
	{ "epoll_create1", ANY, "upgrade, new image: sd-event" },
	{ "getdents64", ANY, "upgrade, new image: the thread count in /proc/self/task" },
	{ "prctl", ANY, "upgrade, new image: capability bounding set, ambient set, no_new_privs" },
	{ "capget", ANY, "upgrade, new image: the capabilities it has" },
	{ "capset", ANY, "upgrade, new image: keeping cap_net_admin" },
	{ "getgroups", ANY, "upgrade, new image as `user =`: is it that user already" },
	{ "seccomp", ANY, "upgrade, new image: its own filter" },
	{ "socket", ARG(0, AF_NETLINK), "upgrade, new image: ipset, ctnetlink, rtnetlink, queues" },
	{ "bind", ANY, "upgrade, new image: its netlink sockets (ipset, ctnetlink, rtnetlink)" },
#ifdef NFQD_SANITIZER
	{ "prctl", ANY, "LeakSanitizer: dumpable, ptracer" },
	{ "ptrace", ANY, "LeakSanitizer: stop the world" },
	{ "wait4", ANY, "LeakSanitizer: the tracer task" },
	{ "sigaltstack", ANY, "sanitizer signal stacks" },
	{ "readlink", ANY, "sanitizer: /proc/self/exe" },
	{ "getdents", ANY, "LeakSanitizer: /proc/self/task" },
	{ "getdents64", ANY, "LeakSanitizer: /proc/self/task" },
	{ "open", ANY, "sanitizer: /proc/self/maps" },
	{ "kill", ANY, "LeakSanitizer: the tracer task" },
	{ "pipe2", ANY, "sanitizer symbolizer" },
	{ "getppid", ANY, "LeakSanitizer: the tracer's parent check" },
	{ "prlimit64", ANY, "sanitizer: stack limits" },
	{ "getrlimit", ANY, "sanitizer: stack limits" },
	{ "fcntl", ARG(1, F_SETFD), "sanitizer: close-on-exec of its files" },
	{ "ioctl", ARG(1, TCGETS), "sanitizer reports: isatty(stderr)" },
#endif
};

/* Names of the native system calls, resolved before the filter so that the handler need not. */
#define SYSCALL_NAMES 512
static char syscall_names[SYSCALL_NAMES][24];
static char sigsys_prefix[32];
static uint32_t native_arch;

static size_t append(char *buf, size_t n, size_t cap, const char *s)
{
	while (*s && n < cap)
		buf[n++] = *s++;
	return n;
}

static size_t append_uint(char *buf, size_t n, size_t cap, unsigned long v)
{
	char digits[24];
	size_t k = 0;

	do
		digits[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < sizeof(digits));
	while (k && n < cap)
		buf[n++] = digits[--k];
	return n;
}

/*
 * SIGSYS from a denied call: one line, then death by SIGSYS. Async-signal-safe: only write,
 * sigaction and raise, on data prepared before the filter was loaded. SIGSYS is blocked while
 * the handler runs, so the raised signal is delivered, with the default action, on return.
 */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	unsigned int nr = (unsigned int)si->si_syscall;
	char line[160];
	size_t n = 0;

	(void)uc;
	n = append(line, n, sizeof(line), sigsys_prefix);
	n = append(line, n, sizeof(line), "seccomp: system call ");
	if (si->si_arch == native_arch && nr < SYSCALL_NAMES && syscall_names[nr][0]) {
		n = append(line, n, sizeof(line), syscall_names[nr]);
		n = append(line, n, sizeof(line), " (");
		n = append_uint(line, n, sizeof(line), nr);
		n = append(line, n, sizeof(line), ")");
	} else {
		n = append_uint(line, n, sizeof(line), nr);
		n = append(line, n, sizeof(line), " of audit arch 0x");
		for (int shift = 28; shift >= 0; shift -= 4)
			if (n < sizeof(line))
				line[n++] = "0123456789abcdef"[(si->si_arch >> shift) & 0xf];
	}
	n = append(line, n, sizeof(line), " is not allowed; exiting\n");
	if (write(STDERR_FILENO, line, n) == -1) {
		/* nothing more can be said */
	}
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static void resolve_names(void)
{
	native_arch = seccomp_arch_native();
	for (int nr = 0; nr < SYSCALL_NAMES; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(native_arch, nr);

		if (name)
			snprintf(syscall_names[nr], sizeof(syscall_names[nr]), "%s", name);
		free(name);
	}
	log_prefix(LOG_ERR, sigsys_prefix, sizeof(sigsys_prefix));
}

static int add_rule(scmp_filter_ctx ctx, const struct allowed_call *a, char *err, size_t errlen)
{
	int nr = seccomp_syscall_resolve_name(a->name);
	struct scmp_arg_cmp cmp = {
		.arg = (unsigned int)a->arg,
		.op = SCMP_CMP_EQ,
		.datum_a = a->value,
		.datum_b = 0,
	};
	int r;

	/* A call this architecture lacks (time on arm64) cannot be made: nothing to allow. */
	if (nr == __NR_SCMP_ERROR)
		return 0;
	if (a->arg < 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	else
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
	if (r < 0) {
		snprintf(err, errlen, "seccomp: cannot allow '%s': %s", a->name, strerror(-r));
		return r;
	}
	return 0;
}

static bool unsynced;

bool privilege_seccomp_unsynced(void)
{
	return unsynced;
}

int privilege_seccomp_install(char *err, size_t errlen)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	scmp_filter_ctx ctx;
	int r;

	resolve_names();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1) {
		r = -errno;
		snprintf(err, errlen, "seccomp: cannot install the SIGSYS handler: %s",
			 strerror(-r));
		return r;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, errlen, "seccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* Every thread gets the filter, not only the caller. Kernels before 3.17 cannot: the
	 * filter then binds this thread, the only one, and the threads it creates. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	unsynced = r == -EOPNOTSUPP;
	if (unsynced)
		r = 0;
	if (r < 0) {
		snprintf(err, errlen, "seccomp: cannot ask for thread synchronisation: %s",
			 strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		r = add_rule(ctx, &allowed[i], err, errlen);
		if (r < 0)
			goto out;
	}
	r = seccomp_load(ctx);
	if (r < 0)
		snprintf(err, errlen, "seccomp: cannot load the filter: %s", strerror(-r));
out:
	seccomp_release(ctx);
	return r;
}

int privilege_user_lookup(const char *name, struct privilege_user *u, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		int r = errno ? -errno : -ENOENT;

		if (r == -ENOENT)
			snprintf(err, errlen,
				 "user '%s' does not exist (create it first, e.g. "
				 "useradd --system --no-create-home nfqd)",
				 name);
		else
			snprintf(err, errlen, "cannot look up user '%s': %s", name, strerror(-r));
		return r;
	}
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/* Threads of this process, from /proc/self/task; -errno when it cannot be read. */
static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Whether the process's inheritable and ambient sets are those of iab already. A service
 * manager may have set everything up (systemd's CapabilityBoundingSet=CAP_NET_ADMIN): nfqd then
 * makes no capset, and a unit's system call filter need not allow it.
 */
static bool already(cap_iab_t iab)
{
	cap_iab_t cur = cap_iab_get_proc();
	int diff = cur ? cap_iab_compare(cur, iab) : -1;

	cap_free(cur);
	return diff >= 0 && !CAP_IAB_DIFFERS(diff, CAP_IAB_INH) &&
	       !CAP_IAB_DIFFERS(diff, CAP_IAB_AMB);
}

/*
 * Inheritable and ambient empty, bounding set cap_net_admin only. libcap raises CAP_SETPCAP
 * for the bounding drops, so this runs while the permitted set still holds it.
 */
static int restrict_iab(char *err, size_t errlen)
{
	cap_iab_t iab = cap_iab_init();
	bool dropping = false;
	int r = 0;

	if (!iab) {
		snprintf(err, errlen, "capabilities: out of memory");
		return -ENOMEM;
	}
	/* Only what the set still holds: dropping needs CAP_SETPCAP even for an absent cap, and a
	 * service manager may have reduced the set (and withheld CAP_SETPCAP) already. */
	for (cap_value_t c = 0; c < (cap_value_t)cap_max_bits(); c++) {
		if (c == CAP_NET_ADMIN || cap_get_bound(c) != 1)
			continue;
		if (cap_iab_set_vector(iab, CAP_IAB_BOUND, c, CAP_SET)) {
			r = -errno;
			break;
		}
		dropping = true;
	}
	if (r == 0 && (dropping || !already(iab)) && cap_iab_set_proc(iab))
		r = -errno;
	if (r < 0)
		snprintf(err, errlen,
			 "capabilities: cannot reduce the bounding set to cap_net_admin: %s",
			 strerror(-r));
	cap_free(iab);
	return r;
}

/* Permitted and effective cap_net_admin, nothing else. */
static int keep_net_admin(char *err, size_t errlen)
{
	cap_t caps = cap_from_text("cap_net_admin=pe");
	cap_t cur = NULL;
	int r = 0;

	if (!caps) {
		snprintf(err, errlen, "capabilities: out of memory");
		return -ENOMEM;
	}
	cur = cap_get_proc();
	if (cur && cap_compare(cur, caps) == 0)
		goto out;
	if (cap_set_proc(caps)) {
		r = -errno;
		snprintf(err, errlen, "capabilities: cannot keep cap_net_admin alone: %s",
			 strerror(-r));
	}
out:
	cap_free(cur);
	cap_free(caps);
	return r;
}

/* What a unit (CapabilityBoundingSet=CAP_NET_ADMIN alone) must add for `user =`. */
#define SWITCH_HINT                                                                                \
	" (the switch needs CAP_SETUID, CAP_SETGID and CAP_SETPCAP at start; under systemd add "   \
	"them to CapabilityBoundingSet= and @setuid capset to SystemCallFilter=, README.md, "      \
	"Privileges)"

/*
 * libcap's cap_setgroups and cap_setuid raise CAP_SETGID/CAP_SETUID for the call and keep the
 * permitted set across the uid change (PR_SET_KEEPCAPS), so cap_net_admin survives it.
 */
static int switch_user(const struct privilege_user *u, char *err, size_t errlen)
{
	/* Re-executed by an upgrade: already that user, without the rights to switch again. */
	if (getuid() == u->uid && geteuid() == u->uid && getgid() == u->gid &&
	    getegid() == u->gid && getgroups(0, NULL) == 0)
		return 0;
	if (cap_setgroups(u->gid, 0, NULL)) {
		int r = -errno;

		snprintf(err, errlen, "cannot switch to group %u: %s%s", (unsigned int)u->gid,
			 strerror(-r), r == -EPERM ? SWITCH_HINT : "");
		return r;
	}
	if (cap_setuid(u->uid)) {
		int r = -errno;

		snprintf(err, errlen, "cannot switch to user %u: %s%s", (unsigned int)u->uid,
			 strerror(-r), r == -EPERM ? SWITCH_HINT : "");
		return r;
	}
	return 0;
}

int privilege_drop(const struct privilege_user *user, bool seccomp, char *err, size_t errlen)
{
	int r = count_threads();
	bool inherited;

	if (r < 0) {
		snprintf(err, errlen, "cannot count the threads in /proc/self/task: %s",
			 strerror(-r));
		return r;
	}
	if (r != 1) {
		snprintf(err, errlen,
			 "privileges must be dropped while the process has one thread (it has "
			 "%d)",
			 r);
		return -EBUSY;
	}
	r = restrict_iab(err, errlen);
	if (r == 0 && user)
		r = switch_user(user, err, errlen);
	if (r == 0)
		r = keep_net_admin(err, errlen);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		r = -errno;
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(-r));
		return r;
	}
	/*
	 * Re-executed by an upgrade, the filter of the image before is in force and cannot be
	 * lifted; stacking one more at every upgrade would only use up the kernel's limit. Only
	 * nfqd's own says so: a service manager's or a container's filter is no reason to skip.
	 */
	inherited = getenv(PRIVILEGE_FILTER_INHERITED_ENV) != NULL;
	unsetenv(PRIVILEGE_FILTER_INHERITED_ENV);
	if (seccomp && inherited && prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2)
		return 0;
	return seccomp ? privilege_seccomp_install(err, errlen) : 0;
}

int privilege_keep_across_exec(char *err, size_t errlen)
{
	cap_t caps;
	int r = 0;

	/* root keeps its permitted set across exec (no_new_privs caps it to what it had) */
	if (geteuid() == 0)
		return 0;
	caps = cap_from_text("cap_net_admin=pei");
	if (!caps) {
		snprintf(err, errlen, "capabilities: out of memory");
		return -ENOMEM;
	}
	if (cap_set_proc(caps) || cap_set_ambient(CAP_NET_ADMIN, CAP_SET)) {
		r = -errno;
		snprintf(err, errlen, "cannot keep cap_net_admin across exec (ambient set): %s",
			 strerror(-r));
	}
	cap_free(caps);
	return r;
}

void privilege_exec_failed(void)
{
	cap_t caps;

	if (geteuid() == 0)
		return;
	(void)cap_reset_ambient();
	caps = cap_from_text("cap_net_admin=pe");
	if (caps)
		(void)cap_set_proc(caps);
	cap_free(caps);
}
