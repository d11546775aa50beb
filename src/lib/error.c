/* Text for TERN_E* error codes. */
#include "lib/error.h"

const char *tern_strerror(int code)
{
	switch (code) {
	case TERN_OK: return "success";
	case TERN_ENOMEM: return "out of memory";
	case TERN_EINVAL: return "invalid argument";
	case TERN_ESPACE: return "no space left in buffer";
	case TERN_EMALF: return "malformed data";
	case TERN_ENAME: return "bad domain name";
	case TERN_EZONE: return "zone rule violated";
	case TERN_EIO: return "input/output error";
	case TERN_ENOTFOUND: return "not found";
	case TERN_ECONFIG: return "configuration error";
	case TERN_EEXIST: return "already exists";
	case TERN_EBUSY: return "locked";
	case TERN_EBOGUS: return "signature does not validate";
	}
	return "unknown error";
}
