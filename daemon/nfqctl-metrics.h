/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `nfqctl metrics`: the Prometheus text of nfqd's {"metrics":"..."} answer, printed raw. */
#ifndef NFQD_DAEMON_NFQCTL_METRICS_H
#define NFQD_DAEMON_NFQCTL_METRICS_H

#include <stdio.h>

/*
 * Decode the string of reply (a valid JSON document {"metrics":"TEXT"}, with or without the
 * final newline of the protocol) and write TEXT to out.
 * Returns 0, or -EINVAL when reply is not such a document (nothing written), -EIO when out
 * fails.
 */
int nfqctl_print_metrics(const char *reply, FILE *out);

#endif /* NFQD_DAEMON_NFQCTL_METRICS_H */
