/* SPDX-License-Identifier: MIT */
/*
 * Test GeoIP databases: GeoLite2-City.mmdb and GeoLite2-ASN.mmdb written into a
 * fresh temporary directory by tests/tools/mkmmdb.py from
 * tests/tools/geoip/{city,asn}.json (see the README there).
 */
#ifndef CS_TEST_GEOIP_FIXTURE_H
#define CS_TEST_GEOIP_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Create the directory (its path into dir[size]) and both databases, or only
 * the City one when `with_asn` is false. 0, or -1 with why[] set (no python3,
 * script not found...): the caller skips.
 */
int t_geoip_make(char *dir, size_t size, bool with_asn, char *why, size_t why_size);
/* t_geoip_make(), else `checks` checks counted skipped with the reason: true when made. */
bool t_geoip_make_or_skip(char *dir, size_t size, bool with_asn, int checks);
/* Remove what t_geoip_make() created. */
void t_geoip_remove(const char *dir);
/*
 * For the hub tests: $GEOIP_DIR when set (real databases), else both test
 * databases made into dir[size] (*made set: t_geoip_remove(dir) afterwards);
 * NULL, with a note on stderr, when neither (the GeoIP hub tests then skip).
 */
const char *t_geoip_for_hub(char *dir, size_t size, bool *made);

#endif /* CS_TEST_GEOIP_FIXTURE_H */
