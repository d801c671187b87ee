/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny service fd store, as systemd keeps one for a unit with FileDescriptorStoreMax=: the
 * descriptors nfqd sends to NOTIFY_SOCKET with FDSTORE=1 (and FDNAME=) are kept, those named in
 * FDSTOREREMOVE=1 are closed, and a restart passes what is kept as LISTEN_FDS/LISTEN_FDNAMES
 * (nfqd_respawn() with a store attached to the nfqd_proc). Fast, no container: the systemd
 * scenario tests do the same with the real one.
 */
#ifndef NFQD_TEST_FDSTORE_H
#define NFQD_TEST_FDSTORE_H

#include <stdbool.h>
#include <stddef.h>

#define FDSTORE_MAX 32

struct fdstore_entry {
	int fd;
	char name[256];
};

struct fdstore {
	struct fdstore_entry ent[FDSTORE_MAX];
	unsigned int n;
	unsigned int stores;  /* FDSTORE=1 messages received */
	unsigned int removes; /* FDSTOREREMOVE=1 messages received */
};

/*
 * Receive one datagram from the notify socket sock, keeping the descriptors it carries when it
 * says FDSTORE=1 (a descriptor of a socket already stored under the same name is a duplicate,
 * closed, as systemd does) and closing them otherwise; apply FDSTOREREMOVE=1. The text goes to
 * buf (NUL-terminated). Returns its length, or -1 when nothing was waiting.
 */
int fdstore_recv(struct fdstore *s, int sock, char *buf, size_t len);

/* The stored descriptor named name, or -1. */
int fdstore_get(const struct fdstore *s, const char *name);

/* Put fd under name, as FDSTORE=1 would (the store owns fd afterwards). Returns 0 or -1. */
int fdstore_put(struct fdstore *s, int fd, const char *name);

/* Close every stored descriptor (what systemd does when the unit stops for good). */
void fdstore_clear(struct fdstore *s);

#endif /* NFQD_TEST_FDSTORE_H */
