/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "fdstore.h"

/* The value of "key=" on its own line of text, into out; false when absent. */
static bool field(const char *text, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, "\n");

			if (n >= len)
				n = len - 1;
			memcpy(out, p + klen + 1, n);
			out[n] = '\0';
			return true;
		}
	}
	return false;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

int fdstore_get(const struct fdstore *s, const char *name)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (strcmp(s->ent[i].name, name) == 0)
			return s->ent[i].fd;
	return -1;
}

int fdstore_put(struct fdstore *s, int fd, const char *name)
{
	for (unsigned int i = 0; i < s->n; i++) {
		if (strcmp(s->ent[i].name, name) == 0 && same_file(s->ent[i].fd, fd)) {
			close(fd);
			return 0;
		}
	}
	if (s->n == FDSTORE_MAX) {
		close(fd);
		return -1;
	}
	s->ent[s->n].fd = fd;
	snprintf(s->ent[s->n].name, sizeof(s->ent[s->n].name), "%s", name);
	s->n++;
	return 0;
}

static void remove_name(struct fdstore *s, const char *name)
{
	unsigned int m = 0;

	for (unsigned int i = 0; i < s->n; i++) {
		if (strcmp(s->ent[i].name, name) == 0)
			close(s->ent[i].fd);
		else
			s->ent[m++] = s->ent[i];
	}
	s->n = m;
}

int fdstore_recv(struct fdstore *s, int sock, char *buf, size_t len)
{
	char ctl[CMSG_SPACE(sizeof(int) * FDSTORE_MAX)];
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
	};
	char name[256] = "unknown", v[16];
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	bool store;

	if (n < 0)
		return -1;
	buf[n] = '\0';
	store = field(buf, "FDSTORE", v, sizeof(v)) && strcmp(v, "1") == 0;
	field(buf, "FDNAME", name, sizeof(name));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (store)
				fdstore_put(s, fd, name);
			else
				close(fd);
		}
	}
	if (store)
		s->stores++;
	if (field(buf, "FDSTOREREMOVE", v, sizeof(v)) && strcmp(v, "1") == 0) {
		remove_name(s, name);
		s->removes++;
	}
	return (int)n;
}

void fdstore_clear(struct fdstore *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		close(s->ent[i].fd);
	s->n = 0;
}
