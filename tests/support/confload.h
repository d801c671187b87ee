/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A configuration from text, for the unit tests of what is computed from one. */
#ifndef NFQD_TEST_CONFLOAD_H
#define NFQD_TEST_CONFLOAD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config.h"

/* text parsed as the file "t.conf"; the test fails with the error when it is refused. */
static inline struct config *load(const char *text)
{
	struct config *c = NULL;
	char err[512];

	if (config_load_string(&c, "t.conf", text, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return c;
}

#endif /* NFQD_TEST_CONFLOAD_H */
