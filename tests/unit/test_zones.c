/* The zone set's rules for threads: what a thread that is no RCU reader may ask (the count), and
 * what asks for an online reader (RCU_READER_CHECK in zones_get, zones_find, zones_foreach). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <urcu-qsbr.h>

#include <cmocka.h>

#include "lib/name.h"
#include "lib/zonefile.h"
#include "ternd/zones/zones.h"

#define ROUNDS 3000

static struct zone *make_zone(const char *apex_text)
{
	static const char text[] = "@ 300 IN SOA ns hostmaster 1 3600 600 86400 300\n"
	                           "@ 300 IN NS ns\n"
	                           "ns 300 IN A 192.0.2.1\n";
	uint8_t apex[NAME_MAXLEN];
	char err[512];
	assert_true(name_from_text(apex, apex_text, NULL) > 0);
	struct zone *z = NULL;
	assert_int_equal(zonefile_load_string(text, strlen(text), "test", apex, &z, err, sizeof(err)), 0);
	return z;
}

struct churn {
	struct zones *zs;
	atomic_bool done;
};

/* Adds and removes a zone ROUNDS times: every round retires a zone table to the reclaim thread. */
static void *churn_run(void *arg)
{
	struct churn *c = arg;
	rcu_register_thread();
	uint8_t apex[NAME_MAXLEN];
	assert_true(name_from_text(apex, "churn.test.", NULL) > 0);
	for (int i = 0; i < ROUNDS; i++) {
		assert_int_equal(zones_publish(c->zs, make_zone("churn.test.")), 0);
		assert_int_equal(zones_remove(c->zs, apex), 0);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	atomic_store(&c->done, true);
	return NULL;
}

/* main asks for the count while another thread grows and shrinks the set and the reclaim thread
 * frees the tables replaced: the count must follow no RCU pointer (this thread is no reader), so
 * it is always one of the two sizes and never read from a freed table (ASan would stop here). */
static void test_count_from_a_thread_that_is_no_reader(void **state)
{
	(void)state;
	struct zones *zs = zones_new();
	assert_non_null(zs);
	assert_int_equal(zones_publish(zs, make_zone("stays.test.")), 0);
	struct churn c = {.zs = zs};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, churn_run, &c), 0);
	size_t reads = 0;
	while (!atomic_load(&c.done)) {
		size_t n = zones_count(zs);
		assert_true(n == 1 || n == 2);
		reads++;
	}
	pthread_join(t, NULL);
	assert_int_equal(zones_count(zs), 1);
	assert_true(reads > 0);
	zones_free(zs);
}

static void test_count_follows_publish_and_remove(void **state)
{
	(void)state;
	struct zones *zs = zones_new();
	assert_non_null(zs);
	assert_int_equal(zones_count(zs), 0);
	char name[64];
	for (int i = 0; i < 40; i++) { /* past the first table's room: it is replaced as it grows */
		snprintf(name, sizeof(name), "z%d.test.", i);
		assert_int_equal(zones_publish(zs, make_zone(name)), 0);
	}
	assert_int_equal(zones_publish(zs, make_zone("z7.test.")), 0); /* a new version, not a new zone */
	assert_int_equal(zones_count(zs), 40);
	uint8_t apex[NAME_MAXLEN];
	assert_true(name_from_text(apex, "z7.test.", NULL) > 0);
	assert_int_equal(zones_remove(zs, apex), 0);
	assert_int_not_equal(zones_remove(zs, apex), 0);
	assert_int_equal(zones_count(zs), 39);
	zones_free(zs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count_from_a_thread_that_is_no_reader),
	    cmocka_unit_test(test_count_follows_publish_and_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
