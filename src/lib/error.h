/* Error codes shared by libtern and the programs: 0 is success, TERN_E* are negative. */
#pragma once

enum {
	TERN_OK = 0,
	TERN_ENOMEM = -1, /* allocation failed */
	TERN_EINVAL = -2, /* invalid argument or input */
	TERN_ESPACE = -3, /* output buffer too small */
	TERN_EMALF = -4, /* malformed wire data */
	TERN_ENAME = -5, /* bad domain name */
	TERN_EZONE = -6, /* zone content violates a rule */
	TERN_EIO = -7, /* file or socket error */
	TERN_ENOTFOUND = -8, /* no such item */
	TERN_ECONFIG = -9, /* configuration error */
	TERN_EEXIST = -10, /* item already exists */
	TERN_EBUSY = -11, /* item locked against the operation */
	TERN_EBOGUS = -12, /* a DNSSEC signature does not validate */
};

const char *tern_strerror(int code);
