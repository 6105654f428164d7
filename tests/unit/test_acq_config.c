// SPDX-License-Identifier: MIT
/* acquis.yaml and -dsn parsing: fields, upstream defaults, errors naming file:line:col. */
#include "acquisition/acq.h"
#include "common/log.h"
#include "../lib/test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int load(struct acq_config *cfg, const char *text, char *err, size_t len)
{
	return acq_config_load_buf(cfg, "acquis.yaml", text, strlen(text), err, len);
}

static void test_multi_doc(void)
{
	const char *y = "# comment only header\n"
			"filenames:\n"
			"  - /var/log/nginx/*.log\n"
			"  - /var/log/other.log\n"
			"labels:\n"
			"  type: nginx\n"
			"---\n"
			"# an empty document is skipped\n"
			"---\n"
			"source: file\n"
			"filename: /var/log/auth.log\n"
			"mode: cat\n"
			"poll_without_inotify: true\n"
			"max_buffer_size: 1000\n"
			"exclude_regexps: ['\\.gz$']\n"
			"labels: {type: syslog, env: prod}\n"
			"---\n"
			"journalctl_filter:\n"
			"  - _SYSTEMD_UNIT=ssh.service\n"
			"labels:\n"
			"  type: syslog\n"
			"---\n"
			"source: docker\n"
			"container_name: [nginx]\n"
			"labels: {type: nginx}\n"
			"---\n";
	struct acq_config cfg = { 0 };
	char err[256];
	struct acq_source_cfg *s;

	if (!ASSERT_OK(load(&cfg, y, err, sizeof(err)), err))
		return;
	if (!ASSERT_EQ(cfg.nsrcs, 4, "four datasources"))
		goto out;
	s = &cfg.srcs[0];
	ASSERT_STREQ(s->source, "file", "source detected from filenames");
	ASSERT_EQ(s->mode, ACQ_MODE_TAIL, "tail is the default mode");
	ASSERT_EQ(s->nfilenames, 2, "two filenames");
	ASSERT_STREQ(s->filenames[0], "/var/log/nginx/*.log", "glob kept");
	ASSERT_STREQ(acq_label_get(s->labels, s->nlabels, "type"), "nginx", "labels.type");
	ASSERT_EQ(s->poll_without_inotify, -1, "poll unset");
	ASSERT_EQ(s->line, 2, "document line");
	s = &cfg.srcs[1];
	ASSERT_EQ(s->nfilenames, 1, "filename");
	ASSERT_STREQ(s->filenames[0], "/var/log/auth.log", "filename value");
	ASSERT_EQ(s->mode, ACQ_MODE_CAT, "cat mode");
	ASSERT_EQ(s->poll_without_inotify, 1, "poll_without_inotify");
	ASSERT_EQ(s->max_line, 1000, "max_buffer_size");
	ASSERT_EQ(s->nexclude, 1, "exclude_regexps");
	ASSERT_EQ(s->nlabels, 2, "two labels");
	ASSERT_STREQ(acq_label_get(s->labels, s->nlabels, "env"), "prod", "labels.env");
	ASSERT_EQ(s->line, 10, "third document starts at line 10");
	s = &cfg.srcs[2];
	ASSERT_STREQ(s->source, "journalctl", "journalctl detected");
	ASSERT_EQ(s->njournal_filters, 1, "one filter");
	s = &cfg.srcs[3];
	ASSERT_STREQ(s->source, "docker", "docker kept");
	ASSERT_TRUE(s->unsupported, "docker marked unsupported");
out:
	acq_config_free(&cfg);
}

struct err_case {
	const char *name;
	const char *yaml;
	const char *want; /* prefix of the message, file:line:col included */
};

