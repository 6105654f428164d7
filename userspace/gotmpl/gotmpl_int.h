/* SPDX-License-Identifier: MIT */
/* The template tree shared by parse.c and exec.c. */
#ifndef CS_GOTMPL_INT_H
#define CS_GOTMPL_INT_H

#include <stdarg.h>
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
/* "name:line: <fmt>" into err; returns -EINVAL (parse and run errors share it). */
int gotmpl_verr(char *err, size_t errlen, const char *name, int line, const char *fmt, va_list ap);

#endif /* CS_GOTMPL_INT_H */
