// SPDX-License-Identifier: MIT
/*
 * What cscli and the LAPI client decode from a server's answers: the input is the
 * body a (hostile or broken) LAPI or metrics endpoint sends back to `cscli
 * decisions list`, `alerts list`, `alerts inspect`, `lapi status` or `metrics`,
 * in each output format. The first byte picks the command, the second the output
 * format, the HTTP status and whether the login answer (the LAPI client's token
 * decoder) is the fuzzed body too. libcurl's easy calls are replaced here so that
 * no request leaves the process: every transfer "receives" the input.
 */
#define CURL_DISABLE_TYPECHECK /* curl_easy_setopt is defined below, not a macro */
#include <curl/curl.h>
#include <stdarg.h>

#include "fuzz.h"

#include "cscli/cscli.h"

int cscli_main(int argc, char **argv);

static const char *const commands[][5] = {
	{ "decisions", "list" },	 { "decisions", "list", "-a" }, { "alerts", "list" },
	{ "alerts", "list", "-m" },	 { "alerts", "inspect", "1" },	{ "alerts", "inspect", "-d", "1" },
	{ "lapi", "status" },		 { "metrics" },			{ "metrics", "show", "acquisition" },
};
static const char *const formats[] = { "human", "json", "raw" };
static const long statuses[] = { 200, 200, 403, 500 };
static const char token_answer[] =
	"{\"code\":200,\"expire\":\"2030-01-01T00:00:00Z\",\"token\":\"a.b.c\"}";

static char config_path[64], creds_path[64];
static struct {
	const uint8_t *body, *login;
	size_t len, login_len;
	long status;
} answer;

/* ---- the network, replaced -------------------------------------------------------- */
struct fake_curl {
	curl_write_callback write;
	void *data;
	bool login;
};

CURL *curl_easy_init(void)
{
	return calloc(1, sizeof(struct fake_curl));
}

void curl_easy_cleanup(CURL *h)
{
	free(h);
}

void curl_easy_reset(CURL *h)
{
	memset(h, 0, sizeof(struct fake_curl));
}

CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	struct fake_curl *f = h;
	va_list ap;

	va_start(ap, opt);
	if (opt == CURLOPT_WRITEFUNCTION)
		f->write = va_arg(ap, curl_write_callback);
	else if (opt == CURLOPT_WRITEDATA)
		f->data = va_arg(ap, void *);
	else if (opt == CURLOPT_URL)
		f->login = strstr(va_arg(ap, const char *), "/watchers/login") != NULL;
	va_end(ap);
	return CURLE_OK;
}

CURLcode curl_easy_perform(CURL *h)
{
	struct fake_curl *f = h;
	const uint8_t *p = f->login ? answer.login : answer.body;
	size_t n = f->login ? answer.login_len : answer.len;

	/* in two pieces, as answers arrive: the writer must append */
	for (size_t off = 0, piece = n / 2 + 1; f->write && off < n; off += piece) {
		size_t k = n - off < piece ? n - off : piece;
		char *copy = malloc(k);

		if (!copy)
			abort();
		memcpy(copy, p + off, k);
		if (f->write(copy, 1, k, f->data) != k) {
			free(copy);
			return CURLE_WRITE_ERROR;
		}
		free(copy);
	}
	return CURLE_OK;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	struct fake_curl *f = h;
	va_list ap;

	va_start(ap, info);
	if (info == CURLINFO_RESPONSE_CODE)
		*va_arg(ap, long *) = f->login && answer.login != answer.body ? 200 : answer.status;
	va_end(ap);
	return CURLE_OK;
}

/* ---- the harness ------------------------------------------------------------------ */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char creds[] = "url: http://127.0.0.1:8080/\nlogin: fuzz\npassword: fuzz\n";
	static char mask[] = "-close_fd_mask=3"; /* cscli prints tables and log lines */
	char cfg[512], **v = calloc((size_t)*argc + 2, sizeof(char *));
	int n;

	if (!v)
		abort();
	memcpy(v, *argv, (size_t)*argc * sizeof(char *));
	v[(*argc)++] = mask;
	*argv = v;
	/* both files stay open for the whole run: their paths are /proc/self/fd/N */
	fuzz_file((const uint8_t *)creds, sizeof(creds) - 1, creds_path, sizeof(creds_path));
	n = snprintf(cfg, sizeof(cfg),
		     "api:\n  client:\n    credentials_path: %s\n  server:\n    listen_uri: 127.0.0.1:8080\n"
		     "prometheus:\n  enabled: true\n  listen_addr: 127.0.0.1\n  listen_port: 6060\n",
		     creds_path);
	fuzz_file((const uint8_t *)cfg, (size_t)n, config_path, sizeof(config_path));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *const *cmd;
	char *argv[12];
	int argc = 0;

	if (size < 2)
		return 0;
	cmd = commands[data[0] % (sizeof(commands) / sizeof(commands[0]))];
	answer.body = data + 2;
	answer.len = size - 2;
	answer.status = statuses[(data[1] >> 2) % 4];
	answer.login = data[1] & 0x80 ? answer.body : (const uint8_t *)token_answer;
	answer.login_len = data[1] & 0x80 ? answer.len : sizeof(token_answer) - 1;
	argv[argc++] = (char *)"cscli";
	argv[argc++] = (char *)"-c";
	argv[argc++] = config_path;
	argv[argc++] = (char *)"-o";
	argv[argc++] = (char *)formats[(data[1] & 3) % 3];
	for (size_t i = 0; i < 5 && cmd[i]; i++)
		argv[argc++] = (char *)cmd[i];
	argv[argc] = NULL;
	cscli_main(argc, argv);
	return 0;
}
