/* libFuzzer harness for the update ACL of a TSIG key made over the API (POST /api/v1/tsig-keys): the
 * input is the "acl" JSON, read by api_tsig_acl_parse(). Accepted: 1 to API_TSIG_RULES_MAX rules,
 * each list within API_TSIG_ITEMS_MAX, zones and names lower-cased wire names, a name's wildcard
 * label only first or as the last but the root's, types no meta-type nor DYN, actions add or
 * delete. Refused: TERN_EINVAL with a field starting with "acl" and a reason, nothing left behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/name.h"
#include "lib/rr.h"
#include "ternd/api/api_impl.h"

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_tsig_acl: invariant violated: %s\n", what);
	abort();
}

static bool lowered(const uint8_t *n)
{
	for (const uint8_t *l = n; *l; l += *l + 1)
		for (unsigned i = 1; i <= *l; i++)
			if (l[i] >= 'A' && l[i] <= 'Z')
				return false;
	return true;
}

static void check_name(const uint8_t *n, bool rule)
{
	if (name_len(n) < 1 || name_len(n) > NAME_MAXLEN || !lowered(n))
		fail("a name that is not a lower-cased wire name");
	int labels = name_labels(n), i = 0;
	for (const uint8_t *l = n; *l; l += *l + 1, i++)
		if (*l == 1 && l[1] == '*' && (!rule || (i != 0 && !(i == labels - 1 && i == 1))))
			fail("a wildcard label where a rule may not have one");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *acl = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!acl)
		return 0;
	struct config_update_rule *r = NULL;
	size_t n = 7;
	char field[64] = "", why[160] = "";
	int rc = api_tsig_acl_parse(acl, &r, &n, field, sizeof(field), why, sizeof(why));
	if (rc == 0) {
		if (!r || n < 1 || n > API_TSIG_RULES_MAX || n != json_array_size(acl))
			fail("accepted a list of no rule or too many");
		for (size_t i = 0; i < n; i++) {
			if (r[i].nzones > API_TSIG_ITEMS_MAX || r[i].nnames > API_TSIG_ITEMS_MAX ||
			    r[i].ntypes > API_TSIG_ITEMS_MAX || r[i].nactions > API_TSIG_ITEMS_MAX || r[i].key_ref)
				fail("a rule past its limits, or naming a key");
			for (size_t k = 0; k < r[i].nzones; k++)
				check_name(r[i].zones[k], false);
			for (size_t k = 0; k < r[i].nnames; k++)
				check_name(r[i].names[k], true);
			for (size_t k = 0; k < r[i].ntypes; k++)
				if (rr_type_is_meta(r[i].types[k].type) || r[i].types[k].type == RR_DYN)
					fail("a meta-type or DYN allowed");
			for (size_t k = 0; k < r[i].nactions; k++)
				if (r[i].actions[k].action != CONFIG_UPDATE_ADD &&
				    r[i].actions[k].action != CONFIG_UPDATE_DELETE)
					fail("an action neither add nor delete");
		}
		api_tsig_acl_free(r, n);
	} else {
		if (rc != TERN_EINVAL && rc != TERN_ENOMEM)
			fail("a refusal that is neither TERN_EINVAL nor TERN_ENOMEM");
		if (r || n)
			fail("a refusal left rules behind");
		if (rc == TERN_EINVAL && (strncmp(field, "acl", 3) != 0 || !why[0] || !memchr(why, 0, sizeof(why))))
			fail("a refusal without a field under acl or a reason");
	}
	json_decref(acl);
	return 0;
}
