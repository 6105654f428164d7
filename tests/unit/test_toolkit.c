// SPDX-License-Identifier: MIT
/*
 * common/'s toolkit: the seeded hash and the string -> pointer map every
 * attacker-keyed table uses, the bounded stash, the bounded string buffer,
 * the bounded whole-file read, the environment expansion of configuration text,
 * the record tables that drive a struct's decode, copy and free, the arena.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/envexpand.h"
#include "common/fdio.h"
#include "common/hash.h"
#include "common/quote.h"
#include "common/readfile.h"
#include "common/record.h"
#include "common/sha2.h"
#include "common/stash.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "common/strv.h"
#include "common/utf8.h"
#include "../lib/test.h"

static void test_keyed(void)
{
	uint64_t a, b, c;

	cs_hash_set_key(1, 2);
	a = cs_hash_str("source_ip");
	ASSERT_EQ(cs_hash_str("source_ip"), a, "same key, same hash");
	cs_hash_set_key(3, 4);
	b = cs_hash_str("source_ip");
	ASSERT_TRUE(a != b, "another process key, another hash: collisions are not precomputable");
	c = cs_hash2("ab", 2, "c", 1);
	ASSERT_TRUE(c != cs_hash2("a", 1, "bc", 2), "pieces are not just concatenated");
	ASSERT_TRUE(cs_hash("a\0b", 3) != cs_hash("a\0c", 3), "bytes past a NUL count");
	ASSERT_TRUE(cs_hash("", 0) != cs_hash("\0", 1), "length counts");
}

/*
 * Every byte of every length counts, the short tails (read by overlapping whole
 * loads) included; each key sits at the end of its own allocation, so a read
 * past it is a sanitizer error.
 */
static void test_hash_every_byte(void)
{
	int missed = 0;

	cs_hash_set_key(1, 2);
	for (size_t n = 1; n <= 40; n++) {
		unsigned char *p = malloc(n);

		if (!ASSERT_TRUE(p != NULL, "alloc"))
			return;
		memset(p, 'a', n);
		uint64_t h = cs_hash(p, n), h2 = cs_hash2("k", 1, p, n);

		for (size_t i = 0; i < n; i++) {
			p[i] = 'b';
			missed += cs_hash(p, n) == h || cs_hash2("k", 1, p, n) == h2;
			p[i] = 'a';
		}
		free(p);
	}
	ASSERT_EQ(missed, 0, "a changed byte changes the hash, at every place of 1..40-byte keys");
}

static int drop_odd(const char *key, size_t len, void *val, void *arg)
{
	(void)key;
	(void)len;
	(*(int *)arg)++;
	return (uintptr_t)val % 2 ? CS_HMAP_DROP : 0;
}

static void test_map(void)
{
	struct cs_hmap *m = cs_hmap_new();
	void *old = NULL;
	int seen = 0, missing = 0;
	char key[32];

	if (!ASSERT_TRUE(m != NULL, "new"))
		return;
	ASSERT_TRUE(cs_hmap_get(m, "x", 1) == NULL, "empty");
	ASSERT_OK(cs_hmap_put(m, "x", 1, (void *)1, &old), "put");
	ASSERT_TRUE(old == NULL, "nothing replaced");
	ASSERT_OK(cs_hmap_put(m, "x", 1, (void *)2, &old), "replace");
	ASSERT_TRUE(old == (void *)1, "old value handed back");
	ASSERT_OK(cs_hmap_put(m, "x\0y", 3, (void *)3, NULL), "key with a NUL");
	ASSERT_TRUE(cs_hmap_get(m, "x\0y", 3) == (void *)3 && cs_hmap_get(m, "x", 1) == (void *)2,
		    "NUL keys are their own");
	ASSERT_TRUE(cs_hmap_del(m, "x", 1) == (void *)2 && !cs_hmap_get(m, "x", 1), "del");
	ASSERT_TRUE(cs_hmap_del(m, "nope", 4) == NULL, "del absent");
	cs_hmap_del(m, "x\0y", 3);
	for (uintptr_t i = 1; i <= 50000; i++) {
		snprintf(key, sizeof(key), "k%zu", (size_t)i);
		if (cs_hmap_put(m, key, strlen(key), (void *)i, NULL))
			break;
	}
	ASSERT_EQ(cs_hmap_count(m), 50000, "grows");
	for (uintptr_t i = 1; i <= 50000; i++) {
		snprintf(key, sizeof(key), "k%zu", (size_t)i);
		missing += cs_hmap_get(m, key, strlen(key)) != (void *)i;
	}
	ASSERT_EQ(missing, 0, "every key found after growing");
	ASSERT_OK(cs_hmap_each(m, drop_odd, &seen), "walk");
	ASSERT_EQ(seen, 50000, "walk sees all");
	ASSERT_EQ(cs_hmap_count(m), 25000, "walk drops");
	ASSERT_TRUE(!cs_hmap_get(m, "k7", 2) && cs_hmap_get(m, "k8", 2) == (void *)8, "right ones");
	cs_hmap_free(m, NULL);
	cs_hmap_free(NULL, NULL);
}

