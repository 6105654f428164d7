// SPDX-License-Identifier: MIT
#include "bouncer/manual.h"

#include <errno.h>
#include <getopt.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "bouncer/lockout.h"
#include "bouncer/xdp_loader.h"
#include "bouncer/xdp_multiprog.h"
#include "common/gotime.h"
#include "common/log.h"
#include "common/readfile.h"
#include "common/vec.h"

struct manual_opts {
	struct xdp_loader_opts lo; /* how ban, unban and attach open the data plane */
	enum xdp_attach_mode mode;
	bool force, json;
	int64_t duration_ns; /* 0: no expiry */
	uint64_t decision_id;
	int origin;
	const char *file; /* prefixes, one per line ("-": stdin) */
};

static const char *const origin_names[CS_ORIGIN_MAX] = {
	[CS_ORIGIN_CROWDSEC] = "crowdsec", [CS_ORIGIN_CSCLI] = "cscli",
	[CS_ORIGIN_CAPI] = "CAPI",	   [CS_ORIGIN_LISTS] = "lists",
	[CS_ORIGIN_OTHER] = "other",
};

static const char *const stat_names[CS_STAT_MAX] = {
	[CS_STAT_PASS] = "pass",
	[CS_STAT_PASS_NOT_IP] = "pass_not_ip",
	[CS_STAT_PASS_UNPARSED] = "pass_unparsed",
	[CS_STAT_PASS_INACTIVE] = "pass_inactive",
	[CS_STAT_PASS_DRY_RUN] = "pass_dry_run",
	[CS_STAT_DROP_BASE + CS_ORIGIN_CROWDSEC] = "drop_crowdsec",
	[CS_STAT_DROP_BASE + CS_ORIGIN_CSCLI] = "drop_cscli",
	[CS_STAT_DROP_BASE + CS_ORIGIN_CAPI] = "drop_capi",
	[CS_STAT_DROP_BASE + CS_ORIGIN_LISTS] = "drop_lists",
	[CS_STAT_DROP_BASE + CS_ORIGIN_OTHER] = "drop_other",
};

static const char *const mode_names[] = {
	[XDP_MODE_AUTO] = "none", [XDP_MODE_NATIVE] = "native", [XDP_MODE_GENERIC] = "generic",
};

