/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The headers of the sets a policy's lookups name, read from the kernel at load. */
#ifndef NFQD_DAEMON_SETS_H
#define NFQD_DAEMON_SETS_H

#include <stddef.h>

struct config;
struct nfqd_ipset;
struct nfqd_ipset_info;

/* The first rule (0-based) that reads lookup l. */
unsigned int sets_rule_of_lookup(const struct config *c, unsigned int l);

/*
 * Read the header of every set the rules name through s (NULL when the rules name none). A
 * missing set, one whose elements cannot be built from packets, or one with more dimensions
 * than the rule gives sides, is an error naming the set and the rule at FILE:LINE. Returns 0
 * and *out (malloc'd, one per lookup), or -errno with err filled: -EPERM when the kernel refuses
 * to answer (no CAP_NET_ADMIN).
 */
int sets_read_with(struct nfqd_ipset *s, const struct config *c, struct nfqd_ipset_info **out,
		   char *err, size_t errlen);

/* sets_read_with() over a connection of its own. */
int sets_read(const struct config *c, struct nfqd_ipset_info **out, char *err, size_t errlen);

#endif /* NFQD_DAEMON_SETS_H */