static const struct err_case err_cases[] = {
	{ "unknown key (file is strict upstream)",
	  "filename: /x\nlabels: {type: t}\nfoo: bar\n", "acquis.yaml:3:1: unknown field 'foo'" },
	{ "missing labels", "filename: /x\n", "acquis.yaml:1:1: missing labels" },
	{ "missing source", "labels: {type: t}\nmode: tail\n",
	  "acquis.yaml:1:1: missing 'source' field" },
	{ "unknown source", "---\nsource: carrier-pigeon\nlabels: {type: t}\n",
	  "acquis.yaml:2:9: unknown data source carrier-pigeon" },
	{ "bad mode", "filename: /x\nlabels: {type: t}\nmode: follow\n",
	  "acquis.yaml:3:7: unsupported mode follow" },
	{ "no filename", "source: file\nlabels: {type: t}\n",
	  "acquis.yaml:1:1: no filename or filenames" },
	{ "filenames not a list", "filenames: /x\nlabels: {type: t}\n",
	  "acquis.yaml:1:12: filenames: expected a list" },
	{ "bad bool", "filename: /x\nlabels: {type: t}\npoll_without_inotify: maybe\n",
	  "acquis.yaml:3:23: poll_without_inotify: expected a boolean" },
	{ "labels not a map", "filename: /x\nlabels: [a]\n",
	  "acquis.yaml:2:9: labels: expected a mapping" },
	{ "YAML syntax error in 2nd doc",
	  "filename: /x\nlabels: {type: t}\n---\nfilename: [unclosed\nlabels: {type: t}\n",
	  "acquis.yaml:" },
	{ "duplicate key", "filename: /x\nfilename: /y\nlabels: {type: t}\n",
	  "acquis.yaml:2:1: key 'filename' is already defined" },
	{ "bad regexp", "filename: /x\nlabels: {type: t}\nexclude_regexps: ['(']\n",
	  "acquis.yaml:3:18: exclude_regexps: could not compile" },
	{ "journalctl without filter", "source: journalctl\nlabels: {type: t}\n",
	  "acquis.yaml:1:1: journalctl_filter is required" },
	{ "not a mapping", "- filename: /x\n", "acquis.yaml:1:1: expected a mapping" },
	{ "bad duration", "filename: /x\nlabels: {type: t}\ndiscovery_poll_interval: soon\n",
	  "acquis.yaml:3:26: discovery_poll_interval: not a duration" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct acq_config cfg = { 0 };
		char err[256] = "";
		int rc = load(&cfg, c->yaml, err, sizeof(err));

		ASSERT_EQ(rc, -EINVAL, c->name);
		if (!ASSERT_TRUE(!strncmp(err, c->want, strlen(c->want)), c->name))
			fprintf(stderr, "  got: %s\n  want: %s...\n", err, c->want);
		ASSERT_EQ(cfg.nsrcs, 0, "all or nothing");
		acq_config_free(&cfg);
	}
}

static void test_syntax_error_line(void)
{
	const char *y = "filename: /x\nlabels: {type: t}\n---\nfilename: /y\nlabels: {type: t\n";
	struct acq_config cfg = { 0 };
	char err[256] = "";

	ASSERT_EQ(load(&cfg, y, err, sizeof(err)), -EINVAL, "flow mapping not closed");
	/* libyaml reports where it gave up: the end of the stream, line 6 */
	ASSERT_TRUE(!strncmp(err, "acquis.yaml:6:", 14), err);
	acq_config_free(&cfg);
}

static void test_env_and_file(void)
{
	char path[] = "/tmp/test_acq_config_XXXXXX";
	const char *y = "filenames: ['${ACQ_TEST_DIR}/*.log', '$ACQ_TEST_UNDEFINED_VAR/x']\n"
			"labels: {type: $ACQ_TEST_TYPE}\n";
	struct acq_config cfg = { 0 };
	char err[256];
	int fd;

	setenv("ACQ_TEST_DIR", "/srv/logs", 1);
	setenv("ACQ_TEST_TYPE", "nginx", 1);
	unsetenv("ACQ_TEST_UNDEFINED_VAR");
	fd = mkstemp(path);
	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	ASSERT_EQ(write(fd, y, strlen(y)), (long long)strlen(y), "write");
	close(fd);
	if (ASSERT_OK(acq_config_load_file(&cfg, path, err, sizeof(err)), err) &&
	    ASSERT_EQ(cfg.nsrcs, 1, "one source")) {
		ASSERT_STREQ(cfg.srcs[0].filenames[0], "/srv/logs/*.log", "${VAR} expanded");
		ASSERT_STREQ(cfg.srcs[0].filenames[1], "$ACQ_TEST_UNDEFINED_VAR/x",
			     "undefined variable left as is");
		ASSERT_STREQ(cfg.srcs[0].labels[0].value, "nginx", "$VAR expanded");
		ASSERT_STREQ(cfg.srcs[0].file, path, "file recorded");
	}
	acq_config_free(&cfg);
	unlink(path);

	ASSERT_EQ(acq_config_load_file(&cfg, "/nonexistent/acquis.yaml", err, sizeof(err)),
		  -ENOENT, "missing file");
	ASSERT_TRUE(strstr(err, "/nonexistent/acquis.yaml") != NULL, "error names the file");
}

