/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The counters of the stats document (command.h's struct stats_snapshot) in Prometheus' text
 * exposition format 0.0.4: one model, rendered as JSON by command_stats_json() and as metrics
 * here, answered by the `metrics` control command and written to a textfile for
 * node-exporter's textfile collector every [metrics] interval.
 *
 * Names follow Prometheus' conventions: counters end in _total, gauges do not, each family has
 * its HELP and TYPE. A rule's series are labelled by its canonical text and the occurrence of
 * that text (not by its position, which a reload may change): they are the same series before
 * and after any reload that keeps the rule, as its counters are (rulecount.h). nfqd_rule_info
 * maps them to positions and lines.
 */
#ifndef NFQD_DAEMON_METRICS_H
#define NFQD_DAEMON_METRICS_H

#include <systemd/sd-event.h>

#include "command.h"

/* The metrics of s, malloc'd (the caller frees them); NULL when out of memory. */
char *metrics_render(const struct stats_snapshot *s);

/*
 * The `metrics` control command (struct command's run; daemon is a struct command_daemon):
 * {"metrics":"TEXT"}, the exposition as one JSON string, which `nfqctl metrics` prints raw.
 */
char *metrics_command(void *daemon, const char *args);

/*
 * Write text to path atomically: a temporary file beside it (path + ".tmp", mode 0644 whatever
 * the umask, so that node-exporter's user can read it) renamed over path. Returns 0, or -errno
 * with *step naming what failed ("create", "write", "rename"); the temporary file is removed.
 */
int metrics_write_file(const char *path, const char *text, const char **step);

struct metrics_textfile;

/*
 * Write the metrics of d's snapshots to the textfile its current configuration names
 * ([metrics] textfile, none: nothing written) now and every [metrics] interval after, on ev.
 * The settings are read from each snapshot, so a reload changes them. A failing write is
 * logged when it starts failing or fails otherwise, and when it works again: never per
 * interval. Returns 0 and *out, or -errno.
 */
int metrics_textfile_open(struct metrics_textfile **out, sd_event *ev,
			  const struct command_daemon *d);

/* Stop writing; NULL is accepted. The last file written stays. */
void metrics_textfile_close(struct metrics_textfile *mt);

#endif /* NFQD_DAEMON_METRICS_H */
