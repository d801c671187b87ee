/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What nfqctl's sub-commands share with its main file. */
#ifndef NFQD_DAEMON_NFQCTL_H
#define NFQD_DAEMON_NFQCTL_H

/* Milliseconds of CLOCK_MONOTONIC. */
long long nfqctl_now_ms(void);

/*
 * Connect to nfqd's control socket at path, waiting up to deadline (nfqctl_now_ms()) while its
 * backlog is full. Returns the socket (non-blocking), or -1 with the reason printed.
 */
int nfqctl_connect(const char *path, long long deadline);

/* `nfqctl capture ...`: argv[0] is "capture". Returns the exit status. */
int nfqctl_capture(const char *path, int argc, char **argv);

#endif /* NFQD_DAEMON_NFQCTL_H */
