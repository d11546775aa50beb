/* tern check: optional prose beside the rule-based findings from an OpenAI-compatible endpoint
 * (POST URL/chat/completions); labelled as generated, it never changes the findings. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/check_report.h"

#define CHECK_ADVICE_TEXT 4096 /* octets of advice kept (cut at a character's edge) */
#define CHECK_ADVICE_CAP (256 * 1024) /* octets of the endpoint's answer read at most */
#define CHECK_ADVICE_KEY_ENV "TERN_ADVICE_KEY" /* the bearer key, never on the command line */

struct check_advice_cfg {
	char url[512]; /* the base, as "http://host:port/v1"; "" asks nothing */
	char model[128];
	char key[512]; /* "" sends no Authorization */
	int timeout_ms; /* the whole exchange */
};

struct check_advice {
	bool asked; /* an endpoint was configured */
	char model[128];
	char text[CHECK_ADVICE_TEXT]; /* "" when none came */
	char note[1024]; /* why there is none */
	double ms;
};

/* The request body {model, messages}: the findings and the report's public DNS data (the
 * delegation, SOA, DNSSEC, the chain, the authoritative servers' answers); never the vantage
 * resolvers, the failures (local addresses, file names) or the key. NULL when out of memory. */
json_t *check_advice_request(const struct check_report *r, const char *model);

/* Reads a chat completion answer: choices[0].message.content, made safe for a terminal (no control
 * characters but newlines, valid UTF-8, at most cap - 1 octets, whitespace at the ends trimmed).
 * 0, or TERN_EINVAL with err saying why in one safe line (not JSON, an error object, no content) and
 * text "". */
int check_advice_parse(const char *body, size_t len, char *text, size_t cap, char *err, size_t errcap);

/* Asks the endpoint about r within cfg->timeout_ms and CHECK_ADVICE_CAP octets; out holds the
 * text or the note why there is none. Nothing in r is changed. */
void check_advice_ask(const struct check_advice_cfg *cfg, const struct check_report *r, struct check_advice *out);

/* The advice as the last lines of a text report, labelled; or its one-line note. */
void check_advice_text(const struct check_advice *a, FILE *out);
/* The advice as report["advice"] = {model, text} or {model, note}; nothing when not asked. */
void check_advice_json(const struct check_advice *a, json_t *report);
