// SPDX-License-Identifier: MIT
/*
 * The alert journal (SQLite): an agent's push is acknowledged once its alerts
 * are in an append-only file, and a writer thread moves the file into the
 * database in large groups.
 *
 * A push's alerts, after the profiles, take their ids (and their decisions')
 * from the database's counters (cs_db_alert_ids_take), are encoded as one
 * record and appended with one write(); the 201 answer follows at once, with
 * no wait for a COMMIT and no suspension of the connection. Acknowledged means
 * in the kernel: the guarantee of a WAL commit at synchronous=NORMAL (a crash
 * of the LAPI loses nothing, a power cut may lose the last ones).
 *
 * The writer stores the appended records in order, many at a time, with the
 * journal position they reach in the same transaction
 * (cs_db_alerts_insert_journaled); a start replays what lies beyond that
 * position before the LAPI listens. Once everything appended is stored and the
 * file is large, it is cut back to its header under the next generation: the
 * database's (generation, position) then says that the older generation was
 * stored whole. A file past that size takes no more records until then, so a
 * steady stream of pushes cannot keep the writer from ever finding it empty.
 *
 * Reads of alerts and decisions wait until what was appended before they
 * arrived is stored (lapi_journal_sync): a client sees its own writes. The
 * appended-but-unstored records are bounded (JOURNAL_CAP), both their bytes
 * and the heap their decoded alerts pin until stored (a push keeps nothing
 * else: its alerts not stored are freed once it is answered): beyond it, and
 * for anything large (imports), pushes take the group commit (commit.c),
 * which suspends them until stored.
 *
 * File: a header (JOURNAL_MAGIC, u64 generation), then records: u32 length,
 * u32 CRC-32 of the payload, the payload (journal_encode). Little-endian. A
 * record cut short or damaged (a crash in its write()) ends the journal: it is
 * ignored with a warning and the file cut there.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/condwait.h"
#include "common/fdio.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "lapi/lapi_int.h"

#define JOURNAL_MAGIC "CSALJNL1"
#define JOURNAL_HEADER 16 /* the magic, the generation */
#define JOURNAL_RECORD_HEADER 8
/* a record's payload at most: what one journaled push may hold (else the group commit) */
#define JOURNAL_RECORD_MAX (4u << 20)
#define JOURNAL_PUSH_ALERTS 1024
#define JOURNAL_PUSH_DECISIONS 4096
#ifndef JOURNAL_CAP
#define JOURNAL_CAP (32u << 20) /* unstored: record bytes, and heap pinned, at most */
#endif
#define JOURNAL_ROTATE (64u << 20) /* a file this large takes no more records until cut */
#define JOURNAL_GROUP_ALERTS 4096  /* alerts in one transaction at most */
#define JOURNAL_SYNC_WAIT_S 10	   /* a read waits this long at most for the writer */
#define JOURNAL_RETRY_MS 200	   /* the database refused a group: tried again after */
/*
 * A group smaller than this waits JOURNAL_BATCH_MS for more: no answer waits for
 * the writer (a read that does wakes it), and the cost of an alert stored falls
 * with the group's size (~16 us of the writer's CPU at groups of 10, ~6 at 500:
 * docs/BENCHMARKS.md).
 */
#define JOURNAL_BATCH_ALERTS 512
#define JOURNAL_BATCH_MS 5

/* One appended record, from its append until it is stored. */
struct jsub {
	struct jsub *next;
	uint64_t end;		 /* the journal position after its record */
	bool ready;		 /* its alerts are handed over (lapi_journal_commit) */
	struct cs_alert **store; /* the alerts to store (owned from ready on) */
	size_t nstore;
	size_t held; /* the heap it pins until stored (heap_of_push), counted against the cap */
	int64_t now;
};

struct lapi_journal {
	struct cs_db *db;
	struct alert_dedupe *dedupe; /* the uuids answered: claimed at the append */
	char *path;
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t work;   /* a record is ready, or hold/stop changed */
	pthread_cond_t stored; /* committed moved */
	int64_t generation;
	uint64_t end;	    /* bytes in the file */
	uint64_t committed; /* stored up to here */
	uint64_t cap;	    /* on the unstored records' bytes and on the heap they pin */
	uint64_t held;	    /* the unstored records' heap (their jsubs' held) */
	/*
	 * The unstored records' alerts, at most the dedupe map's size: each uuid
	 * claimed at its append stays in the map (a FIFO) until stored, since every
	 * newer claim meanwhile is a later append's (the group commit waits for the
	 * writer first); evicted before, a retry of it would take a second id.
	 */
	size_t unstored_alerts, max_unstored;
	uint64_t rotate; /* JOURNAL_ROTATE, or a test's */
	long long sync_wait_ms; /* JOURNAL_SYNC_WAIT_S, or a test's */
	struct jsub *head, **tail;
	bool hold, stop;
	/*
	 * A failed write's partial record could not be cut off: a record after it
	 * would lie beyond bytes a start reads as the journal's end (lost at the
	 * next start, acknowledged); no more appends until the file is cut.
	 */
	bool torn;
	unsigned gate, gated; /* tests: appends wait until `gate` of them are at the lock */
	unsigned barrier; /* another writer stores alerts: appends wait (lapi_journal_exclusive) */
	unsigned waiters; /* reads (and other writers) waiting for the writer: no batching */
	bool running;
	pthread_t thread;
	unsigned long appended, stored_subs; /* tests and metrics */
};

