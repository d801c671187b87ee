/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ruleset generations (daemon/ruleset.c): publication, the announcements of the workers, the
 * freeing of retired generations only once every worker moved past them, and which
 * configuration changes a running nfqd can apply.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <cmocka.h>

#include "nfqd/ipset.h"

#include "config.h"
#include "confload.h"
#include "ruleset.h"
#include "rules.h"

/* A generation of a policy with one rule, its max-len set to its number. */
static struct ruleset *gen_of(unsigned int max_len)
{
	char text[128];
	struct ruleset *rs = NULL;

	snprintf(text, sizeof(text), "[queue]\nmax-len = %u\n[policy]\nrule = drop dport 9\n",
		 max_len);
	assert_int_equal(ruleset_new(&rs, load(text), NULL, NULL), 0);
	return rs;
}

static unsigned int retired_count(const struct ruleset_pub *pub)
{
	unsigned int n = 0;

	for (const struct ruleset *rs = pub->retired; rs; rs = rs->next)
		n++;
	return n;
}

static void test_publish_numbers_generations_and_retires_the_old(void **state)
{
	struct ruleset_pub pub = { .last_gen = 0 };
	struct ruleset *a = gen_of(1), *b = gen_of(2);

	(void)state;
	ruleset_publish(&pub, a);
	assert_int_equal(a->gen, 1);
	assert_ptr_equal(atomic_load(&pub.current), a);
	assert_false(ruleset_retired_pending(&pub));
	ruleset_publish(&pub, b);
	assert_int_equal(b->gen, 2);
	assert_ptr_equal(atomic_load(&pub.current), b);
	assert_ptr_equal(pub.retired, a);
	ruleset_pub_clear(&pub);
	assert_null(atomic_load(&pub.current));
	assert_false(ruleset_retired_pending(&pub));
}

/* A retired generation stays while any worker still announces it, or an older one. */
static void test_reap_waits_for_every_worker(void **state)
{
	struct ruleset_pub pub = { .last_gen = 0 };
	_Atomic uint64_t w1 = 0, w2 = 0;

	(void)state;
	ruleset_publish(&pub, gen_of(1));
	assert_int_equal(ruleset_acquire(&pub, &w1)->gen, 1);
	assert_int_equal(ruleset_acquire(&pub, &w2)->gen, 1);
	ruleset_publish(&pub, gen_of(2));
	ruleset_publish(&pub, gen_of(3));
	/* both workers still at 1: generations 1 and 2 are kept */
	assert_int_equal(ruleset_reap(&pub, 1), 0);
	assert_int_equal(retired_count(&pub), 2);
	/* one worker took 3, the other is still at 1 */
	assert_int_equal(ruleset_acquire(&pub, &w1)->gen, 3);
	assert_int_equal(ruleset_reap(&pub, w1 < w2 ? w1 : w2), 0);
	/* both at 3: 1 and 2 go, 3 is current */
	assert_int_equal(ruleset_acquire(&pub, &w2)->gen, 3);
	assert_int_equal(ruleset_reap(&pub, 3), 2);
	assert_false(ruleset_retired_pending(&pub));
	assert_int_equal(atomic_load(&pub.current)->gen, 3);
	ruleset_pub_clear(&pub);
}

/* A worker that has announced nothing yet (0) keeps every retired generation. */
static void test_a_worker_that_announced_nothing_keeps_everything(void **state)
{
	struct ruleset_pub pub = { .last_gen = 0 };

	(void)state;
	ruleset_publish(&pub, gen_of(1));
	ruleset_publish(&pub, gen_of(2));
	assert_int_equal(ruleset_reap(&pub, 0), 0);
	assert_int_equal(retired_count(&pub), 1);
	/* no worker runs: everything retired goes */
	assert_int_equal(ruleset_reap(&pub, UINT64_MAX), 1);
	ruleset_pub_clear(&pub);
}

#define STRESS_WORKERS 2
#define STRESS_GENS    2000

struct stress {
	struct ruleset_pub *pub;
	_Atomic uint64_t seen;
	atomic_int stop;
	unsigned long batches, mixed;
};

