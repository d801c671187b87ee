/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `nfqctl metrics` prints the string of nfqd's {"metrics":"TEXT"} answer decoded: every JSON
 * escape (line feeds, quotes, backslashes, \u escapes with surrogate pairs into UTF-8), with or
 * without the protocol's final newline; anything else is refused with nothing printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nfqctl-metrics.h"

/* What nfqctl_print_metrics() prints for reply, into *out (malloc'd); returns its result. */
static int printed(const char *reply, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	int r;

	assert_non_null(f);
	r = nfqctl_print_metrics(reply, f);
	assert_int_equal(fclose(f), 0);
	return r;
}

static void test_escapes_are_decoded(void **state)
{
	char *out;
	size_t len;

	(void)state;
	assert_int_equal(printed("{\"metrics\":\"# HELP a b\\n"
				 "a{text=\\\"x\\\\\\\"y\\\"} 1\\n\\t\\/\\u0041\\u00e9"
				 "\\ud83d\\ude00\"}\n",
				 &out, &len),
			 0);
	assert_int_equal(len, strlen(out));
	assert_string_equal(out, "# HELP a b\na{text=\"x\\\"y\"} 1\n\t/A\xc3\xa9\xf0\x9f\x98\x80");
	free(out);
	/* without the final newline too */
	assert_int_equal(printed("{\"metrics\":\"m 2\\n\"}", &out, &len), 0);
	assert_string_equal(out, "m 2\n");
	free(out);
}

static void test_other_answers_are_refused_with_nothing_printed(void **state)
{
	static const char *const bad[] = {
		"{\"stats\":\"x\"}\n",		    /* another document */
		"{\"metrics\":\"x\",\"more\":1}\n", /* more than the text */
		"{\"metrics\":\"x\\q\"}\n",	    /* an unknown escape */
		"{\"metrics\":\"x\\u12\"}\n",	    /* a short \u */
		"{\"metrics\":\"\\ud83d x\"}\n",    /* a lone high surrogate */
		"{\"metrics\":\"unterminated",
	};
	char *out;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = printed(bad[i], &out, &len);

		if (r != -EINVAL || len != 0)
			fail_msg("%s: result %d, %zu bytes printed", bad[i], r, len);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes_are_decoded),
		cmocka_unit_test(test_other_answers_are_refused_with_nothing_printed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
