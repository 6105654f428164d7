// SPDX-License-Identifier: MIT
/*
 * cscli version and cscli completion bash|zsh. The completion scripts are
 * static: the command tree is small and changes with the program, not at run time.
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cscli/cscli.h"

int cmd_version(struct cli *c, int argc, char **argv)
{
	struct utsname u;

	(void)argv;
	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Display version\n\nUsage:\n  cscli version [flags]\n");
		return EXIT_OK;
	}
	if (uname(&u))
		strcpy(u.sysname, "linux");
	if (c->out == OUT_JSON) {
		json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "version", LAPI_VERSION,
				      "codename", "crowdsec-xdp", "build_date", __DATE__ " " __TIME__,
				      "platform", "linux", "user_agent", "crowdsec/" LAPI_VERSION,
				      "constraint_parser", ">= 1.0, <= 3.0", "constraint_scenario",
				      ">= 1.0, <= 3.0", "constraint_api", "v1");
		print_json(j, 2, true);
		json_decref(j);
		return EXIT_OK;
	}
	printf("version: %s\n", LAPI_VERSION);
	printf("Codename: crowdsec-xdp\n");
	printf("BuildDate: %s %s\n", __DATE__, __TIME__);
	printf("Platform: %s\n", "linux");
	printf("User-Agent: crowdsec/%s-%s\n", LAPI_VERSION, "linux");
	printf("Constraint_parser: >= 1.0, <= 3.0\n");
	printf("Constraint_scenario: >= 1.0, <= 3.0\n");
	printf("Constraint_api: v1\n");
	printf("Constraint_acquis: >= 1.0, < 2.0\n");
	return EXIT_OK;
}

/* object: its verbs (hub item types share theirs) */
static const char *const tree[][2] = {
	{ "alerts", "list inspect delete flush" },
	{ "allowlists", "create add remove delete list inspect check" },
	{ "appsec-configs", "install remove upgrade inspect list" },
	{ "appsec-rules", "install remove upgrade inspect list" },
	{ "bouncers", "add list delete" },
	{ "collections", "install remove upgrade inspect list" },
	{ "completion", "bash zsh" },
	{ "config", "show" },
	{ "contexts", "install remove upgrade inspect list" },
	{ "decisions", "list add delete import" },
	{ "explain", "" },
	{ "hub", "list update upgrade types" },
	{ "hubtest", "run" },
	{ "lapi", "status" },
	{ "machines", "add list delete validate" },
	{ "parsers", "install remove upgrade inspect list" },
	{ "postoverflows", "install remove upgrade inspect list" },
	{ "scenarios", "install remove upgrade inspect list" },
	{ "setup", "detect install-hub install-acquisition unattended validate --yes --dry-run" },
	{ "simulation", "enable disable status" },
	{ "version", "" },
};

static void bash(void)
{
	printf("# bash completion for cscli (source it, or put it in /etc/bash_completion.d/cscli)\n"
	       "_cscli() {\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} obj= i\n"
	       "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	       "\t\tcase ${COMP_WORDS[i]} in -c|-o|--config|--output) ((i++)); continue;; -*) continue;; esac\n"
	       "\t\tobj=${COMP_WORDS[i]}; break\n"
	       "\tdone\n"
	       "\tcase $obj in\n"
	       "\t'') COMPREPLY=($(compgen -W \"");
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		printf("%s%s", i ? " " : "", tree[i][0]);
	printf(" -c --config -o --output --debug --info --warning --error --trace\" -- \"$cur\"));;\n");
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		printf("\t%s) COMPREPLY=($(compgen -W \"%s --help\" -- \"$cur\"));;\n", tree[i][0],
		       tree[i][1]);
	printf("\tesac\n}\ncomplete -F _cscli cscli\n");
}

static void zsh(void)
{
	printf("#compdef cscli\n# zsh completion for cscli (put it in your $fpath as _cscli)\n"
	       "_cscli() {\n\tlocal -a objs\n\tobjs=(");
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		printf("%s%s", i ? " " : "", tree[i][0]);
	printf(")\n\tif (( CURRENT == 2 )); then\n\t\tcompadd -a objs\n\t\treturn\n\tfi\n"
	       "\tcase ${words[2]} in\n");
	for (size_t i = 0; i < sizeof(tree) / sizeof(tree[0]); i++)
		printf("\t%s) compadd %s --help;;\n", tree[i][0], tree[i][1]);
	printf("\tesac\n}\ncompdef _cscli cscli\n");
}

int cmd_completion(struct cli *c, int argc, char **argv)
{
	(void)c;
	if (argc == 2 && !strcmp(argv[1], "bash")) {
		bash();
		return EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "zsh")) {
		zsh();
		return EXIT_OK;
	}
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Generate the completion script for cscli\n\nUsage:\n  cscli completion "
		       "[bash|zsh]\n\nTo load completions:\n  source <(cscli completion bash)\n");
		return EXIT_OK;
	}
	fprintf(stderr, "Usage: cscli completion [bash|zsh]\n");
	return EXIT_USAGE;
}