/* Bounded caches: a stash never holds more than its size, nor more caches than the cap. */
/* The intrusive chains the buckets and blackholes use: links of the caller's own nodes. */
struct chained {
	int id;
	struct cs_hlink link;
};

static size_t chain_count(const struct cs_htab *t, uint64_t hash, int id)
{
	size_t n = 0;

	for (struct cs_hlink *l = *cs_htab_chain(t, hash); l; l = l->next)
		n += l->hash == hash && cs_hlink_entry(l, struct chained, link)->id == id;
	return n;
}

static void test_htab(void)
{
	static struct chained nodes[3000];
	struct cs_htab t = { 0 };
	size_t missing = 0, kept = 0;

	ASSERT_OK(cs_htab_grow(&t, 8), "first slots");
	ASSERT_EQ(t.nslots, 8, "first size");
	for (int i = 0; i < 3000; i++) {
		nodes[i].id = i;
		/* hashes that share low bits, so chains are long before the table grows */
		cs_htab_insert(&t, &nodes[i].link, (uint64_t)i << 20 | (uint64_t)(i % 7));
		if ((size_t)i + 1 > t.nslots)
			ASSERT_OK(cs_htab_grow(&t, 8), "grow");
	}
	ASSERT_EQ(t.nslots, 4096, "doubled up to the count");
	for (int i = 0; i < 3000; i++)
		missing += chain_count(&t, nodes[i].link.hash, i) != 1;
	ASSERT_EQ(missing, 0, "every link in its chain once after the moves");
	for (int i = 0; i < 3000; i += 2)
		cs_htab_unlink(&t, &nodes[i].link);
	cs_htab_unlink(&t, &nodes[0].link); /* not linked any more: nothing happens */
	for (int i = 0; i < 3000; i++)
		kept += chain_count(&t, nodes[i].link.hash, i);
	ASSERT_EQ(kept, 1500, "unlinked ones gone, the others kept");
	ASSERT_TRUE(chain_count(&t, nodes[1].link.hash, 1) == 1 &&
			    chain_count(&t, nodes[2].link.hash, 2) == 0,
		    "the right ones");
	cs_htab_fini(&t);
	ASSERT_TRUE(!t.slot && !t.nslots, "fini empties");
	cs_htab_fini(&t);
}

/* Whole transfers: what was written whole reads back whole, at an offset or in turn; the end says so. */
static void test_fdio(void)
{
	char path[] = "/tmp/test_toolkit_fdio.XXXXXX", big[70000], back[70000];
	int fd = mkstemp(path);

	ASSERT_TRUE(fd >= 0, "temp file");
	if (fd < 0)
		return;
	unlink(path);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	ASSERT_OK(cs_write_all(fd, big, sizeof(big)), "write whole");
	ASSERT_OK(cs_pread_all(fd, back, 1000, 69000), "pread at an offset");
	ASSERT_TRUE(!memcmp(back, big + 69000, 1000), "the bytes at the offset");
	ASSERT_EQ(cs_pread_all(fd, back, 1001, 69000), -ENODATA, "pread past the end");
	ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0, "rewind");
	ASSERT_OK(cs_read_all(fd, back, 40000), "read, first part");
	ASSERT_OK(cs_read_all(fd, back + 40000, 30000), "read, the rest");
	ASSERT_TRUE(!memcmp(back, big, sizeof(big)), "the bytes in turn");
	ASSERT_EQ(cs_read_all(fd, back, 1), -ENODATA, "read at the end");
	close(fd);
	ASSERT_EQ(cs_write_all(fd, big, 1), -EBADF, "a closed descriptor");
	ASSERT_OK(cs_write_all(-1, big, 0), "nothing to move");
}

static void test_stash_bounds(void)
{
	struct cs_stash *s = NULL;
	char name[32], *v = NULL;
	int err = 0;

	if (!ASSERT_OK(cs_stash_new(&s), "stash"))
		return;
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "k%d", i);
		err |= cs_stash_set(s, "c", 10, 0, name, "v");
	}
	ASSERT_OK(err, "1000 writes");
	ASSERT_EQ(cs_stash_get(s, "c", "k989", &v), -ENOENT, "oldest evicted");
	ASSERT_OK(cs_stash_get(s, "c", "k990", &v), "newest kept");
	free(v);
	for (int i = 0; i < CS_STASH_MAX_CACHES; i++) {
		snprintf(name, sizeof(name), "cache%d", i);
		if ((err = cs_stash_set(s, name, 1, 0, "k", "v")))
			break;
	}
	ASSERT_EQ(err, -ENOSPC, "cache count bounded");
	cs_stash_free(s);
	cs_stash_free(NULL);
}

