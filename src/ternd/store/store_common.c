/* What both store backends check and compute alike (store_common.h). */
#include "ternd/store/store_common.h"

#include <stdio.h>
#include <string.h>

#include "lib/error.h"

/* err may be NULL (errlen 0): callers that only want the code */
#define say(err, errlen, ...) ((err) && (errlen) ? (void)snprintf((err), (errlen), __VA_ARGS__) : (void)0)

int store_sort_key(const uint8_t *lname, uint8_t key[STORE_SORT_KEY_MAX])
{
	uint8_t offs[NAME_MAXLABELS];
	int n = 0, len = 0;
	for (int o = 0; lname[o]; o += lname[o] + 1)
		offs[n++] = (uint8_t)o;
	while (n > 0) {
		const uint8_t *l = lname + offs[--n];
		for (int i = 1; i <= l[0]; i++) {
			if (l[i] <= 1) {
				key[len++] = 1;
				key[len++] = (uint8_t)(l[i] + 1);
			} else {
				key[len++] = l[i];
			}
		}
		key[len++] = 0;
	}
	return len;
}

int store_cursor_key(const uint8_t *after, uint8_t key[STORE_SORT_KEY_MAX + 1], size_t *klen, char *err, size_t errlen)
{
	uint8_t lafter[NAME_MAXLEN];
	int rc;
	*klen = 0;
	if (!after)
		return 0;
	if ((rc = store_take_name(after, lafter, "cursor", err, errlen)) < 0)
		return rc;
	*klen = (size_t)store_sort_key(lafter, key);
	key[(*klen)++] = 0;
	return 0;
}

int store_take_name(const uint8_t *in, uint8_t out[NAME_MAXLEN], const char *what, char *err, size_t errlen)
{
	int n = in ? name_check(in, NAME_MAXLEN) : TERN_ENAME;
	if (n < 0) {
		say(err, errlen, "bad %s name", what);
		return TERN_ENAME;
	}
	name_lower_copy(out, in, (size_t)n);
	return n;
}

int store_take_zone_names(const uint8_t *apex, const uint8_t *owner, uint8_t lapex[NAME_MAXLEN],
                          uint8_t lowner[NAME_MAXLEN], char *err, size_t errlen)
{
	char zn[STORE_NAME_TEXT_MAX], on[STORE_NAME_TEXT_MAX];
	int rc = store_take_name(apex, lapex, "zone", err, errlen);
	if (rc < 0 || !lowner)
		return rc < 0 ? rc : 0;
	if ((rc = store_take_name(owner, lowner, "owner", err, errlen)) < 0)
		return rc;
	if (!name_in(lowner, lapex)) {
		say(err, errlen, "owner %s is outside zone %s", store_name_text(lowner, on),
		    store_name_text(lapex, zn));
		return TERN_EINVAL;
	}
	return 0;
}

int store_take_text(const char *s, size_t max, const char *what, char *err, size_t errlen)
{
	if (!s || !*s) {
		say(err, errlen, "%s is empty", what);
		return TERN_EINVAL;
	}
	if (strnlen(s, max + 1) > max) {
		say(err, errlen, "%s is longer than %zu bytes", what, max);
		return TERN_EINVAL;
	}
	return 0;
}

const char *store_name_text(const uint8_t *name, char buf[STORE_NAME_TEXT_MAX])
{
	if (name_to_text(name, buf, STORE_NAME_TEXT_MAX) < 0)
		snprintf(buf, STORE_NAME_TEXT_MAX, "(unprintable name)");
	return buf;
}