static void test_dsn(void)
{
	const char *labels[] = { "env:prod", "type:override" };
	struct acq_config cfg = { 0 };
	char err[256];

	if (ASSERT_OK(acq_config_from_dsn(&cfg, "file:///var/log/x.log?max_buffer_size=100",
					  "nginx", NULL, 0, err, sizeof(err)),
		      err)) {
		struct acq_source_cfg *s = &cfg.srcs[0];

		ASSERT_STREQ(s->source, "file", "dsn source");
		ASSERT_STREQ(s->filenames[0], "/var/log/x.log", "dsn path");
		ASSERT_EQ(s->mode, ACQ_MODE_CAT, "dsn is cat mode");
		ASSERT_EQ(s->max_line, 100, "max_buffer_size param");
		ASSERT_STREQ(acq_label_get(s->labels, s->nlabels, "type"), "nginx", "type");
	}
	acq_config_free(&cfg);

	if (ASSERT_OK(acq_config_from_dsn(&cfg, "journalctl://filters=_SYSTEMD_UNIT%3Dssh.service"
						"&filters=_COMM=sshd&since=1h",
					  "syslog", labels, 2, err, sizeof(err)),
		      err)) {
		struct acq_source_cfg *s = &cfg.srcs[0];

		ASSERT_STREQ(s->source, "journalctl", "journalctl dsn");
		ASSERT_EQ(s->njournal_filters, 2, "two filters");
		ASSERT_STREQ(s->journal_filters[0], "_SYSTEMD_UNIT=ssh.service", "%3D decoded");
		ASSERT_STREQ(s->journal_since, "1h", "since");
		ASSERT_STREQ(acq_label_get(s->labels, s->nlabels, "env"), "prod", "-label");
		ASSERT_STREQ(acq_label_get(s->labels, s->nlabels, "type"), "override",
			     "-label type wins over -type, given later");
	}
	acq_config_free(&cfg);

	ASSERT_EQ(acq_config_from_dsn(&cfg, "/var/log/x.log", "t", NULL, 0, err, sizeof(err)),
		  -EINVAL, "no protocol");
	ASSERT_TRUE(strstr(err, "no protocol") != NULL, err);
	ASSERT_EQ(acq_config_from_dsn(&cfg, "s3://bucket", "t", NULL, 0, err, sizeof(err)),
		  -EINVAL, "unknown protocol");
	ASSERT_EQ(acq_config_from_dsn(&cfg, "file://", "t", NULL, 0, err, sizeof(err)), -EINVAL,
		  "empty");
	ASSERT_EQ(acq_config_from_dsn(&cfg, "file:///x?foo=1", "t", NULL, 0, err, sizeof(err)),
		  -EINVAL, "unknown parameter");
	ASSERT_TRUE(strstr(err, "unknown parameter foo") != NULL, err);
	ASSERT_EQ(cfg.nsrcs, 0, "nothing appended on error");
	acq_config_free(&cfg);
}

/* Mutated documents must give 0 or -EINVAL with a message, never crash or leak. */
static void test_mutations(void)
{
	static const char base[] = "filenames:\n  - /var/log/*.log\nlabels:\n  type: nginx\n"
				   "---\nsource: journalctl\njournalctl_filter: [_COMM=sshd]\n"
				   "labels: {type: syslog}\nmode: cat\n---\nfilename: /x\n"
				   "exclude_regexps: ['a(b)']\nlabels: {type: t}\n";
	static const char alphabet[] = ":-[]{},'\"#&*!|>%@` \n\tabc$";
	int ok = 0, bad = 0, other = 0;

	srand(1);
	for (int i = 0; i < 3000; i++) {
		struct acq_config cfg = { 0 };
		char buf[sizeof(base)], err[256] = "";
		int flips = 1 + rand() % 3, rc;

		memcpy(buf, base, sizeof(base));
		for (int f = 0; f < flips; f++)
			buf[rand() % (sizeof(base) - 1)] = alphabet[rand() % (sizeof(alphabet) - 1)];
		rc = acq_config_load_buf(&cfg, "m.yaml", buf, sizeof(base) - 1, err, sizeof(err));
		if (!rc)
			ok++;
		else if (rc == -EINVAL && !strncmp(err, "m.yaml:", 7))
			bad++;
		else
			other++;
		acq_config_free(&cfg);
	}
	ASSERT_EQ(other, 0, "mutations: only success or a located -EINVAL");
	ASSERT_TRUE(ok > 0 && bad > 0, "mutations: both outcomes seen");
}

int main(void)
{
	log_set_level(LOG_LVL_ERROR);
	test_multi_doc();
	test_errors();
	test_syntax_error_line();
	test_env_and_file();
	test_dsn();
	test_mutations();
	return TEST_SUMMARY();
}
