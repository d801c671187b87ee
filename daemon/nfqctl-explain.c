/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nfqctl explain PACKET: which rule a packet would hit, and why, as nfqd judges it now. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "nfqctl-client.h"

/* The terms of the deciding rule with the packet's value for each. */
static void print_terms(const struct json_val *rule)
{
	struct json_val terms, t;
	char term[200], val[100];
	size_t pos = 0;

	if (json_member(rule, "terms", &terms) < 0)
		return;
	while (json_next(&terms, &pos, NULL, &t))
		printf("      %-32s packet: %s\n", json_member_str(&t, "term", term, sizeof(term)),
		       json_member_str(&t, "packet", val, sizeof(val)));
}

static void print_explain(const struct json_val *doc)
{
	struct json_val arr, e, by;
	char a[300], b[300], c[600];
	size_t pos = 0;

	printf("packet: %s (queue %llu)\n", json_member_str(doc, "packet", a, sizeof(a)),
	       (unsigned long long)json_member_u64(doc, "queue", 0));
	if (json_member(doc, "lookups", &arr) == 0 && json_next(&arr, &pos, NULL, &e)) {
		printf("sets, asked of the kernel (IPSET_CMD_TEST):\n");
		pos = 0;
		while (json_next(&arr, &pos, NULL, &e)) {
			json_member_str(&e, "error", c, sizeof(c));
			printf("  %-30s %s%s%s%s\n", json_member_str(&e, "lookup", a, sizeof(a)),
			       json_member_str(&e, "answer", b, sizeof(b)), *c ? " (" : "", c,
			       *c ? ")" : "");
		}
	}
	pos = 0;
	if (json_member(doc, "rules", &arr) == 0) {
		while (json_next(&arr, &pos, NULL, &e)) {
			printf("rule %llu (line %llu): %s\n",
			       (unsigned long long)json_member_u64(&e, "rule", 0),
			       (unsigned long long)json_member_u64(&e, "line", 0),
			       json_member_str(&e, "text", a, sizeof(a)));
			printf("    %s: %s\n", json_member_str(&e, "result", b, sizeof(b)),
			       json_member_str(&e, "why", c, sizeof(c)));
			print_terms(&e);
		}
	}
	json_member_str(doc, "mark", b, sizeof(b));
	printf("verdict: %s", json_member_str(doc, "verdict", a, sizeof(a)));
	if (json_member(doc, "decided_by", &by) == 0 && json_kind(&by) == '{')
		printf(" by rule %llu (line %llu)",
		       (unsigned long long)json_member_u64(&by, "rule", 0),
		       (unsigned long long)json_member_u64(&by, "line", 0));
	else
		printf(" by the %s verdict", json_member_str(doc, "decided_by", c, sizeof(c)));
	if (*b)
		printf(", mark %s", b);
	printf("\n");
}

int nfqctl_explain(const char *socket, int argc, char **argv)
{
	char line[300] = "explain";
	bool json = false;
	struct json_val doc;
	char *reply;
	size_t len = strlen(line);
	int r;

	if (nfqctl_json_option("explain", argc, argv, &json) < 0)
		return 2;
	if (optind >= argc) {
		fprintf(stderr, "nfqctl: explain: missing PACKET, e.g. 'tcp 192.0.2.1:1234 > "
				"198.51.100.7:443 iif eth0'\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		int n = snprintf(line + len, sizeof(line) - len, " %s", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(line) - len) {
			fprintf(stderr, "nfqctl: explain: the packet description is too long\n");
			return 2;
		}
		len += (size_t)n;
	}
	r = nfqctl_get(socket, line, &reply, &doc);
	if (r != 0)
		return r;
	if (json)
		printf("%s\n", reply);
	else
		print_explain(&doc);
	free(reply);
	return 0;
}
