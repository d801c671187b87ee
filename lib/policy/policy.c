/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy: the rule list, its compiler from text and its evaluator.
 *
 * Rules are compiled one at a time into a private array of terms, checked, and only then
 * appended, so that a refused rule leaves the policy as it was. The rows a refused rule added to
 * the policy's tables of set lookups and interfaces are removed again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* after the libc headers policy-internal.h pulls in, which the uapi headers defer to */
#include "policy-internal.h"

#include <linux/netfilter.h>

#include "nfqd/reject.h"

/*
 * Longest canonical rule: a verdict, NFQD_RULE_MAX_TERMS terms of "not NAME ARG", a set-mark
 * action and the log actions.
 */
#define RULE_TEXT_MAX                                                                              \
	(32u + NFQD_RULE_MAX_TERMS * (NFQD_TERM_TEXT_MAX + 32u) + 32u + 32u + NFQD_LOG_PREFIX_MAX)

/* Queue numbers of the `queue N` verdict: the 16 bits NF_QUEUE_NR() has room for. */
#define QUEUE_NUM_MAX 65535u

struct nfqd_policy {
	uint32_t default_verdict;
	uint32_t on_set_error;
	enum nfqd_on_unreadable on_unreadable;
	struct nfqd_rule *rules;
	/* rules_cap log-prefixes, of each rule (NULL: none): apart from the rules, whose size
	 * the evaluator's walk feels */
	char **log_prefixes;
	unsigned int nrules;
	unsigned int rules_cap;
	struct nfqd_term *terms; /* every rule's terms, each rule a contiguous slice */
	unsigned int nterms;
	unsigned int terms_cap;
	struct nfqd_policy_marks marks;
	struct nfqd_policy_refs refs;
	struct nfqd_rule_index index; /* of the first rules, rebuilt as each is added */
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
	/*
	 * Allocated whole now: the index table is written while workers evaluate, so it never
	 * moves once the policy is shared.
	 */
	p->refs.ifindex = calloc(NFQD_POLICY_MAX_IFACES, sizeof(*p->refs.ifindex));
	if (!p->refs.ifindex) {
		free(p);
		return -ENOMEM;
	}
	p->default_verdict = NF_ACCEPT;
	p->on_set_error = NF_DROP;
	p->on_unreadable = NFQD_ON_UNREADABLE_DROP;
	p->marks.meta_rule = -1;
	p->marks.ct_rule = -1;
	p->marks.set_rule = -1;
	*out = p;
	return 0;
}

