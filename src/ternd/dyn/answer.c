/* Answer selection: static RRsets pass through; dynamic resolvers plug in by rrset.dyn id. */
#include "ternd/dyn/answer.h"

#include "lib/error.h"

int answer_select(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out)
{
	(void)client; /* static data is the same for every client */
	if (rs->dyn != 0)
		return TERN_ENOTFOUND; /* no dynamic resolver is registered under this id */
	out->rrset = rs;
	out->ttl = rs->ttl;
	out->ecs_scope = 0;
	return 0;
}
