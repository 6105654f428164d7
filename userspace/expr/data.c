// SPDX-License-Identifier: MIT
/*
 * Data files (`data:` entries of parsers/scenarios): loaded once per dest_file
 * name into the runtime of one detector (struct expr_runtime), read by File(),
 * RegexpInFile(), LookupFile() and FileMap() through the environment. A reload
 * builds a new runtime, so an edited file is read again; two detectors in one
 * process never share one. Loading happens at configuration time; lookups take
 * no lock and write nothing shared: a file is published whole and never
 * removed while the runtime lives, and File() hands each thread its own copy
 * of the list (vm_file_lines), so worker threads do not bounce a lock's or a
 * reference count's cache line between their cores ~20 times per nginx line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/vec.h"
#include "expr/expr_int.h"

enum data_type { DATA_STRING, DATA_REGEXP, DATA_MAP };
enum row_type { ROW_EQUALS, ROW_CONTAINS, ROW_REGEX };

struct map_row {
	char *pattern, *tag;
	enum row_type type;
	struct expr_regex *re;
};

struct data_file {
	char *name;
	enum data_type type;
	struct expr_value lines;	/* array of strings (all types keep it) */
	struct expr_regex **res;
	size_t nres, rescap;
	struct multire *any;	/* all of res at once */
	struct map_row *rows;
	size_t nrows, rowscap;
	uint64_t id;	/* never reused: what the threads' copies of lines are keyed by */
	struct data_file *next;
};

struct expr_runtime {
	int refcnt; /* atomic */
	pthread_mutex_t load_mu;	/* loaders; readers walk files without it */
	struct data_file *files;	/* published with a release store, only ever prepended */
	char *data_dir;
};

static uint64_t next_file_id = 1;

static void file_free(struct data_file *f);

int expr_runtime_new(const char *data_dir, struct expr_runtime **out)
{
	struct expr_runtime *rt = calloc(1, sizeof(*rt));

	if (!rt || !(rt->data_dir = strdup(data_dir ? data_dir : ""))) {
		free(rt);
		return -ENOMEM;
	}
	rt->refcnt = 1;
	pthread_mutex_init(&rt->load_mu, NULL);
	*out = rt;
	return 0;
}

struct expr_runtime *expr_runtime_ref(struct expr_runtime *rt)
{
	if (rt)
		__atomic_add_fetch(&rt->refcnt, 1, __ATOMIC_RELAXED);
	return rt;
}

void expr_runtime_put(struct expr_runtime *rt)
{
	if (!rt || __atomic_sub_fetch(&rt->refcnt, 1, __ATOMIC_ACQ_REL))
		return;
	while (rt->files) {
		struct data_file *f = rt->files;

		rt->files = f->next;
		file_free(f);
	}
	free(rt->data_dir);
	pthread_mutex_destroy(&rt->load_mu);
	free(rt);
}

