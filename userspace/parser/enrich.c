// SPDX-License-Identifier: MIT
#include "parser/enrich.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "common/strmap.h"
#include "parser/dateparse.h"
#include "parser/event.h"

/* ParseDate: Enriched.MarshaledTime from the date text, or "now" (spec 4.1). */
static int enrich_parse_date(const char *value, size_t len, struct cs_event *evt,
			     const struct cs_enrich_ctx *ctx, struct strmap *out)
{
	const struct cs_time *now = ctx->now;
	char buf[CS_TIME_STRLEN];
	struct cs_time t;
	int err;

	err = cs_dateparse(value, evt->str_time_format, now, &t);
	if (err) {
		if (len)
			log_debug("ParseDate: cannot parse '%s', using now", value);
		if (ctx->now_coarse)
			cs_time_now(&t);
		else
			t = *now;
	} else if (evt->expect_mode == CS_MODE_TIMEMACHINE) {
		/* Replay: the event lives at its log time (upstream sets evt.Time too). */
		evt->time = t;
	}
	/* the instant stays with its text: a bucket pouring at it need not parse it again */
	err = cs_event_format_time(evt, &t, buf, sizeof(buf));
	return err ? err : strmap_set(out, "MarshaledTime", buf);
}

/* UnmarshalJSON as a method: its input is ignored, Line.Raw is decoded (spec 4.4). */
static int enrich_unmarshal_json(const char *value, size_t len, struct cs_event *evt,
				 const struct cs_enrich_ctx *ctx, struct strmap *out)
{
	int err = cs_event_unmarshal_json(evt, evt->line.raw, evt->line.raw_len);

	if (err == -EINVAL) {
		log_warn("UnmarshalJSON: line is not a JSON object");
		err = 0;
	}
	return err;
}

/* ---- GeoIP (spec 4.2) ------------------------------------------------------------------ */

struct cs_geoip {
	MMDB_s city, asn;
	bool has_city, has_asn;
};

static bool geoip_open_one(const char *dir, const char *file, MMDB_s *db)
{
	char path[4096];
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return false;
	if (access(path, F_OK))
		return false;
	rc = MMDB_open(path, MMDB_MODE_MMAP, db);
	if (rc != MMDB_SUCCESS) {
		log_error("GeoIP: %s: %s", path, MMDB_strerror(rc));
		return false;
	}
	log_debug("GeoIP: %s opened (%s)", path, db->metadata.database_type);
	return true;
}

int cs_geoip_open(const char *dir, struct cs_geoip **out)
{
	struct cs_geoip *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	if (dir) {
		g->has_city = geoip_open_one(dir, "GeoLite2-City.mmdb", &g->city);
		g->has_asn = geoip_open_one(dir, "GeoLite2-ASN.mmdb", &g->asn);
	}
	*out = g;
	return 0;
}

void cs_geoip_free(struct cs_geoip *g)
{
	if (!g)
		return;
	if (g->has_city)
		MMDB_close(&g->city);
	if (g->has_asn)
		MMDB_close(&g->asn);
	free(g);
}

bool cs_geoip_has_city(const struct cs_geoip *g)
{
	return g && g->has_city;
}

bool cs_geoip_has_asn(const struct cs_geoip *g)
{
	return g && g->has_asn;
}

typedef union {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
} geoip_addr;

/* An IP as Go's net.ParseIP takes it (no zone, no prefix); v4-mapped v6 is v4. */
static bool geoip_parse(const char *text, geoip_addr *u)
{
	struct cs_prefix p;

	memset(u, 0, sizeof(*u));
	if (cs_addr_parse(text, &p))
		return false;
	if (p.family == AF_INET) {
		u->in.sin_family = AF_INET;
		memcpy(&u->in.sin_addr, p.addr, 4);
	} else {
		u->in6.sin6_family = AF_INET6;
		memcpy(&u->in6.sin6_addr, p.addr, 16);
	}
	return true;
}

/*
 * Looks ip up in db (NULL: not open): 1 found, 0 not in the database, -1 nothing
 * to write (no database, an IP it cannot parse, a lookup error: logged).
 */
static int geoip_lookup(const MMDB_s *db, const char *method, const char *ip, geoip_addr *a,
			MMDB_lookup_result_s *res)
{
	int rc;

	if (!db)
		return -1;
	if (!geoip_parse(ip, a)) {
		log_debug("%s: cannot parse IP '%s'", method, ip);
		return -1;
	}
	/* libmaxminddb only reads the database: const is safe to drop */
	*res = MMDB_lookup_sockaddr((MMDB_s *)db, &a->sa, &rc);
	if (rc != MMDB_SUCCESS) {
		log_error("%s: lookup of %s: %s", method, ip, MMDB_strerror(rc));
		return -1;
	}
	return res->found_entry ? 1 : 0;
}

