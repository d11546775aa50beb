/* The store's change journal as IXFR reads it: each entry's RR lists turned into records, read
 * in a snapshot of its own so a write committing meanwhile cannot tear the history. */
#include <stdlib.h>

#include "lib/error.h"
#include "ternd/api/api_impl.h"
#include "ternd/base/log.h"

struct journal_read {
	xfr_diff_fn fn;
	void *arg;
	int result; /* what fn returned last */
};

/* Turns an RR list into records (pointing into the list). */
static int list_records(const uint8_t *list, size_t len, struct xfr_rr **out, size_t *n)
{
	size_t pos = 0, count = 0, cap = 0;
	struct xfr_rr *rrs = NULL;
	struct store_rr rr;
	int rc;
	while ((rc = store_rr_next(list, len, &pos, &rr)) == 1) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			struct xfr_rr *grown = realloc(rrs, cap * sizeof(*rrs));
			if (!grown) {
				free(rrs);
				return TERN_ENOMEM;
			}
			rrs = grown;
		}
		rrs[count++] = (struct xfr_rr){rr.owner, rr.type, rr.ttl, rr.rdlen, rr.rdata};
	}
	if (rc < 0) {
		free(rrs);
		return rc;
	}
	*out = rrs;
	*n = count;
	return 0;
}

static int journal_entry(const struct store_journal_entry *e, void *arg)
{
	struct journal_read *r = arg;
	struct xfr_diff d = {.serial_from = e->serial_from, .serial_to = e->serial_to};
	struct xfr_rr *removed = NULL, *added = NULL;
	int rc = list_records(e->removed, e->removed_len, &removed, &d.nremoved);
	if (rc == 0)
		rc = list_records(e->added, e->added_len, &added, &d.nadded);
	if (rc == 0) {
		d.removed = removed;
		d.added = added;
		rc = r->result = r->fn(&d, r->arg);
	}
	free(removed);
	free(added);
	return rc; /* 1 stops the walk */
}

static int journal_read(void *ctx, const uint8_t *apex, uint32_t from, xfr_diff_fn fn, void *arg)
{
	struct store *st = ctx;
	struct journal_read r = {.fn = fn, .arg = arg};
	struct store_txn *t = NULL;
	char err[256] = "";
	int rc = store_begin_read(st, &t, err, sizeof(err));
	if (rc == 0) {
		rc = store_journal_read_from(t, apex, from, journal_entry, &r, err, sizeof(err));
		store_rollback(t);
	}
	if (rc < 0 && rc != TERN_ENOTFOUND && rc != r.result)
		log_warning("IXFR: reading the journal: %s", err[0] ? err : tern_strerror(rc));
	return rc < 0 ? rc : 0;
}

void api_journal_init(struct api *a)
{
	a->journal = (struct xfr_journal){.read = journal_read, .ctx = a->store};
}

const struct xfr_journal *api_journal(const struct api *a)
{
	return a && a->store ? &a->journal : NULL;
}
