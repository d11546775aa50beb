/* Answer selection: the resolvers of dynamic RRsets, found by rrset.dyn id (static RRsets pass
 * through answer_select() in answer.h). */
#include "ternd/dyn/answer.h"

#include "lib/error.h"

int answer_resolve(const struct answer_client *client, const struct rrset *rs, struct answer_rrs *out)
{
	(void)client;
	(void)rs;
	(void)out;
	return TERN_ENOTFOUND; /* no dynamic resolver is registered under any id yet */
}