/* ---- the record codec ---- */

static void put_u32(struct sbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	sb_putn(b, x, 4);
}

static void put_u64(struct sbuf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_f64(struct sbuf *b, double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	put_u64(b, v);
}

#define NO_STRING 0xffffffffu

static void put_str(struct sbuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	put_u32(b, s ? (uint32_t)n : NO_STRING);
	if (n)
		sb_putn(b, s, n);
}

/*
 * journal_encode, and where each alert's id (aid[i]) and each decision's id
 * (did[], in order) are in b, when not NULL: the append writes the ids there
 * once taken, under the journal's lock.
 */
static int encode_at(struct sbuf *b, int64_t now, struct cs_alert *const *v, size_t n,
		     size_t *aid, size_t *did)
{
	size_t start = b->len, nd = 0;

	put_u64(b, (uint64_t)now);
	put_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct cs_alert *a = v[i];
		const char *const strs[] = { a->machine_id,	  a->uuid,	   a->scenario,
					     a->scenario_hash,	  a->scenario_version, a->message,
					     a->leakspeed,	  a->src_scope,	   a->src_value,
					     a->src_ip,		  a->src_range,	   a->src_as_number,
					     a->src_as_name,	  a->src_cn };

		if (aid)
			aid[i] = b->len;
		put_u64(b, (uint64_t)a->id);
		for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			put_str(b, strs[k]);
		put_u64(b, (uint64_t)a->events_count);
		put_u64(b, (uint64_t)a->capacity);
		put_u64(b, (uint64_t)a->start_at);
		put_u64(b, (uint64_t)a->stop_at);
		sb_putc(b, (char)((a->simulated ? 1 : 0) | (a->remediation ? 2 : 0)));
		put_f64(b, a->src_latitude);
		put_f64(b, a->src_longitude);
		put_u32(b, (uint32_t)a->n_events);
		for (size_t k = 0; k < a->n_events; k++) {
			put_u64(b, (uint64_t)a->events[k].timestamp);
			put_str(b, a->events[k].meta_json);
		}
		put_u32(b, (uint32_t)a->n_meta);
		for (size_t k = 0; k < a->n_meta; k++) {
			put_str(b, a->meta[k].key);
			put_str(b, a->meta[k].value);
		}
		put_u32(b, (uint32_t)a->n_decisions);
		for (size_t k = 0; k < a->n_decisions; k++) {
			const struct cs_decision *d = &a->decisions[k];

			if (did)
				did[nd++] = b->len;
			put_u64(b, (uint64_t)d->id);
			put_u64(b, (uint64_t)d->duration);
			put_str(b, d->scenario);
			put_str(b, d->type);
			put_str(b, d->scope);
			put_str(b, d->value);
			put_str(b, d->origin);
			sb_putc(b, (char)(d->simulated ? 1 : 0));
		}
	}
	if (b->err)
		return b->err;
	return b->len - start > JOURNAL_RECORD_MAX ? -E2BIG : 0;
}

int journal_encode(struct sbuf *b, int64_t now, struct cs_alert *const *v, size_t n)
{
	return encode_at(b, now, v, n, NULL, NULL);
}

static void patch_u64(char *at, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		at[i] = (char)(v >> (8 * i));
}

struct rd {
	const uint8_t *p;
	size_t left;
	int err; /* -EBADMSG (short or malformed), -ENOMEM */
};