static struct data_file *find_file(const struct expr_runtime *rt, const char *name)
{
	if (!rt)
		return NULL;
	for (struct data_file *f = __atomic_load_n(&rt->files, __ATOMIC_ACQUIRE); f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static void file_free(struct data_file *f)
{
	if (!f)
		return;
	expr_value_release(&f->lines);
	regex_put_all(f->res, f->nres);
	multire_free(f->any);
	for (size_t i = 0; i < f->nrows; i++) {
		free(f->rows[i].pattern);
		free(f->rows[i].tag);
		regex_put(f->rows[i].re);
	}
	free(f->rows);
	free(f->name);
	free(f);
}

static int add_map_row(struct data_file *f, const char *line, size_t lineno)
{
	json_error_t jerr;
	json_t *j = json_loads(line, 0, &jerr);
	const char *pattern, *tag, *type;
	struct map_row *r;
	char msg[128];
	int err = -EINVAL;

	if (!j || json_unpack(j, "{s:s, s:s, s:s}", "pattern", &pattern, "tag", &tag, "type",
			      &type)) {
		log_error("data file %s line %zu: need string pattern, tag and type", f->name,
			  lineno);
		goto out;
	}
	if (vec_reserve((void **)&f->rows, &f->rowscap, f->nrows, sizeof(*f->rows), 16)) {
		err = -ENOMEM;
		goto out;
	}
	r = &f->rows[f->nrows];
	memset(r, 0, sizeof(*r));
	if (!strcmp(type, "equals"))
		r->type = ROW_EQUALS;
	else if (!strcmp(type, "contains"))
		r->type = ROW_CONTAINS;
	else if (!strcmp(type, "regex"))
		r->type = ROW_REGEX;
	else {
		log_error("data file %s line %zu: unknown type '%s'", f->name, lineno, type);
		goto out;
	}
	if (r->type == ROW_REGEX && expr_regex_compile(pattern, &r->re, msg, sizeof(msg))) {
		log_error("data file %s line %zu: invalid regex: %s", f->name, lineno, msg);
		goto out;
	}
	r->pattern = strdup(pattern);
	r->tag = strdup(tag);
	f->nrows++;
	err = r->pattern && r->tag ? 0 : -ENOMEM;
out:
	json_decref(j);
	return err;
}

static int load_lines(struct data_file *f, FILE *fp)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	int err = 0;

	while (!err && (n = getline(&line, &cap, fp)) >= 0) {
		struct expr_value v;
		char msg[128];

		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		if (f->type == DATA_MAP) {
			err = add_map_row(f, line, lineno);
			continue;
		}
		err = expr_stringn(line, n, &v);
		if (!err)
			err = expr_array_push_take(&f->lines, v);
		if (!err && f->type == DATA_REGEXP) {
			if (vec_reserve((void **)&f->res, &f->rescap, f->nres, sizeof(*f->res), 16)) {
				err = -ENOMEM;
				break;
			}
			if (expr_regex_compile(line, &f->res[f->nres], msg, sizeof(msg))) {
				log_error("data file %s line %zu: invalid regex: %s", f->name,
					  lineno, msg);
				err = -EINVAL;
				break;
			}
			f->nres++;
		}
	}
	free(line);
	return err;
}

/* f, complete, becomes visible to readers (under load_mu). */
static void publish(struct expr_runtime *rt, struct data_file *f)
{
	f->id = __atomic_fetch_add(&next_file_id, 1, __ATOMIC_RELAXED);
	f->next = rt->files;
	__atomic_store_n(&rt->files, f, __ATOMIC_RELEASE);
}

int expr_runtime_load_data(struct expr_runtime *rt, const char *dest_file, const char *type)
{
	struct data_file *f = NULL;
	char *path = NULL;
	FILE *fp = NULL;
	int err;

	if (!dest_file || !*dest_file || strstr(dest_file, ".."))
		return -EINVAL;
	if (!type || (strcmp(type, "string") && strcmp(type, "regexp") && strcmp(type, "regex") &&
		      strcmp(type, "map")))
		return 0;	/* downloaded but not loaded (e.g. .mmdb) */

	pthread_mutex_lock(&rt->load_mu);
	if (find_file(rt, dest_file)) {
		err = 0;
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->name = strdup(dest_file)) || expr_array_new(0, &f->lines)) {
		err = -ENOMEM;
		goto out;
	}
	f->type = !strcmp(type, "string") ? DATA_STRING : !strcmp(type, "map") ? DATA_MAP :
									    DATA_REGEXP;
	if (asprintf(&path, "%s/%s", *rt->data_dir ? rt->data_dir : ".", dest_file) < 0) {
		path = NULL;
		err = -ENOMEM;
		goto out;
	}
	fp = fopen(path, "re");
	if (!fp) {
		err = -errno;
		log_error("data file %s: %s", path, strerror(-err));
		/* keep an empty entry: helpers see an empty list, not an error */
		publish(rt, f);
		f = NULL;
		goto out;
	}
	err = load_lines(f, fp);
	/* RegexpInFile: one scan for all lines instead of one search per line */
	if (!err && f->nres)
		err = multire_build(f->res, f->nres, &f->any);
	if (!err) {
		publish(rt, f);
		f = NULL;
	}
out:
	pthread_mutex_unlock(&rt->load_mu);
	if (fp)
		fclose(fp);
	free(path);
	file_free(f);
	return err;
}