static void test_strbuf(void)
{
	struct sbuf sb = { .max = 8 };
	size_t len = 0;
	char *s;

	s = sb_take(&sb, &len);
	ASSERT_STREQ(s, "", "nothing written: empty string");
	free(s);
	sb_puts(&sb, "ab");
	sb_putc(&sb, 'c');
	sb_printf(&sb, "%d", 42);
	sb_putn(&sb, "\0x", 2);
	s = sb_take(&sb, &len);
	ASSERT_EQ(len, 7, "bytes, NUL included");
	ASSERT_TRUE(s && !memcmp(s, "abc42\0x", 8), "content, NUL-terminated");
	free(s);
	sb_puts(&sb, "12345678");
	ASSERT_OK(sb.err, "up to the bound");
	sb_putc(&sb, '9');
	ASSERT_EQ(sb.err, -E2BIG, "past the bound");
	sb_puts(&sb, "x");
	ASSERT_EQ(sb.len, 8, "sticky: nothing more written");
	ASSERT_TRUE(sb_take(&sb, NULL) == NULL, "take after an error");
	ASSERT_TRUE(sb.buf == NULL && sb.err == 0, "and the buffer is reset");
	sb_free(&sb);
	sb.max = 0;
	sb_put_u64(&sb, 0);
	sb_putc(&sb, ',');
	sb_put_u64(&sb, 9);
	sb_putc(&sb, ',');
	sb_put_u64(&sb, 10);
	sb_putc(&sb, ',');
	sb_put_u64(&sb, 18446744073709551615ull);
	ASSERT_STREQ(sb.buf, "0,9,10,18446744073709551615", "decimal numbers");
	sb_free(&sb);
}

/* arena: pieces stay put across growth; a big piece gets its own chunk; reset keeps one small chunk. */
static void test_arena(void)
{
	struct cs_arena a = { .first = 16, .max = 64 };
	char *p = cs_arena_alloc(&a, 10), *q, *big;

	if (!ASSERT_TRUE(p != NULL, "first piece"))
		return;
	memcpy(p, "012345678", 10);
	q = cs_arena_alloc(&a, 10); /* 6 bytes left: a new chunk of 32 */
	ASSERT_TRUE(q && a.chunks->size == 32 && a.chunks->next, "second chunk, twice the first");
	ASSERT_STREQ(p, "012345678", "the first piece did not move");
	big = cs_arena_alloc(&a, 200);
	ASSERT_TRUE(big && a.chunks->size == 200 && a.chunks->used == 200,
		    "a piece past max: a chunk of its own, full");
	ASSERT_TRUE(cs_arena_alloc(&a, 1) && a.chunks->size == 64, "then chunks of max again");
	cs_arena_reset(&a, 32);
	ASSERT_TRUE(a.chunks && a.chunks->size == 32 && !a.chunks->next && !a.chunks->used,
		    "reset keeps the newest chunk no larger than keep, empty");
	cs_arena_reset(&a, 0);
	ASSERT_TRUE(a.chunks == NULL, "keep 0: nothing kept");
	ASSERT_TRUE(cs_arena_alloc(&a, 4) && a.chunks->size == 16, "usable again from first");
	cs_arena_free(&a);
	ASSERT_TRUE(a.chunks == NULL, "free");
}

/* strmap: scanned while small, indexed past 8 entries; order, overwrite, delete, clear. */
static void test_strmap(void)
{
	struct strmap *m = strmap_new();
	char k[16], v[16];
	const char *key;
	int bad = 0;

	if (!ASSERT_TRUE(m != NULL, "strmap"))
		return;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 100; i++) {
			snprintf(k, sizeof(k), "k%d", i);
			snprintf(v, sizeof(v), "v%d", i);
			bad += strmap_set(m, k, v) != 0;
		}
		bad += strmap_set(m, "k3", "three") != 0; /* overwrite keeps the place */
		for (int i = 0; i < 100; i++) {
			snprintf(k, sizeof(k), "k%d", i);
			snprintf(v, sizeof(v), "v%d", i);
			bad += !strmap_get(m, k) || (i != 3 && strcmp(strmap_get(m, k), v));
		}
		ASSERT_EQ(bad, 0, "100 keys set and found");
		ASSERT_STREQ(strmap_get(m, "k3"), "three", "overwritten");
		ASSERT_TRUE(strmap_at(m, 3, &key, NULL, NULL) && !strcmp(key, "k3"), "order kept");
		ASSERT_OK(strmap_del(m, "k50"), "del");
		ASSERT_TRUE(!strmap_has(m, "k50") && strmap_has(m, "k51"), "del only that one");
		ASSERT_EQ(strmap_count(m), 99, "count");
		strmap_clear(m);
		ASSERT_TRUE(!strmap_has(m, "k1") && strmap_count(m) == 0, "cleared");
		bad += strmap_set(m, "a", "1") || strmap_set(m, "b", "2") ||
		       strcmp(strmap_get(m, "b"), "2") || strmap_del(m, "a") || strmap_has(m, "a");
		ASSERT_EQ(bad, 0, "small map after clear");
		strmap_clear(m);
	}
	strmap_free(m);
}