static const MMDB_s *city_db(const struct cs_geoip *g)
{
	return cs_geoip_has_city(g) ? &g->city : NULL;
}

static const MMDB_s *asn_db(const struct cs_geoip *g)
{
	return cs_geoip_has_asn(g) ? &g->asn : NULL;
}

/* Sets each key of the NULL-ended key, value list in turn; the first error stops it. */
static int set_all(struct strmap *out, const char *const *kv)
{
	int err = 0;

	for (; !err && *kv; kv += 2)
		err = strmap_set(out, kv[0], kv[1]);
	return err;
}

static const char *geoip_str(MMDB_entry_s *e, char *buf, size_t size, const char *const *path)
{
	MMDB_entry_data_s d;

	buf[0] = 0;
	if (MMDB_aget_value(e, &d, path) == MMDB_SUCCESS && d.has_data &&
	    d.type == MMDB_DATA_TYPE_UTF8_STRING) {
		size_t n = d.data_size < size - 1 ? d.data_size : size - 1;

		memcpy(buf, d.utf8_string, n);
		buf[n] = 0;
	}
	return buf;
}

static bool geoip_bool(MMDB_entry_s *e, const char *const *path)
{
	MMDB_entry_data_s d;

	return MMDB_aget_value(e, &d, path) == MMDB_SUCCESS && d.has_data &&
	       d.type == MMDB_DATA_TYPE_BOOLEAN && d.boolean;
}

static double geoip_double(MMDB_entry_s *e, const char *const *path)
{
	MMDB_entry_data_s d;

	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data)
		return 0;
	if (d.type == MMDB_DATA_TYPE_DOUBLE)
		return d.double_value;
	if (d.type == MMDB_DATA_TYPE_FLOAT)
		return d.float_value;
	return 0;
}

static unsigned long long geoip_uint(MMDB_entry_s *e, const char *const *path)
{
	MMDB_entry_data_s d;

	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data)
		return 0;
	switch (d.type) {
	case MMDB_DATA_TYPE_UINT16:
		return d.uint16;
	case MMDB_DATA_TYPE_UINT32:
		return d.uint32;
	case MMDB_DATA_TYPE_UINT64:
		return d.uint64;
	case MMDB_DATA_TYPE_INT32:
		return d.int32 < 0 ? 0 : (unsigned long long)d.int32;
	default:
		return 0;
	}
}

/*
 * GeoIpCity: IsoCode from country, else registered_country, else
 * represented_country (IsInEU from the same record), Latitude, Longitude.
 * An address not in the database gives "", "false", 0.000000, 0.000000.
 */
static int enrich_geoip_city(const char *value, size_t len, struct cs_event *evt,
			     const struct cs_enrich_ctx *ctx, struct strmap *out)
{
	static const char *const recs[] = { "country", "registered_country",
					    "represented_country" };
	MMDB_lookup_result_s res;
	char iso[64] = "", lat_text[64], lon_text[64];
	bool in_eu = false;
	double lat = 0, lon = 0;
	geoip_addr a;
	int rc = geoip_lookup(city_db(ctx->geoip), "GeoIpCity", value, &a, &res);

	if (rc < 0)
		return 0;
	if (rc > 0) {
		for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
			const char *const ip[] = { recs[i], "iso_code", NULL };
			const char *const ep[] = { recs[i], "is_in_european_union", NULL };

			if (*geoip_str(&res.entry, iso, sizeof(iso), ip)) {
				in_eu = geoip_bool(&res.entry, ep);
				break;
			}
		}
		lat = geoip_double(&res.entry, (const char *const[]){ "location", "latitude", NULL });
		lon = geoip_double(&res.entry, (const char *const[]){ "location", "longitude", NULL });
	}
	snprintf(lat_text, sizeof(lat_text), "%f", lat);
	snprintf(lon_text, sizeof(lon_text), "%f", lon);
	return set_all(out, (const char *const[]){ "IsoCode", iso, "IsInEU", in_eu ? "true" : "false",
						   "Latitude", lat_text, "Longitude", lon_text, NULL });
}

