/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy: the rule list, its compiler from text and its evaluator.
 *
 * Rules are compiled one at a time into a private array of terms, checked, and only then
 * appended, so that a refused rule leaves the policy as it was.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* after the libc headers policy-internal.h pulls in, which the uapi headers defer to */
#include "policy-internal.h"

#include <linux/netfilter.h>

/* Longest canonical rule: a verdict and NFQD_RULE_MAX_TERMS terms of "not NAME ARG". */
#define RULE_TEXT_MAX (32u + NFQD_RULE_MAX_TERMS * (NFQD_TERM_TEXT_MAX + 32u))

struct nfqd_policy {
	uint32_t default_verdict;
	struct nfqd_rule *rules;
	unsigned int nrules;
	unsigned int rules_cap;
	struct nfqd_term *terms; /* every rule's terms, each rule a contiguous slice */
	unsigned int nterms;
	unsigned int terms_cap;
};

struct nfqd_verdict_name {
	const char *name;
	uint32_t verdict;
};

static const struct nfqd_verdict_name verdict_names[] = {
	{ "accept", NF_ACCEPT },
	{ "drop", NF_DROP },
};

/* Blank-separated words of a rule, split in place in a private copy of its text. */
struct rule_words {
	char *next;
	unsigned int pos; /* 1-based position of the word last returned */
};

static char *words_next(struct rule_words *w)
{
	char *s = w->next, *start;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		w->next = s;
		return NULL;
	}
	start = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	w->next = s;
	w->pos++;
	return start;
}

static int fail(struct nfqd_policy_error *err, int ret, unsigned int word, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct nfqd_policy_error *err, int ret, unsigned int word, const char *fmt, ...)
{
	va_list ap;

	err->word = word;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return ret;
}

int nfqd_policy_new(struct nfqd_policy **out)
{
	struct nfqd_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->default_verdict = NF_ACCEPT;
	*out = p;
	return 0;
}

void nfqd_policy_free(struct nfqd_policy *p)
{
	if (!p)
		return;
	for (unsigned int i = 0; i < p->nrules; i++)
		free(p->rules[i].text);
	free(p->rules);
	free(p->terms);
	free(p);
}

int nfqd_policy_parse_verdict(const char *word, uint32_t *verdict, struct nfqd_policy_error *err)
{
	struct nfqd_policy_error ignored;

	if (!err)
		err = &ignored;
	if (!word || !*word)
		return fail(err, -EINVAL, 0, "missing verdict: expected accept or drop");
	for (size_t i = 0; i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++) {
		if (strcmp(word, verdict_names[i].name) == 0) {
			*verdict = verdict_names[i].verdict;
			return 0;
		}
	}
	return fail(err, -EINVAL, 0, "unknown verdict '%s'", word);
}

static const char *verdict_name(uint32_t verdict)
{
	for (size_t i = 0; i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++)
		if (verdict_names[i].verdict == verdict)
			return verdict_names[i].name;
	return NULL;
}

int nfqd_policy_set_default(struct nfqd_policy *p, uint32_t verdict)
{
	if (!verdict_name(verdict))
		return -EINVAL;
	p->default_verdict = verdict;
	return 0;
}

uint32_t nfqd_policy_default(const struct nfqd_policy *p)
{
	return p->default_verdict;
}

/* Parse the terms after the verdict into terms[], their count into *n and the facts needed. */
static int compile_terms(struct rule_words *w, struct nfqd_term *terms, unsigned int *n,
			 uint64_t *need, struct nfqd_policy_error *err)
{
	struct nfqd_rule_scope scope = { 0 };
	unsigned int count = 0;
	char *word;

	while ((word = words_next(w))) {
		struct nfqd_term *t = &terms[count];
		const struct nfqd_match_ops *k;
		unsigned int kpos;
		bool negate = false;
		char *arg;
		int kind, r;

		if (count == NFQD_RULE_MAX_TERMS)
			return fail(err, -E2BIG, w->pos,
				    "too many matches at '%s': at most %u per rule", word,
				    NFQD_RULE_MAX_TERMS);
		if (strcmp(word, "not") == 0) {
			negate = true;
			word = words_next(w);
			if (!word)
				return fail(err, -EINVAL, w->pos, "missing match after 'not'");
			if (strcmp(word, "not") == 0)
				return fail(err, -EINVAL, w->pos,
					    "unexpected 'not' after 'not': expected a match");
		}
		kind = nfqd_match_lookup(word);
		if (kind < 0)
			return fail(err, -EINVAL, w->pos, "unknown match '%s'", word);
		k = &nfqd_match_table[kind];
		kpos = w->pos;
		arg = words_next(w);
		if (!arg)
			return fail(err, -EINVAL, kpos, "%s: missing %s after '%s'", k->name,
				    k->argname, k->name);

		memset(t, 0, sizeof(*t));
		t->kind = (uint8_t)kind;
		t->negate = negate;
		r = k->parse(t, arg, err);
		if (r == 0)
			r = nfqd_match_scope_add(&scope, t, arg, err);
		if (r < 0) {
			err->word = w->pos;
			return r;
		}
		count++;
	}
	*n = count;
	*need = scope.facts;
	return 0;
}