static bool take(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->err || r->left < n) {
		r->err = r->err ? r->err : -EBADMSG;
		return false;
	}
	*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static uint32_t get_u32(struct rd *r)
{
	const uint8_t *x;

	if (!take(r, 4, &x))
		return 0;
	return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

static uint64_t get_u64(struct rd *r)
{
	uint64_t lo = get_u32(r);

	return lo | (uint64_t)get_u32(r) << 32;
}

static double get_f64(struct rd *r)
{
	uint64_t v = get_u64(r);
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

static uint8_t get_u8(struct rd *r)
{
	const uint8_t *x;

	return take(r, 1, &x) ? x[0] : 0;
}

/* A string (NULL when absent); a NUL inside is malformed. */
static char *get_str(struct rd *r)
{
	uint32_t n = get_u32(r);
	const uint8_t *x;
	char *s;

	if (r->err || n == NO_STRING)
		return NULL;
	if (!take(r, n, &x))
		return NULL;
	if (memchr(x, 0, n)) {
		r->err = -EBADMSG;
		return NULL;
	}
	s = strndup((const char *)x, n);
	if (!s)
		r->err = -ENOMEM;
	return s;
}

/* A count of elements of at least `min` bytes each: never more than the bytes left allow. */
static size_t get_count(struct rd *r, size_t min)
{
	uint32_t n = get_u32(r);

	if (!r->err && (size_t)n > r->left / min)
		r->err = -EBADMSG;
	return r->err ? 0 : n;
}

static void decode_alert(struct rd *r, struct cs_alert *a)
{
	char **const strs[] = { &a->machine_id,	 &a->uuid,	     &a->scenario,  &a->scenario_hash,
				&a->scenario_version, &a->message,	     &a->leakspeed, &a->src_scope,
				&a->src_value,	      &a->src_ip,	     &a->src_range, &a->src_as_number,
				&a->src_as_name,      &a->src_cn };
	uint8_t flags;

	a->id = (int64_t)get_u64(r);
	for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
		*strs[k] = get_str(r);
	a->events_count = (int64_t)get_u64(r);
	a->capacity = (int64_t)get_u64(r);
	a->start_at = (int64_t)get_u64(r);
	a->stop_at = (int64_t)get_u64(r);
	flags = get_u8(r);
	a->simulated = flags & 1;
	a->remediation = flags & 2;
	a->src_latitude = get_f64(r);
	a->src_longitude = get_f64(r);
	a->n_events = get_count(r, 12);
	if (a->n_events && !(a->events = calloc(a->n_events, sizeof(*a->events))))
		r->err = -ENOMEM;
	for (size_t k = 0; !r->err && k < a->n_events; k++) {
		a->events[k].timestamp = (int64_t)get_u64(r);
		a->events[k].meta_json = get_str(r);
	}
	if (r->err) /* the events allocated are the ones to free */
		return;
	a->n_meta = get_count(r, 8);
	if (a->n_meta && !(a->meta = calloc(a->n_meta, sizeof(*a->meta))))
		r->err = -ENOMEM;
	for (size_t k = 0; !r->err && k < a->n_meta; k++) {
		a->meta[k].key = get_str(r);
		a->meta[k].value = get_str(r);
	}
	if (r->err)
		return;
	a->n_decisions = get_count(r, 37);
	if (a->n_decisions && !(a->decisions = calloc(a->n_decisions, sizeof(*a->decisions))))
		r->err = -ENOMEM;
	for (size_t k = 0; !r->err && k < a->n_decisions; k++) {
		struct cs_decision *d = &a->decisions[k];

		d->id = (int64_t)get_u64(r);
		d->duration = (int64_t)get_u64(r);
		d->scenario = get_str(r);
		d->type = get_str(r);
		d->scope = get_str(r);
		d->value = get_str(r);
		d->origin = get_str(r);
		d->simulated = get_u8(r) & 1;
	}
	a->ids_given = true;
}

/*
 * The fewest bytes encode_at writes for an alert (its id, 14 string lengths, four
 * u64, the flags, two f64, three counts): a bound on the count a record may claim.
 * Too high a bound refuses small alerts that were acknowledged, and a start would
 * cut the journal there.
 */
#define ALERT_MIN_BYTES (8 + 14 * 4 + 4 * 8 + 1 + 2 * 8 + 3 * 4)

int journal_decode(const void *buf, size_t len, int64_t *now, struct cs_alert ***out, size_t *n)
{
	struct rd r = { .p = buf, .left = len };
	struct cs_alert **v = NULL;
	size_t count, k = 0;

	*out = NULL;
	*n = 0;
	*now = (int64_t)get_u64(&r);
	count = get_count(&r, ALERT_MIN_BYTES);
	if (!r.err && count && !(v = calloc(count, sizeof(*v))))
		r.err = -ENOMEM;
	for (; !r.err && k < count; k++) {
		if (!(v[k] = calloc(1, sizeof(*v[k])))) {
			r.err = -ENOMEM;
			break;
		}
		decode_alert(&r, v[k]);
	}
	if (!r.err && r.left)
		r.err = -EBADMSG; /* bytes after the last alert */
	if (r.err) {
		/* a partly decoded alert holds counts beyond what it allocated: fix before freeing */
		for (size_t i = 0; v && i < k + 1 && i < count; i++) {
			struct cs_alert *a = v[i];

			if (!a)
				continue;
			if (!a->events)
				a->n_events = 0;
			if (!a->meta)
				a->n_meta = 0;
			if (!a->decisions)
				a->n_decisions = 0;
		}
		cs_alerts_free(v, count);
		return r.err;
	}
	*out = v;
	*n = count;
	return 0;
}

/* ---- the file ---- */

static uint32_t crc_of(const void *p, size_t n)
{
	return (uint32_t)crc32(crc32(0, Z_NULL, 0), p, (uInt)n);
}

/* The file cut to a header of generation gen (lock held, or before the writer runs). */
static int journal_reset(struct lapi_journal *j, int64_t gen)
{
	uint8_t h[JOURNAL_HEADER];
	uint64_t g = (uint64_t)gen;

	memcpy(h, JOURNAL_MAGIC, 8);
	for (int i = 0; i < 8; i++)
		h[8 + i] = (uint8_t)(g >> (8 * i));
	if (ftruncate(j->fd, 0))
		return -errno;
	int err = cs_write_all(j->fd, h, sizeof(h)); /* O_APPEND: at the (new) end */

	if (err)
		return err;
	j->generation = gen;
	j->end = j->committed = JOURNAL_HEADER;
	j->torn = false;
	return 0;
}

static void free_alerts_of(struct cs_alert ***subs, size_t *nsubs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		cs_alerts_free(subs[i], nsubs[i]);
}

/* Stores the decoded records subs[0..count) (alerts in all) up to position pos. */
static int replay_group(struct lapi_journal *j, struct cs_alert ***subs, size_t *nsubs,
			int64_t *nows, size_t count, size_t alerts, uint64_t pos)
{
	struct cs_alert **all = malloc((alerts + 1) * sizeof(*all));
	int64_t *ids = malloc((alerts + 1) * sizeof(*ids)), now = 0;
	size_t k = 0;
	int err = all && ids ? 0 : -ENOMEM;

	for (size_t i = 0; !err && i < count; i++) {
		for (size_t a = 0; a < nsubs[i]; a++)
			all[k++] = subs[i][a];
		now = nows[i] > now ? nows[i] : now;
	}
	if (!err)
		err = cs_db_alerts_insert_journaled(j->db, all, k, now, ids, j->generation,
						    (int64_t)pos);
	if (err)
		log_error("alert journal %s: storing its records up to offset %llu: %s", j->path,
			  (unsigned long long)pos, cs_db_errmsg(j->db));
	free(all);
	free(ids);
	return err;
}

#define REPLAY_BATCH 256 /* records decoded before they are stored */

/* A record's bytes at OFF: 0, -ENODATA when the file ends first (a torn record), or -errno (said). */
static int replay_read(struct lapi_journal *j, void *buf, size_t n, uint64_t off)
{
	int err = cs_pread_all(j->fd, buf, n, off);

	if (err && err != -ENODATA)
		log_error("alert journal %s: reading offset %llu: %s", j->path,
			  (unsigned long long)off, strerror(-err));
	return err;
}

/*
 * Stores the records from `from` to the end of the file; a record cut short or
 * damaged ends the journal there (warned, the file cut). 0, or the database's
 * error (the LAPI does not start: nothing acknowledged is dropped).
 */
static int replay(struct lapi_journal *j, uint64_t from, uint64_t size, unsigned long *nrec)
{
	struct cs_alert **subs[REPLAY_BATCH];
	size_t nsubs[REPLAY_BATCH], count = 0, alerts = 0;
	int64_t nows[REPLAY_BATCH];
	uint64_t off = from;
	char *payload = NULL;
	int err = 0;

	while (off < size && !err) {
		uint8_t h[JOURNAL_RECORD_HEADER];
		uint32_t len, crc;
		const char *why = NULL;
		int rerr = 0;

		/* only what the file lacks is a torn record: a failing read stops the start */
		if (size - off < JOURNAL_RECORD_HEADER ||
		    (rerr = replay_read(j, h, sizeof(h), off)) == -ENODATA) {
			why = "cut short";
		} else if (rerr) {
			err = rerr;
			break;
		} else {
			len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
			      (uint32_t)h[3] << 24;
			crc = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
			      (uint32_t)h[7] << 24;
			if (len > JOURNAL_RECORD_MAX)
				why = "of an impossible length";
			else if (size - off - JOURNAL_RECORD_HEADER < len)
				why = "cut short";
		}
		if (!why) {
			char *p = realloc(payload, len + 1);

			if (!p) {
				err = -ENOMEM;
				break;
			}
			payload = p;
			rerr = replay_read(j, payload, len, off + JOURNAL_RECORD_HEADER);
			if (rerr == -ENODATA) {
				why = "cut short";
			} else if (rerr) {
				err = rerr;
				break;
			} else if (crc_of(payload, len) != crc)
				why = "damaged (checksum)";
		}
		if (!why) {
			int e = journal_decode(payload, len, &nows[count], &subs[count], &nsubs[count]);

			if (e == -ENOMEM) {
				err = e;
				break;
			}
			if (e)
				why = "undecodable";
		}
		if (why) {
			log_warn("alert journal %s: the record at offset %llu is %s (a crash while it"
				 " was written?): ignored, the journal ends there",
				 j->path, (unsigned long long)off, why);
			if (ftruncate(j->fd, (off_t)off))
				err = -errno;
			size = off;
			break;
		}
		alerts += nsubs[count++];
		off += JOURNAL_RECORD_HEADER + len;
		(*nrec)++;
		if (count == REPLAY_BATCH || alerts >= JOURNAL_GROUP_ALERTS) {
			err = replay_group(j, subs, nsubs, nows, count, alerts, off);
			free_alerts_of(subs, nsubs, count);
			count = alerts = 0;
		}
	}
	if (!err && count)
		err = replay_group(j, subs, nsubs, nows, count, alerts, off);
	free_alerts_of(subs, nsubs, count);
	free(payload);
	j->end = j->committed = size;
	return err;
}

/* Opens the journal and stores what it holds beyond the database's position. */
static int journal_open(struct lapi_journal *j)
{
	int64_t dgen = 0, dpos = 0;
	uint8_t h[JOURNAL_HEADER];
	unsigned long nrec = 0;
	struct stat st;
	uint64_t from = 0;
	int64_t fgen = -1;
	int err;

	err = cs_db_journal_get(j->db, &dgen, &dpos);
	if (err) {
		log_error("alert journal: its position in the database: %s", cs_db_errmsg(j->db));
		return err;
	}
	j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0 || fstat(j->fd, &st)) {
		err = -errno;
		log_error("alert journal %s: %s", j->path, strerror(errno));
		return err;
	}
	if (st.st_size >= JOURNAL_HEADER && !cs_pread_all(j->fd, h, sizeof(h), 0) &&
	    !memcmp(h, JOURNAL_MAGIC, 8)) {
		fgen = 0;
		for (int i = 7; i >= 0; i--)
			fgen = (int64_t)((uint64_t)fgen << 8 | h[8 + i]);
	}
	if (fgen < 0) {
		if (st.st_size > 0)
			log_warn("alert journal %s: no journal header: started anew", j->path);
	} else if (fgen == dgen && (uint64_t)dpos <= (uint64_t)st.st_size) {
		from = dpos > JOURNAL_HEADER ? (uint64_t)dpos : JOURNAL_HEADER;
	} else if (fgen > dgen) { /* cut after its previous generation was stored whole */
		from = JOURNAL_HEADER;
	} else {
		log_warn("alert journal %s: generation %lld, offset %lld stored in the database is"
			 " beyond this file (generation %lld, %lld bytes): started anew",
			 j->path, (long long)dgen, (long long)dpos, (long long)fgen,
			 (long long)st.st_size);
		fgen = -1;
	}
	if (fgen < 0)
		return journal_reset(j, dgen + 1);
	j->generation = fgen;
	err = replay(j, from, (uint64_t)st.st_size, &nrec);
	if (!err && nrec)
		log_info("alert journal %s: %lu record(s) stored at start", j->path, nrec);
	return err;
}

/* ---- the writer ---- */

/*
 * The file, all stored, cut back to its header (j->lock held). The records were
 * stored at synchronous=NORMAL, not yet on disk: the WAL is synced first, else
 * a power cut could keep the cut and lose the commits, and with them alerts
 * acknowledged long ago whose only durable copy was the file. One fsync a cut
 * (every 64 MiB); a FULL checkpoint would copy the pages and wait for readers.
 */
static int cut_stored(struct lapi_journal *j)
{
	int err = cs_db_sqlite_wal_sync(j->db);

	if (err)
		log_error("alert journal %s: not cut, the database not synced: %s", j->path,
			  cs_db_errmsg(j->db));
	return err ? err : journal_reset(j, j->generation + 1);
}

/* A large (or torn) file whose records are all stored is cut back to its header (j->lock held). */
static void cut_if_stored(struct lapi_journal *j)
{
	int err;

	if (!j->head && j->end == j->committed && (j->end >= j->rotate || j->torn) &&
	    (err = cut_stored(j)))
		log_error("alert journal %s: cutting it: %s", j->path, strerror(-err));
}

static void jsub_free(struct jsub *s)
{
	if (!s)
		return;
	if (s->ready)
		cs_alerts_free(s->store, s->nstore);
	else
		free(s->store); /* the alerts are still the push's */
	free(s);
}

/* Stores subs first.. (count of them, alerts in all); 0 or the database's error. */
static int store_subs(struct lapi_journal *j, struct jsub *first, size_t count, size_t alerts,
		      uint64_t pos, int64_t gen)
{
	struct cs_alert **all = malloc((alerts + 1) * sizeof(*all));
	int64_t *ids = malloc((alerts + 1) * sizeof(*ids)), now = 0;
	size_t k = 0;
	int err = all && ids ? 0 : -ENOMEM;

	for (struct jsub *s = first; !err && count--; s = s->next) {
		for (size_t i = 0; i < s->nstore; i++)
			all[k++] = s->store[i];
		now = s->now > now ? s->now : now;
	}
	if (!err)
		err = cs_db_alerts_insert_journaled(j->db, all, k, now, ids, gen, (int64_t)pos);
	for (size_t i = 0; !err && i < k; i++) {
		const struct cs_alert *a = all[i];

		if (ids[i] == a->id) /* else its uuid was stored before, under another id */
			continue;
		/*
		 * A repeat of a uuid racing its first push (f6b1ed0) was answered with
		 * the first's id, the map's claim: normal. Else the answer named an id
		 * not stored (a uuid stored before a restart, past the map's window).
		 */
		if (j->dedupe && a->machine_id && a->uuid &&
		    alert_dedupe_get(j->dedupe, a->machine_id, a->uuid) == ids[i])
			log_debug("alert %lld (journaled) repeats uuid %s of alert %lld: kept once",
				  (long long)a->id, a->uuid, (long long)ids[i]);
		else
			log_warn("alert %lld (journaled) was stored before as %lld: kept once",
				 (long long)a->id, (long long)ids[i]);
	}
	free(all);
	free(ids);
	return err;
}

/* At least `enough` alerts ready at the head (j->lock held). */
static bool ready_alerts(const struct lapi_journal *j, size_t enough)
{
	size_t n = 0;

	for (const struct jsub *s = j->head; s && s->ready && n < enough; s = s->next)
		n += s->nstore;
	return n >= enough;
}

static void *journal_main(void *arg)
{
	struct lapi_journal *j = arg;
	bool warned = false, waited = false;

	pthread_setname_np(pthread_self(), "lapi-journal");
	pthread_mutex_lock(&j->lock);
	for (;;) {
		struct jsub *first, *last, *s;
		size_t count = 0, alerts = 0;
		uint64_t pos;
		int64_t gen;
		int err;

		while ((!j->head || !j->head->ready || j->hold) && !j->stop)
			pthread_cond_wait(&j->work, &j->lock);
		if (!j->head || !j->head->ready)
			break; /* stopping: every push was answered, so every record is ready */
		if (!waited && !j->stop && !j->waiters && !ready_alerts(j, JOURNAL_BATCH_ALERTS)) {
			waited = true; /* more pushes join the group meanwhile */
			cs_cond_wait_ms(&j->work, &j->lock, JOURNAL_BATCH_MS);
			continue;
		}
		waited = false;
		first = last = j->head;
		for (s = j->head; s && s->ready && (count == 0 || alerts + s->nstore <= JOURNAL_GROUP_ALERTS);
		     s = s->next) {
			last = s;
			count++;
			alerts += s->nstore;
		}
		pos = last->end;
		gen = j->generation;
		pthread_mutex_unlock(&j->lock);
		err = store_subs(j, first, count, alerts, pos, gen);
		pthread_mutex_lock(&j->lock);
		if (err) {
			if (!warned)
				log_error("alert journal: storing %zu alert(s): %s (kept, tried again)",
					  alerts, cs_db_errmsg(j->db));
			warned = true;
			if (j->stop)
				break; /* the records stay in the file: the next start stores them */
			cs_cond_wait_ms(&j->work, &j->lock, JOURNAL_RETRY_MS);
			continue;
		}
		warned = false;
		j->head = last->next;
		if (!j->head)
			j->tail = &j->head;
		last->next = NULL;
		j->committed = pos;
		j->stored_subs += count;
		for (s = first; s; s = s->next) {
			j->held -= s->held;
			j->unstored_alerts -= s->nstore;
		}
		cut_if_stored(j);
		pthread_cond_broadcast(&j->stored);
		pthread_mutex_unlock(&j->lock);
		while (first) {
			s = first->next;
			jsub_free(first);
			first = s;
		}
		pthread_mutex_lock(&j->lock);
	}
	j->running = false;
	pthread_cond_broadcast(&j->stored);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

static void journal_free(struct lapi_journal *j)
{
	if (!j)
		return;
	while (j->head) {
		struct jsub *s = j->head;

		j->head = s->next;
		jsub_free(s);
	}
	if (j->fd >= 0)
		close(j->fd);
	pthread_cond_destroy(&j->stored);
	pthread_cond_destroy(&j->work);
	pthread_mutex_destroy(&j->lock);
	free(j->path);
	free(j);
}

static void remember_uuid(void *ctx, const char *machine, const char *uuid, int64_t id)
{
	if (machine && uuid && *uuid)
		alert_dedupe_put(ctx, machine, uuid, id);
}

int lapi_journal_start(struct cs_lapi *l)
{
	struct lapi_journal *j;
	int err;

	if (l->cfg.alert_journal_off || cs_db_is_pg(l->db) || !l->cfg.db_path)
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fd = -1;
	j->db = l->db;
	j->dedupe = l->dedupe;
	j->max_unstored = LAPI_DEDUPE_ALERTS;
	j->tail = &j->head;
	j->cap = JOURNAL_CAP;
	j->rotate = JOURNAL_ROTATE;
	j->sync_wait_ms = JOURNAL_SYNC_WAIT_S * 1000LL;
	pthread_mutex_init(&j->lock, NULL);
	cs_cond_init_mono(&j->work);
	cs_cond_init_mono(&j->stored);
	if (asprintf(&j->path, "%s-alerts.journal", l->cfg.db_path) < 0) {
		j->path = NULL;
		journal_free(j);
		return -ENOMEM;
	}
	err = journal_open(j);
	if (!err && (err = cs_db_alert_ids_init(l->db)))
		log_error("alert journal: the ids: %s", cs_db_errmsg(l->db));
	/* the uuids stored last: a retry across a restart is answered with its stored id */
	if (!err && l->dedupe &&
	    cs_db_alerts_recent_uuids(l->db, LAPI_DEDUPE_ALERTS, remember_uuid, l->dedupe))
		log_warn("alert journal: the alerts' uuids stored last: %s", cs_db_errmsg(l->db));
	if (!err) {
		j->running = true;
		err = -pthread_create(&j->thread, NULL, journal_main, j);
	}
	if (err) {
		j->running = false;
		journal_free(j);
		return err;
	}
	l->journal = j;
	return 0;
}

void lapi_journal_stop(struct cs_lapi *l)
{
	struct lapi_journal *j = l->journal;

	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->stop = true;
	j->hold = false;
	pthread_cond_broadcast(&j->work);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->thread, NULL);
	/* all stored: the next start finds nothing to replay, even on another database file */
	if (!j->head && j->committed == j->end && j->end > JOURNAL_HEADER && cut_stored(j))
		log_warn("alert journal %s: not cut at stop", j->path);
	l->journal = NULL;
	journal_free(j);
}

/* ---- the request side ---- */

/*
 * The heap a journaled push pins until stored: its alerts decoded (their
 * strings, events, meta, decisions) and its jsub. Many short strings cost
 * several times their bytes in the record, so the record's bytes alone would
 * let the cap hold a multiple of itself.
 */
static size_t heap_of_push(const struct jsub *s)
{
	size_t n = db_heap_block(sizeof(*s)) + db_heap_block((s->nstore + 1) * sizeof(*s->store));

	for (size_t i = 0; i < s->nstore; i++)
		n += cs_alert_heap(s->store[i]);
	return n;
}

/*
 * Under j->lock, the ids taken in the order of the records: the writer stores
 * the records in that order, and ids must only grow as they are stored (the
 * stream index appends by id, db/stream.c).
 */
static int append_locked(struct lapi_journal *j, struct lapi_store *st, struct sbuf *b,
			 const size_t *aid, const size_t *did, size_t nd, size_t held)
{
	uint32_t len = (uint32_t)(b->len - JOURNAL_RECORD_HEADER), crc;
	int64_t a0, d0;
	int err;

	/*
	 * A large file is cut only once everything in it is stored: under a steady
	 * stream of pushes that moment never comes while records keep arriving, so
	 * past the size the group commit takes them until the writer has caught up
	 * and cut the file (it stays under the size and one record).
	 */
	cut_if_stored(j); /* e.g. a large file stored whole by the start */
	if (j->stop || j->barrier || j->end - j->committed + b->len > j->cap ||
	    j->held + held > j->cap || j->end >= j->rotate || j->torn ||
	    j->unstored_alerts + st->nk > j->max_unstored)
		return -ENOSPC; /* the group commit takes it, suspended until stored */
	err = cs_db_alert_ids_take(j->db, st->nk, nd, &a0, &d0);
	if (err)
		return err;
	for (size_t k = 0, m = 0; k < st->nk; k++) {
		struct cs_alert *a = st->keep[k];

		a->id = st->kids[k] = a0 + (int64_t)k;
		patch_u64(b->buf + aid[k], (uint64_t)a->id);
		for (size_t i = 0; i < a->n_decisions; i++, m++) {
			a->decisions[i].id = d0 + (int64_t)m;
			patch_u64(b->buf + did[m], (uint64_t)a->decisions[i].id);
		}
	}
	crc = crc_of(b->buf + JOURNAL_RECORD_HEADER, len);
	for (int i = 0; i < 4; i++) {
		b->buf[i] = (char)(len >> (8 * i));
		b->buf[4 + i] = (char)(crc >> (8 * i));
	}
	err = cs_write_all(j->fd, b->buf, b->len);
	if (err) {
		/* nothing acknowledged: a partial record must not stay for the next one to follow */
		if (ftruncate(j->fd, (off_t)j->end)) {
			log_error("alert journal %s: cutting a failed write: %s: no more records"
				  " until the file is stored whole and cut", j->path, strerror(errno));
			j->torn = true;
		}
		log_error("alert journal %s: %s", j->path, strerror(-err));
		return err;
	}
	j->end += b->len;
	j->held += held;
	j->unstored_alerts += st->nk;
	j->appended++;
	/*
	 * A uuid is claimed here, under the lock every append takes, with the ids
	 * that are now acknowledged: two pushes of it racing past lapi_store_begin's
	 * lookup both reach this point, and the second is answered with the first's
	 * id (the writer's insert keeps the first row, as after a restart). The
	 * group commit claims its uuids before appends may resume (lapi_store_remember).
	 */
	for (size_t k = 0; j->dedupe && st->machine && k < st->nk; k++) {
		struct cs_alert *a = st->keep[k];
		int64_t first;

		if (!a->uuid || !*a->uuid)
			continue;
		first = alert_dedupe_claim(j->dedupe, st->machine, a->uuid, a->id);
		if (first && first != a->id) {
			st->kids[k] = first;
			a->stored_before = true; /* answered with the first: notified once */
		}
	}
	return 0;
}

int lapi_journal_append(struct cs_lapi *l, struct lapi_store *st, struct jsub **out)
{
	struct lapi_journal *j = l->journal;
	struct sbuf b = { 0 };
	size_t nd = 0, *aid = NULL, *did = NULL;
	struct jsub *s = NULL;
	int err;

	*out = NULL;
	if (!j)
		return -EOPNOTSUPP;
	if (st->nk > JOURNAL_PUSH_ALERTS)
		return -E2BIG;
	for (size_t k = 0; k < st->nk; k++) {
		if (st->keep[k]->decisions_borrowed)
			return -E2BIG; /* an import's: its decisions live in the request body */
		nd += st->keep[k]->n_decisions;
	}
	if (nd > JOURNAL_PUSH_DECISIONS)
		return -E2BIG;
	aid = malloc((st->nk + nd + 1) * sizeof(*aid));
	s = aid ? calloc(1, sizeof(*s)) : NULL;
	if (s)
		s->store = malloc((st->nk + 1) * sizeof(*s->store));
	if (!s || !s->store) {
		err = -ENOMEM;
		goto out;
	}
	did = aid + st->nk;
	memcpy(s->store, st->keep, st->nk * sizeof(*s->store));
	s->nstore = st->nk;
	s->now = st->now;
	s->held = heap_of_push(s);
	sb_putn(&b, "\0\0\0\0\0\0\0\0", JOURNAL_RECORD_HEADER);
	err = encode_at(&b, st->now, st->keep, st->nk, aid, did);
	if (err)
		goto out;
	pthread_mutex_lock(&j->lock);
	if (j->gate && ++j->gated < j->gate) {
		/* 10 s at most: a push that never comes must not keep this one */
		for (int i = 0; i < 100 && j->gate; i++)
			cs_cond_wait_ms(&j->stored, &j->lock, 100);
		j->gate = j->gated = 0;
	} else if (j->gate) {
		j->gate = j->gated = 0;
		pthread_cond_broadcast(&j->stored);
	}
	err = append_locked(j, st, &b, aid, did, nd, s->held);
	if (!err) {
		s->end = j->end;
		*j->tail = s;
		j->tail = &s->next;
	}
	pthread_mutex_unlock(&j->lock);
	if (!err) {
		for (size_t k = 0; k < st->nk; k++) {
			st->keep[k]->ids_given = true;
			st->keep[k]->owner_must_be_validated = false; /* checked before (h_alerts.c) */
		}
		*out = s;
		s = NULL;
	}
out:
	sb_free(&b);
	free(aid);
	jsub_free(s);
	return err;
}

void lapi_journal_commit(struct cs_lapi *l, struct jsub *s, struct cs_alert **all, size_t nall)
{
	struct lapi_journal *j = l->journal;

	/*
	 * Only the alerts to store wait for the writer: the rest (stored before,
	 * allowlisted) would pin a body's worth of heap the cap does not see. The
	 * alerts to store are a subsequence of the push's array (lapi_store_begin).
	 */
	for (size_t i = 0, k = 0; i < nall; i++) {
		if (k < s->nstore && all[i] == s->store[k])
			k++;
		else
			cs_alert_free(all[i]);
	}
	free(all);
	pthread_mutex_lock(&j->lock);
	s->ready = true;
	if (j->head == s)
		pthread_cond_signal(&j->work);
	pthread_mutex_unlock(&j->lock);
}

/*
 * Until what was appended is stored (j->lock held), JOURNAL_SYNC_WAIT_S at most:
 * 0, or -ETIMEDOUT (said in the log, with what `who` does then).
 */
static int wait_stored(struct lapi_journal *j, const char *who)
{
	int err = 0;

	struct timespec until = cs_mono_deadline(j->sync_wait_ms);
	uint64_t target = j->end;
	int64_t gen = j->generation; /* a cut means everything before it was stored */

	if (j->generation != gen || j->committed >= target)
		return 0;
	j->waiters++;
	pthread_cond_signal(&j->work); /* a writer batching stores at once */
	while (j->generation == gen && j->committed < target && j->running)
		if (cs_cond_wait_until(&j->stored, &j->lock, &until) == ETIMEDOUT) {
			log_warn("%s: the alerts acknowledged earlier are not stored after %lld ms"
				 " (the alert journal's writer is behind or failing)",
				 who, j->sync_wait_ms);
			err = -ETIMEDOUT;
			break;
		}
	j->waiters--;
	return err;
}

int lapi_journal_exclusive(struct cs_lapi *l, bool on)
{
	struct lapi_journal *j = l->journal;
	int err = 0;

	if (!j)
		return 0;
	pthread_mutex_lock(&j->lock);
	if (on) {
		j->barrier++;
		/*
		 * Not stored in time: inserting anyway would store ids before earlier
		 * acknowledged ones, and a uuid journaled meanwhile (claimed after this
		 * insert's dedupe lookup) under a second id, its first answer's never
		 * stored. Refused instead; the caller retries later.
		 */
		if (wait_stored(j, "an alert insert is refused (retry later)")) {
			j->barrier--;
			err = -EAGAIN;
		}
	} else {
		j->barrier--;
	}
	pthread_mutex_unlock(&j->lock);
	return err;
}

int lapi_journal_sync(struct cs_lapi *l)
{
	struct lapi_journal *j = l->journal;
	int err;

	if (!j)
		return 0;
	pthread_mutex_lock(&j->lock);
	err = wait_stored(j, "a read is answered 503");
	pthread_mutex_unlock(&j->lock);
	return err;
}

bool lapi_journal_read_ready(struct req *r)
{
	/*
	 * A read answered from a state that misses acknowledged alerts would show
	 * later ids before earlier ones, and a delete would miss rows stored after it.
	 */
	if (!lapi_journal_sync(r->l))
		return true;
	reply_msg(r, 503, "alerts acknowledged before this request are not stored yet, retry later");
	return false;
}

void lapi_journal_test_hold(struct cs_lapi *l, bool hold, size_t cap)
{
	struct lapi_journal *j = l->journal;

	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->hold = hold;
	j->cap = cap ? cap : JOURNAL_CAP;
	pthread_cond_broadcast(&j->work);
	pthread_mutex_unlock(&j->lock);
}

void lapi_journal_test_sync_wait(struct cs_lapi *l, long long ms)
{
	struct lapi_journal *j = l->journal;

	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->sync_wait_ms = ms ? ms : JOURNAL_SYNC_WAIT_S * 1000LL;
	pthread_mutex_unlock(&j->lock);
}

void lapi_journal_test_gate(struct cs_lapi *l, unsigned n)
{
	struct lapi_journal *j = l->journal;

	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->gate = n;
	j->gated = 0;
	pthread_cond_broadcast(&j->stored);
	pthread_mutex_unlock(&j->lock);
}

int lapi_journal_test_dedupe(struct cs_lapi *l, size_t size)
{
	struct lapi_journal *j = l->journal;
	struct alert_dedupe *d;
	int err;

	if (!j)
		return 0;
	size = size ? size : LAPI_DEDUPE_ALERTS;
	err = alert_dedupe_new(size, &d);
	if (err)
		return err;
	pthread_mutex_lock(&j->lock);
	alert_dedupe_free(l->dedupe);
	l->dedupe = j->dedupe = d;
	j->max_unstored = size;
	pthread_mutex_unlock(&j->lock);
	return 0;
}

void lapi_journal_test_rotate(struct cs_lapi *l, size_t rotate)
{
	struct lapi_journal *j = l->journal;

	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->rotate = rotate ? rotate : JOURNAL_ROTATE;
	pthread_mutex_unlock(&j->lock);
}

void lapi_journal_counts(struct cs_lapi *l, unsigned long *appended, unsigned long *stored)
{
	struct lapi_journal *j = l->journal;

	*appended = *stored = 0;
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	*appended = j->appended;
	*stored = j->stored_subs;
	pthread_mutex_unlock(&j->lock);
}

int lapi_journal_waiters(struct cs_lapi *l)
{
	struct lapi_journal *j = l->journal;
	int n;

	if (!j)
		return 0;
	pthread_mutex_lock(&j->lock);
	n = j->waiters;
	pthread_mutex_unlock(&j->lock);
	return n;
}
