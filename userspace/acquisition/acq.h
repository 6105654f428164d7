/* SPDX-License-Identifier: MIT */
/*
 * Acquisition: turns log sources into lines, CrowdSec style (acquis.yaml, or
 * `-dsn file:///path -type nginx` for a one-shot replay). It knows nothing about
 * parsing: every line goes to a callback with its source, labels and module.
 *
 * Event-loop contract. The daemon owns the loop; acquisition exposes ONE pollable
 * fd (an epoll fd holding the inotify fds, a timer, journalctl pipes and an eventfd
 * that stays readable while work is pending). When it is readable, call
 * acq_process() with a line budget; it never blocks (except on disk reads of
 * regular files, which the kernel does not report through epoll anyway). Why not
 * a thread with a queue: the pipeline is single-threaded, so a thread would only
 * add a lock, a copy per line and a second place where backpressure must be
 * handled; with a budget the daemon decides how much log it takes per turn.
 *
 *	struct acq_config cfg = {0};
 *	struct acq *acq = NULL;
 *	char err[512];
 *
 *	if (acq_config_load_file(&cfg, "/etc/crowdsec/acquis.yaml", err, sizeof(err)))
 *		die("%s", err);			// "acquis.yaml:7:3: ..."
 *	if (acq_new(&cfg, on_line, ctx, &acq))
 *		die(...);
 *	acq_config_free(&cfg);			// acq keeps its own copy
 *	loop_add_fd(loop, acq_fd(acq), EPOLLIN, ...);
 *	// on EPOLLIN:
 *	n = acq_process(acq, 1000);		// lines delivered, or -errno
 *	if (acq_done(acq))			// replay: every source reached its end
 *		...;
 *	acq_free(acq);
 *
 * All int returns are 0 (or a count) or -errno. Every _free accepts NULL. Not
 * thread-safe: one thread owns an acq (the loop's).
 *
 * Semantics (file source), and where they differ from upstream:
 * - tail: files existing at start are read from their end (upstream too); an
 *   unfinished last line is backed up to, so it arrives whole. Files that appear
 *   later (glob match, recreated, rotated in) are read from offset 0; upstream
 *   seeks to their end and can lose what was written before it noticed them.
 * - rename rotation, delete+recreate: the old file keeps being read until it has
 *   been quiet for 3 s after EOF (the writer may not have reopened yet); the new
 *   one is read from 0. A rotated file that still matches a pattern under its new
 *   name (app.log.1 with "app.log*") is carried on, never read twice.
 * - copytruncate: detected by size < offset, or by the 64 bytes before our offset
 *   changing (refilled past the old size before we looked); restart at 0.
 * - every pattern's directory is watched, even with no match at start (upstream:
 *   only if the glob matched, or with force_inotify).
 * - lines: "
"-terminated; a "
" before it is dropped; empty lines skipped; NUL
 *   bytes end a line: the rest is dropped and counted (upstream keeps them, and
 *   an unanchored grok then finds a fake line an attacker wrote after the NUL;
 *   no log writer emits one). A line longer than max_buffer_size (64 KiB) is cut,
 *   flagged `truncated`, counted, and the rest of it dropped; upstream replay
 *   aborts the file with "token too long" instead.
 * - when a file ends (replay EOF, rotation grace over, truncation) an unfinished
 *   last line is delivered as it is.
 * - only regular files are read (symlinks to them too): a FIFO, a device or a
 *   socket matching a pattern is refused with a warning (journald has its own
 *   source). Every 4 KiB read also costs one unit of the line budget, so a file
 *   of NULs or empty lines cannot hold one acq_process() call for long.
 */
#ifndef CS_ACQ_H
#define CS_ACQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ACQ_MAX_LINE_DEFAULT (64 * 1024) /* bufio.Scanner's default limit upstream */

enum acq_mode {
	ACQ_MODE_TAIL = 0, /* follow forever (default) */
	ACQ_MODE_CAT,	   /* read once from the start, then the source is done */
};

struct acq_label {
	char *key;
	char *value;
};

/*
 * Set labels[k] = v (copies; a key set again keeps its place): 0 or -ENOMEM.
 * *cap is the room in *labels (common/vec.h), 0 for a new list.
 */
int acq_labels_add(struct acq_label **labels, size_t *n, size_t *cap, const char *k,
		   const char *v);
/* Frees the n labels and the array; NULL is fine. */
void acq_labels_free(struct acq_label *labels, size_t n);

/* One acquis.yaml document (one datasource). */
struct acq_source_cfg {
	char *source; /* "file", "journalctl", or an upstream module we do not run */
	char *name;   /* optional `name:` */
	enum acq_mode mode;
	struct acq_label *labels; /* `labels:`, in file order; never empty */
	size_t nlabels, labels_cap;

	/* file */
	char **filenames; /* `filenames:` then `filename:` (as upstream appends it) */
	size_t nfilenames;
	char **exclude_regexps; /* PCRE2, matched against the full path */
	size_t nexclude;
	int poll_without_inotify; /* -1 unset (auto: poll on network filesystems), 0, 1 */
	bool force_inotify;	  /* watch each pattern's directory even without a match */
	size_t max_line;	  /* `max_buffer_size`, 0 = ACQ_MAX_LINE_DEFAULT */
	bool discovery_poll;	  /* `discovery_poll_enable` */
	int64_t discovery_poll_ns;

