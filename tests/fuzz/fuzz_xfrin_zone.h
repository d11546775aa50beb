/* The zone fuzz_xfrin (and tests/unit/test_xfr_parse.c) holds when it asks for IXFR: serial 1.
 * tests/fuzz/gen_corpus_xfrin.py reads this text (between the BEGIN and END lines) and serves the
 * same zone from knotd to capture the seeds, so their diffs apply to it. */
#pragma once

/* CURRENT ZONE BEGIN */
static const char xfrin_current_text[] = "$ORIGIN example.com.\n"
                                         "$TTL 3600\n"
                                         "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                                         "@ NS ns1\n"
                                         "@ NS ns2.example.net.\n"
                                         "@ MX 10 mail\n"
                                         "ns1 A 192.0.2.1\n"
                                         "www A 192.0.2.80\n"
                                         "www A 192.0.2.81\n"
                                         "www AAAA 2001:db8::80\n"
                                         "mail A 192.0.2.25\n"
                                         "alias CNAME www\n"
                                         "_sip._tcp SRV 0 5 5060 www\n"
                                         "txt TXT \"hello\"\n"
                                         "sub NS ns.sub\n"
                                         "ns.sub A 192.0.2.53\n"
                                         "a.b.c A 192.0.2.9\n";
/* CURRENT ZONE END */