static int format_rule(uint32_t verdict, const struct nfqd_term *terms, unsigned int n, char **out)
{
	char buf[RULE_TEXT_MAX];
	size_t len;
	int r;

	len = (size_t)snprintf(buf, sizeof(buf), "%s", verdict_name(verdict));
	for (unsigned int i = 0; i < n; i++) {
		if (len + 1 >= sizeof(buf))
			return -ENAMETOOLONG;
		buf[len++] = ' ';
		r = nfqd_match_format(&terms[i], buf + len, sizeof(buf) - len);
		if (r < 0)
			return r;
		len += (size_t)r;
	}
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

/* Make room for one more rule of n terms; the policy's content is not changed. */
static int reserve(struct nfqd_policy *p, unsigned int n)
{
	if (p->nrules == p->rules_cap) {
		unsigned int cap = p->rules_cap ? p->rules_cap * 2 : 16;
		struct nfqd_rule *rules = reallocarray(p->rules, cap, sizeof(*rules));

		if (!rules)
			return -ENOMEM;
		p->rules = rules;
		p->rules_cap = cap;
	}
	if (p->terms_cap - p->nterms < n) {
		unsigned int cap = p->terms_cap ? p->terms_cap : 64;
		struct nfqd_term *terms;

		while (cap - p->nterms < n)
			cap *= 2;
		terms = reallocarray(p->terms, cap, sizeof(*terms));
		if (!terms)
			return -ENOMEM;
		p->terms = terms;
		p->terms_cap = cap;
	}
	return 0;
}

int nfqd_policy_add_rule(struct nfqd_policy *p, const char *text, struct nfqd_policy_error *err)
{
	struct nfqd_term terms[NFQD_RULE_MAX_TERMS];
	struct nfqd_policy_error ignored;
	struct nfqd_rule rule = { 0 };
	struct rule_words w;
	unsigned int n = 0;
	char *copy, *word;
	int r;

	if (!err)
		err = &ignored;
	err->word = 0;
	err->msg[0] = '\0';
	if (p->nrules >= NFQD_POLICY_MAX_RULES)
		return fail(err, -E2BIG, 0, "too many rules: at most %u per policy",
			    NFQD_POLICY_MAX_RULES);

	copy = strdup(text ? text : "");
	if (!copy)
		return -ENOMEM;
	w = (struct rule_words){ .next = copy };

	word = words_next(&w);
	if (!word) {
		r = fail(err, -EINVAL, 0, "empty rule: expected a verdict (accept, drop)");
		goto out;
	}
	r = nfqd_policy_parse_verdict(word, &rule.verdict, err);
	if (r < 0) {
		err->word = w.pos;
		goto out;
	}
	r = compile_terms(&w, terms, &n, &rule.need, err);
	if (r < 0)
		goto out;
	r = format_rule(rule.verdict, terms, n, &rule.text);
	if (r < 0)
		goto out;
	r = reserve(p, n);
	if (r < 0)
		goto out_text;

	rule.first = p->nterms;
	rule.nterms = n;
	if (n)
		memcpy(&p->terms[p->nterms], terms, n * sizeof(terms[0]));
	p->nterms += n;
	p->rules[p->nrules++] = rule;
	free(copy);
	return 0;

out_text:
	free(rule.text);
out:
	free(copy);
	return r;
}

unsigned int nfqd_policy_rule_count(const struct nfqd_policy *p)
{
	return p->nrules;
}

const char *nfqd_policy_rule_text(const struct nfqd_policy *p, unsigned int i)
{
	if (!p || i >= p->nrules)
		return NULL;
	return p->rules[i].text;
}

void nfqd_policy_eval(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
		      struct nfqd_decision *d)
{
	uint64_t facts = nfqd_packet_facts(pkt);

	for (unsigned int i = 0; i < p->nrules; i++) {
		const struct nfqd_rule *r = &p->rules[i];
		unsigned int j;

		/*
		 * Every term reads facts the rule's mask holds, and a term whose fact is unknown
		 * matches neither plain nor negated: past this test the terms only compare.
		 */
		if ((facts & r->need) != r->need)
			continue;
		for (j = 0; j < r->nterms; j++)
			if (!nfqd_match_eval(&p->terms[r->first + j], pkt))
				break;
		if (j == r->nterms) {
			d->verdict = r->verdict;
			d->rule = (int)i;
			return;
		}
	}
	d->verdict = p->default_verdict;
	d->rule = -1;
}
