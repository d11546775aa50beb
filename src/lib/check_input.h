/* tern check: what a user may name as a domain or host name, checked before anything is sent. */
#pragma once
#include <stddef.h>

#include "lib/check_query.h"

/* Normalizes user input to an absolute name in presentation form ("corp.lab."): refuses IP
 * literals, empty labels, labels over 63 octets, names over 255 octets, characters outside
 * letters, digits, '-', '_' and '.'; converts an IDN (UTF-8) to its A-label form with libidn2
 * (unicode, when not NULL, gets the name as given). 0 or TERN_ENAME with err saying why. */
int check_input_name(const char *in, char out[CHECK_NAME_TEXT], char *unicode, size_t unicode_cap, char *err,
                     size_t errlen);