void bouncer_manual_usage(FILE *f)
{
	fprintf(f,
		"Usage: crowdsec-xdp-bouncer [--pin-dir DIR] [-v] COMMAND [ARGS]\n"
		"\n"
		"Data plane commands:\n"
		"  xdp attach IFACE... [--mode auto|native|generic] [--dry-run]\n"
		"                      [--max-hosts N] [--max-ranges N]\n"
		"                      [--dispatcher auto|always|never] [--priority N]\n"
		"                      load (or atomically replace) the XDP program on IFACE;\n"
		"                      through libxdp's dispatcher when another libxdp program\n"
		"                      is there (auto), at priority N (lowest runs first, %u)\n"
		"  xdp detach IFACE... detach from IFACE; the ban list stays pinned\n"
		"  xdp status [-o json]\n"
		"  xdp uninstall       detach everywhere, remove every pin\n"
		"  ban PREFIX... [--duration 4h] [--origin crowdsec|cscli|CAPI|lists]\n"
		"                [--id N] [--force] [--file FILE|-]\n"
		"  unban PREFIX... [--file FILE|-]\n"
		"  list [-o json]\n"
		"  stats [-o json]\n"
		"\n"
		"Pins live in %s unless --pin-dir says otherwise.\n"
		"Loopback and this machine's own addresses are never banned without --force.\n"
		"\n"
		"Exit status: 0 ok, 1 error, 2 usage or bad prefix, 3 unknown interface,\n"
		"4 ban map full (nothing applied), 5 refused by the lock-out guard,\n"
		"6 unban of a prefix that is not banned, 7 XDP could not be attached.\n",
		XDP_MP_DEFAULT_PRIO, CS_PIN_ROOT);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "Error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	return BX_USAGE;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v == 0 || v > UINT32_MAX || *s == '-')
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_origin(const char *s)
{
	for (int i = 0; i < CS_ORIGIN_MAX; i++)
		if (!strcasecmp(s, origin_names[i]))
			return i;
	return -EINVAL;
}

/* Options shared by every subcommand; positional arguments are left in argv. */
static int parse_opts(int argc, char **argv, struct manual_opts *o, int *first_pos)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "max-hosts", required_argument, NULL, 'H' },
		{ "max-ranges", required_argument, NULL, 'R' },
		{ "duration", required_argument, NULL, 'd' },
		{ "origin", required_argument, NULL, 'O' },
		{ "id", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'F' },
		{ "dispatcher", required_argument, NULL, 'X' },
		{ "priority", required_argument, NULL, 'P' },
		{ 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-m:d:o:fi:", longopts, NULL)) != -1) {
		switch (c) {
		case 1: /* positional: keep it, in order */
			argv[(*first_pos)++] = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "auto"))
				o->mode = XDP_MODE_AUTO;
			else if (!strcmp(optarg, "native") || !strcmp(optarg, "drv"))
				o->mode = XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "generic") || !strcmp(optarg, "skb"))
				o->mode = XDP_MODE_GENERIC;
			else
				return usage_error("unknown XDP mode '%s'", optarg);
			break;
		case 'D':
			o->lo.dry_run = true;
			break;
		case 'H':
			if (parse_u32(optarg, &o->lo.max_hosts))
				return usage_error("--max-hosts: '%s' is not a positive number", optarg);
			break;
		case 'R':
			if (parse_u32(optarg, &o->lo.max_ranges))
				return usage_error("--max-ranges: '%s' is not a positive number", optarg);
			break;
		case 'd':
			if (gotime_parse_duration(optarg, &o->duration_ns) || o->duration_ns <= 0)
				return usage_error("--duration: '%s' is not a positive duration "
						   "(like 4h, 30m, 1h30m)", optarg);
			break;
		case 'O':
			o->origin = parse_origin(optarg);
			if (o->origin < 0)
				return usage_error("--origin: unknown origin '%s'", optarg);
			break;
		case 'i': {
			char *end;

			errno = 0;
			o->decision_id = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-')
				return usage_error("--id: '%s' is not a number", optarg);
			break;
		}
		case 'f':
			o->force = true;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				o->json = true;
			else if (strcmp(optarg, "human"))
				return usage_error("-o: unknown output '%s' (human, json)", optarg);
			break;
		case 'p':
			o->lo.pin_dir = optarg;
			break;
		case 'F':
			o->file = optarg;
			break;
		case 'X': {
			int d = xdp_dispatcher_parse(optarg);

			if (d < 0)
				return usage_error("--dispatcher: expected auto, always or never, got '%s'",
						   optarg);
			o->lo.dispatcher = d;
			break;
		}
		case 'P':
			if (parse_u32(optarg, &o->lo.priority) || o->lo.priority > XDP_PRIORITY_MAX)
				return usage_error("--priority: '%s' is not a number in 1..1000", optarg);
			break;
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

static const char *pin_root(const struct manual_opts *o)
{
	return o->lo.pin_dir ? o->lo.pin_dir : CS_PIN_ROOT;
}

static int open_loader(const struct manual_opts *o, struct xdp_loader **l)
{
	int err = xdp_loader_open(&o->lo, l);

	return err ? BX_ERR : 0;
}

/*
 * Read-only commands (status, list, stats, detach) open what is installed and
 * never create pins: *l stays NULL when nothing is (the caller says so).
 */
static int open_installed(const struct manual_opts *o, struct xdp_loader **l)
{
	struct xdp_loader_opts lo = { .pin_dir = o->lo.pin_dir, .existing_only = true };
	int err = xdp_loader_open(&lo, l);

	*l = err ? NULL : *l;
	return err && err != -ENOENT ? BX_ERR : 0;
}

static int attach_one(const struct manual_opts *o, struct xdp_loader *l, const char *ifname)
{
	enum xdp_attach_mode got = XDP_MODE_AUTO;
	int err = xdp_loader_attach(l, ifname, o->mode, &got);

	if (err == -ENODEV) {
		fprintf(stderr, "Error: interface '%s' does not exist\n", ifname);
		return BX_NO_IFACE;
	}
	if (err)
		return BX_NO_ATTACH;
	printf("%s: attached (%s mode)\n", ifname, mode_names[got]);
	return 0;
}

