/* The rule for every RCU-published pointer in ternd (zones, secondary tables, parameters): only a
 * registered, online liburcu QSBR thread may follow one. RCU_READER_CHECK() asserts it where a
 * control thread could break the rule; the per-query paths leave it out. */
#pragma once
#include <assert.h>
#include <urcu-qsbr.h>

#define RCU_READER_CHECK() assert(rcu_read_ongoing() && "an RCU pointer followed by a thread that is no online reader")
