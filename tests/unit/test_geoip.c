// SPDX-License-Identifier: MIT
/*
 * GeoIpCity, GeoIpASN, IpToRange (spec 4.2) through the parser's enrichment,
 * on small GeoLite2-City/ASN databases written by tests/tools/mkmmdb.py
 * (tests/tools/geoip/city.json, asn.json), and without databases.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strmap.h"
#include "expr/expr.h"
#include "parser/enrich.h"
#include "parser/event.h"
#include "parser/parser.h"
#include "../lib/geoip_fixture.h"
#include "../lib/test.h"

/* The statics of crowdsecurity/geoip-enrich, reading the IP from the raw line. */
static const char node_yaml[] =
	"name: test/geoip\n"
	"filter: \"1 == 1\"\n"
	"onsuccess: next_stage\n"
	"statics:\n"
	"  - meta: source_ip\n"
	"    expression: evt.Line.Raw\n"
	"  - method: GeoIpCity\n"
	"    expression: evt.Meta.source_ip\n"
	"  - meta: IsoCode\n"
	"    expression: evt.Enriched.IsoCode\n"
	"  - meta: IsInEU\n"
	"    expression: evt.Enriched.IsInEU\n"
	"  - method: GeoIpASN\n"
	"    expression: evt.Meta.source_ip\n"
	"  - meta: ASNNumber\n"
	"    expression: evt.Enriched.ASNNumber\n"
	"  - meta: ASNOrg\n"
	"    expression: evt.Enriched.ASNOrg\n"
	"  - method: IpToRange\n"
	"    expression: evt.Meta.source_ip\n"
	"  - meta: SourceRange\n"
	"    expression: evt.Enriched.SourceRange\n";

static struct cs_parsers *load(const char *geoip_dir)
{
	struct cs_parser_opts o = { .geoip_dir = geoip_dir };
	struct cs_parsers *p = NULL;

	if (!ASSERT_OK(cs_parsers_new(&o, &p), "parsers_new"))
		return NULL;
	if (!ASSERT_OK(cs_parsers_load_string(p, "s02-enrich", "geoip.yaml", node_yaml), "load") ||
	    !ASSERT_OK(cs_parsers_ready(p), "ready")) {
		cs_parsers_free(p);
		return NULL;
	}
	return p;
}

static struct cs_event *parse(struct cs_parsers *p, const char *ip)
{
	struct cs_event *evt = NULL;

	if (cs_event_new(&evt))
		return NULL;
	if (cs_event_set_line(evt, ip, strlen(ip), "test.log", "file", "test") ||
	    cs_parse(p, evt, NULL, NULL)) {
		cs_event_free(evt);
		return NULL;
	}
	return evt;
}

/* NULL expected = the key must be absent. */
struct want {
	const char *ip;
	const char *iso, *eu, *lat, *lon;
	const char *asn, *org, *range;
};

static void check(struct cs_parsers *p, const struct want *w)
{
	static const char *const keys[] = { "IsoCode", "IsInEU", "Latitude", "Longitude",
					    "ASNNumber", "ASNOrg", "SourceRange" };
	const char *exp[] = { w->iso, w->eu, w->lat, w->lon, w->asn, w->org, w->range };
	struct cs_event *e = parse(p, w->ip);
	char name[128];

	if (!ASSERT_TRUE(e != NULL, w->ip))
		return;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(name, sizeof(name), "%s Enriched.%s", w->ip, keys[i]);
		ASSERT_STREQ(strmap_get(e->enriched, keys[i]), exp[i], name);
	}
	/* ASNumber is ASNNumber's twin (what the alert's Source reads) */
	snprintf(name, sizeof(name), "%s Enriched.ASNumber", w->ip);
	ASSERT_STREQ(strmap_get(e->enriched, "ASNumber"), w->asn, name);
	/* geoip-enrich's meta copies: empty strings are not copied */
	snprintf(name, sizeof(name), "%s Meta.IsoCode", w->ip);
	ASSERT_STREQ(strmap_get(e->meta, "IsoCode"), w->iso && *w->iso ? w->iso : NULL, name);
	snprintf(name, sizeof(name), "%s Meta.ASNOrg", w->ip);
	ASSERT_STREQ(strmap_get(e->meta, "ASNOrg"), w->org && *w->org ? w->org : NULL, name);
	snprintf(name, sizeof(name), "%s Meta.SourceRange", w->ip);
	ASSERT_STREQ(strmap_get(e->meta, "SourceRange"), w->range, name);
	cs_event_free(e);
}