static int detach_one(struct xdp_loader *l, const char *ifname)
{
	int err = l ? xdp_loader_detach(l, ifname) : -ENOENT;

	if (err == -ENOENT || err == -ENODEV) {
		fprintf(stderr, "Error: not attached to '%s'\n", ifname);
		return BX_NO_IFACE;
	}
	if (err) {
		fprintf(stderr, "Error: detach %s: %s\n", ifname, strerror(-err));
		return BX_ERR;
	}
	printf("%s: detached\n", ifname);
	return 0;
}

/* xdp attach|detach IFACE...: in order, stopping at the first that fails. */
static int cmd_attach_detach(struct manual_opts *o, int n, char **ifaces, bool attach)
{
	struct xdp_loader *l = NULL;
	int rc;

	if (!n)
		return usage_error("%s needs at least one interface",
				   attach ? "xdp attach" : "xdp detach");
	/* detach is read-only as to pins: it never creates them */
	rc = attach ? open_loader(o, &l) : open_installed(o, &l);
	for (int i = 0; i < n && !rc; i++)
		rc = attach ? attach_one(o, l, ifaces[i]) : detach_one(l, ifaces[i]);
	xdp_loader_free(l);
	return rc;
}

static int status_cb(const struct xdp_iface_status *st, void *arg)
{
	json_t *arr = arg;

	json_array_append_new(arr, json_pack("{s:s, s:i, s:s, s:i, s:s}", "interface", st->ifname,
					     "ifindex", st->ifindex, "mode",
					     st->ifindex ? mode_names[st->mode] : "gone",
					     "prog_id", (int)st->prog_id, "attachment",
					     st->dispatcher ? "libxdp dispatcher" : "bpf_link"));
	return 0;
}

