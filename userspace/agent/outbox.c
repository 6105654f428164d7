// SPDX-License-Identifier: MIT
#include "agent/outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/fdio.h"
#include "common/log.h"
#include "common/vec.h"

#define SPOOL_NAME_LEN 21 /* 16 hex digits + ".json" */

struct batch {
	char *body;
	size_t len;
	uint64_t seq;
	bool on_disk;
};

struct outbox {
	char *dir;
	int dirfd;
	size_t max_batches, max_bytes;
	struct batch *q;
	size_t head, n, cap; /* q[head .. head+n) */
	size_t bytes;
	uint64_t next_seq, dropped, recovered;
};

static void spool_name(uint64_t seq, char buf[SPOOL_NAME_LEN + 1])
{
	snprintf(buf, SPOOL_NAME_LEN + 1, "%016" PRIx64 ".json", seq);
}

static bool is_spool_name(const char *name, uint64_t *seq)
{
	char *end;

	if (strlen(name) != SPOOL_NAME_LEN || strcmp(name + 16, ".json"))
		return false;
	for (int i = 0; i < 16; i++)
		if (!strchr("0123456789abcdef", name[i]))
			return false;
	*seq = strtoull(name, &end, 16);
	return end == name + 16;
}

static int push_back(struct outbox *ob, char *body, size_t len, uint64_t seq, bool on_disk)
{
	if (ob->head && ob->head + ob->n == ob->cap) { /* reuse the room pops left at the front */
		memmove(ob->q, ob->q + ob->head, ob->n * sizeof(*ob->q));
		ob->head = 0;
	}
	if (vec_reserve((void **)&ob->q, &ob->cap, ob->head + ob->n, sizeof(*ob->q), 16))
		return -ENOMEM;
	ob->q[ob->head + ob->n++] = (struct batch){ body, len, seq, on_disk };
	ob->bytes += len;
	return 0;
}

static int cmp_seq(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Read one spool file; NULL when it is unreadable, too large or not JSON. */
static char *read_batch(int dirfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *buf = NULL;
	json_t *j;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || (size_t)st.st_size > max)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	j = json_loadb(buf, *len, 0, NULL);
	if (!json_is_array(j)) {
		free(buf);
		buf = NULL;
	}
	json_decref(j);
out:
	close(fd);
	return buf;
}

static int recover_spool(struct outbox *ob)
{
	DIR *d = fdopendir(dup(ob->dirfd));
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint64_t seq;

		if (!is_spool_name(de->d_name, &seq)) {
			/* a write cut short by a crash: the batch it held was never acknowledged
			 * to the detector as spooled, so nothing is lost by removing it */
			if (strstr(de->d_name, ".json.tmp"))
				unlinkat(ob->dirfd, de->d_name, 0);
			continue;
		}
		if (vec_reserve((void **)&seqs, &cap, n, sizeof(*seqs), 64)) {
			err = -ENOMEM;
			break;
		}
		seqs[n++] = seq;
	}
	closedir(d);
	if (!err && n) /* qsort of NULL, 0 is undefined */
		qsort(seqs, n, sizeof(*seqs), cmp_seq);
	for (size_t i = 0; i < n && !err; i++) {
		char name[SPOOL_NAME_LEN + 1];
		size_t len = 0;
		char *body;

		spool_name(seqs[i], name);
		body = read_batch(ob->dirfd, name, ob->max_bytes, &len);
		if (!body) {
			log_warn("agent outbox: %s/%s is not a batch of alerts, removed", ob->dir, name);
			unlinkat(ob->dirfd, name, 0);
			continue;
		}
		err = push_back(ob, body, len, seqs[i], true);
		if (err)
			free(body);
		else
			ob->recovered++;
		if (seqs[i] >= ob->next_seq)
			ob->next_seq = seqs[i] + 1;
	}
	free(seqs);
	return err;
}

