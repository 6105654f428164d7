// SPDX-License-Identifier: MIT
/*
 * Per-source rate limits for the unauthenticated routes that cost us something:
 * self-registration (a row, a password hash) and failed logins (a password hash
 * each, and password guessing). GCRA: one timestamp per source, the "theoretical
 * arrival time" (each counted request pushes it one period on); a request is
 * allowed while counting it would keep that time within burst periods of now. Sources are IPv4 addresses and IPv6 /64s (one host holds
 * a whole /64). The table is fixed-size; when a probe window is full the source
 * closest to fully refilled gives way, so memory stays bounded under any number
 * of addresses. Time is passed in (tests drive it). The same table, with
 * ratelimit_mark, is the set of sources that authenticated lately (conns.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/ipaddr.h"
#include "lapi/lapi_int.h"

#define RL_SLOTS 4096 /* power of two */
#define RL_PROBE 8

struct rl_slot {
	uint8_t key[16];
	int64_t tat; /* 0: free */
};

struct cs_ratelimit {
	pthread_mutex_t lock;
	int64_t period; /* one request back per period */
	int64_t burst;
	struct rl_slot slots[RL_SLOTS];
};

struct cs_ratelimit *ratelimit_new(unsigned burst, int64_t period)
{
	struct cs_ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->period = period;
	rl->burst = burst;
	return rl;
}

void ratelimit_free(struct cs_ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* IPv4 as v4-mapped, IPv6 cut to its /64; anything unparsable shares one key. */
static void source_key(const char *ip, uint8_t key[16])
{
	struct cs_prefix a;

	memset(key, 0, 16);
	if (cs_addr_parse(ip, &a))
		return;
	if (a.family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, a.addr, 4);
	} else {
		memcpy(key, a.addr, 8); /* one IPv6 /64 is one source */
	}
}

/* The slot of ip; with create, a new one (evicting) when it has none, else NULL. */
static struct rl_slot *find(struct cs_ratelimit *rl, const char *ip, int64_t now, bool create)
{
	uint8_t key[16];
	uint64_t h;
	struct rl_slot *victim = NULL;

	source_key(ip, key);
	h = cs_hash(key, sizeof(key)); /* seeded: an IPv6 /64 is the attacker's to choose */
	for (int i = 0; i < RL_PROBE; i++) {
		struct rl_slot *s = &rl->slots[(h + (uint64_t)i) & (RL_SLOTS - 1)];

		if (s->tat && !memcmp(s->key, key, 16))
			return s;
		if (!victim || s->tat < victim->tat)
			victim = s;
	}
	if (!create)
		return NULL;
	memcpy(victim->key, key, 16);
	victim->tat = now; /* a newcomer starts with a full burst */
	return victim;
}

bool ratelimit_allowed(struct cs_ratelimit *rl, const char *ip, int64_t now)
{
	bool ok;

	pthread_mutex_lock(&rl->lock);
	struct rl_slot *s = find(rl, ip, now, true);

	ok = s->tat - now <= (rl->burst - 1) * rl->period;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

void ratelimit_charge(struct cs_ratelimit *rl, const char *ip, int64_t now)
{
	pthread_mutex_lock(&rl->lock);
	struct rl_slot *s = find(rl, ip, now, true);

	s->tat = (s->tat > now ? s->tat : now) + rl->period;
	pthread_mutex_unlock(&rl->lock);
}

void ratelimit_mark(struct cs_ratelimit *rl, const char *ip, int64_t now)
{
	pthread_mutex_lock(&rl->lock);
	find(rl, ip, now, true)->tat = now;
	pthread_mutex_unlock(&rl->lock);
}

bool ratelimit_marked_since(struct cs_ratelimit *rl, const char *ip, int64_t since)
{
	bool ok;

	pthread_mutex_lock(&rl->lock);
	struct rl_slot *s = find(rl, ip, 0, false);

	ok = s && s->tat >= since;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}
