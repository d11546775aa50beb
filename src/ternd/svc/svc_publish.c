/* A service's ECH key pairs (one per service, so an ingress token of one service holds no other
 * service's key) and its HTTPS record `1 . alpn=h2,h3 ech=<list>`, published through the one write
 * path with the certificate's row in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ech.h"
#include "lib/error.h"
#include "lib/rr.h"
#include "ternd/base/log.h"
#include "ternd/base/rcu.h"
#include "ternd/svc/svc_impl.h"

int svc_ech_rotate(struct svc *s, struct store_cert *c, const char *id, int64_t now)
{
	struct ech_key key;
	char err[256] = "";
	size_t len = 0;
	/* a config_id other than the old one's (octet 4 of a config: after version and length) */
	uint8_t old_id = c->ech_config_len > 4 ? c->ech_config[4] : 0;
	uint8_t config_id = (uint8_t)(old_id + 1);
	int rc = ech_key_generate(&key, err, sizeof(err));
	if (rc == 0) {
		uint8_t config[ECH_CONFIG_MAX];
		rc = ech_config_build(&key, config_id, s->public_name, (uint8_t)s->max_name_length, config,
		                      sizeof(config), &len, err, sizeof(err));
		if (rc == 0 && len > sizeof(c->ech_config))
			rc = TERN_ESPACE;
		if (rc == 0) {
			if (c->ech_config_len) {
				memcpy(c->ech_old_key, c->ech_key, sizeof(c->ech_key));
				memcpy(c->ech_old_config, c->ech_config, c->ech_config_len);
				c->ech_old_config_len = c->ech_config_len;
				c->ech_drop_at = now + s->https_ttl;
			}
			memcpy(c->ech_key, key.priv, sizeof(c->ech_key));
			memcpy(c->ech_config, config, len);
			c->ech_config_len = len;
			c->ech_rotate_at = now + s->rotate;
		}
	}
	memset(&key, 0, sizeof(key));
	if (rc < 0)
		log_error("services: service %s: a new ECH key: %s", id, err[0] ? err : tern_strerror(rc));
	else
		log_info("services: service %s: ECH config %u is current%s", id, config_id,
		         c->ech_old_config_len ? ", the previous one listed beside it" : "");
	return rc;
}

/* The HTTPS RRset (one record, in the rrset layout: a 16-bit length, then the RDATA) into ch. */
int svc_https_rrset(const struct svc *s, const struct store_cert *c, const uint8_t *canonical, const char *target,
                    struct change_rrset *ch, char *err, size_t errlen)
{
	struct ech_blob configs[2] = {{c->ech_config, c->ech_config_len}, {c->ech_old_config, c->ech_old_config_len}};
	size_t nconfigs = c->ech_old_config_len ? 2 : 1, list_len = 0, rdlen = 0;
	uint8_t list[2 * STORE_ECH_CONFIG_MAX + 2];
	uint8_t *rd = malloc(2 + 2 * NAME_MAXLEN + sizeof(list) + 32);
	int rc = rd ? ech_list_build(configs, nconfigs, list, sizeof(list), &list_len, err, errlen) : TERN_ENOMEM;
	if (rc == 0)
		rc = ech_https_rdata(target, list, list_len, rd + 2, 2 * NAME_MAXLEN + sizeof(list) + 32, &rdlen, err,
		                     errlen);
	if (rc < 0) {
		free(rd);
		return rc;
	}
	rd[0] = (uint8_t)(rdlen >> 8);
	rd[1] = (uint8_t)rdlen;
	memcpy(ch->owner, canonical, name_len(canonical));
	ch->type = RR_HTTPS;
	ch->count = 1;
	ch->ttl = s->https_ttl;
	ch->rdata_size = (uint32_t)(rdlen + 2);
	ch->rdata = rd;
	return 0;
}

static int write_row(struct store_txn *t, void *arg, char *err, size_t errlen)
{
	return store_cert_put(t, arg, err, errlen);
}

/* The zone a canonical name is made in: its parent (the services.zone of its creation). */
static const uint8_t *canonical_zone(const uint8_t *canonical)
{
	return canonical + 1 + canonical[0];
}

int svc_publish(struct svc *s, struct store_cert *c, const uint8_t *canonical, int64_t now)
{
	struct change_rrset ch = {0};
	char err[256] = "", who[STORE_PRINCIPAL_MAX + 1];
	int rc = svc_https_rrset(s, c, canonical, NULL, &ch, err, sizeof(err));
	if (rc < 0) {
		log_error("services: service %s: the HTTPS record: %s", c->service, err);
		c->publish_at = now + svc_backoff(s, c->attempts + 1);
		return svc_row_write(s, c);
	}
	snprintf(who, sizeof(who), "services (service %s)", c->service);
	struct change_request rq = {.apex = canonical_zone(canonical),
	                            .rrsets = &ch,
	                            .n = 1,
	                            .principal = who,
	                            .also = write_row,
	                            .also_arg = c};
	/* failures counted by earlier publishes end with this one's success */
	int64_t attempts = c->attempts;
	if (strcmp(c->fail_step, "publish") == 0)
		c->attempts = 0;
	struct change_result r;
	rcu_thread_online(); /* the change module reads the version served */
	rc = change_commit(s->change, &rq, &r);
	rcu_thread_offline();
	free((void *)ch.rdata);
	if (rc == 0) {
		log_info("services: service %s: HTTPS record published (%s ECH config%s), serial %u", c->service,
		         c->ech_old_config_len ? "two" : "one", c->ech_old_config_len ? "s" : "", r.serial);
		return 0;
	}
	if (r.step == CHANGE_STORE && r.code == TERN_ENOTFOUND) {
		log_info("services: service %s was deleted meanwhile: its certificate goes with it", c->service);
		return 0;
	}
	/* the certificate is kept; the record is published again after the backoff */
	c->attempts = attempts + 1;
	snprintf(c->fail_step, sizeof(c->fail_step), "publish");
	c->fail_status = 0;
	snprintf(c->fail_message, sizeof(c->fail_message), "the HTTPS record in the services zone: %.400s", r.msg);
	free(c->fail_problem);
	c->fail_problem = NULL;
	c->fail_at = now;
	c->publish_at = now + svc_backoff(s, c->attempts);
	log_warning("services: service %s: %s; again in %lld s", c->service, c->fail_message,
	            (long long)(c->publish_at - now));
	return svc_row_write(s, c);
}
