// SPDX-License-Identifier: MIT
/*
 * The expr compiler and evaluator: the input is an expression, compiled in the
 * parsers' environment (evt + every helper) and, when it compiles, evaluated on
 * a small event under tight step and memory budgets.
 */
#include "fuzz.h"

#include "expr/expr.h"
#include "parser/event.h"
#include "parser/parser.h"

static struct cs_parsers *parsers;
static struct cs_event *evt;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char line[] = "Dec  4 10:00:00 host sshd[1]: Failed password for root "
				   "from 198.18.0.1 port 22 ssh2";
	static const char json[] = "{\"a\":[1,2,{\"b\":\"c\"}],\"n\":1.5}";

	fuzz_quiet();
	if (cs_parsers_new(&(struct cs_parser_opts){ 0 }, &parsers) || cs_event_new(&evt) ||
	    cs_event_set_line(evt, line, sizeof(line) - 1, "/var/log/auth.log", "file",
			      "syslog") ||
	    cs_event_set_target(evt, "Meta.source_ip", "198.18.0.1", 10) ||
	    cs_event_set_target(evt, "Parsed.program", "sshd", 4) ||
	    cs_event_unmarshal_json(evt, json, sizeof(json) - 1))
		abort();
	expr_set_limits(200000, 16 << 20);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct expr_env *env = cs_parsers_env(parsers);
	char *src = fuzz_cstr(data, size);
	struct expr_prog *prog = NULL;
	struct expr_error err;

	if (!expr_compile(env, src, &prog, &err)) {
		struct expr_value vars[8] = { 0 };
		struct expr_value out;

		if (expr_env_var_count(env) > 8)
			abort();
		vars[0] = cs_event_value(evt);
		if (!expr_eval(prog, vars, NULL, &out, &err))
			expr_value_release(&out);
		expr_prog_free(prog);
	}
	free(src);
	return 0;
}
