/* Domain names in uncompressed wire form: comparison, case folding, hashing and text conversion. */
#include "lib/name.h"

#include <endian.h>
#include <string.h>

#include "lib/error.h"

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

size_t name_len(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p)
		p += *p + 1;
	return (size_t)(p - name) + 1;
}

int name_labels(const uint8_t *name)
{
	int n = 0;
	for (const uint8_t *p = name; *p; p += *p + 1)
		n++;
	return n;
}

int name_check(const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		uint8_t l = buf[pos];
		if (l == 0)
			return pos + 1 <= NAME_MAXLEN ? (int)(pos + 1) : TERN_ENAME;
		if (l > NAME_MAXLABEL)
			return TERN_ENAME;
		pos += (size_t)l + 1;
		if (pos >= NAME_MAXLEN)
			return TERN_ENAME;
	}
	return TERN_ENAME;
}

const uint8_t *name_parent(const uint8_t *name)
{
	return *name ? name + *name + 1 : NULL;
}

void name_lower(uint8_t *name)
{
	for (uint8_t *p = name; *p; p += *p + 1)
		for (int i = 1; i <= *p; i++)
			p[i] = lower(p[i]);
}

void name_lower_copy(uint8_t *dst, const uint8_t *src, size_t len)
{
	/* label lengths are below 64 and never in 'A'..'Z', so they pass through unchanged */
	for (size_t i = 0; i < len; i++)
		dst[i] = lower(src[i]);
}

bool name_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		if (*a == 0)
			return true;
		for (int i = 1; i <= *a; i++)
			if (lower(a[i]) != lower(b[i]))
				return false;
		a += *a + 1;
		b += *b + 1;
	}
}

bool name_in(const uint8_t *sub, const uint8_t *parent)
{
	int ds = name_labels(sub), dp = name_labels(parent);
	if (ds < dp)
		return false;
	while (ds-- > dp)
		sub += *sub + 1;
	return name_equal(sub, parent);
}

/* Offsets of each label start, so names can be walked from the root. */
static int label_offsets(const uint8_t *name, uint8_t offs[NAME_MAXLABELS])
{
	int n = 0;
	for (const uint8_t *p = name; *p; p += *p + 1)
		offs[n++] = (uint8_t)(p - name);
	return n;
}

int name_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[NAME_MAXLABELS], ob[NAME_MAXLABELS];
	int na = label_offsets(a, oa), nb = label_offsets(b, ob);
	while (na > 0 && nb > 0) {
		const uint8_t *la = a + oa[--na], *lb = b + ob[--nb];
		int n = *la < *lb ? *la : *lb;
		for (int i = 1; i <= n; i++) {
			int d = lower(la[i]) - lower(lb[i]);
			if (d)
				return d;
		}
		if (*la != *lb)
			return *la - *lb;
	}
	return na - nb;
}

/* Hashes are built label by label from the root: a name's hash is its parent's, taken on by
 * its first label -- the label's length octet and octets, lower-cased, eight at a time as
 * little-endian words, the last one padded with zeros. So the hashes of all suffixes of a name
 * come out of one pass (name_suffix_hashes, name_scan) and equal name_hash() of each suffix, and
 * a child's hash is one label's work from its parent's. name_scan() lower-cases and hashes a word
 * at a time, the others gather the same words an octet at a time. */
#define HASH_SEED 0x9e3779b9u
#define HASH_WORD_MUL 0x9fb21c651e98df25ull

static inline uint64_t hash_word(uint64_t h, uint64_t word)
{
	h = (h ^ word) * HASH_WORD_MUL;
	return h ^ (h >> 29);
}

static inline uint32_t hash_fold(uint64_t h)
{
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* Eight octets lower-cased at once: 0x20 added to each of 'A'..'Z' (no carry crosses an octet). */
static inline uint64_t lower8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t low7 = x & (0x7f * ones);
	uint64_t upper = (low7 + (0x80 - 'A') * ones) & ~(low7 + (0x80 - 'Z' - 1) * ones) & ~x & (0x80 * ones);
	return x | upper >> 2;
}

/* The hash of label.<the name hashing to parent> (lower-cased when fold): its words copied out
 * (nothing past the label is read), the last one padded with zeros. */
static inline uint32_t hash_label(uint32_t parent, const uint8_t *label, bool fold)
{
	uint64_t h = parent;
	size_t total = (size_t)label[0] + 1;
	for (size_t i = 0; i < total; i += 8) {
		uint64_t word = 0;
		memcpy(&word, label + i, total - i < 8 ? total - i : 8);
		word = le64toh(word);
		h = hash_word(h, fold ? lower8(word) : word);
	}
	return hash_fold(h);
}

uint32_t name_hash(const uint8_t *name)
{
	uint8_t offs[NAME_MAXLABELS];
	int n = label_offsets(name, offs);
	uint32_t h = HASH_SEED;
	while (n > 0)
		h = hash_label(h, name + offs[--n], true);
	return h;
}

uint32_t name_hash_prepend(uint32_t hash, const uint8_t *label)
{
	return hash_label(hash, label, true);
}