static int cmd_status(struct manual_opts *o)
{
	struct xdp_loader *l = NULL;
	uint64_t counts[4] = {};
	uint32_t hosts, ranges;
	json_t *ifs, *root;
	int rc = open_installed(o, &l);

	if (rc)
		return rc;
	if (!l) {
		root = json_pack("{s:s, s:b}", "pin_dir", pin_root(o),
				 "installed", 0);
		if (o->json) {
			json_dumpf(root, stdout, JSON_INDENT(2));
			putchar('\n');
		} else {
			printf("pins: %s\nnot installed\n", pin_root(o));
		}
		json_decref(root);
		return BX_OK;
	}
	ifs = json_array();
	xdp_loader_for_each_iface(l, status_cb, ifs);
	if (xdp_loader_counts(l, counts))
		fprintf(stderr, "Warning: cannot read the entry counts\n");
	xdp_loader_capacity(l, &hosts, &ranges);
	root = json_pack("{s:s, s:o, s:{s:i, s:i, s:i, s:i}, s:{s:i, s:i}}", "pin_dir",
			 pin_root(o), "interfaces", ifs, "entries",
			 "ipv4_hosts", (int)counts[0], "ipv4_ranges", (int)counts[1],
			 "ipv6_hosts", (int)counts[2], "ipv6_ranges", (int)counts[3],
			 "capacity", "hosts_per_family", (int)hosts, "ranges_per_family",
			 (int)ranges);
	if (o->json) {
		json_dumpf(root, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		size_t i;
		json_t *it;

		printf("pins: %s\n", pin_root(o));
		if (!json_array_size(ifs))
			printf("not attached to any interface\n");
		json_array_foreach(ifs, i, it)
			printf("%-16s %-8s prog %d (%s)\n",
			       json_string_value(json_object_get(it, "interface")),
			       json_string_value(json_object_get(it, "mode")),
			       (int)json_integer_value(json_object_get(it, "prog_id")),
			       json_string_value(json_object_get(it, "attachment")));
		printf("entries: %zu IPv4 hosts, %zu IPv4 ranges, %zu IPv6 hosts, %zu IPv6 ranges "
		       "(capacity %u hosts, %u ranges per family)\n",
		       (size_t)counts[0], (size_t)counts[1], (size_t)counts[2], (size_t)counts[3], hosts, ranges);
	}
	json_decref(root);
	xdp_loader_free(l);
	return BX_OK;
}

/* --file: a million bans is ~20 MiB; anything near this bound is a mistake */
#define MANUAL_MAX_FILE (1024ul << 20)

struct arglist {
	char **v;
	int *lineno; /* per entry: its line in the file, 0 for the command line */
	const char *file;
	int n;
	size_t vcap, linecap;
	char *storage; /* the file's bytes; v points into it */
};

static void arglist_free(struct arglist *a)
{
	free(a->v);
	free(a->lineno);
	free(a->storage);
}

/* Command-line prefixes plus, with --file, one per line ('#' comments, blanks skipped). */
static int collect_prefix_args(const struct manual_opts *o, int n, char **args, struct arglist *a)
{
	FILE *f = NULL;
	size_t lineno = 0;
	char *line;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	a->vcap = a->linecap = (size_t)n + 16;
	a->file = o->file;
	a->v = malloc(a->vcap * sizeof(char *));
	a->lineno = calloc(a->linecap, sizeof(int));
	if (!a->v || !a->lineno)
		return BX_ERR;
	for (int i = 0; i < n; i++)
		a->v[a->n++] = args[i];
	if (!o->file)
		return 0;
	f = strcmp(o->file, "-") ? fopen(o->file, "r") : stdin;
	if (!f) {
		fprintf(stderr, "Error: cannot open %s: %s\n", o->file, strerror(errno));
		return BX_USAGE;
	}
	/* slurp, then split in place: one allocation for a million lines */
	rc = cs_read_stream(f, MANUAL_MAX_FILE, &a->storage, NULL);
	if (rc) {
		fprintf(stderr, "Error: cannot read %s: %s\n", o->file,
			rc == -EFBIG ? "larger than 1 GiB" : strerror(-rc));
		rc = BX_ERR;
		goto out;
	}
	for (line = a->storage; line && *line;) {
		char *nl = strchr(line, '\n'), *end;

		lineno++;
		if (nl)
			*nl = '\0';
		line += strspn(line, " \t\r");
		end = line + strcspn(line, " \t\r#");
		*end = '\0';
		if (*line) {
			if (vec_reserve((void **)&a->v, &a->vcap, (size_t)a->n, sizeof(*a->v), 64) ||
			    vec_reserve((void **)&a->lineno, &a->linecap, (size_t)a->n,
					sizeof(*a->lineno), 64)) {
				rc = BX_ERR;
				goto out;
			}
			a->lineno[a->n] = (int)lineno;
			a->v[a->n++] = line;
		}
		line = nl ? nl + 1 : NULL;
	}
out:
	if (f && f != stdin)
		fclose(f);
	return rc;
}

static int parse_prefixes(const struct arglist *a, struct cs_prefix **out)
{
	struct cs_prefix *p = calloc((size_t)a->n + 1, sizeof(*p));

	if (!p)
		return BX_ERR;
	for (int i = 0; i < a->n; i++) {
		int err = cs_prefix_parse(a->v[i], CS_PREFIX_STRICT, &p[i]);

		if (err) {
			if (a->lineno[i])
				fprintf(stderr, "Error: %s:%d: '%s': %s\n", a->file, a->lineno[i],
					a->v[i], cs_prefix_strerror(err));
			else
				fprintf(stderr, "Error: '%s': %s\n", a->v[i],
					cs_prefix_strerror(err));
			free(p);
			return BX_USAGE;
		}
	}
	*out = p;
	return 0;
}

/* ban or unban of the n prefixes p, written args[i] by the operator */
typedef int (*prefix_cmd)(struct manual_opts *o, int n, char **args, const struct cs_prefix *p);

/* The prefixes of a ban/unban (command line plus --file), parsed (a usage error if
 * none), handed to fn. */
static int with_prefixes(struct manual_opts *o, int n, char **args, const char *verb,
			 prefix_cmd fn)
{
	struct cs_prefix *p = NULL;
	struct arglist al;
	int rc = collect_prefix_args(o, n, args, &al);

	if (!rc && !al.n)
		rc = usage_error("%s needs at least one prefix", verb);
	if (!rc)
		rc = parse_prefixes(&al, &p);
	if (!rc)
		rc = fn(o, al.n, al.v, p);
	arglist_free(&al);
	free(p);
	return rc;
}

static int cmd_ban(struct manual_opts *o, int n, char **args, const struct cs_prefix *p)
{
	struct cs_ban *bans = NULL, *old = NULL;
	bool *existed = NULL;
	struct lockout *guard = NULL;
	struct xdp_loader *l = NULL;
	int rc = 0, err;

	if (!o->force) {
		char what[128];

		err = lockout_new(&guard);
		if (err) {
			fprintf(stderr, "Error: cannot list local addresses: %s\n", strerror(-err));
			rc = BX_ERR;
			goto out;
		}
		for (int i = 0; i < n; i++) {
			if (lockout_check(guard, &p[i], what, sizeof(what)) > 0) {
				fprintf(stderr, "Error: '%s' covers %s, an address of this machine; "
						"refusing (use --force to ban it anyway)\n",
					args[i], what);
				rc = BX_LOCKOUT;
				goto out;
			}
		}
	}
	rc = open_loader(o, &l);
	if (rc)
		goto out;
	bans = calloc((size_t)n, sizeof(*bans));
	old = calloc((size_t)n, sizeof(*old));
	existed = calloc((size_t)n, sizeof(*existed));
	if (!bans || !old || !existed) {
		rc = BX_ERR;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		bans[i].type = CS_TYPE_BAN;
		bans[i].origin = (uint8_t)o->origin;
		bans[i].decision_id = o->decision_id;
		if (o->duration_ns)
			bans[i].expires_ns = xdp_loader_boot_ns() + (uint64_t)o->duration_ns;
		existed[i] = xdp_loader_get(l, &p[i], &old[i]) == 0;
	}
	err = xdp_loader_ban(l, p, bans, (size_t)n, NULL);
	if (err) {
		/* Nothing half-applied: put back what was there, remove what was new. */
		for (int i = 0; i < n; i++) {
			if (existed[i])
				xdp_loader_ban(l, &p[i], &old[i], 1, NULL);
			else
				xdp_loader_unban(l, &p[i], 1, NULL);
		}
		if (err == -ENOSPC)
			fprintf(stderr, "Error: ban map full; nothing applied\n");
		else
			fprintf(stderr, "Error: ban failed (%s); nothing applied\n", strerror(-err));
		rc = err == -ENOSPC ? BX_MAP_FULL : BX_ERR;
		goto out;
	}
	printf("banned %d prefix%s\n", n, n == 1 ? "" : "es");
out:
	xdp_loader_free(l);
	lockout_free(guard);
	free(bans);
	free(old);
	free(existed);
	return rc;
}

static int cmd_unban(struct manual_opts *o, int n, char **args, const struct cs_prefix *p)
{
	struct xdp_loader *l = NULL;
	size_t missing = 0;
	int rc, err;

	rc = open_loader(o, &l);
	if (rc)
		goto out;
	for (int i = 0; i < n; i++) {
		struct cs_ban b;

		if (xdp_loader_get(l, &p[i], &b) == -ENOENT) {
			fprintf(stderr, "Error: '%s' is not banned\n", args[i]);
			rc = BX_NOT_FOUND;
		}
	}
	err = xdp_loader_unban(l, p, (size_t)n, &missing);
	if (err) {
		fprintf(stderr, "Error: unban failed: %s\n", strerror(-err));
		rc = BX_ERR;
	} else {
		printf("unbanned %zu prefix%s\n", (size_t)n - missing, n - missing == 1 ? "" : "es");
	}
out:
	xdp_loader_free(l);
	return rc;
}

static int list_cb(const struct cs_prefix *p, const struct cs_ban *b, void *arg)
{
	json_t *arr = arg;
	char txt[CS_PREFIX_STRLEN], left[32] = "never";
	uint64_t now = xdp_loader_boot_ns();

	cs_prefix_format(p, true, txt, sizeof(txt));
	if (b->expires_ns)
		gotime_format_duration(b->expires_ns > now ? (int64_t)((b->expires_ns - now) / 1000000000ULL *
								   1000000000ULL) : 0,
				   left, sizeof(left));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:s}", "prefix", txt, "origin",
					     b->origin < CS_ORIGIN_MAX ? origin_names[b->origin] : "?",
					     "type", b->type == CS_TYPE_BAN ? "ban" : "other",
					     "decision_id", (json_int_t)b->decision_id, "expires_in",
					     left));
	return 0;
}