void outbox_free(struct outbox *ob)
{
	if (!ob)
		return;
	for (size_t i = 0; i < ob->n; i++)
		free(ob->q[ob->head + i].body);
	free(ob->q);
	if (ob->dirfd >= 0)
		close(ob->dirfd);
	free(ob->dir);
	free(ob);
}

int outbox_open(const struct outbox_opts *o, struct outbox **out, char *err, size_t errlen)
{
	struct outbox *ob = calloc(1, sizeof(*ob));
	int rc = 0;

	*out = NULL;
	if (!ob)
		return -ENOMEM;
	ob->dirfd = -1;
	ob->max_batches = o->max_batches ? o->max_batches : 1;
	ob->max_bytes = o->max_bytes ? o->max_bytes : 1;
	ob->next_seq = 1;
	if (o->dir) {
		ob->dir = strdup(o->dir);
		if (!ob->dir) {
			rc = -ENOMEM;
			goto fail;
		}
		if (mkdir(o->dir, 0700) && errno != EEXIST) {
			rc = -errno;
			snprintf(err, errlen, "agent outbox %s: %s", o->dir, strerror(errno));
			goto fail;
		}
		ob->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (ob->dirfd < 0) {
			rc = -errno;
			snprintf(err, errlen, "agent outbox %s: %s", o->dir, strerror(errno));
			goto fail;
		}
		rc = recover_spool(ob);
		if (rc) {
			snprintf(err, errlen, "agent outbox %s: %s", o->dir, strerror(-rc));
			goto fail;
		}
	}
	*out = ob;
	return 0;
fail:
	outbox_free(ob);
	return rc;
}

/* Write tmp, fsync, rename, fsync the directory: a spooled batch survives a crash. */
static int spool_write(struct outbox *ob, uint64_t seq, const char *body, size_t len)
{
	char name[SPOOL_NAME_LEN + 1], tmp[SPOOL_NAME_LEN + 5];
	int fd, err = 0;

	spool_name(seq, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(ob->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	err = cs_write_all(fd, body, len);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && renameat(ob->dirfd, tmp, ob->dirfd, name))
		err = -errno;
	if (!err && fsync(ob->dirfd))
		err = -errno;
	if (err)
		unlinkat(ob->dirfd, tmp, 0);
	return err;
}

static void drop_front(struct outbox *ob)
{
	struct batch *b = &ob->q[ob->head];

	if (b->on_disk) {
		char name[SPOOL_NAME_LEN + 1];

		spool_name(b->seq, name);
		unlinkat(ob->dirfd, name, 0);
	}
	ob->bytes -= b->len;
	free(b->body);
	ob->head++;
	if (!--ob->n)
		ob->head = 0;
}

int outbox_put(struct outbox *ob, const char *body, size_t len)
{
	uint64_t seq = ob->next_seq++;
	bool on_disk = false;
	char *copy;
	int err = 0;

	if (len > ob->max_bytes)
		return -EMSGSIZE;
	while (ob->n && (ob->n >= ob->max_batches || ob->bytes + len > ob->max_bytes)) {
		drop_front(ob);
		ob->dropped++;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, body, len);
	copy[len] = '\0';
	if (ob->dirfd >= 0) {
		err = spool_write(ob, seq, body, len);
		on_disk = !err;
	}
	if (push_back(ob, copy, len, seq, on_disk)) {
		free(copy);
		return -ENOMEM;
	}
	return err;
}

const char *outbox_peek(struct outbox *ob, size_t *len, uint64_t *seq)
{
	if (!ob->n)
		return NULL;
	*len = ob->q[ob->head].len;
	*seq = ob->q[ob->head].seq;
	return ob->q[ob->head].body;
}

void outbox_pop(struct outbox *ob, uint64_t seq)
{
	if (ob->n && ob->q[ob->head].seq == seq)
		drop_front(ob);
}

bool outbox_empty(const struct outbox *ob)
{
	return !ob->n;
}

void outbox_get_stats(const struct outbox *ob, struct outbox_stats *st)
{
	st->batches = ob->n;
	st->bytes = ob->bytes;
	st->dropped = ob->dropped;
	st->recovered = ob->recovered;
}