void nfqd_policy_free(struct nfqd_policy *p)
{
	if (!p)
		return;
	for (unsigned int i = 0; i < p->nrules; i++) {
		free(p->rules[i].text);
		free(p->log_prefixes[i]);
	}
	free(p->rules);
	free(p->log_prefixes);
	free(p->terms);
	free(p->refs.ifindex);
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

/* A rule's verdict as written: "accept", "queue 3". */
static const char *verdict_text(uint32_t verdict, char *buf, size_t size)
{
	const char *name = verdict_name(verdict);

	if (name)
		return name;
	snprintf(buf, size, "queue %u", verdict >> 16);
	return buf;
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

int nfqd_policy_set_on_set_error(struct nfqd_policy *p, uint32_t verdict)
{
	if (!verdict_name(verdict))
		return -EINVAL;
	p->on_set_error = verdict;
	return 0;
}

uint32_t nfqd_policy_on_set_error(const struct nfqd_policy *p)
{
	return p->on_set_error;
}

static const char *const on_unreadable_names[NFQD_ON_UNREADABLE_MAX] = {
	[NFQD_ON_UNREADABLE_DROP] = "drop",
	[NFQD_ON_UNREADABLE_ACCEPT] = "accept",
	[NFQD_ON_UNREADABLE_EVALUATE] = "evaluate",
};

int nfqd_policy_parse_on_unreadable(const char *word, enum nfqd_on_unreadable *mode,
				    struct nfqd_policy_error *err)
{
	struct nfqd_policy_error ignored;

	if (!err)
		err = &ignored;
	for (int i = 0; word && i < NFQD_ON_UNREADABLE_MAX; i++) {
		if (strcmp(word, on_unreadable_names[i]) == 0) {
			*mode = (enum nfqd_on_unreadable)i;
			return 0;
		}
	}
	return fail(err, -EINVAL, 0, "'%s' is not drop, accept or evaluate", word ? word : "");
}

const char *nfqd_policy_on_unreadable_name(enum nfqd_on_unreadable mode)
{
	return (unsigned int)mode < NFQD_ON_UNREADABLE_MAX ? on_unreadable_names[mode] : "?";
}

int nfqd_policy_set_on_unreadable(struct nfqd_policy *p, enum nfqd_on_unreadable mode)
{
	if ((unsigned int)mode >= NFQD_ON_UNREADABLE_MAX)
		return -EINVAL;
	p->on_unreadable = mode;
	return 0;
}

enum nfqd_on_unreadable nfqd_policy_on_unreadable(const struct nfqd_policy *p)
{
	return p->on_unreadable;
}

/* A rule's verdict as written: "accept", "queue 3", "reject with admin-prohibited". */
static const char *rule_verdict_text(const struct nfqd_rule *rule, char *buf, size_t size)
{
	if (rule->reject == NFQD_REJECT_DEFAULT)
		return "reject";
	if (rule->reject != NFQD_REJECT_NONE) {
		snprintf(buf, size, "reject with %s", nfqd_reject_name(rule->reject));
		return buf;
	}
	return verdict_text(rule->verdict, buf, size);
}

/*
 * The rest of a reject verdict (its word already read): an optional `with [icmp|icmpv6|icmpx]
 * KIND`. A word other than `with` is left for the matches.
 */
static int compile_reject(struct rule_words *w, struct nfqd_rule *rule,
			  struct nfqd_policy_error *err)
{
	const char *next = w->next + strspn(w->next, " \t"), *prev = "with";
	char *word;
	int kind;

	rule->verdict = NF_DROP;
	rule->reject = NFQD_REJECT_DEFAULT;
	/* looked at in place: words_next() would cut a match's word short */
	if (strncmp(next, "with", 4) != 0 || (next[4] && next[4] != ' ' && next[4] != '\t'))
		return 0;
	words_next(w);
	word = words_next(w);
	if (word && (strcmp(word, "icmp") == 0 || strcmp(word, "icmpv6") == 0 ||
		     strcmp(word, "icmpx") == 0)) {
		prev = word;
		word = words_next(w);
	}
	if (!word)
		return fail(err, -EINVAL, w->pos, "reject: missing kind after '%s': expected %s",
			    prev, nfqd_reject_names());
	kind = nfqd_reject_parse(word);
	if (kind < 0)
		return fail(err, -EINVAL, w->pos, "unknown reject kind '%s': expected %s", word,
			    nfqd_reject_names());
	rule->reject = (uint8_t)kind;
	return 0;
}

/* The verdict word (already read) and, for `queue`, its number. */
static int compile_verdict(struct rule_words *w, const char *word, struct nfqd_rule *rule,
			   struct nfqd_policy_error *err)
{
	unsigned int vpos = w->pos;
	unsigned long num;
	char *arg;
	int r;

	rule->loop_queue = UINT32_MAX;
	if (strcmp(word, "reject") == 0)
		return compile_reject(w, rule, err);
	if (strcmp(word, "queue") != 0) {
		r = nfqd_policy_parse_verdict(word, &rule->verdict, err);
		if (r < 0)
			err->word = vpos;
		return r;
	}

	arg = words_next(w);
	if (!arg)
		return fail(err, -EINVAL, vpos, "queue: missing queue number after 'queue'");
	r = nfqd_parse_uint(arg, arg + strlen(arg), QUEUE_NUM_MAX, &num);
	if (r == -ERANGE)
		return fail(err, -EINVAL, w->pos,
			    "bad queue number '%s' after 'queue': must be 0-%u", arg,
			    QUEUE_NUM_MAX);
	if (r < 0)
		return fail(err, -EINVAL, w->pos,
			    "bad queue number '%s' after 'queue': expected a number 0-%u", arg,
			    QUEUE_NUM_MAX);
	/* NF_QUEUE_NR() shifts a signed int: 65535 << 16 would overflow it */
	rule->verdict = ((uint32_t)num << 16) | NF_QUEUE;
	rule->loop_queue = (uint32_t)num;
	/* the next queue's classifier may decide otherwise for the flow's other packets */
	rule->flags |= NFQD_DECISION_PER_PACKET;
	return 0;
}

/* The set-mark action (its word already read). */
static int compile_set_mark(struct rule_words *w, struct nfqd_rule *rule,
			    struct nfqd_policy_error *err)
{
	unsigned int kpos = w->pos;
	char verdict[32];
	char *arg;
	int r;

	if (rule->verdict != NF_ACCEPT)
		return fail(err, -EINVAL, kpos,
			    "unexpected 'set-mark' in a %s rule: set-mark is allowed only with "
			    "accept",
			    rule_verdict_text(rule, verdict, sizeof(verdict)));
	if (rule->flags & NFQD_DECISION_SET_MARK)
		return fail(err, -EINVAL, kpos,
			    "unexpected second 'set-mark': at most one per rule");
	arg = words_next(w);
	if (!arg)
		return fail(err, -EINVAL, kpos, "set-mark: missing value after 'set-mark'");
	r = nfqd_mark_parse(&rule->set_mark, arg, "set-mark", err);
	if (r < 0) {
		err->word = w->pos;
		return r;
	}
	rule->flags |= NFQD_DECISION_SET_MARK | NFQD_DECISION_PER_PACKET;
	return 0;
}

/* The log action (its word already read); *seen: the rule had one before. */
static int compile_log(struct rule_words *w, bool *seen, struct nfqd_rule *rule,
		       struct nfqd_policy_error *err)
{
	if (*seen)
		return fail(err, -EINVAL, w->pos, "unexpected second 'log': at most one per rule");
	*seen = true;
	/* every packet is to be seen: no flow verdict may let the rest of a flow pass by */
	rule->flags |= NFQD_DECISION_LOG | NFQD_DECISION_PER_PACKET;
	return 0;
}

/*
 * The log-prefix action (its word already read): the quoted TEXT after it, read from the rule
 * text itself (it may hold blanks) as one word. It implies log.
 */
static int compile_log_prefix(struct rule_words *w, struct nfqd_rule *rule, char **prefix,
			      struct nfqd_policy_error *err)
{
	unsigned int kpos = w->pos;
	char *s = w->next, *end;

	if (*prefix)
		return fail(err, -EINVAL, kpos,
			    "unexpected second 'log-prefix': at most one per rule");
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return fail(err, -EINVAL, kpos, "log-prefix: missing \"TEXT\" after 'log-prefix'");
	if (*s != '"') {
		const char *word;

		w->next = s;
		word = words_next(w);
		return fail(err, -EINVAL, w->pos,
			    "log-prefix: '%s' is not in double quotes: write log-prefix \"TEXT\"",
			    word);
	}
	w->pos++;
	for (end = s + 1; *end && *end != '"'; end++) {
		if (*end < 0x20 || *end > 0x7e || *end == '\\')
			return fail(err, -EINVAL, w->pos,
				    "log-prefix: character 0x%02x at %zu is not allowed: printable "
				    "ASCII only, no '\\'",
				    (unsigned char)*end, (size_t)(end - s));
	}
	if (*end != '"')
		return fail(err, -EINVAL, w->pos, "log-prefix: %s has no closing '\"'", s);
	if (end[1] != '\0' && end[1] != ' ' && end[1] != '\t')
		return fail(err, -EINVAL, w->pos,
			    "log-prefix: a blank must follow the closing '\"' of %.*s",
			    (int)(end - s + 1), s);
	if (end == s + 1)
		return fail(err, -EINVAL, w->pos, "log-prefix: \"\" is empty");
	if (end - s - 1 > NFQD_LOG_PREFIX_MAX)
		return fail(err, -EINVAL, w->pos, "log-prefix: %.*s is longer than %u characters",
			    (int)(end - s + 1), s, NFQD_LOG_PREFIX_MAX);
	*prefix = strndup(s + 1, (size_t)(end - s - 1));
	if (!*prefix)
		return -ENOMEM;
	w->next = end[1] ? end + 2 : end + 1;
	rule->flags |= NFQD_DECISION_LOG | NFQD_DECISION_PER_PACKET;
	return 0;
}

/*
 * Parse one match (its first word, after any `not`, already read) into t, entering what it
 * names into the policy's tables, and add it to the rule's scope.
 */
static int compile_term(struct nfqd_policy *p, struct rule_words *w, char *word, bool negate,
			struct nfqd_term *t, struct nfqd_rule_scope *scope,
			struct nfqd_policy_error *err)
{
	const struct nfqd_match_ops *k;
	unsigned int prevpos, arg0pos = 0;
	const char *prev;
	char name[NFQD_MATCH_NAME_MAX];
	char *arg = NULL;
	int kind, r;

	kind = nfqd_match_lookup(word, NULL);
	if (kind < 0)
		return fail(err, -EINVAL, w->pos, "unknown match '%s'", word);
	prev = word;
	prevpos = w->pos;
	if (nfqd_match_table[kind].sub) {
		char *sub = words_next(w);

		if (!sub)
			return fail(err, -EINVAL, prevpos, "%s: missing '%s' after '%s'", word,
				    nfqd_match_table[kind].sub, word);
		kind = nfqd_match_lookup(word, sub);
		if (kind < 0)
			return fail(err, -EINVAL, w->pos, "unknown match '%s %s': expected %s",
				    word, sub, nfqd_match_names_of(word, name, sizeof(name)));
		prev = sub;
		prevpos = w->pos;
	}

	memset(t, 0, sizeof(*t));
	t->kind = (uint8_t)kind;
	t->negate = negate;
	/* the parse of the first argument may turn the term into a variant (src @SET) */
	for (unsigned int i = 0; i < nfqd_match_table[t->kind].nargs; i++) {
		k = &nfqd_match_table[t->kind];
		arg = words_next(w);
		if (!arg)
			return fail(err, -EINVAL, prevpos, "%s: missing %s after '%s'",
				    nfqd_match_name(k, name, sizeof(name)), k->argname[i], prev);
		if (i == 0)
			arg0pos = w->pos;
		r = k->parse(t, i, arg, err);
		if (r < 0) {
			err->word = w->pos;
			return r;
		}
		prev = arg;
		prevpos = w->pos;
	}

	k = &nfqd_match_table[t->kind];
	if (k->bind) {
		r = k->bind(t, &p->refs, err);
		if (r < 0) {
			err->word = arg0pos;
			return r;
		}
	}
	r = nfqd_match_scope_add(scope, t, arg, err);
	if (r < 0)
		err->word = w->pos;
	return r;
}

/* Parse the items after the verdict: terms into terms[] (their count into *n), actions into
 * rule. */
static int compile_items(struct nfqd_policy *p, struct rule_words *w, struct nfqd_rule *rule,
			 char **prefix, struct nfqd_term *terms, unsigned int *n,
			 struct nfqd_rule_scope *scope, struct nfqd_policy_error *err)
{
	unsigned int count = 0;
	bool log = false;
	char *word;
	int r;

	while ((word = words_next(w))) {
		bool negate = false;

		/* an action is no match: it does not count against the terms of a rule */
		if (strcmp(word, "set-mark") == 0 || strcmp(word, "log") == 0 ||
		    strcmp(word, "log-prefix") == 0) {
			if (word[0] == 's')
				r = compile_set_mark(w, rule, err);
			else if (word[3] == '\0')
				r = compile_log(w, &log, rule, err);
			else
				r = compile_log_prefix(w, rule, prefix, err);
			if (r < 0)
				return r;
			continue;
		}
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
			if (strcmp(word, "set-mark") == 0 || strcmp(word, "log") == 0 ||
			    strcmp(word, "log-prefix") == 0)
				return fail(err, -EINVAL, w->pos,
					    "unexpected '%s' after 'not': an action cannot "
					    "be negated",
					    word);
		}
		r = compile_term(p, w, word, negate, &terms[count], scope, err);
		if (r < 0)
			return r;
		count++;
	}
	*n = count;
	return 0;
}

/* Append to the text of *len bytes in buf. Returns 0, or -ENAMETOOLONG when it does not fit. */
static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= size - *len)
		return -ENAMETOOLONG;
	*len += (size_t)r;
	return 0;
}