/*
 * strmap keeps its strings in an arena: a value stays put while other keys
 * come and go, an overwrite may reuse its room (and read from itself), long
 * values and endless overwrites without a clear go to the heap.
 */
static void test_strmap_arena(void)
{
	struct strmap *m = strmap_new(), *d = NULL;
	char k[16], big[3000], v[1200];
	const char *a, *got;
	size_t len = 0;
	int bad = 0;

	if (!ASSERT_TRUE(m != NULL, "strmap"))
		return;
	memset(big, 'x', sizeof(big));
	ASSERT_OK(strmap_set(m, "a", "first value"), "set a");
	a = strmap_get(m, "a");
	for (int i = 0; i < 3000; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		bad += strmap_setn(m, k, big, (size_t)i) != 0; /* past the arena's string size too */
	}
	ASSERT_EQ(bad, 0, "3000 keys");
	ASSERT_TRUE(a == strmap_get(m, "a") && !strcmp(a, "first value"), "a value stays put");
	ASSERT_TRUE((got = strmap_getn(m, "k2999", &len)) && len == 2999 && got[2999] == '\0' &&
			    !memcmp(got, big, 2999), "long value");
	ASSERT_OK(strmap_setn(m, "a", a + 6, 5), "overwrite from itself");
	ASSERT_TRUE((got = strmap_getn(m, "a", &len)) && len == 5 && !strcmp(got, "value"),
		    "overwritten from itself");
	ASSERT_OK(strmap_setn(m, "a", "n\0l", 3), "NUL inside");
	ASSERT_TRUE((got = strmap_getn(m, "a", &len)) && len == 3 && !memcmp(got, "n\0l", 4),
		    "NUL inside kept");
	d = strmap_dup(m);
	ASSERT_TRUE(d && (got = strmap_getn(d, "a", &len)) && len == 3 &&
			    !memcmp(got, "n\0l", 4) && strmap_count(d) == 3001, "dup");
	strmap_free(d);
	/* no clear: the dropped room is bounded, the values stay right */
	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)(i * 7) % sizeof(v);

		memset(v, 'a' + i % 26, n);
		bad += strmap_setn(m, i % 2 ? "a" : "k7", v, n) != 0;
		got = strmap_getn(m, i % 2 ? "a" : "k7", &len);
		bad += !got || len != n || got[n] != '\0' || (n && got[n - 1] != 'a' + i % 26);
	}
	ASSERT_EQ(bad, 0, "200000 overwrites");
	ASSERT_OK(strmap_del(m, "k5"), "del");
	strmap_clear(m);
	ASSERT_TRUE(strmap_count(m) == 0 && !strmap_has(m, "a"), "cleared");
	ASSERT_OK(strmap_set(m, "a", "again"), "set after clear");
	ASSERT_STREQ(strmap_get(m, "a"), "again", "value after clear");
	strmap_free(m);
}

/*
 * Interned keys: an entry set by key is found by name and the other way round,
 * also for a name interned after a map already held it (found by hash then);
 * order, overwrite, delete, dup and clears keep both ways in agreement.
 */
