// SPDX-License-Identifier: MIT
/*
 * cscli capi register|status: this LAPI's membership of a crowd (a
 * crowdsec-central, or any CAPI). Unlike 1.4.6, register takes --url: the
 * central is whoever the operator chooses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/pwhash.h"
#include "cscli/cscli.h"
#include "lapiclient/lapiclient.h"

#define CAPI_DEFAULT_URL "https://api.crowdsec.net/"

static const struct lapi_client_opts capi_opts = { .user_agent = "crowdsec/" LAPI_VERSION,
						   .timeout_s = 30,
						   .connect_timeout_ms = 5000,
						   .max_answer = 1 << 20 };

static const char *creds_path(struct cli *c)
{
	return c->cfg.online_credentials_path ? c->cfg.online_credentials_path
					      : "/etc/crowdsec/online_api_credentials.yaml";
}

static int capi_register(struct cli *c, int argc, char **argv)
{
	const char *file = NULL, *url = CAPI_DEFAULT_URL;
	const struct cli_opt opts[] = { { "file", 'f', .str = &file }, { "url", 'u', .str = &url } };
	char id[49], pw[65], tmp[4200], body[256], err[512], *answer = NULL;
	struct lapi_client *cl = NULL;
	long status = 0;
	int ret = CLI_GETOPT(argc, argv, opts);

	if (ret)
		return ret;
	if (cli_load_config(c))
		return EXIT_FATAL;
	if (!file)
		file = creds_path(c);
	if (cs_random_string(id, 48, false) || cs_random_string(pw, 64, false)) {
		cli_fatal("cannot generate credentials");
		return EXIT_FATAL;
	}
	/* the client reads a credentials file: a scratch one, kept only on success */
	snprintf(tmp, sizeof(tmp), "%s.register", strcmp(file, "-") ? file : "/tmp/capi");
	ret = cli_write_creds(tmp, url, id, pw);
	if (!ret)
		ret = lapi_client_open(tmp, &capi_opts, &cl, err, sizeof(err));
	if (!ret) {
		snprintf(body, sizeof(body), "{\"machine_id\":\"%s\",\"password\":\"%s\"}", id, pw);
		ret = lapi_client_do(cl, "POST", "/v2/watchers", body, &status, &answer);
	}
	if (ret || status < 200 || status >= 300) {
		cli_fatal("api client register ('%s'): %s", url,
			  ret ? (cl ? lapi_client_error(cl) : strerror(-ret))
			      : (answer ? answer : "refused"));
		ret = EXIT_FATAL;
	} else if (!strcmp(file, "-")) {
		cli_write_creds("-", url, id, pw);
	} else if (rename(tmp, file)) {
		cli_fatal("write api credentials in '%s' failed: %s", file, strerror(errno));
		ret = EXIT_FATAL;
	} else {
		cli_info("Successfully registered to Central API (CAPI)");
		cli_info("Central API credentials written to '%s'", file);
		cli_info("Run 'sudo systemctl reload crowdsec' for the new configuration to be effective.");
	}
	unlink(tmp);
	free(answer);
	lapi_client_free(cl);
	return ret ? EXIT_FATAL : EXIT_OK;
}

static int capi_status(struct cli *c, int argc, char **argv)
{
	struct lapi_client *cl = NULL;
	char err[512], *answer = NULL;
	long status = 0;
	int ret;

	if (cli_load_config(c))
		return EXIT_FATAL;
	if (!c->cfg.online_credentials_path) {
		cli_fatal("no configuration for Central API in '%s'", c->config_path);
		return EXIT_FATAL;
	}
	ret = lapi_client_open(c->cfg.online_credentials_path, &capi_opts, &cl, err, sizeof(err));
	if (ret) {
		cli_fatal("unable to load CAPI credentials from %s: %s",
			  c->cfg.online_credentials_path, err);
		return EXIT_FATAL;
	}
	cli_info("Loaded credentials from %s", c->cfg.online_credentials_path);
	cli_info("Trying to authenticate with username %s on %s/", lapi_client_login_name(cl),
		 lapi_client_url(cl));
	ret = lapi_client_login_at(cl, "/v2/watchers/login", NULL, &status, &answer);
	if (ret)
		cli_fatal("Failed to authenticate to Central API (CAPI) : %s", lapi_client_error(cl));
	else
		cli_info("You can successfully interact with Central API (CAPI)");
	free(answer);
	lapi_client_free(cl);
	return ret ? EXIT_FATAL : EXIT_OK;
}

static const struct verb capi_verbs[] = {
	{ "register", NULL, capi_register, "Register to Central API (CAPI)", "[flags]",
	  "  -f, --file string   output file destination\n"
	  "  -u, --url string    the central API (default \"" CAPI_DEFAULT_URL "\")\n" },
	{ "status", NULL, capi_status, "Check status with the Central API (CAPI)", "[flags]", NULL },
};

int cmd_capi(struct cli *c, int argc, char **argv)
{
	return CLI_RUN_VERBS(c, "capi", "Manage interaction with Central API (CAPI)", capi_verbs,
			     argc, argv);
}
