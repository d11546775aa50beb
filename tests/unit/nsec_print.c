/* Test helper: loads a zone file, adds its NSEC or NSEC3 chain (lib/nsec.c) through zone_apply()
 * and prints the chain's records in presentation form, for comparison with another signer's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/nsec.h"
#include "lib/rr.h"
#include "lib/rrtext.h"
#include "lib/zone.h"
#include "lib/zonefile.h"

static int usage(void)
{
	fprintf(stderr, "usage: nsec_print ZONEFILE APEX nsec|nsec3 [optout]\n");
	return 2;
}

static int print_chain(const struct zone *z)
{
	const struct zone_node **nodes;
	size_t n;
	if (zone_nodes_sorted(z, &nodes, &n) < 0)
		return TERN_ENOMEM;
	static char rd[70000];
	for (size_t i = 0; i < n; i++)
		for (uint16_t k = 0; k < nodes[i]->nrrsets; k++) {
			const struct rrset *rs = &nodes[i]->rrsets[k];
			if (rs->type != RR_NSEC && rs->type != RR_NSEC3 && rs->type != RR_NSEC3PARAM)
				continue;
			char owner[1024], type[RRTEXT_TYPE_MAXLEN];
			name_to_text(nodes[i]->owner, owner, sizeof(owner));
			rrtext_type_to_text(rs->type, type, sizeof(type));
			const uint8_t *rec = rs->rdata;
			for (uint16_t r = 0; r < rs->count; r++, rec = rdata_next(rec)) {
				if (rrtext_rdata_to_text(rs->type, rdata_bytes(rec), rdata_len(rec), rd, sizeof(rd)) <
				    0)
					return TERN_ESPACE;
				printf("%s %u IN %s %s\n", owner, rs->ttl, type, rd);
			}
		}
	free(nodes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5)
		return usage();
	struct nsec_params p = {0};
	if (strcmp(argv[3], "nsec3") == 0)
		p.nsec3 = true;
	else if (strcmp(argv[3], "nsec") != 0)
		return usage();
	if (argc == 5 && !(p.optout = strcmp(argv[4], "optout") == 0))
		return usage();
	uint8_t apex[NAME_MAXLEN];
	static char err[8192];
	struct zone *z = NULL, *signed_z = NULL;
	struct nsec_changes ch = {0};
	struct zone_apply_error e;
	if (name_from_text(apex, argv[2], NULL) < 0) {
		fprintf(stderr, "bad apex %s\n", argv[2]);
		return 1;
	}
	name_lower(apex);
	int rc = zonefile_load(argv[1], apex, &z, err, sizeof(err));
	if (rc == 0)
		rc = nsec_chain_build(z, &p, NULL, &ch, err, sizeof(err));
	if (rc == 0 && (rc = zone_apply(z, ch.v, ch.n, &signed_z, &e)) < 0)
		snprintf(err, sizeof(err), "%s", e.msg);
	if (rc == 0)
		rc = print_chain(signed_z);
	if (rc < 0)
		fprintf(stderr, "nsec_print: %s\n", err[0] ? err : tern_strerror(rc));
	nsec_changes_free(&ch);
	if (signed_z)
		zone_discard(signed_z);
	zone_free(z);
	return rc < 0 ? 1 : 0;
}