int data_file_lines(struct expr_runtime *rt, const char *name, struct expr_value *out)
{
	const struct data_file *f = find_file(rt, name);

	if (!f)
		return expr_array_new(0, out);
	vm_file_lines(vm_current(), f->id, &f->lines, out);
	return 0;
}

int data_regexp_match(struct expr_runtime *rt, const char *name, const char *s, size_t len,
		      bool *out)
{
	struct data_file *f;
	int err = 0;

	*out = false;
	f = find_file(rt, name);
	if (f && f->any) {
		int rc = multire_any(f->any, s, len);

		/* a line past its match limit does not match (as Go's regexp never fails) */
		*out = rc == 1;
		err = rc < 0 && rc != -E2BIG ? rc : 0;
	}
	return err;
}

/* LookupFile: equals rows (last wins), then the leftmost contains hit, then regexes. */
int data_lookup(struct expr_runtime *rt, const char *name, const char *s, size_t len,
		struct expr_value *out)
{
	const struct map_row *best = NULL;
	const char *best_at = NULL;
	struct data_file *f;
	int err;

	f = find_file(rt, name);
	for (size_t i = 0; f && i < f->nrows; i++) {
		const struct map_row *r = &f->rows[i];

		if (r->type == ROW_EQUALS && strlen(r->pattern) == len && !memcmp(r->pattern, s, len))
			best = r;
	}
	for (size_t k = 0; f && !best && k < f->nrows; k++) {
		const struct map_row *r = &f->rows[k];
		const char *at;

		if (r->type != ROW_CONTAINS)
			continue;
		at = memmem(s, len, r->pattern, strlen(r->pattern));
		if (at && (!best_at || at < best_at))
			best_at = at;	/* leftmost wins; earlier row on ties */
	}
	for (size_t k = 0; f && !best && best_at && k < f->nrows; k++) {
		const struct map_row *r = &f->rows[k];

		if (r->type == ROW_CONTAINS &&
		    memmem(s, len, r->pattern, strlen(r->pattern)) == best_at)
			best = r;
	}
	for (size_t i = 0; f && !best && i < f->nrows; i++) {
		const struct map_row *r = &f->rows[i];

		if (r->type == ROW_REGEX && expr_regex_search(r->re, s, len) == 1)
			best = r;
	}
	err = expr_string(best ? best->tag : "", out);
	return err;
}

/* FileMap: the rows of a map file as [{pattern, tag, type}, ...]. */
int data_file_map(struct expr_runtime *rt, const char *name, struct expr_value *out)
{
	static const char *const types[] = { "equals", "contains", "regex" };
	struct data_file *f;
	int err;

	err = expr_array_new(0, out);
	if (err)
		return err;
	f = find_file(rt, name);
	for (size_t i = 0; !err && f && i < f->nrows; i++) {
		struct expr_value row, v;

		err = expr_map_new(&row);
		if (!err && !(err = expr_string(f->rows[i].pattern, &v)))
			err = expr_map_set_take(&row, "pattern", v);
		if (!err && !(err = expr_string(f->rows[i].tag, &v)))
			err = expr_map_set_take(&row, "tag", v);
		if (!err && !(err = expr_string(types[f->rows[i].type], &v)))
			err = expr_map_set_take(&row, "type", v);
		if (!err)
			err = expr_array_push_take(out, row);
		else
			expr_value_release(&row);
	}
	if (err)
		expr_value_release(out);
	return err;
}