static void test_strmap_keys(void)
{
	struct strmap *m = strmap_new(), *d = NULL;
	const struct strmap_key *ka = strmap_key_intern("t_key_a"), *kb, *kc;
	const char *key, *got;
	size_t len = 0;
	int bad = 0;

	if (!ASSERT_TRUE(m && ka, "strmap, key"))
		goto out;
	ASSERT_TRUE(strmap_key_intern("t_key_a") == ka && strmap_key_find("t_key_a") == ka &&
			    !strcmp(ka->name, "t_key_a") && ka->len == 7,
		    "one key per name");
	ASSERT_TRUE(strmap_key_find("t_key_never") == NULL, "find does not intern");
	ASSERT_OK(strmap_set(m, "t_key_late", "plain"), "set by a name not interned yet");
	ASSERT_OK(strmap_setk(m, ka, "by key", 6), "setk");
	kb = strmap_key_intern("t_key_late");
	ASSERT_TRUE(kb && (got = strmap_getk(m, kb, &len)) && len == 5 && !strcmp(got, "plain"),
		    "interned later: found by key");
	ASSERT_OK(strmap_setk(m, kb, "late2", 5), "overwrite by key");
	ASSERT_STREQ(strmap_get(m, "t_key_late"), "late2", "overwrite seen by name");
	ASSERT_EQ(strmap_count(m), 2, "no second entry");
	ASSERT_STREQ(strmap_get(m, "t_key_a"), "by key", "setk found by name");
	ASSERT_OK(strmap_set(m, "t_key_a", "by name"), "set by name");
	ASSERT_TRUE((got = strmap_getk(m, ka, &len)) && len == 7 && !strcmp(got, "by name") &&
			    strmap_count(m) == 2,
		    "set by name found by key");
	kc = strmap_key_intern("t_key_c");
	ASSERT_OK(strmap_set(m, "t_key_c", "c"), "set an interned name by name");
	ASSERT_TRUE(strmap_at(m, 0, &key, NULL, NULL) && !strcmp(key, "t_key_late") &&
			    strmap_at(m, 1, &key, NULL, NULL) && !strcmp(key, "t_key_a") &&
			    strmap_at(m, 2, &key, NULL, NULL) && !strcmp(key, "t_key_c"),
		    "insertion order");
	d = strmap_dup(m);
	ASSERT_TRUE(d && strmap_count(d) == 3 && !strcmp(strmap_getk(d, kc, NULL), "c") &&
			    !strcmp(strmap_getk(d, kb, NULL), "late2"),
		    "dup");
	ASSERT_OK(strmap_del(m, "t_key_late"), "del the first");
	ASSERT_TRUE(!strmap_getk(m, kb, NULL) && !strcmp(strmap_getk(m, kc, NULL), "c") &&
			    !strcmp(strmap_get(m, "t_key_a"), "by name") && strmap_count(m) == 2,
		    "the others found after a delete");
	ASSERT_OK(strmap_del(m, "t_key_a"), "del by name");
	ASSERT_TRUE(!strmap_getk(m, ka, NULL) && !strmap_has(m, "t_key_a"), "deleted");
	for (int i = 0; i < 1000; i++) {
		strmap_clear(m);
		bad += strmap_getk(m, kc, NULL) != NULL || strmap_getk(m, ka, NULL) != NULL;
		if (i % 2)
			bad += strmap_setk(m, ka, "x", 1) != 0;
		bad += !(got = strmap_getk(m, ka, NULL)) != !(i % 2);
	}
	ASSERT_EQ(bad, 0, "1000 clears");
	ASSERT_EQ(strmap_count(m), 1, "one entry");
out:
	strmap_free(d);
	strmap_free(m);
}

/* utf8_valid (ASCII eight bytes at a time) agrees with a walk of utf8_seq_len. */
static void test_utf8_valid(void)
{
	static const char *const pieces[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
					      "\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\x80" };
	char buf[40];
	int bad = 0, n = 0;

	for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++)
		for (size_t at = 0; at < 20; at++)
			for (size_t tail = 0; tail < 12; tail++) {
				size_t pl = strlen(pieces[p]), len = at + pl + tail, i = 0, k;
				bool ref = true;

				memset(buf, 'a', sizeof(buf));
				memcpy(buf + at, pieces[p], pl);
				while (i < len && (k = utf8_seq_len(buf + i, len - i)))
					i += k;
				ref = i == len;
				bad += utf8_valid(buf, len) != ref;
				n++;
			}
	ASSERT_EQ(bad, 0, "utf8_valid agrees with utf8_seq_len");
	ASSERT_TRUE(n == 8 * 20 * 12 && utf8_valid("plain ascii, long enough", 24) &&
			    !utf8_valid("plain ascii\xff long enough", 24),
		    "utf8_valid ASCII runs");
}

static void test_read_file(void)
{
	char path[] = "/tmp/test_toolkit_XXXXXX", *buf = NULL;
	size_t len = 99;
	int fd = mkstemp(path);

	if (!ASSERT_TRUE(fd >= 0, "temp file"))
		return;
	ASSERT_OK(cs_read_file(path, 16, &buf, &len), "empty file");
	ASSERT_EQ(len, 0, "empty: no bytes");
	ASSERT_STREQ(buf, "", "empty: NUL-terminated");
	free(buf);
	ASSERT_EQ(write(fd, "0123456789abcdef!", 17), 17, "fill");
	close(fd);
	ASSERT_EQ(cs_read_file(path, 16, &buf, &len), -EFBIG, "over the bound");
	ASSERT_OK(cs_read_file(path, 17, &buf, &len), "at the bound");
	ASSERT_EQ(len, 17, "whole file");
	ASSERT_STREQ(buf, "0123456789abcdef!", "its bytes");
	free(buf);
	unlink(path);
	ASSERT_EQ(cs_read_file(path, 17, &buf, &len), -ENOENT, "missing file");
}

/* A stream read in several steps (200 KiB): whole at its bound, refused one byte under. */
static void test_read_stream(void)
{
	size_t n = 200 * 1024, len = 0;
	char *data = malloc(n), *buf = NULL;
	FILE *f;

	if (!ASSERT_TRUE(data != NULL, "alloc"))
		return;
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	f = fmemopen(data, n, "r");
	ASSERT_OK(cs_read_stream(f, n, &buf, &len), "at the bound");
	ASSERT_TRUE(len == n && buf && !memcmp(buf, data, n) && !buf[n], "every byte, then NUL");
	free(buf);
	fclose(f);
	f = fmemopen(data, n, "r");
	ASSERT_EQ(cs_read_stream(f, n - 1, &buf, &len), -EFBIG, "one byte over");
	ASSERT_TRUE(buf == NULL, "nothing on error");
	fclose(f);
	free(data);
}