/*
 * A worker's batches: take a generation, then read it several times as a batch reads its
 * policy per packet. Each generation's max-len equals its number: a batch that sees
 * another value read freed or reused memory (the ASan pass reports the use itself).
 */
static void *stress_worker(void *arg)
{
	struct stress *s = arg;

	while (!atomic_load(&s->stop)) {
		const struct ruleset *rs = ruleset_acquire(s->pub, &s->seen);

		for (int i = 0; i < 16; i++)
			if (rs->cfg->max_len != rs->gen)
				s->mixed++;
		s->batches++;
	}
	return NULL;
}

static void test_generations_swapped_under_running_workers(void **state)
{
	struct ruleset_pub pub = { .last_gen = 0 };
	struct stress w[STRESS_WORKERS];
	pthread_t t[STRESS_WORKERS];
	unsigned int freed = 0;

	(void)state;
	ruleset_publish(&pub, gen_of(1));
	for (int i = 0; i < STRESS_WORKERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].pub = &pub;
		assert_int_equal(pthread_create(&t[i], NULL, stress_worker, &w[i]), 0);
	}
	for (unsigned int g = 2; g <= STRESS_GENS; g++) {
		uint64_t min = UINT64_MAX;

		ruleset_publish(&pub, gen_of(g));
		for (int i = 0; i < STRESS_WORKERS; i++) {
			uint64_t s = atomic_load(&w[i].seen);

			min = s < min ? s : min;
		}
		freed += ruleset_reap(&pub, min);
	}
	for (int i = 0; i < STRESS_WORKERS; i++) {
		atomic_store(&w[i].stop, 1);
		pthread_join(t[i], NULL);
	}
	for (int i = 0; i < STRESS_WORKERS; i++) {
		if (w[i].mixed)
			fail_msg("worker %d read %lu values of another generation in %lu batches",
				 i, w[i].mixed, w[i].batches);
		assert_true(w[i].batches > 0);
	}
	/* freed while the workers ran, and everything else at the end */
	freed += ruleset_reap(&pub, UINT64_MAX);
	assert_int_equal(freed, STRESS_GENS - 1);
	ruleset_pub_clear(&pub);
}

static int compatible(const char *old_text, const char *new_text, char *err, size_t errlen)
{
	struct config *a = load(old_text), *b = load(new_text);
	int r = ruleset_check_compatible(a, NULL, b, NULL, NULL, err, errlen);

	config_free(a);
	config_free(b);
	return r;
}

static void test_rules_and_queues_change_by_reload(void **state)
{
	char err[1024] = "";

	(void)state;
	assert_int_equal(compatible("[queue]\nqueues = 0\n[policy]\nrule = drop dport 9\n",
				    "[queue]\nqueues = 1-3\n[policy]\ndefault = drop\n"
				    "rule = accept dport 9\nrule = drop proto udp\n",
				    err, sizeof(err)),
			 0);
}

static void test_settings_fixed_at_start_are_refused_with_what_changed(void **state)
{
	char err[1024] = "";

	(void)state;
	assert_int_equal(compatible("[queue]\nmax-len = 1024\n", "[queue]\nmax-len = 2048\n", err,
				    sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "t.conf: [queue] max-len changed"));
	assert_non_null(strstr(err, "restart nfqd"));
	assert_int_equal(compatible("[daemon]\nseccomp = yes\n", "[daemon]\nseccomp = no\n", err,
				    sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "[daemon] seccomp changed"));
}

/* The flow cache and the mark bits change the generated rules: refused, saying what to run. */
static void test_a_change_of_the_generated_rules_is_refused_with_the_commands(void **state)
{
	char err[1024] = "";

	(void)state;
	assert_int_equal(compatible("[policy]\nrule = drop dport 9\n",
				    "[policy]\nrule = drop dport 9\nflow-cache = connmark\n", err,
				    sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "nfqd rules -c t.conf | iptables-restore --noflush"));
	assert_non_null(strstr(err, "nfqd rules --ipv6 -c t.conf | ip6tables-restore --noflush"));
	assert_int_equal(compatible("[policy]\nmark-bits = 0xff000000\n",
				    "[policy]\nmark-bits = 0x00ff0000\n", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "other iptables rules in chain NFQD"));
}

static struct nfqd_ipset_info info(const char *name)
{
	struct nfqd_ipset_info i;
	int kind;

