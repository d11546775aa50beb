/* tern check: the user's name checked and made absolute, IDNs converted (libidn2, IDNA2008). */
#include "lib/check_input.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"

static bool is_ip_literal(const char *s)
{
	unsigned char buf[16];
	char tmp[CHECK_NAME_TEXT];
	check_copy(tmp, sizeof(tmp), s);
	size_t n = strlen(tmp);
	if (n && tmp[n - 1] == '.')
		tmp[n - 1] = 0;
	if (tmp[0] == '[' && tmp[strlen(tmp) - 1] == ']') {
		memmove(tmp, tmp + 1, strlen(tmp));
		tmp[strlen(tmp) - 1] = 0;
	}
	return inet_pton(AF_INET, tmp, buf) == 1 || inet_pton(AF_INET6, tmp, buf) == 1;
}

int check_input_name(const char *in, char out[CHECK_NAME_TEXT], char *unicode, size_t unicode_cap, char *err,
                     size_t errlen)
{
	size_t n = strlen(in);
	if (unicode)
		check_copy(unicode, unicode_cap, in);
	if (n == 0) {
		snprintf(err, errlen, "the name is empty");
		return TERN_ENAME;
	}
	if (n > 1024) {
		snprintf(err, errlen, "the name is %zu characters long; a domain name has at most 253", n);
		return TERN_ENAME;
	}
	if (is_ip_literal(in)) {
		snprintf(err, errlen, "\"%s\" is an IP address, not a domain name", in);
		return TERN_ENAME;
	}
	bool ascii = true;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++)
		ascii &= *p < 0x80;
	char name[1100];
	if (ascii) {
		check_copy(name, sizeof(name), in);
	} else {
		char *alabel = NULL;
		int rc = idn2_to_ascii_8z(in, &alabel, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		if (rc != IDN2_OK) {
			snprintf(err, errlen, "\"%.200s\" is not a valid internationalized name: %s", in,
			         idn2_strerror(rc));
			return TERN_ENAME;
		}
		check_copy(name, sizeof(name), alabel);
		idn2_free(alabel);
	}
	n = strlen(name);
	if (n == 0) { /* an internationalized input whose A-label form is empty */
		snprintf(err, errlen, "\"%.200s\" is no name once converted to its A-labels", in);
		return TERN_ENAME;
	}
	if (strcmp(name, ".") == 0) {
		snprintf(err, errlen, "the root is not a domain that can be checked");
		return TERN_ENAME;
	}
	if (name[0] == '.' || strstr(name, "..")) {
		snprintf(err, errlen, "\"%.200s\" has an empty label (two dots, or a leading dot)", in);
		return TERN_ENAME;
	}
	size_t label = 0, wire = 1;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (ch == '.') {
			wire += label + 1;
			label = 0;
			continue;
		}
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		          ch == '-' || ch == '_' || ch == '*';
		if (!ok) {
			snprintf(err, errlen,
			         "\"%.200s\" holds '%c' (0x%02x): a host name has only letters, digits, '-' and '_'",
			         in, ch >= 0x20 && ch < 0x7f ? ch : '?', (unsigned char)ch);
			return TERN_ENAME;
		}
		if (++label > 63) {
			snprintf(err, errlen, "\"%.200s\" has a label longer than 63 characters", in);
			return TERN_ENAME;
		}
	}
	if (label)
		wire += label + 1;
	if (wire > 255) {
		snprintf(err, errlen, "\"%.200s\" is %zu octets in wire form; a domain name has at most 255", in, wire);
		return TERN_ENAME;
	}
	snprintf(out, CHECK_NAME_TEXT, "%.254s%s", name, name[n - 1] == '.' ? "" : "."); /* 254 with its dot */
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}
