// SPDX-License-Identifier: MIT
/*
 * The evaluation runtime of one thread (struct expr_vm): what evaluating needs
 * besides the read-only program: the per-evaluation limits, a cache of regexes
 * compiled at run time, the PCRE2 match context and match block, and the memo
 * of pure string functions. None of it is shared, so nothing here locks: each
 * thread that evaluates uses its own (expr_vm_use(), or one made on first use
 * and freed when the thread exits).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hs.h>
#include <pcre2.h>

#include "common/hash.h"
#include "common/thread_slot.h"
#include "expr/ast.h"

/* Defaults: far above any hub expression, far below a hang or an OOM. */
#define DEFAULT_STEPS 10000000u
#define DEFAULT_BYTES ((size_t)256 << 20)

__thread struct expr_vm *vm_this_thread;

static void own_free(void *vm)
{
	if (vm_this_thread == vm)
		vm_this_thread = NULL;
	expr_vm_free(vm);
}

/* the vm made for a thread on first use, freed at its exit */
static struct thread_slot own_slot = THREAD_SLOT(own_free);

void expr_vm_free(struct expr_vm *vm)
{
	if (!vm)
		return;
	for (int i = 0; i < EXPR_VM_REGEX_SLOTS; i++)
		regex_put(vm->regex[i]);
	vm_grave_flush(vm);
	memo_clear(vm);
	for (int i = 0; i < EXPR_VM_FIELD_SLOTS; i++) {
		expr_value_release(&vm->fields[i].val);
	}
	for (int i = 0; i < EXPR_VM_STRSET_SLOTS; i++) {
		expr_value_release(&vm->strsets[i].list);
		strset_free(vm->strsets[i].set);
	}
	for (int i = 0; i < EXPR_VM_FILE_SLOTS; i++)
		expr_value_release(&vm->files[i].lines);
	hs_free_scratch(vm->hs_scratch);
	free(vm->pf_buf);
	pcre2_match_data_free(vm->md);
	pcre2_match_context_free(vm->mctx);
	free(vm);
}