	memset(&i, 0, sizeof(i));
	snprintf(i.name, sizeof(i.name), "%s", name);
	snprintf(i.type, sizeof(i.type), "hash:ip");
	i.family = NFPROTO_IPV4;
	kind = nfqd_ipset_kind_of(i.type, &i.dims);
	assert_true(kind >= 0);
	i.kind = (uint8_t)kind;
	return i;
}

/*
 * Set rules are answered from mark bits the generated rules set, unless set-lookup = test:
 * changing them by reload is refused with auto, allowed with test (no flow cache).
 */
static void test_set_rules_change_by_reload_only_when_tested(void **state)
{
	const struct nfqd_ipset_info one[1] = { info("a") }, two[2] = { info("b"), info("a") };
	const char *const modes[] = { "auto", "test" };
	char err[1024] = "";

	(void)state;
	for (int m = 0; m < 2; m++) {
		char a_text[160], b_text[160];
		struct config *a, *b;
		int r;

		snprintf(a_text, sizeof(a_text), "[policy]\nset-lookup = %s\nrule = drop src @a\n",
			 modes[m]);
		snprintf(b_text, sizeof(b_text),
			 "[policy]\nset-lookup = %s\nrule = drop dst @b\nrule = drop src @a\n",
			 modes[m]);
		a = load(a_text);
		b = load(b_text);
		r = ruleset_check_compatible(a, one, b, two, NULL, err, sizeof(err));
		config_free(a);
		config_free(b);
		if (m == 0) {
			assert_int_equal(r, -EINVAL);
			assert_non_null(strstr(err, "other iptables rules in chain NFQD"));
		} else {
			assert_int_equal(r, 0);
		}
	}
}

#define LOADED_OLD "[policy]\nset-lookup = mark\nrule = drop src @a\n"
#define LOADED_NEW "[policy]\nset-lookup = mark\nrule = drop dst @b\nrule = drop src @a\n"