static void test_env_expand(void)
{
	static const struct {
		const char *in, *loose, *strict;
	} cases[] = {
		{ "a ${TK_SET}/$TK_SET b", "a v1/v1 b", "a v1/v1 b" },
		{ "${TK_UNSET}|$TK_UNSET", "|", "${TK_UNSET}|$TK_UNSET" },
		{ "$TK_SETx ${TK_SET}x", " v1x", "$TK_SETx v1x" },
		{ "${TK_SET", "${TK_SET", "${TK_SET" },
		{ "$ $1 100$", "$ $1 100$", "$ $1 100$" },
		{ "${TK_REC}", "$TK_SET", "$TK_SET" }, /* not rescanned */
	};
	size_t n;

	setenv("TK_SET", "v1", 1);
	setenv("TK_REC", "$TK_SET", 1);
	unsetenv("TK_UNSET");
	unsetenv("TK_SETx");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int strict = 0; strict < 2; strict++) {
			char *out = env_expand(cases[i].in, strlen(cases[i].in), strict, &n);

			ASSERT_STREQ(out, strict ? cases[i].strict : cases[i].loose, cases[i].in);
			ASSERT_EQ(out ? strlen(out) : 0, n, "length");
			free(out);
		}
	}
}

struct rec_demo {
	char *name, *file;
	char **paths;
	size_t npaths;
	bool on, quiet; /* quiet sits at an odd offset: no row may read it as a pointer */
};

static const struct rec_field demo_fields[] = {
	REC_STR_OR(struct rec_demo, "name", name, "dflt"),
	REC_LIST(struct rec_demo, "paths", paths, npaths),
	REC_ROW(struct rec_demo, "on", on, REC_BOOL),
	REC_ROW(struct rec_demo, "quiet", quiet, REC_BOOL),
	REC_ROW(struct rec_demo, NULL, file, REC_STR),
};
static const struct rec_schema demo = REC_SCHEMA(demo_fields);