static const struct want full[] = {
	/* country FR, in the EU; ASN network /23 */
	{ "198.18.0.77", "FR", "true", "48.858200", "2.338700", "64496", "Example Transit",
	  "198.18.0.0/23" },
	/* no country: registered_country DE (EU) */
	{ "198.18.1.1", "DE", "true", "51.299300", "9.491000", "64496", "Example Transit",
	  "198.18.0.0/23" },
	/* only represented_country, no location: 0.000000; not in the ASN db */
	{ "198.18.2.3", "US", "false", "0.000000", "0.000000", "0", "", NULL },
	/* in neither database: empty country, "0" AS */
	{ "198.18.3.1", "", "false", "0.000000", "0.000000", "0", "", NULL },
	/* ASN record without organisation */
	{ "198.18.4.200", "", "false", "0.000000", "0.000000", "64500", "", "198.18.4.0/24" },
	/* /16 City network, /17 ASN network */
	{ "198.19.200.1", "JP", "false", "35.689700", "139.692200", "64511", "Documentation AS",
	  "198.19.128.0/17" },
	{ "198.19.1.1", "JP", "false", "35.689700", "139.692200", "0", "", NULL },
	/* IPv4-mapped IPv6 is looked up as IPv4 */
	{ "::ffff:198.18.0.1", "FR", "true", "48.858200", "2.338700", "64496", "Example Transit",
	  "198.18.0.0/23" },
	/* IPv6; a 32-bit AS number; UTF-8 organisation */
	{ "2001:db8:1:2::5", "CA", "false", "43.631900", "-79.371600", "4200000000",
	  "Example v6 \xc3\xa9", "2001:db8:1::/48" },
	{ "2001:db8:8000::1", "NZ", "false", "-41.286600", "174.775600", "0", "", NULL },
	{ "2001:db8:4000::1", "", "false", "0.000000", "0.000000", "0", "", NULL },
	/* the hub tests' addresses: City only */
	{ "1.2.3.4", "AU", "false", "-33.494000", "143.210400", "0", "", NULL },
	{ "9.8.8.8", "US", "false", "37.751000", "-97.822000", "0", "", NULL },
	/* not an IP: nothing at all */
	{ "not-an-ip", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "198.18.0.1/24", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
	{ "fe80::1%eth0", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
};

/* City database only: GeoIpASN and IpToRange are unavailable, their fields absent. */
static const struct want city_only[] = {
	{ "198.18.0.77", "FR", "true", "48.858200", "2.338700", NULL, NULL, NULL },
	{ "2001:db8::9", "CA", "false", "43.631900", "-79.371600", NULL, NULL, NULL },
};

struct thr {
	struct cs_parsers *p;
	int bad;
};

static void *worker(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < 300; i++) {
		const struct want *w = &full[i % 13];
		struct cs_event *e = parse(t->p, w->ip);
		const char *iso = e ? strmap_get(e->enriched, "IsoCode") : NULL;
		const char *asn = e ? strmap_get(e->enriched, "ASNNumber") : NULL;

		if (!iso || strcmp(iso, w->iso) || !asn || strcmp(asn, w->asn))
			t->bad++;
		cs_event_free(e);
	}
	return NULL;
}

static void test_threads(struct cs_parsers *p)
{
	struct thr t[4];
	pthread_t id[4];

	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .p = p };
		ASSERT_OK(pthread_create(&id[i], NULL, worker, &t[i]), "pthread_create");
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(id[i], NULL);
		ASSERT_EQ(t[i].bad, 0, "concurrent lookups");
	}
}

static void test_no_database(void)
{
	struct cs_parsers *p = load("/nonexistent-geoip-dir");
	struct cs_event *e;

	if (!p)
		return;
	e = parse(p, "198.18.0.77");
	if (ASSERT_TRUE(e != NULL, "parse without databases")) {
		ASSERT_EQ(strmap_count(e->enriched), 0, "no database: Enriched empty");
		ASSERT_STREQ(strmap_get(e->meta, "source_ip"), "198.18.0.77", "rest of node ran");
		ASSERT_TRUE(!strmap_has(e->meta, "IsoCode"), "no Meta.IsoCode");
		cs_event_free(e);
	}
	ASSERT_TRUE(cs_enricher_find("GeoIpCity", NULL) == NULL, "GeoIpCity unavailable");
	ASSERT_TRUE(strstr(cs_enricher_unavailable_reason("GeoIpASN", NULL),
			   "no GeoIP database") != NULL, "reason");
	cs_parsers_free(p);
}

static void test_bad_file(const char *dir)
{
	/* a file that is not a database: logged, treated as absent */
	struct cs_geoip *g = NULL;
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/GeoLite2-ASN.mmdb", dir);
	f = fopen(path, "w");
	if (!ASSERT_TRUE(f != NULL, "write bad file"))
		return;
	fputs("not a maxmind database\n", f);
	fclose(f);
	if (ASSERT_OK(cs_geoip_open(dir, &g), "open with a bad file")) {
		ASSERT_TRUE(cs_geoip_has_city(g), "city still there");
		ASSERT_TRUE(!cs_geoip_has_asn(g), "bad ASN file ignored");
	}
	cs_geoip_free(g);
}

/*
 * The parsers over freshly made databases (with_asn: the ASN one too) answer
 * every case; with both, also from many threads; with the City one only, a
 * damaged file is refused.
 */
static void with_databases(bool with_asn, const struct want *cases, size_t n)
{
	char dir[256];
	struct cs_parsers *p;

	if (!t_geoip_make_or_skip(dir, sizeof(dir), with_asn, 1))
		return;
	p = load(dir);
	if (p) {
		for (size_t i = 0; i < n; i++)
			check(p, &cases[i]);
		if (with_asn)
			test_threads(p);
		cs_parsers_free(p);
	}
	if (!with_asn)
		test_bad_file(dir);
	t_geoip_remove(dir);
}

int main(void)
{

	log_set_level(getenv("T_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	test_no_database();

	with_databases(true, full, sizeof(full) / sizeof(full[0]));
	with_databases(false, city_only, sizeof(city_only) / sizeof(city_only[0]));
	expr_cleanup();
	return TEST_SUMMARY();
}
