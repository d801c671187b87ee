/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the pure parts of the hand-over: the fd names of queues, taking sockets by name
 * from what a predecessor passed, and the control command that starts an upgrade.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "command.h"
#include "handover.h"

static void test_queue_names_parse_only_queue_dash_a_number_up_to_65535(void **state)
{
	static const char *const bad[] = {
		"queue-",   "queue-x",	"queue--1",    "queue-+1",
		"queue-01", "queue-1a", "queue-65536", "queue-99999999999999999999",
		"Queue-1",  "queue 1",	"control",     "unknown",
		""
	};
	uint16_t num = 7;
	char name[32];

	(void)state;
	assert_int_equal(handover_queue_num("queue-0", &num), 0);
	assert_int_equal(num, 0);
	assert_int_equal(handover_queue_num("queue-65535", &num), 0);
	assert_int_equal(num, 65535);
	assert_int_equal(handover_queue_num("queue-1024", &num), 0);
	assert_int_equal(num, 1024);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		num = 7;
		if (handover_queue_num(bad[i], &num) != -EINVAL)
			fail_msg("'%s' was taken for a queue name", bad[i]);
		assert_int_equal(num, 7);
	}
	/* the name a queue is stored under parses back to its number */
	for (unsigned int q = 0; q <= 65535; q += 4369) {
		handover_queue_name((uint16_t)q, name, sizeof(name));
		assert_int_equal(handover_queue_num(name, &num), 0);
		assert_int_equal(num, q);
	}
}

/* Each passed socket is taken once, by its exact name. */
static void test_take_finds_each_socket_once_by_name(void **state)
{
	struct handover_fd fds[3] = {
		{ .fd = 3, .name = "queue-0" },
		{ .fd = 4, .name = "control" },
		{ .fd = 5, .name = "queue-0" },
	};
	struct handover h = { .fds = fds, .n = 3 };

	(void)state;
	assert_int_equal(handover_take(&h, "queue-1"), -ENOENT);
	assert_int_equal(handover_take(&h, "queue-0"), 3);
	assert_int_equal(handover_take(&h, "queue-0"), 5);
	assert_int_equal(handover_take(&h, "queue-0"), -ENOENT);
	assert_int_equal(handover_take(&h, "control"), 4);
	assert_int_equal(handover_take(&h, "contro"), -ENOENT);
	assert_int_equal(handover_take(&h, "control"), -ENOENT);
	assert_int_equal(handover_take(NULL, "control"), -ENOENT);
}

/* `upgrade` changes state: refused to other users; without an upgrade entry it says so. */
static void test_upgrade_command_is_refused_to_others_and_explains_without_support(void **state)
{
	struct command_daemon d = { .self_uid = 0 };
	struct command_peer other = { .pid = 1, .uid = 1000, .gid = 1000 };
	struct command_peer root = { .pid = 1, .uid = 0, .gid = 0 };
	char *json;

	(void)state;
	json = command_answer(&d, "upgrade", &other);
	assert_non_null(json);
	assert_non_null(strstr(json, "permission denied: 'upgrade' changes nfqd's state"));
	free(json);
	json = command_answer(&d, "upgrade", &root);
	assert_string_equal(json, "{\"error\":\"this nfqd cannot upgrade itself\"}");
	free(json);
	json = command_answer(&d, "upgrade now", &root);
	assert_string_equal(json, "{\"error\":\"'upgrade' takes no argument\"}");
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_names_parse_only_queue_dash_a_number_up_to_65535),
		cmocka_unit_test(test_take_finds_each_socket_once_by_name),
		cmocka_unit_test(
			test_upgrade_command_is_refused_to_others_and_explains_without_support),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
