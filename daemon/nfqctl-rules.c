/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfqctl rules: the rules as compiled (nfqd's `rules`) with their counters (the "rules" and
 * "default" of `stats`), as a table, or the raw `rules` document with --json.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "nfqctl-client.h"

/* The counters of rule number n in the stats document, when it has per-rule counters. */
static bool rule_counters(const struct json_val *stats, uint64_t n, uint64_t *pkts, uint64_t *bytes)
{
	struct json_val rules, r, num;
	size_t pos = 0;
	uint64_t k;

	if (json_member(stats, "rules", &rules) < 0)
		return false;
	while (json_next(&rules, &pos, NULL, &r)) {
		if (json_member(&r, "rule", &num) == 0 && json_u64(&num, &k) == 0 && k == n) {
			*pkts = json_member_u64(&r, "packets", 0);
			*bytes = json_member_u64(&r, "bytes", 0);
			return true;
		}
	}
	return false;
}

/* The lines under a rule: each set term, and how it is answered. */
static void print_sets(const struct json_val *rule)
{
	struct json_val terms, t, set, ex;
	char a[200], b[64], c[64], d[40], e[300];
	size_t pos = 0;

	if (json_member(rule, "terms", &terms) < 0)
		return;
	while (json_next(&terms, &pos, NULL, &t)) {
		if (json_member(&t, "set", &set) < 0)
			continue;
		json_member_str(&set, "set", b, sizeof(b));
		snprintf(d, sizeof(d), "exists now");
		if (json_member(&set, "exists", &ex) == 0 && json_kind(&ex) != 't')
			snprintf(d, sizeof(d),
				 json_kind(&ex) == 'f' ? "MISSING now"
						       : "existence "
							 "unknown");
		printf("%22s%s: set '%s' (%s, %s)\n%24s%s\n", "",
		       json_member_str(&t, "term", a, sizeof(a)), b,
		       json_member_str(&set, "type", c, sizeof(c)), d, "",
		       json_member_str(&set, "answered_by", e, sizeof(e)));
	}
}

static void print_rules(const struct json_val *doc, const struct json_val *stats)
{
	struct json_val rules, r, def;
	char a[400], b[32], c[32], d[32];
	size_t pos = 0;
	bool counted = false;

	printf("%4s %5s %12s %14s  %s\n", "RULE", "LINE", "PACKETS", "BYTES", "TEXT");
	if (json_member(doc, "rules", &rules) == 0) {
		while (json_next(&rules, &pos, NULL, &r)) {
			uint64_t n = json_member_u64(&r, "rule", 0), pk = 0, by = 0;
			bool have = rule_counters(stats, n, &pk, &by);

			counted |= have;
			snprintf(b, sizeof(b), have ? "%llu" : "-", (unsigned long long)pk);
			snprintf(c, sizeof(c), have ? "%llu" : "-", (unsigned long long)by);
			printf("%4llu %5llu %12s %14s  %s\n", (unsigned long long)n,
			       (unsigned long long)json_member_u64(&r, "line", 0), b, c,
			       json_member_str(&r, "text", a, sizeof(a)));
			print_sets(&r);
		}
	}
	snprintf(b, sizeof(b), "-");
	if (json_member(stats, "default", &def) == 0 && json_kind(&def) == '{')
		snprintf(b, sizeof(b), "%llu",
			 (unsigned long long)json_member_u64(&def, "packets", 0));
	printf("%4s %5s %12s %14s  default %s\n", "-", "-", b, "",
	       json_member_str(doc, "default", a, sizeof(a)));
	printf("on-set-error %s, on-unreadable %s, set-lookup %s, flow-cache %s\n",
	       json_member_str(doc, "on_set_error", b, sizeof(b)),
	       json_member_str(doc, "on_unreadable", c, sizeof(c)),
	       json_member_str(doc, "set_lookup", d, sizeof(d)),
	       json_member(doc, "flow_cache", &def) == 0 && json_kind(&def) == 't' ? "connmark"
										   : "off");
	if (!counted)
		printf("(this nfqd counts no packets per rule)\n");
}

int nfqctl_rules(const char *socket, int argc, char **argv)
{
	struct json_val doc, stats;
	char *reply, *sreply;
	bool json = false;
	int r;

	if (nfqctl_json_option("rules", argc, argv, &json) < 0)
		return 2;
	if (optind < argc) {
		fprintf(stderr, "nfqctl: rules: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	r = nfqctl_get(socket, "rules", &reply, &doc);
	if (r != 0)
		return r;
	if (json) {
		printf("%s\n", reply);
		free(reply);
		return 0;
	}
	r = nfqctl_get(socket, "stats", &sreply, &stats);
	if (r == 0) {
		print_rules(&doc, &stats);
		free(sreply);
	}
	free(reply);
	return r;
}
