/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "upgrade.h"

/* The most sockets handed over: every queue and the control socket. */
#define UPGRADE_FDS_MAX 1100

int upgrade_init(struct upgrade *u, char **argv, char *err, size_t errlen)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	u->argv = argv;
	u->exe = NULL;
	if (n == -1) {
		snprintf(err, errlen, "cannot read /proc/self/exe: %s", strerror(errno));
		return -errno;
	}
	path[n] = '\0';
	u->exe = strdup(path);
	if (!u->exe) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

void upgrade_free(struct upgrade *u)
{
	free(u->exe);
	u->exe = NULL;
}

int upgrade_check(const struct upgrade *u, char *err, size_t errlen)
{
	char magic[4];
	struct stat st;
	int fd, r = 0;

	fd = open(u->exe, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1) {
		r = -errno;
		snprintf(err, errlen, "cannot open '%s': %s", u->exe, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a regular file", u->exe);
		r = -EACCES;
		goto out;
	}
	if (access(u->exe, X_OK) == -1) {
		r = -errno;
		snprintf(err, errlen, "'%s' is not executable: %s", u->exe, strerror(-r));
		goto out;
	}
	if (read(fd, magic, sizeof(magic)) != (ssize_t)sizeof(magic) ||
	    (memcmp(magic, "\177ELF", 4) != 0 && memcmp(magic, "#!", 2) != 0)) {
		snprintf(err, errlen, "'%s' is neither an ELF binary nor a script", u->exe);
		r = -ENOEXEC;
	}
out:
	if (fd != -1)
		close(fd);
	return r;
}

/* The three variables an upgrade adds to the environment (LISTEN_*). */
struct listen_env {
	char *fds, *names, *pid;
};

static void listen_env_free(struct listen_env *l)
{
	free(l->fds);
	free(l->names);
	free(l->pid);
}

static int listen_env_make(struct listen_env *l, const struct upgrade_fd *fds, unsigned int n)
{
	size_t len = sizeof("LISTEN_FDNAMES=");

	*l = (struct listen_env){ NULL, NULL, NULL };
	for (unsigned int i = 0; i < n; i++)
		len += strlen(fds[i].name) + 1;
	l->names = calloc(1, len);
	if (!l->names)
		return -ENOMEM;
	strcpy(l->names, "LISTEN_FDNAMES=");
	for (unsigned int i = 0; i < n; i++) {
		if (i)
			strcat(l->names, ":");
		strcat(l->names, fds[i].name);
	}
	if (asprintf(&l->fds, "LISTEN_FDS=%u", n) < 0)
		l->fds = NULL;
	if (asprintf(&l->pid, "LISTEN_PID=%d", (int)getpid()) < 0)
		l->pid = NULL;
	return l->fds && l->pid ? 0 : -ENOMEM;
}

/* environ without any LISTEN_ variable, then l's; NULL when out of memory. */
static char **env_with(const struct listen_env *l)
{
	extern char **environ;
	size_t count = 0, k = 0;
	char **env;

	for (char **e = environ; *e; e++)
		count++;
	env = calloc(count + 4, sizeof(*env));
	if (!env)
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LISTEN_", 7) != 0)
			env[k++] = *e;
	env[k++] = l->fds;
	env[k++] = l->names;
	env[k++] = l->pid;
	return env;
}

/*
 * The sockets must sit at 3, 4, ... for the new image, where the process has descriptors of
 * its own that it needs again if the exec fails: each one there is kept aside (a duplicate,
 * with its close-on-exec flag noted) and put back.
 */
struct slot {
	int src;    /* duplicate of the socket to hand over, close-on-exec */
	int saved;  /* duplicate of what was at the target, or -1 */
	int flags;  /* its descriptor flags */
	bool moved; /* the socket is at the target */
};

static void put_back(struct slot *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		int target = SD_LISTEN_FDS_START + (int)i;

		if (!s[i].moved) {
			/* the target is as it was */
		} else if (s[i].saved >= 0) {
			(void)dup3(s[i].saved, target, (s[i].flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
			close(s[i].saved);
		} else {
			close(target);
		}
		if (s[i].saved >= 0 && !s[i].moved)
			close(s[i].saved);
		if (s[i].src >= 0)
			close(s[i].src);
	}
}

int upgrade_exec(const struct upgrade *u, const struct upgrade_fd *fds, unsigned int n, char *err,
		 size_t errlen)
{
	int base = SD_LISTEN_FDS_START + (int)n;
	struct listen_env l = { NULL, NULL, NULL };
	struct slot *s = NULL;
	char **env = NULL;
	unsigned int placed = 0;
	int r;

	if (n > UPGRADE_FDS_MAX) {
		snprintf(err, errlen, "%u sockets to hand over, more than %d", n, UPGRADE_FDS_MAX);
		return -E2BIG;
	}
	s = calloc(n ? n : 1, sizeof(*s));
	if (listen_env_make(&l, fds, n) == 0)
		env = env_with(&l);
	if (!s || !env) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < n; i++)
		s[i].src = s[i].saved = -1;
	/* Every source out of the way of every target first: a source may sit on a target. */
	for (unsigned int i = 0; i < n; i++) {
		s[i].src = fcntl(fds[i].fd, F_DUPFD_CLOEXEC, base);
		if (s[i].src == -1) {
			r = -errno;
			snprintf(err, errlen, "cannot duplicate socket '%s': %s", fds[i].name,
				 strerror(-r));
			placed = i + 1;
			goto restore;
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		int target = SD_LISTEN_FDS_START + (int)i;

		s[i].flags = fcntl(target, F_GETFD);
		if (s[i].flags != -1)
			s[i].saved = fcntl(target, F_DUPFD_CLOEXEC, base);
		placed = i + 1;
		/* dup2 leaves the target without close-on-exec: the new image inherits it */
		if ((s[i].flags != -1 && s[i].saved == -1) || dup2(s[i].src, target) == -1) {
			r = -errno;
			snprintf(err, errlen, "cannot place socket '%s' at descriptor %d: %s",
				 fds[i].name, target, strerror(-r));
			goto restore;
		}
		s[i].moved = true;
	}
	execve(u->exe, u->argv, env);
	r = -errno;
	snprintf(err, errlen, "cannot execute '%s': %s", u->exe, strerror(-r));
restore:
	put_back(s, placed);
	/* sources never placed */
	for (unsigned int i = placed; i < n; i++)
		if (s[i].src >= 0)
			close(s[i].src);
out:
	free(env);
	listen_env_free(&l);
	free(s);
	return r;
}
