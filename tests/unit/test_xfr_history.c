/* The in-memory IXFR history (ns/xfr_history.c): changes chain from the serial asked, a change
 * that does not chain starts anew, the oldest go past the limits, a reset zone answers "not found"
 * itself, and every other zone goes to the journal behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "ternd/ns/xfr_history.h"

static const uint8_t CAT[] = "\007catalog\004tern";
static const uint8_t OTHER[] = "\005other\004test";

/* A change from..to: its SOAs (RDATA = the serial alone, enough here) and one PTR added. */
static int add(struct xfr_history *h, const uint8_t *apex, uint32_t from, uint32_t to)
{
	uint8_t sf[4] = {(uint8_t)(from >> 24), (uint8_t)(from >> 16), (uint8_t)(from >> 8), (uint8_t)from};
	uint8_t st[4] = {(uint8_t)(to >> 24), (uint8_t)(to >> 16), (uint8_t)(to >> 8), (uint8_t)to};
	static const uint8_t target[] = "\001m\004test";
	struct xfr_rr removed[1] = {{apex, RR_SOA, 0, 4, sf}};
	struct xfr_rr added[2] = {{apex, RR_SOA, 0, 4, st}, {apex, RR_PTR, 0, sizeof(target), target}};
	struct xfr_diff d = {from, to, removed, added, 1, 2};
	return xfr_history_add(h, apex, &d);
}

struct seen {
	uint32_t from[16], to[16];
	size_t n;
	int stop_after; /* 0: never */
};

static int collect(const struct xfr_diff *d, void *arg)
{
	struct seen *s = arg;
	assert_int_equal(d->nremoved, 1);
	assert_int_equal(d->nadded, 2);
	assert_int_equal(d->added[1].type, RR_PTR);
	s->from[s->n] = d->serial_from;
	s->to[s->n++] = d->serial_to;
	return s->stop_after && (int)s->n == s->stop_after ? 1 : 0;
}

static int next_calls;

static int next_read(void *ctx, const uint8_t *apex, uint32_t from, xfr_diff_fn fn, void *arg)
{
	(void)ctx, (void)fn, (void)arg, (void)from;
	assert_true(name_equal(apex, OTHER));
	next_calls++;
	return TERN_ENOTFOUND;
}

static void test_changes_chain_from_the_serial_asked(void **state)
{
	(void)state;
	struct xfr_journal next = {next_read, NULL};
	struct xfr_history *h = xfr_history_new(&next);
	const struct xfr_journal *j = xfr_history_journal(h);
	for (uint32_t s = 10; s < 14; s++)
		assert_int_equal(add(h, CAT, s, s + 1), 0);
	struct seen seen = {0};
	assert_int_equal(j->read(j->ctx, CAT, 12, collect, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.from[0], 12);
	assert_int_equal(seen.to[1], 14);
	seen = (struct seen){.stop_after = 1};
	assert_int_equal(j->read(j->ctx, CAT, 10, collect, &seen), 0);
	assert_int_equal(seen.n, 1);
	seen = (struct seen){0};
	assert_int_equal(j->read(j->ctx, CAT, 9, collect, &seen), TERN_ENOTFOUND); /* before the history */
	assert_int_equal(seen.n, 0);
	/* a zone with no history here: the journal behind answers */
	assert_int_equal(j->read(j->ctx, OTHER, 1, collect, &seen), TERN_ENOTFOUND);
	assert_int_equal(next_calls, 1);
	size_t changes, records;
	xfr_history_size(h, CAT, &changes, &records);
	assert_int_equal(changes, 4);
	assert_int_equal(records, 12);
	/* a change that does not chain starts the history anew */
	assert_int_equal(add(h, CAT, 20, 21), 0);
	assert_int_equal(j->read(j->ctx, CAT, 13, collect, &seen), TERN_ENOTFOUND);
	assert_int_equal(j->read(j->ctx, CAT, 20, collect, &seen), 0);
	assert_int_equal(seen.n, 1);
	/* reset: the zone stays this history's, with nothing in it (the journal behind is not asked) */
	xfr_history_reset(h, CAT);
	assert_int_equal(j->read(j->ctx, CAT, 20, collect, &seen), TERN_ENOTFOUND);
	assert_int_equal(next_calls, 1);
	/* dropped: the journal behind answers for it again */
	xfr_history_drop(h, CAT);
	xfr_history_free(h);
}

static void test_the_oldest_changes_go_past_the_limit(void **state)
{
	(void)state;
	struct xfr_history *h = xfr_history_new(NULL);
	const struct xfr_journal *j = xfr_history_journal(h);
	for (uint32_t s = 1; s <= XFR_HISTORY_MAX_CHANGES + 10; s++)
		assert_int_equal(add(h, CAT, s, s + 1), 0);
	size_t changes, records;
	xfr_history_size(h, CAT, &changes, &records);
	assert_int_equal(changes, XFR_HISTORY_MAX_CHANGES);
	struct seen seen = {.stop_after = 1};
	assert_int_equal(j->read(j->ctx, CAT, 10, collect, &seen), TERN_ENOTFOUND); /* dropped */
	assert_int_equal(j->read(j->ctx, CAT, 11, collect, &seen), 0);
	assert_int_equal(seen.from[0], 11);
	/* no journal behind: another zone is simply not found */
	assert_int_equal(j->read(j->ctx, OTHER, 1, collect, &seen), TERN_ENOTFOUND);
	xfr_history_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_changes_chain_from_the_serial_asked),
	    cmocka_unit_test(test_the_oldest_changes_go_past_the_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