static int demo_yaml(const char *text, struct rec_demo *d, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t doc;
	struct ywalk w = { .doc = &doc, .file = "demo.yaml", .err = err, .errlen = errlen };
	const char *k;
	yaml_node_t *root, *v;
	int rc = 0;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&p, &doc)) {
		yaml_parser_delete(&p);
		return -EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	YWALK_PAIRS(&w, root, k, v) {
		rc = rec_yaml_set(&w, &demo, d, k, v);
		if (rc)
			break;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

static void test_record(void)
{
	struct rec_demo d = { 0 }, c;
	char err[128] = "";
	json_t *j;

	ASSERT_OK(demo_yaml("name: a\npaths: [x, y]\non: yes\nquiet: yes\nname: b\n", &d, err,
			    sizeof(err)),
		  "record: yaml keys read");
	ASSERT_TRUE(d.quiet, "record: a bool at an odd offset read");
	ASSERT_STREQ(d.name, "b", "record: the last of a repeated key wins");
	ASSERT_EQ(d.npaths, 2, "record: list read");
	ASSERT_TRUE(d.on, "record: YAML boolean read");
	ASSERT_EQ(demo_yaml("paths: [z]\n", &d, err, sizeof(err)), 0, "record: list again");
	ASSERT_EQ(d.npaths, 3, "record: a list key appends");
	ASSERT_EQ(demo_yaml("file: f\n", &d, err, sizeof(err)), -ENOENT,
		  "record: an owned-only member is not a key");
	ASSERT_EQ(demo_yaml("on: maybe\n", &d, err, sizeof(err)), -EINVAL, "record: bad boolean");
	ASSERT_TRUE(strstr(err, "demo.yaml:1") && strstr(err, "on"), "record: error names the place");
	ASSERT_EQ(demo_yaml("paths: x\n", &d, err, sizeof(err)), -EINVAL, "record: scalar for a list");
	ASSERT_OK(demo_yaml("name: ~\n", &d, err, sizeof(err)), "record: null string");
	ASSERT_TRUE(!d.name, "record: null unsets a string");

	d.file = strdup("f.yaml");
	c = d;
	ASSERT_OK(rec_copy(&demo, &c, &d), "record: copy");
	ASSERT_TRUE(c.file != d.file && !strcmp(c.file, "f.yaml"), "record: owned string copied");
	ASSERT_TRUE(c.paths != d.paths && c.npaths == 3 && !strcmp(c.paths[2], "z"),
		    "record: list copied");
	rec_free(&demo, &c);
	ASSERT_TRUE(!c.file && !c.paths && !c.npaths, "record: free leaves it empty");

	j = json_pack("{s:s}", "other", "x");
	ASSERT_OK(rec_json_read(&demo, &d, j), "record: json read");
	ASSERT_STREQ(d.name, "dflt", "record: default for an absent key");
	json_decref(j);
	j = json_pack("{s:s}", "name", "from-json");
	ASSERT_OK(rec_json_read(&demo, &d, j), "record: json read again");
	ASSERT_STREQ(d.name, "from-json", "record: json value");
	json_decref(j);
	rec_free(&demo, &d);
	rec_free(&demo, NULL);
}

/* ywalk_map_check on the root of text: its return, the message in err */
static int map_check(const char *text, const char *what, bool unique, char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t doc;
	struct ywalk w = { .doc = &doc, .file = "m.yaml", .err = err, .errlen = errlen };
	int rc;

	*err = 0;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&p, &doc)) {
		yaml_parser_delete(&p);
		return -EIO;
	}
	rc = ywalk_map_check(&w, yaml_document_get_root_node(&doc), what, unique);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

static void test_ywalk_map(void)
{
	const char *text = "a: 1\nb: 2\na: 3\n";
	yaml_parser_t p;
	yaml_document_t doc;
	struct ywalk w = { .doc = &doc, .file = "m.yaml" };
	const yaml_node_t *root, *k = NULL;
	char err[128];

	ASSERT_OK(map_check(text, "labels", false, err, sizeof(err)), "a key twice, not asked");
	ASSERT_EQ(map_check(text, "labels", true, err, sizeof(err)), -EINVAL, "a key twice");
	ASSERT_STREQ(err, "m.yaml:3: labels: key 'a' is already defined", "names the second");
	ASSERT_EQ(map_check("[x]: 1\n", NULL, false, err, sizeof(err)), -EINVAL, "list as key");
	ASSERT_STREQ(err, "m.yaml:1: keys must be strings", "no what: no prefix");
	ASSERT_EQ(map_check("- a\n", "prometheus", false, err, sizeof(err)), -EINVAL, "a list");
	ASSERT_STREQ(err, "m.yaml:1: prometheus: expected a mapping", "says what was expected");

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	if (!ASSERT_TRUE(yaml_parser_load(&p, &doc), "yaml loads")) {
		yaml_parser_delete(&p);
		return;
	}
	root = yaml_document_get_root_node(&doc);
	ASSERT_STREQ(ywalk_scalar(ywalk_get(&w, root, "a", &k)), "1", "get: the first pair");
	ASSERT_EQ(ywalk_line(k), 1, "get: the key's node");
	ASSERT_STREQ(ywalk_scalar(ywalk_get(&w, root, "b", NULL)), "2", "get: no key node asked");
	ASSERT_TRUE(!ywalk_get(&w, root, "c", NULL), "get: absent");
	ASSERT_TRUE(!ywalk_get(&w, ywalk_get(&w, root, "a", NULL), "a", NULL), "get: not a mapping");
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
}

static void test_ywalk_stream(void)
{
	static const char text[] = "a: 1\n---\nb: 2\n---\nc: [\n";
	struct ywalk w = { .file = "s.yaml" };
	struct ywalk_stream ys;
	yaml_node_t *root;
	char err[128];
	int n = 0, rc;

	w.err = err;
	w.errlen = sizeof(err);
	if (!ASSERT_OK(ywalk_stream_open(&ys, text, strlen(text)), "stream opens"))
		return;
	while (!(rc = ywalk_next(&w, &ys, &root)) && root)
		n++;
	ASSERT_EQ(n, 2, "stream: the two documents before the error");
	ASSERT_EQ(rc, -EINVAL, "stream: a syntax error");
	ASSERT_TRUE(!strncmp(err, "s.yaml:6: YAML error: ", 22), "stream: the error's place");
	ywalk_stream_close(&ys);
	if (!ASSERT_OK(ywalk_stream_open(&ys, "", 0), "empty stream opens"))
		return;
	ASSERT_TRUE(!ywalk_next(&w, &ys, &root) && !root, "empty stream: no document");
	ywalk_stream_close(&ys);
}

static void test_dquoted(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!ASSERT_TRUE(f != NULL, "memstream"))
		return;
	fput_dquoted(f, "a\"b\\c d");
	fput_dquoted(f, "");
	fclose(f);
	ASSERT_STREQ(buf, "\"a\\\"b\\\\c d\"\"\"", "quotes and backslashes escaped, empty is \"\"");
	free(buf);
}

static bool no_dot(const char *dir, const char *name, void *arg)
{
	return !strchr(name, '.');
}

