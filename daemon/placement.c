/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"

static const char *const mode_names[CPU_AFFINITY_MAX] = {
	[CPU_AFFINITY_AUTO] = "auto",
	[CPU_AFFINITY_NONE] = "none",
	[CPU_AFFINITY_LIST] = "list",
};

const char *placement_mode_name(enum cpu_affinity mode)
{
	return mode < CPU_AFFINITY_MAX ? mode_names[mode] : "?";
}

/* One "N" or "N-M" term at *s; advances *s past it. */
static int parse_term(const char **s, unsigned long *lo, unsigned long *hi, const char **why)
{
	char *end;

	if (!isdigit((unsigned char)**s))
		goto bad;
	errno = 0;
	*lo = strtoul(*s, &end, 10);
	*hi = *lo;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			goto bad;
		*hi = strtoul(end + 1, &end, 10);
	}
	if (errno == ERANGE || *lo >= CPU_SETSIZE || *hi >= CPU_SETSIZE) {
		*why = "names a CPU above the highest the kernel's CPU sets hold (1023)";
		return -ERANGE;
	}
	if (*lo > *hi) {
		*why = "has a range whose start is above its end";
		return -EINVAL;
	}
	*s = end;
	return 0;
bad:
	*why = "is not 'auto', 'none' or a list of CPUs such as 0,2-3";
	return -EINVAL;
}

int placement_parse(struct placement *p, const char *s, const char **why)
{
	cpu_set_t seen;
	unsigned int n = 0;

	if (strcmp(s, "auto") == 0 || strcmp(s, "none") == 0) {
		p->mode = s[0] == 'a' ? CPU_AFFINITY_AUTO : CPU_AFFINITY_NONE;
		p->n_cpus = 0;
		return 0;
	}
	CPU_ZERO(&seen);
	for (;;) {
		unsigned long lo, hi;
		int r = parse_term(&s, &lo, &hi, why);

		if (r < 0)
			return r;
		for (unsigned long c = lo; c <= hi; c++) {
			/* a CPU twice would give one worker's place twice, silently */
			if (CPU_ISSET(c, &seen)) {
				*why = "lists a CPU twice";
				return -EINVAL;
			}
			if (n == PLACEMENT_LIST_MAX) {
				*why = "lists more than 256 CPUs";
				return -ERANGE;
			}
			CPU_SET(c, &seen);
			p->cpus[n++] = (uint16_t)c;
		}
		if (*s == '\0')
			break;
		if (*s++ != ',' || *s == '\0') {
			*why = "is not 'auto', 'none' or a list of CPUs such as 0,2-3";
			return -EINVAL;
		}
	}
	p->mode = CPU_AFFINITY_LIST;
	p->n_cpus = n;
	return 0;
}

int placement_check(const struct placement *p, const cpu_set_t *allowed)
{
	if (p->mode != CPU_AFFINITY_LIST)
		return -1;
	for (unsigned int i = 0; i < p->n_cpus; i++)
		if (!CPU_ISSET(p->cpus[i], allowed))
			return p->cpus[i];
	return -1;
}

int placement_cpu(const struct placement *p, unsigned int slot, const cpu_set_t *allowed)
{
	if (p->mode == CPU_AFFINITY_NONE)
		return -1;
	if (p->mode != CPU_AFFINITY_LIST || p->n_cpus == 0)
		return -1;
	for (unsigned int k = 0; k < p->n_cpus; k++) {
		unsigned int c = p->cpus[(slot + k) % p->n_cpus];

		if (CPU_ISSET(c, allowed))
			return (int)c;
	}
	return -1;
}

void placement_format_set(const cpu_set_t *set, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && used < len; c++) {
		int hi = c;
		int w;

		if (!CPU_ISSET(c, set))
			continue;
		while (hi + 1 < CPU_SETSIZE && CPU_ISSET(hi + 1, set))
			hi++;
		if (hi == c)
			w = snprintf(buf + used, len - used, "%s%d", used ? "," : "", c);
		else
			w = snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", c, hi);
		if (w < 0)
			return;
		used += (size_t)w;
		c = hi;
	}
}
