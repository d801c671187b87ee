/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the checks nfqd_queue_adopt() makes before it trusts an inherited descriptor:
 * the kind of socket, and whether the kernel lists the queue as bound to its port.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <cmocka.h>

#include "nfqd/queue.h"

static const struct nfqd_queue_config cfg = { .num = 65000, .copy_range = 128, .max_len = 64 };

static void test_owner_check_tells_bound_to_us_unbound_and_another_port(void **state)
{
	struct nfqd_queue_kstats ks = { .portid = 4242 };

	(void)state;
	assert_int_equal(nfqd_queue_owner_check(&ks, 0, 4242), 0);
	assert_int_equal(nfqd_queue_owner_check(&ks, 0, 4243), -EBUSY);
	assert_int_equal(nfqd_queue_owner_check(&ks, -ENOENT, 4242), -ENOENT);
	assert_int_equal(nfqd_queue_owner_check(&ks, -EACCES, 4242), -EACCES);
}

/* A descriptor of another kind is refused by name, and stays the caller's, open. */
static void test_adopt_refuses_what_is_not_a_netfilter_netlink_socket(void **state)
{
	struct nfqd_queue *q = NULL;
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int route = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int pipefd[2];
	uint32_t portid;

	(void)state;
	assert_true(udp >= 0 && route >= 0);
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	assert_int_equal(nfqd_queue_adopt(&q, udp, &cfg), -EPROTOTYPE);
	assert_int_equal(nfqd_queue_adopt(&q, route, &cfg), -EPROTOTYPE);
	assert_int_equal(nfqd_queue_adopt(&q, pipefd[0], &cfg), -ENOTSOCK);
	assert_int_equal(nfqd_queue_check_fd(-1, &portid), -EBADF);
	assert_null(q);
	assert_int_not_equal(fcntl(udp, F_GETFD), -1);
	assert_int_not_equal(fcntl(route, F_GETFD), -1);
	assert_int_not_equal(fcntl(pipefd[0], F_GETFD), -1);
	close(udp);
	close(route);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* A netfilter netlink socket is recognised, with the port id the kernel gave it. */
static void test_check_fd_reads_the_port_id(void **state)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(sa);
	uint32_t portid = 0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(nfqd_queue_check_fd(fd, &portid), 0);
	assert_int_equal(portid, sa.nl_pid);
	assert_int_not_equal(portid, 0);
	close(fd);
}

/* A socket that has no queue bound: nothing to adopt (-ENOENT), and the socket stays open. */
static void test_adopt_of_a_socket_with_no_queue_bound_is_enoent(void **state)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nfqd_queue *q = NULL;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(nfqd_queue_adopt(&q, fd, &cfg), -ENOENT);
	assert_null(q);
	assert_int_not_equal(fcntl(fd, F_GETFD), -1);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_check_tells_bound_to_us_unbound_and_another_port),
		cmocka_unit_test(test_adopt_refuses_what_is_not_a_netfilter_netlink_socket),
		cmocka_unit_test(test_check_fd_reads_the_port_id),
		cmocka_unit_test(test_adopt_of_a_socket_with_no_queue_bound_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