int expr_vm_new(struct expr_vm **out)
{
	struct expr_vm *vm = calloc(1, sizeof(*vm));

	*out = NULL;
	if (!vm)
		return -ENOMEM;
	vm->max_steps = DEFAULT_STEPS;
	vm->max_bytes = DEFAULT_BYTES;
	vm->mctx = pcre2_match_context_create(NULL);
	vm->md = pcre2_match_data_create(1, NULL);
	if (!vm->mctx || !vm->md) {
		expr_vm_free(vm);
		return -ENOMEM;
	}
	pcre2_set_match_limit(vm->mctx, EXPR_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(vm->mctx, EXPR_REGEX_DEPTH_LIMIT);
	*out = vm;
	return 0;
}

void expr_vm_set_limits(struct expr_vm *vm, uint64_t max_steps, size_t max_bytes)
{
	vm->max_steps = max_steps ? max_steps : DEFAULT_STEPS;
	vm->max_bytes = max_bytes ? max_bytes : DEFAULT_BYTES;
}

struct expr_vm *expr_vm_use(struct expr_vm *vm)
{
	struct expr_vm *prev = vm_this_thread;

	vm_this_thread = vm;
	return prev;
}

struct expr_vm *vm_current_slow(void)
{
	struct expr_vm *vm = thread_slot_get(&own_slot);

	if (!vm) {
		if (expr_vm_new(&vm))
			return NULL;
		thread_slot_set(&own_slot, vm);
	}
	vm_this_thread = vm;
	return vm;
}

void expr_set_limits(uint64_t max_steps, size_t max_bytes)
{
	struct expr_vm *vm = vm_current();

	if (vm)
		expr_vm_set_limits(vm, max_steps, max_bytes);
}

/*
 * Patterns only known at run time (`x matches evt.Meta.re`) go through a small
 * two-way cache: a hit costs a hash and two compares at most, a miss compiles
 * and evicts the older entry of the pair (users hold their own reference).
 */
struct expr_regex *regex_cache_get(struct expr_vm *vm, const char *pattern, char *errbuf,
				   size_t errsize)
{
	/* two-way: two patterns one filter alternates between never evict each other */
	uint32_t slot = cs_hash_str(pattern) % EXPR_VM_REGEX_SLOTS & ~1u;
	struct expr_regex *re;

	for (uint32_t i = slot; i < slot + 2; i++)
		if (vm->regex[i] && !strcmp(regex_pattern(vm->regex[i]), pattern))
			return regex_ref(vm->regex[i]);
	if (expr_regex_compile(pattern, &re, errbuf, errsize))
		return NULL;
	/* the older of the two goes; the newer one moves into its place */
	regex_put(vm->regex[slot + 1]);
	vm->regex[slot + 1] = vm->regex[slot];
	vm->regex[slot] = regex_ref(re);
	return re;
}

void expr_cleanup(void)
{
	struct expr_vm *own = thread_slot_get(&own_slot);

	/* one installed with expr_vm_use() belongs to its maker */
	if (vm_this_thread == own)
		vm_this_thread = NULL;
	thread_slot_set(&own_slot, NULL);
	expr_vm_free(own);
}

/* ---- memo of pure string functions ---- */

/*
 * fn is mixed in before the multiply: XORed after it, as it was, it only
 * reached bits the shift drops (functions of one table share their high
 * bits), so Upper(p), PathUnescape(p) and QueryUnescape(p) took one slot and
 * evicted each other: Upper() of the same path ran 6-7 times a nginx line.
 */
static uint32_t memo_slot(const void *fn, const struct expr_str *in)
{
	uint64_t k = ((uint64_t)(uintptr_t)in ^ (uint64_t)(uintptr_t)fn * 0xff51afd7ed558ccdull) *
		     0x9E3779B97F4A7C15ull;

	return (uint32_t)(k >> 40) % EXPR_VM_MEMO_SLOTS;
}

struct expr_str *memo_peek(struct expr_vm *vm, const void *fn, const struct expr_str *in)
{
	struct vm_memo *m = &vm->memo[memo_slot(fn, in)];

	return m->fn == fn && m->in == in ? m->out : NULL;
}

/*
 * Room for n references the caches are about to drop: none needed outside an
 * evaluation (they are dropped at once), else n free graves.
 */
static bool grave_room(const struct expr_vm *vm, int n)
{
	return vm->depth == 0 || vm->ngrave + n <= EXPR_VM_GRAVE_SLOTS;
}

/* Drops the reference *v holds, or keeps it until the outermost evaluation ends. */
static void grave_put(struct expr_vm *vm, struct expr_value *v)
{
	if (vm->depth == 0 ||
	    (v->kind != EXPR_STRING && v->kind != EXPR_ARRAY && v->kind != EXPR_MAP)) {
		expr_value_release(v);
		return;
	}
	vm->grave[vm->ngrave++] = *v;
	*v = EXPR_NIL_VALUE;
}

void vm_grave_flush(struct expr_vm *vm)
{
	while (vm->ngrave > 0)
		expr_value_release(&vm->grave[--vm->ngrave]);
}

void memo_put(struct expr_vm *vm, const void *fn, struct expr_str *in, struct expr_str *out)
{
	struct vm_memo *m = &vm->memo[memo_slot(fn, in)];
	struct expr_value old_in = m->in ? xstr_value(m->in) : EXPR_NIL_VALUE;
	struct expr_value old_out = m->out ? xstr_value(m->out) : EXPR_NIL_VALUE;

	if (!grave_room(vm, 2))
		return;	/* a memo is optional: keep the older entry */
	ref_get(&in->refcnt);
	ref_get(&out->refcnt);
	*m = (struct vm_memo){ .fn = fn, .in = in, .out = out };
	grave_put(vm, &old_in);
	grave_put(vm, &old_out);
}

void memo_clear(struct expr_vm *vm)
{
	for (int i = 0; i < EXPR_VM_MEMO_SLOTS; i++) {
		struct vm_memo *m = &vm->memo[i];
		struct expr_value in = m->in ? xstr_value(m->in) : EXPR_NIL_VALUE;
		struct expr_value out = m->out ? xstr_value(m->out) : EXPR_NIL_VALUE;

		expr_value_release(&in);
		expr_value_release(&out);
		*m = (struct vm_memo){ 0 };
	}
}

/* ---- indexes of literal lists (strset.c) ---- */

const struct strset *vm_strset(struct expr_vm *vm, const struct expr_value *list, int op,
			       int cmap)
{
	uint64_t k = ((uint64_t)(uintptr_t)list->a ^ (uint64_t)(op * 4 + cmap)) *
		     0x9E3779B97F4A7C15ull;
	uint32_t h = (uint32_t)(k >> 40), victim = h % EXPR_VM_STRSET_SLOTS;
	struct vm_strset *e;
	struct strset *set = NULL;
	int err;

	/* four places per key: two filters' lists that collide do not rebuild each other */
	for (uint32_t i = 0; i < 4; i++) {
		e = &vm->strsets[(h + i) % EXPR_VM_STRSET_SLOTS];
		if (e->list.kind == EXPR_ARRAY && e->list.a == list->a && e->op == op &&
		    e->cmap == cmap)
			return e->set;
		if (e->list.kind != EXPR_ARRAY)
			victim = (h + i) % EXPR_VM_STRSET_SLOTS;
	}
	err = strset_build(list->a, op, cmap, &set);
	if (err && err != -EINVAL)
		return NULL;	/* ENOMEM: the general path, and try again next time */
	e = &vm->strsets[victim];
	expr_value_release(&e->list);
	strset_free(e->set);
	*e = (struct vm_strset){ .list = expr_value_ref(list), .op = op, .cmap = cmap, .set = set };
	return set;
}

/* ---- data files' lines (File()) ---- */

void vm_file_lines(struct expr_vm *vm, uint64_t id, const struct expr_value *lines,
		   struct expr_value *out)
{
	struct vm_file *e = vm ? &vm->files[id % EXPR_VM_FILE_SLOTS] : NULL;
	struct expr_value copy;
	size_t n = expr_array_len(lines);

	if (e && e->id != id) {
		/* the evaluator holds its own references: the old copy can go now */
		expr_value_release(&e->lines);
		e->id = 0;
		if (!expr_array_new(n, &copy)) {
			for (size_t i = 0; i < n; i++)
				copy.a->items[i] = expr_value_ref(&lines->a->items[i]);
			copy.a->len = (uint32_t)n;
			*e = (struct vm_file){ .id = id, .lines = copy };
		}
	}
	*out = expr_value_ref(e && e->id == id ? &e->lines : lines);
}

/* ---- values of versioned host maps ---- */

/*
 * Two ways per key name (the pair depends on the name only): the dozen fields
 * every scenario reads (Meta.service, Meta.http_path...) must not evict each
 * other, or each miss makes a new string and loses the memo of Upper()/Lower()
 * on it; and a new version of a map finds what the old one held under the same
 * name (field_find).
 */
static struct vm_field *field_pair(struct expr_vm *vm, uint64_t khash)
{
	return &vm->fields[(khash >> 32) % EXPR_VM_FIELD_SLOTS & ~1u];
}

static bool field_named(const struct vm_field *f, const struct expr_value *key)
{
	return f->version && f->klen == key->s->len && !memcmp(f->key, key->s->s, key->s->len);
}

static bool field_is(const struct vm_field *f, uint64_t version, const struct expr_value *key)
{
	return f->version == version && field_named(f, key);
}

const struct expr_value *field_peek(struct expr_vm *vm, uint64_t version,
				    const struct expr_value *key, uint64_t khash)
{
	struct vm_field *f = field_pair(vm, khash);

	if (!field_is(f, version, key) && !field_is(++f, version, key))
		return NULL;
	return &f->val;
}

/* path: the key as the host resolved it, when the caller has it (a name then needs no compare) */
static struct vm_field *field_find_ent(struct expr_vm *vm, uint64_t version,
				       const struct expr_value *key, uint64_t khash, uintptr_t path,
				       const char *s, size_t len)
{
	struct vm_field *f = field_pair(vm, khash), *same = NULL;

	for (int i = 0; i < 2; i++) {
		const struct expr_value *v = &f[i].val;

		if (!(path && f[i].version && f[i].path == path) && !field_named(&f[i], key))
			continue;
		if (f[i].version == version)
			return &f[i];
		if (v->kind == EXPR_STRING && v->s->len == len && !memcmp(v->s->s, s, len))
			same = &f[i];
	}
	if (!same)
		return NULL;
	/* strings are immutable: the object serves the new version as it is */
	same->version = version;
	return same;
}

const struct expr_value *field_find(struct expr_vm *vm, uint64_t version,
				    const struct expr_value *key, uint64_t khash, const char *s,
				    size_t len)
{
	struct vm_field *f = field_find_ent(vm, version, key, khash, 0, s, len);

	return f ? &f->val : NULL;
}

void field_put(struct expr_vm *vm, uint64_t version, const struct expr_value *key,
	       uint64_t khash, uintptr_t path, const struct expr_value *val)
{
	struct vm_field *f = field_pair(vm, khash);

	/* host objects may not outlive the evaluation: only values are kept */
	if (val->kind == EXPR_HOST || key->s->len > EXPR_VM_FIELD_KEY || !grave_room(vm, 1))
		return;
	/* the older of the two goes; the newer one moves into its place */
	grave_put(vm, &f[1].val);
	f[1] = f[0];
	f[0].version = version;
	f[0].path = path;
	f[0].klen = key->s->len;
	memcpy(f[0].key, key->s->s, key->s->len);
	f[0].val = expr_value_ref(val);
}

int vm_path_value(struct expr_vm *vm, const struct expr_host_ops *ops, void *obj,
		  uintptr_t path, uint64_t ver, const struct expr_value *key, uint64_t khash,
		  struct expr_value *out, bool *owned)
{
	struct vm_field *f = field_pair(vm, khash);
	const char *s;
	size_t len;

	/*
	 * Most reads are of a field another filter read on this line: no map
	 * lookup, and no name compared (a version is one object's, and the path
	 * names the map and the key in it).
	 */
	if (ver && ((f->version == ver && f->path == path) ||
		    (++f, f->version == ver && f->path == path))) {
		*out = f->val;
		*owned = false;
		return 0;
	}
	ops->path_get(obj, path, &s, &len, &ver);
	if (ver && (f = field_find_ent(vm, ver, key, khash, path, s, len))) {
		f->path = path;
		*out = f->val;
		*owned = false;
		return 0;
	}
	if (expr_stringn(s, len, out))
		return 1;
	*owned = true;
	if (ver)
		field_put(vm, ver, key, khash, path, out);
	return 0;
}

/* ---- answers of pattern sets, by content ---- */

static struct vm_result *result_pair(struct expr_vm *vm, uint64_t id, uint64_t hash)
{
	uint64_t h = hash ^ id * 0x9E3779B97F4A7C15ull;

	return &vm->results[(h >> 32) % EXPR_VM_RESULT_SLOTS & ~1u];
}

static bool result_is(const struct vm_result *r, uint64_t id, const char *s, size_t len,
		      uint64_t hash)
{
	return r->id == id && r->hash == hash && r->len == len && !memcmp(r->s, s, len);
}

bool vm_result_get(struct expr_vm *vm, uint64_t id, const char *s, size_t len, uint64_t hash,
		   int *result)
{
	struct vm_result *r = result_pair(vm, id, hash);

	if (len > EXPR_VM_RESULT_LEN)
		return false;
	if (!result_is(r, id, s, len, hash) && !result_is(++r, id, s, len, hash))
		return false;
	*result = r->result;
	r->hit = true;
	return true;
}

void vm_result_put(struct expr_vm *vm, uint64_t id, const char *s, size_t len, uint64_t hash,
		   int result)
{
	struct vm_result *r = result_pair(vm, id, hash);

	if (len > EXPR_VM_RESULT_LEN)
		return;
	/*
	 * The older of the two goes, unless only it was asked for again (then
	 * the fresh one does; with both asked for, the new answer is not kept
	 * and the older loses its claim): the
	 * answers of a set searched with a new path on every line (a File() of
	 * `matches` patterns) must not push out those of the few user agents
	 * RegexpInFile sees over and over (they were searched again thousands of
	 * times a replay, which also compiled the Vectorscan database).
	 */
	if (r[0].hit && r[1].hit) {
		r[1].hit = false;	/* both kept: the older one goes next time */
		return;
	}
	if (!r[1].hit)
		r[1] = r[0];
	r[0].id = id;
	r[0].hash = hash;
	r[0].len = (uint32_t)len;
	r[0].result = (int16_t)result;
	r[0].hit = false;
	memcpy(r[0].s, s, len);
}
