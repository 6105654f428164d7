// SPDX-License-Identifier: MIT
/* gotmpl: the Go text/template subset of CrowdSec's notification formats. */
#include <stdlib.h>
#include <string.h>

#include "gotmpl/gotmpl.h"
#include "tests/lib/test.h"

static const char *alerts_json =
	"[{\"scenario\":\"crowdsecurity/ssh-bf\",\"events_count\":6,\"start_at\":\"2026-01-01T00:00:00Z\","
	"\"source\":{\"ip\":\"198.18.0.1\",\"cn\":\"FR\",\"as_name\":\"A&B <net>\",\"scope\":\"Ip\",\"value\":\"198.18.0.1\"},"
	"\"decisions\":[{\"value\":\"198.18.0.1\",\"type\":\"ban\",\"duration\":\"4h\",\"scenario\":\"crowdsecurity/ssh-bf\"}]},"
	"{\"scenario\":\"x/y\",\"events_count\":1,\"source\":{\"ip\":\"198.18.0.2\",\"cn\":\"\"},\"decisions\":[]}]";

/* Run tpl on the alerts; the output, or "ERR:<message>" */
static char *run(const char *tpl)
{
	static char buf[8192];
	struct gotmpl *t = NULL;
	json_t *data = json_loads(alerts_json, 0, NULL);
	char err[256] = "", *out = NULL;
	size_t len;

	if (gotmpl_parse("test.yaml", tpl, &t, err, sizeof(err)) ||
	    gotmpl_exec(t, data, &out, &len, err, sizeof(err)))
		snprintf(buf, sizeof(buf), "ERR:%s", err);
	else
		snprintf(buf, sizeof(buf), "%s", out);
	free(out);
	gotmpl_free(t);
	json_decref(data);
	return buf;
}

static const struct {
	const char *tpl, *want, *name;
} cases[] = {
		{ "{{range . -}}\n {{.Scenario}}\n {{ end -}}",
		  "crowdsecurity/ssh-bf\n x/y\n ", "range with trim markers (file plugin's default)" },
		{ "{{range .}}{{.Source.IP}},{{.EventsCount}},{{.StartAt}};{{end}}",
		  "198.18.0.1,6,2026-01-01T00:00:00Z;198.18.0.2,1,<no value>;", "Go field names find snake_case keys" },
		{ "{{range . -}}{{$alert := . -}}{{range .Decisions -}}"
		  "{{if $alert.Source.Cn -}}:flag-{{$alert.Source.Cn | lower}}: {{.Value}} will get "
		  "{{.Type}} for next {{.Duration}} for triggering {{.Scenario}}.{{else}}x{{end}}"
		  "{{end}}{{end}}",
		  ":flag-fr: 198.18.0.1 will get ban for next 4h for triggering crowdsecurity/ssh-bf.", "slack's default format: variables, nested range, if, pipeline" },
		{ "{{len .}} {{len (index . 0).Decisions}} {{(index . 1).Source.IP}}",
		  "2 1 198.18.0.2", "len, index, parenthesised pipeline with a field" },
		{ "{{if eq (len .) 3}}a{{else if gt (len .) 1}}b{{else}}c{{end}}",
		  "b", "else if chain and comparisons" },
		{ "{{range $i, $a := .}}{{$i}}={{$a.Scenario | upper}} {{end}}",
		  "0=CROWDSECURITY/SSH-BF 1=X/Y ", "range with index and element variables" },
		{ "{{range (index . 1).Decisions}}d{{else}}none{{end}}",
		  "none", "range else" },
		{ "{{with (index . 0).Source}}{{.Cn}}{{end}}{{/* comment */}}",
		  "FR", "with and comments" },
		{ "{{$n := 0}}{{range .}}{{$n = .EventsCount}}{{end}}{{$n}}",
		  "1", "assignment to an outer variable" },
		{ "{{printf \"%s has %d\" (index . 0).Scenario (index . 0).EventsCount}}",
		  "crowdsecurity/ssh-bf has 6", "printf" },
		{ "{{\"a\\tb\"}}{{`raw\\n`}} {{not true}} {{and 1 0}} {{or 0 \"z\"}}",
		  "a\tbraw\\n false 0 z", "literals and logic" },
		{ "{{.Nope | default \"dflt\"}}",
		  "dflt", "default on a missing field" },
		{ "a\n\n  {{- \"b\" -}}  \n c",
		  "abc", "trim both sides" },
};

int main(void)
{
	char *s;

	s = run("{{.|toJson}}");
	ASSERT_TRUE(strstr(s, "\"scenario\":\"crowdsecurity/ssh-bf\"") != NULL, "toJson of the list");
	ASSERT_TRUE(strstr(s, "A\\u0026B \\u003cnet\\u003e") != NULL, "toJson escapes like json.Marshal");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_STREQ(run(cases[i].tpl), cases[i].want, cases[i].name);

	/* parse errors name the file and line */
	ASSERT_STREQ(run("line1\n{{range .}}\n{{nosuch .}}{{end}}"),
		     "ERR:test.yaml:3: function \"nosuch\" not defined", "unknown function");
	ASSERT_STREQ(run("{{if .}}\nno end"), "ERR:test.yaml:2: unexpected EOF: {{if}} without {{end}}",
		     "missing end");
	ASSERT_STREQ(run("x\n{{end}}"), "ERR:test.yaml:2: unexpected {{end}}", "stray end");
	ASSERT_STREQ(run("{{template \"x\"}}"), "ERR:test.yaml:1: {{template}} is not supported",
		     "template is refused");
	ASSERT_TRUE(!strncmp(run("{{.Scenario"), "ERR:test.yaml:1:", 16), "unclosed action");
	ASSERT_TRUE(!strncmp(run("{{(len .}}"), "ERR:test.yaml:1:", 16), "unclosed paren");
	ASSERT_TRUE(!strncmp(run("{{$x}}"), "ERR:test.yaml:1: undefined variable", 34),
		     "undefined variable at run time");
	ASSERT_TRUE(!strncmp(run("{{.Scenario 1}}"), "ERR:", 4), "arguments to a field");
	{
		/* nesting is bounded, not a stack overflow */
		char deep[2000] = "{{";

		for (int i = 0; i < 300; i++)
			strcat(deep, "(");
		ASSERT_TRUE(strstr(run(deep), "nesting deeper") || !strncmp(run(deep), "ERR:", 4),
			    "deep nesting refused");
	}
	return TEST_SUMMARY();
}
