/* SPDX-License-Identifier: MIT */
/* The template tree shared by parse.c and exec.c. */
#ifndef CS_GOTMPL_INT_H
#define CS_GOTMPL_INT_H

#include <stdbool.h>

#include "gotmpl/gotmpl.h"

enum arg_kind { A_DOT, A_FIELD, A_VAR, A_STR, A_INT, A_REAL, A_BOOL, A_NIL, A_FUNC, A_PIPE };

struct pipe;

struct arg {
	enum arg_kind k;
	char *s;       /* A_STR value, A_VAR name ("$x"), A_FUNC name */
	char **fields; /* A_FIELD, A_VAR, A_PIPE: the path after it */
	size_t nfields, fieldscap;
	long long i;
	double r;
	bool b;
	struct pipe *pipe;
};

struct cmd {
	struct arg *args;
	size_t n, cap;
};

struct pipe {
	char *decl[2]; /* variables declared or assigned */
	int ndecl;
	bool assign; /* "=" rather than ":=" */
	struct cmd *cmds;
	size_t n, cap;
};

enum node_kind { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };

struct list;

struct node {
	enum node_kind k;
	int line;
	char *text;
	size_t len;
	struct pipe *pipe;
	struct list *body, *els;
};

struct list {
	struct node *v;
	size_t n, cap;
};

struct gotmpl {
	char *name;
	struct list *root;
};

void gotmpl_list_free(struct list *l);

/* Where a parse or a run reports its error: the first one only. */
struct gotmpl_err {
	char *buf;
	size_t len;
	int failed; /* 0, or the code of the error in buf */
};

/*
 * "name:line: <fmt>" into e->buf unless an error is already there; returns
 * e->failed (-EINVAL). Parse and run errors share it.
 */
int gotmpl_fail(struct gotmpl_err *e, const char *name, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* CS_GOTMPL_INT_H */