/* The plan hash of text (with the sets of LOADED_NEW) in IPv4 (ipv6 false) or IPv6. */
static uint64_t plan_of(const char *text, bool ipv6)
{
	const struct nfqd_ipset_info two[2] = { info("b"), info("a") };
	struct config *c = load(text);
	char err[256];
	uint64_t h = 0;

	if (rules_plan_hash(c, strstr(text, "@b") ? two : two + 1, ipv6, &h, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	config_free(c);
	return h;
}

/* LOADED_OLD to LOADED_NEW with the loaded chain as given: the result, err filled. */
static int switch_with(const struct ruleset_loaded *loaded, char *err, size_t errlen)
{
	const struct nfqd_ipset_info one[1] = { info("a") }, two[2] = { info("b"), info("a") };
	struct config *a = load(LOADED_OLD), *b = load(LOADED_NEW);
	int r = ruleset_check_compatible(a, one, b, two, loaded, err, errlen);

	config_free(a);
	config_free(b);
	return r;
}

/*
 * A change of the generated rules: applied (1) when the loaded chain holds the new plan in IPv4
 * and, where an IPv6 chain is loaded, in IPv6; refused with the commands and `nfqctl reload`
 * when it holds the old plan or no tag; refused with a restart and the reason when it cannot be
 * read.
 */
static void test_a_rules_change_follows_the_loaded_chain(void **state)
{
	uint64_t old4 = plan_of(LOADED_OLD, false), new4 = plan_of(LOADED_NEW, false);
	uint64_t old6 = plan_of(LOADED_OLD, true), new6 = plan_of(LOADED_NEW, true);
	struct ruleset_loaded l;
	char err[2048] = "";

	(void)state;
	assert_true(old4 != new4);
	/* the new rules in both families, or in IPv4 with no IPv6 chain: applied */
	l = (struct ruleset_loaded){ { 0, 0 }, { new4, new6 } };
	assert_int_equal(switch_with(&l, err, sizeof(err)), 1);
	l = (struct ruleset_loaded){ { 0, -ENOENT }, { new4, 0 } };
	assert_int_equal(switch_with(&l, err, sizeof(err)), 1);

	/* other rules loaded in IPv6: refused, both commands, reload again */
	l = (struct ruleset_loaded){ { 0, 0 }, { new4, old6 ^ 1 } };
	assert_int_equal(switch_with(&l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "(IPv6: the rules of another configuration"));
	assert_non_null(strstr(err, "nfqd rules -c t.conf | iptables-restore --noflush; nfqd "
				    "rules --ipv6 -c t.conf | ip6tables-restore --noflush; nfqctl "
				    "reload"));
	assert_null(strstr(err, "restart"));

	/* the old rules loaded in IPv4 (its sets are IPv4 sets: the IPv6 plan is the same) */
	assert_true(old6 == new6);
	l = (struct ruleset_loaded){ { 0, 0 }, { old4, old6 } };
	assert_int_equal(switch_with(&l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "(IPv4: the rules of the running configuration)"));

	/* no tag in IPv4, no IPv6 chain: refused, the IPv4 command only */
	l = (struct ruleset_loaded){ { -ENODATA, -ENOENT }, { 0, 0 } };
	assert_int_equal(switch_with(&l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "(IPv4: rules without an nfqd plan tag)"));
	assert_non_null(strstr(err, "iptables-restore --noflush; nfqctl reload"));
	assert_null(strstr(err, "ip6tables-restore"));

	/* the plan of a third configuration */
	l = (struct ruleset_loaded){ { 0, -ENOENT }, { 0x1234, 0 } };
	assert_int_equal(switch_with(&l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "another configuration (nfqd plan 0000000000001234)"));

	/* no chain in nftables (iptables-legacy), or a chain that cannot be read: a restart */
	l = (struct ruleset_loaded){ { -ENOENT, -ENOENT }, { 0, 0 } };
	assert_int_equal(switch_with(&l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no chain NFQD in table filter of nftables"));
	assert_non_null(strstr(err, "iptables-legacy"));
	assert_non_null(strstr(err, "systemctl restart nfqd"));
	l = (struct ruleset_loaded){ { 0, -EACCES }, { new4, 0 } };
	assert_int_equal(switch_with(&l, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cannot read chain NFQD (IPv6)"));
	assert_non_null(strstr(err, "systemctl restart nfqd"));
}

/* At start: 0 when the loaded chain holds the plan, -EBADR naming the command when not,
 * -ENOENT when there is nothing to compare with. */
static void test_the_loaded_chain_checked_at_start(void **state)
{
	const struct nfqd_ipset_info one[1] = { info("a") };
	struct config *c = load(LOADED_OLD);
	uint64_t old4 = plan_of(LOADED_OLD, false), new4 = plan_of(LOADED_NEW, false);
	struct ruleset_loaded l = { { 0, -ENOENT }, { old4, 0 } };
	char msg[2048] = "";

	(void)state;
	assert_int_equal(ruleset_check_loaded(c, one, &l, msg, sizeof(msg)), 0);
	l.tag[0] = new4;
	assert_int_equal(ruleset_check_loaded(c, one, &l, msg, sizeof(msg)), -EBADR);
	assert_non_null(strstr(msg, "t.conf: the loaded chain NFQD does not hold the rules"));
	assert_non_null(strstr(msg, "load them: nfqd rules -c t.conf | iptables-restore"));
	l.err[0] = -ENOENT;
	assert_int_equal(ruleset_check_loaded(c, one, &l, msg, sizeof(msg)), -ENOENT);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_numbers_generations_and_retires_the_old),
		cmocka_unit_test(test_reap_waits_for_every_worker),
		cmocka_unit_test(test_a_worker_that_announced_nothing_keeps_everything),
		cmocka_unit_test(test_generations_swapped_under_running_workers),
		cmocka_unit_test(test_rules_and_queues_change_by_reload),
		cmocka_unit_test(test_settings_fixed_at_start_are_refused_with_what_changed),
		cmocka_unit_test(test_a_change_of_the_generated_rules_is_refused_with_the_commands),
		cmocka_unit_test(test_set_rules_change_by_reload_only_when_tested),
		cmocka_unit_test(test_a_rules_change_follows_the_loaded_chain),
		cmocka_unit_test(test_the_loaded_chain_checked_at_start),
	};

	return cmocka_run_group_tests_name("ruleset generations", tests, NULL, NULL);
}