/* GeoIpASN: ASNNumber = ASNumber = the AS number ("0" if unknown), ASNOrg. */
static int enrich_geoip_asn(const char *value, size_t len, struct cs_event *evt,
			    const struct cs_enrich_ctx *ctx, struct strmap *out)
{
	MMDB_lookup_result_s res;
	unsigned long long asn = 0;
	char org[512] = "", num[32];
	geoip_addr a;
	int rc = geoip_lookup(asn_db(ctx->geoip), "GeoIpASN", value, &a, &res);

	if (rc < 0)
		return 0;
	if (rc > 0) {
		asn = geoip_uint(&res.entry,
				 (const char *const[]){ "autonomous_system_number", NULL });
		geoip_str(&res.entry, org, sizeof(org),
			  (const char *const[]){ "autonomous_system_organization", NULL });
	}
	snprintf(num, sizeof(num), "%llu", asn);
	return set_all(out, (const char *const[]){ "ASNNumber", num, "ASNumber", num, "ASNOrg", org,
						   NULL });
}

/* IpToRange: SourceRange = the ASN database's network holding the IP, as a CIDR. */
static int enrich_ip_to_range(const char *value, size_t len, struct cs_event *evt,
			      const struct cs_enrich_ctx *ctx, struct strmap *out)
{
	MMDB_lookup_result_s res;
	char text[INET6_ADDRSTRLEN], cidr[INET6_ADDRSTRLEN + 8];
	unsigned char *bytes;
	geoip_addr a;
	int plen, nbytes;
	int rc = geoip_lookup(asn_db(ctx->geoip), "IpToRange", value, &a, &res);

	if (rc <= 0) {
		if (!rc)
			log_debug("IpToRange: no range found for %s", value);
		return 0;
	}
	plen = res.netmask;
	if (a.sa.sa_family == AF_INET) {
		/* an IPv4 address in an IPv6 tree: its netmask counts the ::/96 */
		if (ctx->geoip->asn.metadata.ip_version == 6)
			plen -= 96;
		if (plen < 0)
			plen = 0;
		bytes = (unsigned char *)&a.in.sin_addr;
		nbytes = 4;
	} else {
		bytes = a.in6.sin6_addr.s6_addr;
		nbytes = 16;
	}
	if (plen > nbytes * 8)
		plen = nbytes * 8;
	for (int i = 0; i < nbytes; i++) {
		int keep = plen - i * 8;

		if (keep <= 0)
			bytes[i] = 0;
		else if (keep < 8)
			bytes[i] &= (unsigned char)(0xff << (8 - keep));
	}
	if (!inet_ntop(a.sa.sa_family, bytes, text, sizeof(text)))
		return 0;
	snprintf(cidr, sizeof(cidr), "%s/%d", text, plen);
	return strmap_set(out, "SourceRange", cidr);
}

static const struct cs_enricher enrichers[] = {
	{ "ParseDate", enrich_parse_date, true },
	{ "UnmarshalJSON", enrich_unmarshal_json, false },
	{ "GeoIpCity", enrich_geoip_city, false },
	{ "GeoIpASN", enrich_geoip_asn, false },
	{ "IpToRange", enrich_ip_to_range, false },
};

bool cs_enricher_is_geoip(const char *name)
{
	return !strcmp(name, "GeoIpCity") || !strcmp(name, "GeoIpASN") || !strcmp(name, "IpToRange");
}

/* GeoIpCity needs the City database, GeoIpASN and IpToRange the ASN one. */
static bool geoip_available(const char *name, const struct cs_geoip *geo)
{
	return !strcmp(name, "GeoIpCity") ? cs_geoip_has_city(geo) : cs_geoip_has_asn(geo);
}

const struct cs_enricher *cs_enricher_find(const char *name, const struct cs_geoip *geo)
{
	if (cs_enricher_is_geoip(name) && !geoip_available(name, geo))
		return NULL;
	for (size_t i = 0; i < sizeof(enrichers) / sizeof(enrichers[0]); i++)
		if (!strcmp(enrichers[i].name, name))
			return &enrichers[i];
	return NULL;
}

const char *cs_enricher_unavailable_reason(const char *name, const struct cs_geoip *geo)
{
	if (cs_enricher_is_geoip(name) && !geoip_available(name, geo))
		return !strcmp(name, "GeoIpCity") ?
			       "no GeoIP database (GeoLite2-City.mmdb): GeoIP enrichment disabled" :
			       "no GeoIP database (GeoLite2-ASN.mmdb): GeoIP enrichment disabled";
	if (!strcmp(name, "reverse_dns"))
		return "reverse DNS enrichment is not supported";
	return NULL;
}