int name_suffix_hashes(const uint8_t *lname, uint32_t out[NAME_MAXLABELS + 1])
{
	uint8_t offs[NAME_MAXLABELS];
	int n = label_offsets(lname, offs);
	uint32_t h = HASH_SEED;
	out[n] = h;
	for (int i = n - 1; i >= 0; i--)
		out[i] = h = hash_label(h, lname + offs[i], false);
	return n;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

static inline void store64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* Whole names up to this length are lower-cased a word at a time with room behind them in lout
 * (NAME_MAXLEN octets) for the words a label's hashing reads past the name. */
#define SCAN_WORDS_MAX 240

int name_scan(const uint8_t *src, size_t avail, uint8_t lout[NAME_MAXLEN], uint32_t hashes[NAME_MAXLABELS + 1],
              int *labels)
{
	uint8_t offs[NAME_MAXLABELS];
	size_t p = 0;
	int n = 0;
	for (;;) { /* the labels' offsets, and the name whole and uncompressed */
		if (p >= avail)
			return -1;
		uint8_t l = src[p];
		if (l == 0)
			break;
		if (l > NAME_MAXLABEL || p + 1 + l >= NAME_MAXLEN || p + 1 + l >= avail)
			return -1; /* a pointer, an obsolete label type, too long, or cut short */
		offs[n++] = (uint8_t)p;
		p += (size_t)l + 1;
	}
	size_t len = p + 1, words = (len + 7) & ~(size_t)7;
	uint32_t h = HASH_SEED;
	hashes[n] = h;
	if (len > SCAN_WORDS_MAX || words > avail) { /* near the end of the message: an octet at a time */
		for (size_t i = 0; i < len; i++)
			lout[i] = lower(src[i]);
		for (int i = n - 1; i >= 0; i--)
			hashes[i] = h = hash_label(h, lout + offs[i], false);
		*labels = n;
		return (int)len;
	}
	/* the name's words lower-cased (octets past it too, in words, then one of zeros), then each
	 * label's words from the root, the octets past the label masked off */
	for (size_t i = 0; i < words; i += 8)
		store64(lout + i, lower8(load64(src + i)));
	store64(lout + words, 0);
	lout[p] = 0;
	for (int i = n - 1; i >= 0; i--) {
		const uint8_t *label = lout + offs[i];
		unsigned left = label[0] + 1u; /* octets of the label's words still to hash */
		uint64_t hw = h;
		for (; left > 8; left -= 8, label += 8)
			hw = hash_word(hw, load64(label));
		hashes[i] = h = hash_fold(hash_word(hw, load64(label) & (~0ull >> (64 - 8 * left))));
	}
	*labels = n;
	return (int)len;
}

bool name_is_wildcard(const uint8_t *name)
{
	return name[0] == 1 && name[1] == '*';
}

int name_from_text(uint8_t out[NAME_MAXLEN], const char *text, const uint8_t *origin)
{
	size_t pos = 0;
	if (strcmp(text, "@") == 0) {
		if (!origin)
			return TERN_ENAME;
		size_t l = name_len(origin);
		memcpy(out, origin, l);
		return (int)l;
	}
	if (strcmp(text, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	const char *p = text;
	bool absolute = false;
	while (*p) {
		size_t lstart = pos++;
		int llen = 0;
		while (*p && *p != '.') {
			int c = (unsigned char)*p++;
			if (c == '\\') {
				if (p[0] >= '0' && p[0] <= '9') {
					if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
						return TERN_ENAME;
					c = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
					if (c > 255)
						return TERN_ENAME;
					p += 3;
				} else if (*p) {
					c = (unsigned char)*p++;
				} else {
					return TERN_ENAME;
				}
			}
			if (++llen > NAME_MAXLABEL || pos >= NAME_MAXLEN - 1)
				return TERN_ENAME;
			out[pos++] = (uint8_t)c;
		}
		if (llen == 0)
			return TERN_ENAME; /* empty label */
		out[lstart] = (uint8_t)llen;
		if (*p == '.') {
			p++;
			if (*p == 0)
				absolute = true;
		}
	}
	if (pos == 0)
		return TERN_ENAME;
	if (!absolute && origin) {
		size_t l = name_len(origin);
		if (pos + l > NAME_MAXLEN)
			return TERN_ENAME;
		memcpy(out + pos, origin, l);
		return (int)(pos + l);
	}
	out[pos++] = 0;
	return (int)pos;
}

int name_to_text(const uint8_t *name, char *out, size_t cap)
{
	size_t o = 0;
	if (*name == 0) {
		if (cap < 2)
			return TERN_ESPACE;
		out[0] = '.';
		out[1] = 0;
		return 1;
	}
	for (const uint8_t *p = name; *p; p += *p + 1) {
		for (int i = 1; i <= *p; i++) {
			uint8_t c = p[i];
			bool special = c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' ||
			               c == '@' || c == '$';
			size_t need = special ? 2 : (c <= 32 || c >= 127) ? 4 : 1;
			if (o + need + 1 > cap) /* room for the text and the final NUL */
				return TERN_ESPACE;
			if (special) {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (need == 4) {
				out[o++] = '\\';
				out[o++] = (char)('0' + c / 100);
				out[o++] = (char)('0' + c / 10 % 10);
				out[o++] = (char)('0' + c % 10);
			} else {
				out[o++] = (char)c;
			}
		}
		if (o + 2 > cap)
			return TERN_ESPACE;
		out[o++] = '.';
	}
	out[o] = 0;
	return (int)o;
}