static void test_strv_from_dir(void)
{
	char dir[] = "/tmp/cs-test-strv-XXXXXX";
	char **v;
	size_t n;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "scratch dir"))
		return;
	t_write_file(dir, "b", "");
	t_write_file(dir, "a", "");
	t_write_file(dir, "c.txt", "");
	t_write_file(dir, ".hidden", "");
	ASSERT_OK(strv_from_dir(dir, no_dot, NULL, &v, &n), "list with a filter");
	ASSERT_TRUE(n == 2 && !strcmp(v[0], "a") && !strcmp(v[1], "b"), "kept names, sorted");
	strv_free(v, n);
	ASSERT_OK(strv_from_dir(dir, NULL, NULL, &v, &n), "list all");
	ASSERT_TRUE(n == 3 && !strcmp(v[2], "c.txt"), "every name but the hidden ones");
	strv_free(v, n);
	t_rmtree(dir);
	ASSERT_EQ(strv_from_dir(dir, NULL, NULL, &v, &n), -ENOENT, "missing directory");
	ASSERT_TRUE(!v && !n, "nothing listed");
	ASSERT_TRUE(cs_is_yaml_name("a.yaml") && cs_is_yaml_name("b.yml") &&
			    !cs_is_yaml_name(".yaml") && !cs_is_yaml_name("c.yaml.bak") &&
			    !cs_is_yaml_name("yml"),
		    "YAML file names");
}

/* The one base64 codec: RFC 4648's vectors, Go's StdEncoding/RawURLEncoding rules. */
static void test_base64(void)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const std[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					   "Zm9vYmFy" };
	static const char *const url[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy" };
	static const char *const bad_std[] = { "Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v-_==", "Zm\0v" };
	char enc[16];
	uint8_t dec[16];

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t len = strlen(plain[i]);

		b64_encode((const uint8_t *)plain[i], len, enc);
		ASSERT_STREQ(enc, std[i], "standard, padded");
		b64url_encode((const uint8_t *)plain[i], len, enc);
		ASSERT_STREQ(enc, url[i], "URL alphabet, unpadded");
		ASSERT_EQ(b64_decode(std[i], strlen(std[i]), dec, sizeof(dec)), (int)len, std[i]);
		ASSERT_TRUE(!memcmp(dec, plain[i], len), "standard decodes back");
		ASSERT_EQ(b64url_decode(url[i], strlen(url[i]), dec, sizeof(dec)), (int)len, url[i]);
		ASSERT_TRUE(!memcmp(dec, plain[i], len), "URL decodes back");
	}
	for (size_t i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++)
		ASSERT_EQ(b64_decode(bad_std[i], i == 5 ? 4 : strlen(bad_std[i]), dec, sizeof(dec)),
			  -EINVAL, bad_std[i]);
	b64_encode((const uint8_t *)"\xfb\xff", 2, enc);
	ASSERT_STREQ(enc, "+/8=", "standard alphabet's last two");
	ASSERT_EQ(b64url_decode("Zm9v", 4, dec, 2), -EMSGSIZE, "bounded by the caller's room");
}

/* A template on a frame that is gone (and its stack reused) by exit(). */
static __attribute__((noinline)) void scratch_from_frame(char *made, size_t size)
{
	char tmpl[] = "/tmp/test_toolkit_XXXXXX";

	if (!t_scratch_dir(tmpl))
		snprintf(made, size, "%s", tmpl);
}

static __attribute__((noinline)) void clobber_stack(void)
{
	volatile char junk[512];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = 'A';
}

/* The test lib's scratch directory is removed at exit whatever frame named it. */
static void test_scratch_dir_frame(void)
{
	char made[64] = "";
	int fd[2], status = -1;
	pid_t pid;

	if (!ASSERT_OK(pipe(fd), "pipe"))
		return;
	fflush(NULL); /* the child's exit() flushes its copy of the buffers */
	pid = fork();
	if (pid == 0) {
		bool sent;

		close(fd[0]);
		scratch_from_frame(made, sizeof(made));
		clobber_stack();
		sent = write(fd[1], made, sizeof(made)) == sizeof(made);
		exit(sent ? 0 : 1); /* exit(), not _exit(): the removal runs at exit */
	}
	close(fd[1]);
	if (ASSERT_TRUE(pid > 0, "fork")) {
		ASSERT_TRUE(read(fd[0], made, sizeof(made)) == sizeof(made) && *made, "child made one");
		ASSERT_TRUE(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
				    !WEXITSTATUS(status), "child exited");
		ASSERT_TRUE(*made && access(made, F_OK) && errno == ENOENT, made);
	}
	close(fd[0]);
	if (*made)
		t_rmtree(made);
}

int main(void)
{
	test_scratch_dir_frame();
	test_base64();
	test_record();
	test_ywalk_map();
	test_ywalk_stream();
	test_strv_from_dir();
	test_dquoted();
	test_strmap();
	test_strmap_arena();
	test_strmap_keys();
	test_utf8_valid();
	test_keyed();
	test_hash_every_byte();
	test_map();
	test_htab();
	test_fdio();
	test_stash_bounds();
	test_strbuf();
	test_arena();
	test_read_file();
	test_read_stream();
	test_env_expand();
	return TEST_SUMMARY();
}
