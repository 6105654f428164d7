// SPDX-License-Identifier: MIT
/*
 * The consensus rules, pure functions of their inputs.
 *
 * An IP is listed when, among the reports of the window, at least K distinct
 * reporters with a say, from at least N distinct networks, reach a score: the
 * sum over networks of the best trust in each. A network weighs at most one
 * trusted reporter, so a thousand reporters registered in one /24 are worth one;
 * a new reporter (trust_new) cannot list alone, three new ones in three
 * networks can (3 x 0.4 >= 1). Trust grows with each listing a reporter helped
 * make, falls slowly with reports never confirmed and fast with reports of
 * safe-list addresses: a reporter that does that twice is below trust_min and
 * has no say at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/central.h"
#include "common/gotime.h"
#include "common/ipaddr.h"

const char *const central_reserved_ranges[] = {
	"0.0.0.0/8",	  "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "::/128",
	"::1/128",	  "fc00::/7",	"fe80::/10",	  "ff00::/8",	 NULL,
};

void central_rules_default(struct central_rules *r)
{
	*r = (struct central_rules){
		.min_reporters = 3,
		.min_networks = 2,
		.v4_net_bits = 24,
		.v6_net_bits = 48,
		.window = 24 * 3600 * NSEC_PER_SEC,
		.listing_ttl = 24 * 3600 * NSEC_PER_SEC,
		.threshold = 1.0,
		.trust_new = 0.4,
		.trust_confirmed = 0.1,
		.trust_unconfirmed = 0.02,
		.trust_safe_factor = 0.25,
		.trust_min = 0.1,
		.rate_per_hour = 3600,
		.rate_burst = 1000,
		.retention = 30LL * 24 * 3600 * NSEC_PER_SEC,
	};
}

int central_net_of(const struct central_rules *r, const char *ip, char *net, size_t len)
{
	struct cs_prefix p;
	int err = cs_addr_parse(ip, &p);

	if (!err)
		err = cs_prefix_set_len(&p, p.family == 2 /* AF_INET */ ? r->v4_net_bits
									: r->v6_net_bits);
	if (!err)
		err = cs_prefix_format(&p, true, net, len);
	return err;
}

static int by_net(const void *a, const void *b)
{
	const struct cs_central_support *x = *(const struct cs_central_support *const *)a;
	const struct cs_central_support *y = *(const struct cs_central_support *const *)b;

	return strcmp(x->net, y->net);
}

void central_judge(const struct central_rules *r, const struct cs_central_support *v, size_t n,
		   struct central_verdict *out)
{
	const struct cs_central_support **say = calloc(n + 1, sizeof(*say));
	size_t m = 0;

	memset(out, 0, sizeof(*out));
	if (!say) {
		snprintf(out->why, sizeof(out->why), "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (!v[i].blocked && v[i].trust >= r->trust_min)
			say[m++] = &v[i];
	out->reporters = (unsigned)m;
	/* a network weighs its best reporter, however many it has */
	qsort(say, m, sizeof(*say), by_net);
	for (size_t i = 0; i < m;) {
		double best = 0;
		size_t j = i;

		for (; j < m && !strcmp(say[j]->net, say[i]->net); j++)
			if (say[j]->trust > best)
				best = say[j]->trust;
		out->networks++;
		out->score += best;
		i = j;
	}
	free(say);
	if (out->reporters < r->min_reporters)
		snprintf(out->why, sizeof(out->why), "%u reporter(s) with a say, %u needed",
			 out->reporters, r->min_reporters);
	else if (out->networks < r->min_networks)
		snprintf(out->why, sizeof(out->why), "%u network(s), %u needed", out->networks,
			 r->min_networks);
	else if (out->score + 1e-9 < r->threshold)
		snprintf(out->why, sizeof(out->why), "score %.2f below %.2f", out->score,
			 r->threshold);
	else {
		out->listed = true;
		snprintf(out->why, sizeof(out->why),
			 "consensus: %u reporters, %u networks, score %.2f", out->reporters,
			 out->networks, out->score);
	}
}

static double clamp01(double t)
{
	return t < 0 ? 0 : t > 1 ? 1 : t;
}

double central_trust_after_confirm(const struct central_rules *r, double t)
{
	return clamp01(t + r->trust_confirmed);
}

double central_trust_after_unconfirmed(const struct central_rules *r, double t, long n)
{
	return clamp01(t - r->trust_unconfirmed * (double)n);
}

double central_trust_after_safe(const struct central_rules *r, double t)
{
	return clamp01(t * r->trust_safe_factor);
}

bool central_rate_take(const struct central_rules *r, double *tokens, int64_t *at, int64_t now)
{
	if (now > *at) {
		*tokens += (double)(now - *at) / (3600.0 * NSEC_PER_SEC) * r->rate_per_hour;
		if (*tokens > r->rate_burst)
			*tokens = r->rate_burst;
		*at = now;
	}
	if (*tokens < 1)
		return false;
	*tokens -= 1;
	return true;
}