static int cmd_list(struct manual_opts *o)
{
	struct xdp_loader *l = NULL;
	json_t *arr;
	int rc = open_installed(o, &l);

	if (rc)
		return rc;
	arr = json_array();
	if (l) /* nothing installed: nothing banned */
		xdp_loader_for_each_ban(l, list_cb, arr);
	if (o->json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		size_t i;
		json_t *it;

		printf("%-44s %-9s %-5s %-12s %s\n", "PREFIX", "ORIGIN", "TYPE", "DECISION", "EXPIRES IN");
		json_array_foreach(arr, i, it)
			printf("%-44s %-9s %-5s %-12lld %s\n",
			       json_string_value(json_object_get(it, "prefix")),
			       json_string_value(json_object_get(it, "origin")),
			       json_string_value(json_object_get(it, "type")),
			       (long long)json_integer_value(json_object_get(it, "decision_id")),
			       json_string_value(json_object_get(it, "expires_in")));
	}
	json_decref(arr);
	xdp_loader_free(l);
	return BX_OK;
}

static int cmd_stats(struct manual_opts *o)
{
	struct cs_stat st[CS_STAT_MAX];
	struct xdp_loader *l = NULL;
	int rc = open_installed(o, &l);

	if (rc)
		return rc;
	if (!l) /* nothing installed: nothing counted */
		memset(st, 0, sizeof(st));
	else if (xdp_loader_stats(l, st)) {
		xdp_loader_free(l);
		return BX_ERR;
	}
	if (o->json) {
		json_t *root = json_object();

		for (int i = 0; i < CS_STAT_MAX; i++)
			json_object_set_new(root, stat_names[i],
					    json_pack("{s:I, s:I}", "packets",
						      (json_int_t)st[i].packets, "bytes",
						      (json_int_t)st[i].bytes));
		json_dumpf(root, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(root);
	} else {
		printf("%-16s %16s %20s\n", "COUNTER", "PACKETS", "BYTES");
		for (int i = 0; i < CS_STAT_MAX; i++)
			printf("%-16s %16llu %20llu\n", stat_names[i],
			       (unsigned long long)st[i].packets, (unsigned long long)st[i].bytes);
	}
	xdp_loader_free(l);
	return BX_OK;
}

static int cmd_uninstall(struct manual_opts *o)
{
	int err = xdp_loader_uninstall(o->lo.pin_dir);

	if (err) {
		fprintf(stderr, "Error: uninstall: %s\n", strerror(-err));
		return BX_ERR;
	}
	printf("uninstalled: detached, pins removed\n");
	return BX_OK;
}

int bouncer_manual_is_command(const char *name)
{
	static const char *const cmds[] = { "xdp", "ban", "unban", "list", "stats", NULL };

	for (int i = 0; cmds[i]; i++)
		if (!strcmp(name, cmds[i]))
			return 1;
	return 0;
}

int bouncer_manual_main(int argc, char **argv)
{
	struct manual_opts o = { .origin = CS_ORIGIN_CSCLI };
	const char *cmd, *verb = NULL;
	int npos = 0, rc;

	/* argv[0] is the command; the rest (options anywhere) follow */
	rc = parse_opts(argc, argv, &o, &npos);
	if (rc)
		return rc;
	/* positional arguments were compacted into argv[0..npos) */
	if (!npos)
		return usage_error("%s", "missing command");
	cmd = argv[0];
	if (!strcmp(cmd, "xdp")) {
		if (npos < 2)
			return usage_error("%s needs attach, detach, status or uninstall", "xdp");
		verb = argv[1];
		if (!strcmp(verb, "attach"))
			return cmd_attach_detach(&o, npos - 2, argv + 2, true);
		if (!strcmp(verb, "detach"))
			return cmd_attach_detach(&o, npos - 2, argv + 2, false);
		if (!strcmp(verb, "status") && npos == 2)
			return cmd_status(&o);
		if (!strcmp(verb, "uninstall") && npos == 2)
			return cmd_uninstall(&o);
		return usage_error("unknown or malformed 'xdp %s' command", verb);
	}
	if (!strcmp(cmd, "ban"))
		return with_prefixes(&o, npos - 1, argv + 1, "ban", cmd_ban);
	if (!strcmp(cmd, "unban"))
		return with_prefixes(&o, npos - 1, argv + 1, "unban", cmd_unban);
	if (!strcmp(cmd, "list") && npos == 1)
		return cmd_list(&o);
	if (!strcmp(cmd, "stats") && npos == 1)
		return cmd_stats(&o);
	return usage_error("unknown or malformed command '%s'", cmd);
}