/* The canonical text: the verdict, the terms in their order, then the actions. */
static int format_rule(const struct nfqd_rule *rule, const char *prefix,
		       const struct nfqd_term *terms, unsigned int n, char **out)
{
	char buf[RULE_TEXT_MAX], verdict[48];
	size_t len;
	int r;

	len = (size_t)snprintf(buf, sizeof(buf), "%s",
			       rule_verdict_text(rule, verdict, sizeof(verdict)));
	for (unsigned int i = 0; i < n; i++) {
		if (len + 1 >= sizeof(buf))
			return -ENAMETOOLONG;
		buf[len++] = ' ';
		r = nfqd_match_format(&terms[i], buf + len, sizeof(buf) - len);
		if (r < 0)
			return r;
		len += (size_t)r;
	}
	if (rule->flags & NFQD_DECISION_SET_MARK) {
		char mark[32];

		nfqd_mark_format(&rule->set_mark, mark, sizeof(mark));
		r = append(buf, sizeof(buf), &len, " set-mark %s", mark);
		if (r < 0)
			return r;
	}
	if ((rule->flags & NFQD_DECISION_LOG) && append(buf, sizeof(buf), &len, " log") < 0)
		return -ENAMETOOLONG;
	if (prefix && append(buf, sizeof(buf), &len, " log-prefix \"%s\"", prefix) < 0)
		return -ENAMETOOLONG;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

/* Make room for one more rule of n terms; the policy's content is not changed. */
static int reserve(struct nfqd_policy *p, unsigned int n)
{
	if (p->nrules == p->rules_cap) {
		unsigned int cap = p->rules_cap ? p->rules_cap * 2 : 16;
		struct nfqd_rule *rules = reallocarray(p->rules, cap, sizeof(*rules));
		char **prefixes;

		if (!rules)
			return -ENOMEM;
		p->rules = rules;
		prefixes = reallocarray(p->log_prefixes, cap, sizeof(*prefixes));
		if (!prefixes)
			return -ENOMEM;
		p->log_prefixes = prefixes;
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

/* Remove the table rows added after the first nlookups lookups and nifaces interfaces. */
static void refs_truncate(struct nfqd_policy_refs *refs, unsigned int nlookups,
			  unsigned int nifaces)
{
	memset(&refs->lookups[nlookups], 0, (refs->nlookups - nlookups) * sizeof(refs->lookups[0]));
	refs->nlookups = nlookups;
	memset(&refs->ifaces[nifaces], 0, (refs->nifaces - nifaces) * sizeof(refs->ifaces[0]));
	refs->nifaces = nifaces;
}

/* Record which bits of which marks rule i reads and writes. */
static void marks_add(struct nfqd_policy_marks *m, const struct nfqd_rule_scope *scope,
		      const struct nfqd_rule *rule, int i)
{
	if (scope->meta_mark) {
		m->meta_mask |= scope->meta_mask;
		if (m->meta_rule < 0)
			m->meta_rule = i;
	}
	if (scope->ct_mark) {
		m->ct_mask |= scope->ct_mask;
		if (m->ct_rule < 0)
			m->ct_rule = i;
	}
	if (rule->flags & NFQD_DECISION_SET_MARK) {
		m->set_mask |= rule->set_mark.mask;
		if (m->set_rule < 0)
			m->set_rule = i;
	}
}

void nfqd_policy_rule_marks(const struct nfqd_policy *p, unsigned int i,
			    struct nfqd_policy_marks *m)
{
	const struct nfqd_rule *r;

	memset(m, 0, sizeof(*m));
	m->meta_rule = m->ct_rule = m->set_rule = -1;
	if (!p || i >= p->nrules)
		return;
	r = &p->rules[i];
	for (uint32_t t = 0; t < r->nterms; t++) {
		const struct nfqd_term *term = &p->terms[r->first + t];

		if (term->kind == NFQD_MATCH_META_MARK) {
			m->meta_mask |= term->arg.mark.mask;
			m->meta_rule = (int)i;
		} else if (term->kind == NFQD_MATCH_CT_MARK) {
			m->ct_mask |= term->arg.mark.mask;
			m->ct_rule = (int)i;
		}
	}
	if (r->flags & NFQD_DECISION_SET_MARK) {
		m->set_mask = r->set_mark.mask;
		m->set_rule = (int)i;
	}
}

/* Take term t into the guard if it is of a kind the guard compares and its slot is free. */
static bool guard_take(struct nfqd_rule_guard *g, const struct nfqd_term *t)
{
	static const uint8_t check[NFQD_MATCH_MAX] = {
		[NFQD_MATCH_PROTO] = NFQD_GUARD_PROTO, [NFQD_MATCH_DPORT] = NFQD_GUARD_DPORT,
		[NFQD_MATCH_SPORT] = NFQD_GUARD_SPORT, [NFQD_MATCH_SRC] = NFQD_GUARD_SRC,
		[NFQD_MATCH_DST] = NFQD_GUARD_DST,
	};
	uint8_t c = check[t->kind];

	if (!c || t->negate || (g->checks & c))
		return false;
	g->checks |= c;
	if (c == NFQD_GUARD_PROTO)
		g->proto = t->arg.proto;
	else if (c == NFQD_GUARD_DPORT)
		g->dport = t->arg.ports;
	else if (c == NFQD_GUARD_SPORT)
		g->sport = t->arg.ports;
	else if (c == NFQD_GUARD_SRC)
		g->src = t->arg.prefix;
	else
		g->dst = t->arg.prefix;
	return true;
}

/*
 * Split the rule's terms between its guard (struct nfqd_rule_guard), which takes what it can of
 * the pure terms before the first term with an effect, and the rest, evaluated one by one in
 * their order. Terms after an effect stay in place: a set lookup that fails before them decides
 * the verdict, and a mark read before them makes the decision per packet.
 */
static void compile_guard(struct nfqd_rule *rule, const struct nfqd_term *terms, unsigned int n)
{
	bool leading = true;

	memset(&rule->guard, 0, sizeof(rule->guard));
	rule->nrest = 0;
	for (unsigned int i = 0; i < n; i++) {
		leading = leading && nfqd_match_table[terms[i].kind].pure;
		if (leading && guard_take(&rule->guard, &terms[i]))
			continue;
		rule->rest[rule->nrest++] = (uint8_t)i;
	}
}

int nfqd_policy_add_rule(struct nfqd_policy *p, const char *text, struct nfqd_policy_error *err)
{
	struct nfqd_term terms[NFQD_RULE_MAX_TERMS];
	unsigned int nlookups = p->refs.nlookups;
	unsigned int nifaces = p->refs.nifaces;
	struct nfqd_rule_scope scope = { 0 };
	struct nfqd_policy_error ignored;
	struct nfqd_rule rule = { 0 };
	char *prefix = NULL;
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
		r = fail(err, -EINVAL, 0,
			 "empty rule: expected a verdict (accept, drop, reject, queue N)");
		goto out;
	}
	r = compile_verdict(&w, word, &rule, err);
	if (r < 0)
		goto out;
	r = compile_items(p, &w, &rule, &prefix, terms, &n, &scope, err);
	if (r < 0)
		goto out;
	rule.need = scope.facts;
	rule.lookups = scope.lookups;
	compile_guard(&rule, terms, n);
	r = format_rule(&rule, prefix, terms, n, &rule.text);
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
	marks_add(&p->marks, &scope, &rule, (int)p->nrules);
	p->log_prefixes[p->nrules] = prefix;
	p->rules[p->nrules++] = rule;
	if (p->nrules <= NFQD_INDEX_RULES)
		nfqd_rule_index_build(&p->index, p->rules, p->nrules);
	free(copy);
	return 0;

out_text:
	free(rule.text);
out:
	free(prefix);
	refs_truncate(&p->refs, nlookups, nifaces);
	free(copy);
	return r;
}

const struct nfqd_rule *nfqd_policy_rules(const struct nfqd_policy *p, unsigned int *n)
{
	*n = p->nrules;
	return p->rules;
}

const struct nfqd_rule_index *nfqd_policy_rule_index(const struct nfqd_policy *p)
{
	return &p->index;
}

const struct nfqd_term *nfqd_policy_terms(const struct nfqd_policy *p)
{
	return p->terms;
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

const char *nfqd_policy_rule_verdict_text(const struct nfqd_policy *p, unsigned int i, char *buf,
					  size_t size)
{
	if (!p || i >= p->nrules)
		return NULL;
	return rule_verdict_text(&p->rules[i], buf, size);
}

int nfqd_policy_rule_reject(const struct nfqd_policy *p, unsigned int i)
{
	if (!p || i >= p->nrules)
		return NFQD_REJECT_NONE;
	return p->rules[i].reject;
}

uint32_t nfqd_policy_reject_answers(const struct nfqd_policy *p)
{
	uint32_t answers = 0;

	for (unsigned int i = 0; i < p->nrules; i++)
		answers |= nfqd_reject_answers_of(p->rules[i].reject);
	return answers;
}

unsigned int nfqd_policy_log_rules(const struct nfqd_policy *p)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < p->nrules; i++)
		n += !!(p->rules[i].flags & NFQD_DECISION_LOG);
	return n;
}

const char *nfqd_policy_rule_log_prefix(const struct nfqd_policy *p, unsigned int i)
{
	if (!p || i >= p->nrules)
		return NULL;
	return p->log_prefixes[i];
}

unsigned int nfqd_policy_lookup_count(const struct nfqd_policy *p)
{
	return p->refs.nlookups;
}

const struct nfqd_set_lookup *nfqd_policy_lookup(const struct nfqd_policy *p, unsigned int i)
{
	if (!p || i >= p->refs.nlookups)
		return NULL;
	return &p->refs.lookups[i].pub;
}

uint32_t nfqd_policy_rule_lookups(const struct nfqd_policy *p, unsigned int i)
{
	if (!p || i >= p->nrules)
		return 0;
	return p->rules[i].lookups;
}

unsigned int nfqd_policy_iface_count(const struct nfqd_policy *p)
{
	return p->refs.nifaces;
}

const char *nfqd_policy_iface_name(const struct nfqd_policy *p, unsigned int i)
{
	if (!p || i >= p->refs.nifaces)
		return NULL;
	return p->refs.ifaces[i];
}

void nfqd_policy_iface_set_index(const struct nfqd_policy *p, unsigned int i, uint32_t ifindex)
{
	if (!p || i >= p->refs.nifaces)
		return;
	/* workers read it with a relaxed load: an index stands alone, nothing else is ordered */
	__atomic_store_n(&p->refs.ifindex[i], ifindex, __ATOMIC_RELAXED);
}

uint32_t nfqd_policy_iface_index(const struct nfqd_policy *p, unsigned int i)
{
	if (!p || i >= p->refs.nifaces)
		return 0;
	return __atomic_load_n(&p->refs.ifindex[i], __ATOMIC_RELAXED);
}

void nfqd_policy_marks(const struct nfqd_policy *p, struct nfqd_policy_marks *m)
{
	*m = p->marks;
}

/* Fill every field of *d: the verdict of rule i (-1: a verdict not from a rule). */
static void decide(struct nfqd_decision *d, uint32_t verdict, int i, uint32_t flags,
		   const struct nfqd_mark *mark, const struct nfqd_eval *e)
{
	d->verdict = verdict;
	d->rule = i;
	d->flags = flags;
	d->mark = mark ? mark->value : 0;
	d->mark_mask = mark ? mark->mask : 0;
	d->lookups_read = e->lookups_read;
	d->failed_lookup = -1;
	d->reject = NFQD_REJECT_NONE;
}

/*
 * Evaluate rule i, whose need and guard the packet meets: its remaining terms in their order.
 * Returns true when it decides (a match, or a failed set lookup), with *d filled. Inlined in
 * both loops of the evaluator: a call per candidate rule cost about a sixth of an evaluation.
 */
static inline __attribute__((always_inline)) bool
eval_rule(const struct nfqd_policy *p, unsigned int i, struct nfqd_eval *e, struct nfqd_decision *d)
{
	const struct nfqd_rule *r = &p->rules[i];
	int res = NFQD_TERM_HIT;

	/* a packet read from queue N handed back to queue N would loop */
	if ((uint32_t)e->pkt->queue == r->loop_queue)
		return false;
	for (unsigned int j = 0; j < r->nrest && res == NFQD_TERM_HIT; j++)
		res = nfqd_match_eval(&p->terms[r->first + r->rest[j]], e);
	if (res == NFQD_TERM_FAILED) {
		decide(d, p->on_set_error, (int)i, e->flags | NFQD_DECISION_SET_FAILED, NULL, e);
		d->failed_lookup = e->failed_lookup;
		return true;
	}
	if (res == NFQD_TERM_HIT) {
		decide(d, r->verdict, (int)i, e->flags | r->flags,
		       (r->flags & NFQD_DECISION_SET_MARK) ? &r->set_mark : NULL, e);
		d->reject = r->reject;
		return true;
	}
	return false;
}

/*
 * Start an evaluation: *e for the packet, and for an unreadable one its flags, or the decision
 * itself when the rules are not evaluated for it. Returns true when *d is decided.
 */
static bool eval_begin(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
		       const struct nfqd_set_answers *ans, struct nfqd_eval *e,
		       struct nfqd_decision *d)
{
	static const struct nfqd_set_answers none;

	*e = (struct nfqd_eval){
		.pkt = pkt,
		.ans = ans ? ans : &none,
		.ifindex = p->refs.ifindex,
		.failed_lookup = -1,
	};
	if (!(pkt->flags & NFQD_PKT_UNREADABLE))
		return false;
	/* what could not be read says nothing of the other packets of the flow */
	e->flags = NFQD_DECISION_UNREADABLE | NFQD_DECISION_PER_PACKET;
	if (p->on_unreadable == NFQD_ON_UNREADABLE_EVALUATE)
		return false;
	decide(d, p->on_unreadable == NFQD_ON_UNREADABLE_ACCEPT ? NF_ACCEPT : NF_DROP, -1, e->flags,
	       NULL, e);
	return true;
}

/* The first term of rule r whose facts the packet lacks (rule r's need is not met). */
static unsigned int first_unmet_term(const struct nfqd_policy *p, const struct nfqd_rule *r,
				     uint64_t facts)
{
	for (unsigned int j = 0; j < r->nterms; j++) {
		const struct nfqd_term *t = &p->terms[r->first + j];
		struct nfqd_need need = { .proto = -1 };

		nfqd_match_table[t->kind].need(t, &need);
		if ((facts & need.facts) != need.facts)
			return j;
	}
	return 0;
}

void nfqd_policy_eval_trace(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
			    const struct nfqd_set_answers *ans, struct nfqd_decision *d,
			    struct nfqd_explain_rule *trace)
{
	uint64_t facts = nfqd_packet_facts(pkt);
	struct nfqd_eval e;

	if (trace)
		memset(trace, 0, p->nrules * sizeof(*trace));
	if (eval_begin(p, pkt, ans, &e, d)) {
		for (unsigned int i = 0; trace && i < p->nrules; i++)
			trace[i].why = NFQD_EXPLAIN_SKIPPED;
		return;
	}
	for (unsigned int i = 0; i < p->nrules; i++) {
		const struct nfqd_rule *r = &p->rules[i];
		int res = NFQD_TERM_HIT;
		unsigned int j = 0;

		if ((uint32_t)pkt->queue == r->loop_queue || (facts & r->need) != r->need) {
			if (trace && (uint32_t)pkt->queue == r->loop_queue)
				trace[i].why = NFQD_EXPLAIN_LOOP;
			else if (trace)
				trace[i] = (struct nfqd_explain_rule){
					.why = NFQD_EXPLAIN_UNKNOWN,
					.term = (uint8_t)first_unmet_term(p, r, facts),
				};
			continue;
		}
		for (; j < r->nterms; j++) {
			res = nfqd_match_eval(&p->terms[r->first + j], &e);
			if (res != NFQD_TERM_HIT)
				break;
		}
		if (trace) {
			static const uint8_t why[] = {
				[NFQD_TERM_MISS] = NFQD_EXPLAIN_MISS,
				[NFQD_TERM_HIT] = NFQD_EXPLAIN_HIT,
				[NFQD_TERM_UNKNOWN] = NFQD_EXPLAIN_UNKNOWN,
				[NFQD_TERM_FAILED] = NFQD_EXPLAIN_FAILED,
			};

			trace[i] =
				(struct nfqd_explain_rule){ .why = why[res], .term = (uint8_t)j };
		}
		if (res == NFQD_TERM_FAILED) {
			decide(d, p->on_set_error, (int)i, e.flags | NFQD_DECISION_SET_FAILED, NULL,
			       &e);
			d->failed_lookup = e.failed_lookup;
			return;
		}
		if (res == NFQD_TERM_HIT) {
			decide(d, r->verdict, (int)i, e.flags | r->flags,
			       (r->flags & NFQD_DECISION_SET_MARK) ? &r->set_mark : NULL, &e);
			d->reject = r->reject;
			return;
		}
	}
	decide(d, p->default_verdict, -1, e.flags, NULL, &e);
}

void nfqd_policy_eval_terms(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
			    const struct nfqd_set_answers *ans, struct nfqd_decision *d)
{
	nfqd_policy_eval_trace(p, pkt, ans, d, NULL);
}

void nfqd_policy_eval(const struct nfqd_policy *p, const struct nfqd_packet *pkt,
		      const struct nfqd_set_answers *ans, struct nfqd_decision *d)
{
	uint64_t facts = nfqd_packet_facts(pkt);
	uint64_t candidates;
	struct nfqd_eval e;

	if (eval_begin(p, pkt, ans, &e, d))
		return;
	/*
	 * Every term reads facts the rule's need holds, and a term whose fact is unknown matches
	 * neither plain nor negated; the guard's terms are pure: a rule the index leaves out
	 * would neither match nor have an effect. Past that, the terms only compare.
	 */
	candidates = nfqd_rule_index_candidates(&p->index, pkt, facts);
	while (candidates) {
		unsigned int i = (unsigned int)__builtin_ctzll(candidates);

		candidates &= candidates - 1;
		if (eval_rule(p, i, &e, d))
			return;
	}
	for (unsigned int i = p->index.nrules; i < p->nrules; i++) {
		const struct nfqd_rule *r = &p->rules[i];

		if ((facts & r->need) != r->need || !nfqd_guard_pass(&r->guard, pkt))
			continue;
		if (eval_rule(p, i, &e, d))
			return;
	}
	decide(d, p->default_verdict, -1, e.flags, NULL, &e);
}