	/* journalctl */
	char **journal_filters;
	size_t njournal_filters;
	char *journal_since; /* DSN only */

	bool use_time_machine; /* `use_time_machine`: tail lines flagged time machine */
	char *transform;       /* `transform:` expr text, for the daemon to compile */
	bool unsupported;      /* a known upstream source we don't implement: skipped */
	bool dsn;	       /* from -dsn: no matching file is an error, not a warning */

	char *file; /* where this document is, for messages */
	int line;
};

struct acq_config {
	struct acq_source_cfg *srcs;
	size_t nsrcs, srcscap;
};

/*
 * Parse an acquis.yaml file (several YAML documents; ${VAR}/$VAR expanded from the
 * environment first, like upstream; empty documents skipped). On error returns
 * -EINVAL (or -errno of open/read) and writes "file:line:col: message" to err.
 * Loading several files into the same cfg appends.
 */
int acq_config_load_file(struct acq_config *cfg, const char *path, char *err, size_t errlen);
/* Same, from memory; `name` is used in messages. */
int acq_config_load_buf(struct acq_config *cfg, const char *name, const char *buf, size_t len,
			char *err, size_t errlen);
/*
 * `crowdsec -dsn DSN -type TYPE [-label k:v ...]`: "file:///path/glob[?max_buffer_size=N]"
 * or "journalctl://filters=A&filters=B[&since=...]". Always cat mode. `labels`
 * (may be NULL) are extra "key:value" strings; `type` becomes labels.type.
 */
int acq_config_from_dsn(struct acq_config *cfg, const char *dsn, const char *type,
			const char *const *labels, size_t nlabels, char *err, size_t errlen);
void acq_config_free(struct acq_config *cfg);
/* labels[key] or NULL. */
const char *acq_label_get(const struct acq_label *labels, size_t n, const char *key);

/* What the callback receives; everything is borrowed for the duration of the call. */
struct acq_line {
	const char *raw; /* the line without "\n" (and without "\r" before it); raw[len] == 0 */
	size_t len;	 /* never contains a NUL byte (cut there) */
	const char *src; /* the file path (journalctl: "journalctl-<filters>") */
	const char *module; /* "file", "journalctl" */
	const struct acq_label *labels;
	size_t nlabels;
	const char *type;     /* labels.type, or NULL */
	struct timespec time; /* CLOCK_REALTIME at read time (of the read round) */
	bool timemachine;     /* replay: buckets must use event time */
	bool truncated;	      /* longer than max_line: the rest was dropped */
	const struct acq_source_cfg *cfg;
};

/*
 * Return 0 to go on. For backpressure, take the line and return -EAGAIN: a
 * negative errno stops the current acq_process() round (the line counts as
 * delivered) and acq_process() returns it; pending work stays
 * pending and the fd stays readable. A positive value is taken as -ECANCELED.
 */
typedef int (*acq_line_fn)(const struct acq_line *line, void *arg);

struct acq;

struct acq_stats {
	uint64_t lines;		/* delivered */
	uint64_t bytes;		/* read from sources */
	uint64_t empty;		/* empty lines skipped */
	uint64_t truncated;	/* over-long lines cut to max_line */
	uint64_t nul_cut;	/* lines cut at a NUL byte (the rest dropped) */
	uint64_t rotations;	/* a new file took the path (rename, delete+create) */
	uint64_t truncations;	/* copytruncate: size went below our offset */
	uint64_t files_opened;
	uint64_t errors;	/* read/open errors, journalctl failures */
};

/*
 * Start every source of cfg (copied: cfg may be freed afterwards). Tail sources
 * start at the end of the files that exist now; files that appear later are read
 * from their start. Unsupported sources are skipped with a warning. Returns
 * -ENOENT if a cat source (replay) matches no file, like upstream.
 */
int acq_new(const struct acq_config *cfg, acq_line_fn fn, void *arg, struct acq **out);
/* Deliver lines to another callback from now on (a reload keeps the same sources). */
void acq_set_callback(struct acq *a, acq_line_fn fn, void *arg);
void acq_free(struct acq *a);

/* The pollable fd for the daemon's loop (EPOLLIN). Owned by acq. */
int acq_fd(const struct acq *a);
/* Deliver up to `budget` lines (0 = no limit). Returns the count or -errno. */
int acq_process(struct acq *a, unsigned int budget);
/* True once every source has ended: only when all are cat mode (or there are none). */
bool acq_done(const struct acq *a);
/*
 * Convenience for replay and tests: wait on acq_fd() and process until done, the
 * callback stops us, or timeout_ms passes (-1 = forever). 0 on done, -ETIMEDOUT.
 */
int acq_run(struct acq *a, int timeout_ms);
void acq_get_stats(const struct acq *a, struct acq_stats *st);

#endif /* CS_ACQ_H */
