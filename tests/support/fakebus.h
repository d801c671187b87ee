/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The part of systemd's D-Bus API nfqd asks at SIGTERM, served by a thread of the test on a
 * socket of its own (sd-bus in server mode): org.freedesktop.systemd1.Manager.GetUnitByPID, the
 * unit's Job property and the job's JobType. nfqd finds it through DBUS_SYSTEM_BUS_ADDRESS.
 */
#ifndef NFQD_TEST_FAKEBUS_H
#define NFQD_TEST_FAKEBUS_H

#include <pthread.h>
#include <stdatomic.h>

struct fakebus {
	pthread_t thread;
	int listen_fd;
	char address[160]; /* for DBUS_SYSTEM_BUS_ADDRESS */
	char job_type[32]; /* the job's type; "" for no job */
	atomic_int stop;
	atomic_int asked; /* GetUnitByPID calls answered */
	int running;
};

/*
 * Listen on path and serve until fakebus_stop(): every unit has a job of type job_type, or none
 * when job_type is "". Returns 0 or -1.
 */
int fakebus_start(struct fakebus *b, const char *path, const char *job_type);

/* Stop serving, close and remove the socket. Safe to call twice. */
void fakebus_stop(struct fakebus *b);

#endif /* NFQD_TEST_FAKEBUS_H */
