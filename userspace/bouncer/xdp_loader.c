// SPDX-License-Identifier: MIT
#include "bouncer/xdp_loader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bouncer/xdp_filter.h"
#include "bouncer/xdp_multiprog.h"
#include "common/log.h"
#include "xdp_bouncer.skel.h"

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11
#define LINK_PIN_PREFIX "link_"
#define MP_PIN_PREFIX "mprog_" /* our program in libxdp's dispatcher of that interface */
#define PROG_PIN_NAME "prog_xdp_crowdsec"
#define BATCH_CHUNK 16384
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, leaks out of bpf(2) */
#endif

struct xdp_loader {
	struct xdp_bouncer_bpf *skel;
	struct xdp_filter *filter;
	char pin_dir[256];
	bool unpinned;
	bool existing_only;
	int lock_fd;
	enum xdp_dispatcher_use dispatcher;
	unsigned priority;
	bool dispatched; /* attached something through libxdp's dispatcher */
	bool reused_bans; /* a ban map was pinned already when opened */
	unsigned full_logged; /* bit per ban map: "is full" said, until a write succeeds */
};

uint64_t xdp_loader_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int libbpf_print_demoted(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return xdp_mp_log_demoted((int)level, fmt, ap);
}

void xdp_loader_setup_logging(void)
{
	libbpf_set_print(libbpf_print_demoted);
	xdp_mp_setup_logging();
}

static int ensure_bpffs(const char *pin_dir, bool existing_only)
{
	struct statfs sfs;
	int err;

	if (existing_only) /* no bpffs or no directory: nothing is installed */
		return statfs(pin_dir, &sfs) || sfs.f_type != BPF_FS_MAGIC_NUMBER ? -ENOENT : 0;
	if (statfs("/sys/fs/bpf", &sfs) == 0 && sfs.f_type == BPF_FS_MAGIC_NUMBER)
		goto mkdir;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL)) {
		err = -errno;
		log_error("bpffs is not mounted on /sys/fs/bpf and mounting it failed: %s",
			  strerror(-err));
		return err;
	}
mkdir:
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		err = -errno;
		log_error("cannot create pin directory %s: %s", pin_dir, strerror(-err));
		return err;
	}
	return 0;
}

static int lock_pins(struct xdp_loader *l)
{
	if (l->unpinned)
		return 0;
	l->lock_fd = open(l->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->lock_fd < 0)
		return -errno;
	if (flock(l->lock_fd, LOCK_EX)) {
		int err = -errno;

		close(l->lock_fd);
		l->lock_fd = -1;
		return err;
	}
	return 0;
}

static void unlock_pins(struct xdp_loader *l)
{
	if (l->lock_fd >= 0) {
		flock(l->lock_fd, LOCK_UN);
		close(l->lock_fd);
		l->lock_fd = -1;
	}
}

/*
 * libbpf reuses a pinned map only if its definition matches exactly, max_entries
 * included. The capacity of existing pins wins (the state must survive a restart
 * with other options); a different key or value size means an older ABI.
 */
static int adopt_pinned_geometry(struct xdp_loader *l)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, l->skel->obj) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		char path[PATH_MAX];
		int fd, err;

		if (!bpf_map__pin_path(map))
			continue;
		snprintf(path, sizeof(path), "%s/%.200s", l->pin_dir, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0) {
			/* loading would pin a new, empty map there; read-only, an install
			 * from before cs_counts is counted by a walk (xdp_loader_counts),
			 * and one from before the range indexes (ABI 3) needs none */
			if (errno == ENOENT && l->existing_only && map != l->skel->maps.cs_counts &&
			    map != l->skel->maps.cs_range_index && map != l->skel->maps.cs_range_index6)
				return -ENOENT;
			if (errno == ENOENT)
				continue;
			err = -errno;
			log_error("cannot open pinned map %s: %s", path, strerror(-err));
			return err;
		}
		err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
		if (err) {
			log_error("cannot query pinned map %s: %s", path, strerror(-err));
		} else if (info.key_size != bpf_map__key_size(map) ||
			   info.value_size != bpf_map__value_size(map) ||
			   info.type != bpf_map__type(map)) {
			log_error("pinned map %s has another layout (older ABI?); run "
				  "'crowdsec-xdp-bouncer xdp uninstall' first", path);
			err = -EPROTO;
		} else {
			bpf_map__set_max_entries(map, info.max_entries);
			/* Read-only: the pinned map itself, as the skeleton is never
			 * loaded (reuse_fd takes its own copy of fd). */
			if (l->existing_only)
				err = bpf_map__reuse_fd(map, fd);
		}
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

static void filter_size(struct xdp_loader *l);
static bool pin_exists(const struct xdp_loader *l, const struct bpf_map *map);
static bool filter_pins_exist(const struct xdp_loader *l, bool index_reused[4]);
static int filter_setup(struct xdp_loader *l, bool reset, const bool index_reused[4]);

/*
 * libbpf maps the skeleton's global data (.rodata) into this process; a forked
 * child (the unprivileged fetcher) must not inherit any view of a BPF map.
 */
static void keep_maps_from_children(struct xdp_loader *l)
{
	long page = sysconf(_SC_PAGESIZE);
	struct bpf_map *map;

	bpf_object__for_each_map(map, l->skel->obj) {
		size_t size = 0;
		void *mem = (void *)bpf_map__initial_value(map, &size);

		if (mem && size && !((uintptr_t)mem % (uintptr_t)page))
			madvise(mem, (size + (size_t)page - 1) / (size_t)page * (size_t)page, MADV_DONTFORK);
	}
}

void xdp_loader_free(struct xdp_loader *l)
{
	if (!l)
		return;
	unlock_pins(l);
	xdp_filter_free(l->filter);
	xdp_bouncer_bpf__destroy(l->skel);
	free(l);
}

bool xdp_loader_pins_present(const char *pin_dir)
{
	DIR *d = opendir(pin_dir ? pin_dir : CS_PIN_ROOT);
	struct dirent *e;
	bool any = false;

	if (!d)
		return errno != ENOENT;
	while (!any && (e = readdir(d)))
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

int xdp_loader_open(const struct xdp_loader_opts *opts, struct xdp_loader **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	struct xdp_loader *l;
	struct bpf_map *map;
	bool filter_reset = true, index_reused[4] = { false };
	int err;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->lock_fd = -1;
	l->unpinned = opts->unpinned;
	l->existing_only = opts->existing_only;
	l->dispatcher = opts->dispatcher;
	l->priority = opts->priority ? opts->priority : XDP_MP_DEFAULT_PRIO;
	if (snprintf(l->pin_dir, sizeof(l->pin_dir), "%s",
		     opts->pin_dir ? opts->pin_dir : CS_PIN_ROOT) >= (int)sizeof(l->pin_dir)) {
		err = -ENAMETOOLONG;
		goto err_free;
	}

	if (!l->unpinned) {
		err = ensure_bpffs(l->pin_dir, l->existing_only);
		if (err)
			goto err_free;
		oopts.pin_root_path = l->pin_dir;
	}
	l->skel = xdp_bouncer_bpf__open_opts(&oopts);
	if (!l->skel) {
		err = -errno;
		log_error("cannot open the BPF object: %s", strerror(-err));
		goto err_free;
	}
	if (opts->max_hosts) {
		bpf_map__set_max_entries(l->skel->maps.cs_hosts_v4, opts->max_hosts);
		bpf_map__set_max_entries(l->skel->maps.cs_hosts_v6, opts->max_hosts);
	}
	if (opts->max_ranges) {
		bpf_map__set_max_entries(l->skel->maps.cs_ranges_v4, opts->max_ranges);
		bpf_map__set_max_entries(l->skel->maps.cs_ranges_v6, opts->max_ranges);
	}
	l->skel->rodata->dry_run = opts->dry_run;
	l->skel->rodata->enforce_expiry = !opts->no_expiry;
	filter_size(l);

	if (l->unpinned) {
		bpf_object__for_each_map(map, l->skel->obj)
			bpf_map__set_pin_path(map, NULL);
	} else {
		err = lock_pins(l);
		if (err) {
			log_error("cannot lock %s: %s", l->pin_dir, strerror(-err));
			goto err_destroy;
		}
		err = adopt_pinned_geometry(l);
		if (err)
			goto err_unlock;
		filter_reset = !filter_pins_exist(l, index_reused);
		l->reused_bans = pin_exists(l, l->skel->maps.cs_hosts_v4) ||
				 pin_exists(l, l->skel->maps.cs_hosts_v6) ||
				 pin_exists(l, l->skel->maps.cs_ranges_v4) ||
				 pin_exists(l, l->skel->maps.cs_ranges_v6);
	}
	if (l->existing_only) {
		/* Read-only: the pinned maps (adopted above) are all it needs; no
		 * program is loaded (and verified) nor anything written. */
		unlock_pins(l);
		*out = l;
		return 0;
	}

	err = xdp_bouncer_bpf__load(l->skel);
	if (err) {
		char msg[128];

		libbpf_strerror(err, msg, sizeof(msg));
		log_error("cannot load the XDP program: %s (%d)", msg, err);
		goto err_unlock;
	}
	keep_maps_from_children(l);
	err = filter_setup(l, filter_reset, index_reused);
	if (err)
		goto err_unlock;
	unlock_pins(l);
	*out = l;
	return 0;

err_unlock:
	unlock_pins(l);
err_destroy:
	xdp_filter_free(l->filter);
	xdp_bouncer_bpf__destroy(l->skel);
err_free:
	free(l);
	return err;
}

int xdp_loader_prog_fd(const struct xdp_loader *l)
{
	return bpf_program__fd(l->skel->progs.xdp_crowdsec);
}

struct xdp_bouncer_bpf *xdp_loader_skel(struct xdp_loader *l)
{
	return l->skel;
}

void xdp_loader_capacity(const struct xdp_loader *l, uint32_t *hosts, uint32_t *ranges)
{
	*hosts = bpf_map__max_entries(l->skel->maps.cs_hosts_v4);
	*ranges = bpf_map__max_entries(l->skel->maps.cs_ranges_v4);
}

/* ---- attachments ------------------------------------------------------------------ */

static void link_pin_path(const struct xdp_loader *l, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" LINK_PIN_PREFIX "%s", l->pin_dir, ifname);
}

/*
 * What attach and detach do first: takes the pin directory's lock (unlock_pins
 * after) and gives the path of ifname's link pin. -ENODEV: no such name.
 */
static int lock_link_pin(struct xdp_loader *l, const char *ifname, char *path, size_t len)
{
	int err;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENODEV;
	err = lock_pins(l);
	if (err)
		return err;
	link_pin_path(l, ifname, path, len);
	return 0;
}

static int link_info(int link_fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, len);
	return bpf_obj_get_info_by_fd(link_fd, info, &len) ? -errno : 0;
}

static enum xdp_attach_mode kernel_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return XDP_MODE_AUTO;
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return XDP_MODE_NATIVE;
	case XDP_ATTACHED_SKB:
		return XDP_MODE_GENERIC;
	default:
		return XDP_MODE_AUTO;
	}
}

static void mp_pin_path(const struct xdp_loader *l, const char *ifname, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" MP_PIN_PREFIX "%s", l->pin_dir, ifname);
}

/* The id of the program pinned at path, 0 if none. */
static uint32_t pinned_prog_id(const char *path)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* A second skeleton configured as l's (knobs, capacity, the same pins), not loaded:
 * libxdp loads it its own way, as an extension of its dispatcher. */
static int open_twin(const struct xdp_loader *l, struct xdp_bouncer_bpf **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .pin_root_path = l->pin_dir);
	struct xdp_bouncer_bpf *twin = xdp_bouncer_bpf__open_opts(&oopts);
	struct bpf_map *map, *ours;

	if (!twin)
		return -errno;
	*twin->rodata = *l->skel->rodata;
	bpf_object__for_each_map(map, twin->obj) {
		ours = bpf_object__find_map_by_name(l->skel->obj, bpf_map__name(map));
		if (ours && !bpf_map__is_internal(map))
			bpf_map__set_max_entries(map, bpf_map__max_entries(ours));
	}
	*out = twin;
	return 0;
}

/* Attach through libxdp's dispatcher at path's pin; old_id: our program already
 * there (0 if none), removed once the new one runs. Called with the pins locked. */
static int attach_dispatched(struct xdp_loader *l, const char *ifname, int ifindex,
			     enum xdp_attach_mode mode, const char *path, uint32_t old_id,
			     enum xdp_attach_mode *attached)
{
	struct xdp_bouncer_bpf *twin = NULL;
	char tmp[PATH_MAX];
	bool generic = false;
	uint32_t id = 0;
	int err;

	err = open_twin(l, &twin);
	if (err)
		return err;
	err = xdp_mp_attach(twin->obj, ifindex, l->priority, mode == XDP_MODE_GENERIC, &generic, &id);
	if (err && err != -EOPNOTSUPP && err != -EBUSY && err != -EEXIST && mode == XDP_MODE_AUTO &&
	    !old_id && xdp_mp_present(ifindex) == 0) {
		log_warn("%s: native XDP unavailable through the dispatcher (%s); trying generic mode",
			 ifname, strerror(-err));
		xdp_bouncer_bpf__destroy(twin);
		err = open_twin(l, &twin);
		if (!err)
			err = xdp_mp_attach(twin->obj, ifindex, l->priority, true, &generic, &id);
	}
	if (err) {
		if (err != -EOPNOTSUPP)
			log_error("%s: cannot attach through libxdp's dispatcher: %s", ifname,
				  strerror(-err));
		goto out;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		err = -ENAMETOOLONG;
		xdp_mp_detach(ifindex, id);
		goto out;
	}
	unlink(tmp);
	err = bpf_program__pin(twin->progs.xdp_crowdsec, tmp);
	if (err || rename(tmp, path)) {
		err = err ? err : -errno;
		log_error("%s: cannot pin the program at %s: %s", ifname, path, strerror(-err));
		unlink(tmp);
		xdp_mp_detach(ifindex, id);
		goto out;
	}
	/* the new program filters beside the old one; now the old one can go */
	if (old_id && old_id != id && (err = xdp_mp_detach(ifindex, old_id)) && err != -ENOENT)
		log_warn("%s: the previous program (id %u) stays in the dispatcher: %s", ifname,
			 old_id, strerror(-err));
	err = 0;
	l->dispatched = true;
	*attached = generic ? XDP_MODE_GENERIC : XDP_MODE_NATIVE;
	log_info("%s: in libxdp's dispatcher at priority %u (program id %u)", ifname, l->priority, id);
out:
	xdp_bouncer_bpf__destroy(twin);
	return err;
}

int xdp_dispatcher_parse(const char *s)
{
	static const char *const names[] = { [XDP_DISPATCHER_AUTO] = "auto",
					     [XDP_DISPATCHER_ALWAYS] = "always",
					     [XDP_DISPATCHER_NEVER] = "never" };

	for (int i = 0; s && i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (!strcmp(s, names[i]))
			return i;
	return -EINVAL;
}

bool xdp_loader_dispatched(const struct xdp_loader *l)
{
	return l && l->dispatched;
}

static int pin_prog(struct xdp_loader *l)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" PROG_PIN_NAME, l->pin_dir);
	/* Only for inspection (bpftool prog show pinned ...): the links hold the program. */
	unlink(path);
	return bpf_program__pin(l->skel->progs.xdp_crowdsec, path);
}

int xdp_loader_attach(struct xdp_loader *l, const char *ifname, enum xdp_attach_mode mode,
		      enum xdp_attach_mode *attached)
{
	LIBBPF_OPTS(bpf_link_create_opts, copts);
	int prog_fd = xdp_loader_prog_fd(l);
	char path[PATH_MAX], mp_path[PATH_MAX];
	struct bpf_link_info info;
	uint32_t mp_id;
	int ifindex, link_fd = -1, err;

	if (l->unpinned)
		return -EINVAL;
	if (!l->filter) /* opened read-only: no program loaded */
		return -EROFS;
	ifindex = if_nametoindex(ifname);
	if (!ifindex)
		return -ENODEV;
	err = lock_link_pin(l, ifname, path, sizeof(path));
	if (err)
		return err;

	link_fd = bpf_obj_get(path);
	if (link_fd >= 0) {
		err = link_info(link_fd, &info);
		if (!err && info.xdp.ifindex == (__u32)ifindex) {
			enum xdp_attach_mode cur = kernel_mode(ifindex);

			if (mode != XDP_MODE_AUTO && cur != XDP_MODE_AUTO && cur != mode) {
				log_error("%s: already attached in %s mode; detach it first to change "
					  "mode", ifname, cur == XDP_MODE_NATIVE ? "native" : "generic");
				err = -EEXIST;
				goto out;
			}
			/* The atomic swap: the old program filters until the new one does. */
			if (bpf_link_update(link_fd, prog_fd, NULL)) {
				err = -errno;
				log_error("%s: cannot replace the program: %s", ifname, strerror(-err));
				goto out;
			}
			*attached = cur;
			goto pin;
		}
		/* The interface went away (and maybe came back): the link is defunct. */
		log_info("%s: dropping stale link pin %s", ifname, path);
		close(link_fd);
		link_fd = -1;
		unlink(path);
	}

	mp_pin_path(l, ifname, mp_path, sizeof(mp_path));
	mp_id = pinned_prog_id(mp_path);
	if (mp_id && !xdp_mp_has(ifindex, mp_id)) {
		log_info("%s: dropping stale pin %s (no longer in the dispatcher)", ifname, mp_path);
		unlink(mp_path);
		mp_id = 0;
	}
	if (mp_id || l->dispatcher == XDP_DISPATCHER_ALWAYS ||
	    (l->dispatcher == XDP_DISPATCHER_AUTO && xdp_mp_present(ifindex) == 1)) {
		err = attach_dispatched(l, ifname, ifindex, mode, mp_path, mp_id, attached);
		if (err != -EOPNOTSUPP || mp_id || xdp_mp_present(ifindex) != 0)
			goto out;
		log_warn("%s: libxdp's dispatcher cannot run here (the kernel refuses extension "
			 "programs): attaching alone", ifname);
	}

	if (mode != XDP_MODE_GENERIC) {
		copts.flags = XDP_FLAGS_DRV_MODE;
		link_fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &copts);
		if (link_fd >= 0) {
			*attached = XDP_MODE_NATIVE;
		} else {
			err = -errno;
			if (mode == XDP_MODE_NATIVE || err == -EBUSY || err == -EEXIST)
				goto attach_failed;
			log_warn("%s: native XDP unavailable (%s); falling back to generic mode",
				 ifname, strerror(-err));
		}
	}
	if (link_fd < 0) {
		copts.flags = XDP_FLAGS_SKB_MODE;
		link_fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &copts);
		if (link_fd < 0) {
			err = -errno;
			goto attach_failed;
		}
		*attached = XDP_MODE_GENERIC;
	}
	if (bpf_obj_pin(link_fd, path)) {
		err = -errno;
		log_error("%s: cannot pin the link at %s: %s", ifname, path, strerror(-err));
		bpf_link_detach(link_fd);
		goto out;
	}
pin:
	err = pin_prog(l);
	if (err)
		log_warn("cannot pin the program for inspection: %s", strerror(-err));
	err = 0;
	goto out;

attach_failed:
	if (err == -EBUSY || err == -EEXIST)
		log_error("%s: another XDP program is attached (not ours, not in libxdp's "
			  "dispatcher); remove it first (ip link set dev %s xdp off)", ifname, ifname);
	else
		log_error("%s: cannot attach XDP: %s", ifname, strerror(-err));
out:
	if (link_fd >= 0)
		close(link_fd);
	unlock_pins(l);
	return err;
}

static int detach_pinned_link(const char *path)
{
	int fd = bpf_obj_get(path), err = 0;

	if (fd < 0)
		return -errno;
	/* Detach explicitly: other holders of the link (a running daemon) must not keep
	 * the program attached after an operator asked for it to go. */
	if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
		err = -errno;
	close(fd);
	if (unlink(path) && !err)
		err = -errno;
	return err;
}

/* Our program out of ifname's dispatcher (if still there), and its pin removed. */
static int detach_dispatched(const char *path, const char *ifname)
{
	uint32_t id = pinned_prog_id(path);
	int ifindex = (int)if_nametoindex(ifname), err = 0;

	if (!id)
		return -ENOENT;
	if (ifindex && (err = xdp_mp_detach(ifindex, id)) == -ENOENT)
		err = 0;
	if (unlink(path) && !err)
		err = -errno;
	return err;
}

int xdp_loader_detach(struct xdp_loader *l, const char *ifname)
{
	char path[PATH_MAX];
	int err;

	err = lock_link_pin(l, ifname, path, sizeof(path));
	if (err)
		return err;
	err = detach_pinned_link(path);
	if (err == -ENOENT) {
		mp_pin_path(l, ifname, path, sizeof(path));
		err = detach_dispatched(path, ifname);
	}
	unlock_pins(l);
	return err;
}

int xdp_loader_for_each_iface(struct xdp_loader *l,
			      int (*fn)(const struct xdp_iface_status *st, void *arg), void *arg)
{
	struct dirent *de;
	DIR *dir;
	int err = 0;

	dir = opendir(l->pin_dir);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		struct xdp_iface_status st = {};
		struct bpf_link_info info;
		char path[PATH_MAX];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", l->pin_dir, de->d_name);
		if (!strncmp(de->d_name, MP_PIN_PREFIX, strlen(MP_PIN_PREFIX)) &&
		    !strchr(de->d_name, '.')) {
			snprintf(st.ifname, sizeof(st.ifname), "%s", de->d_name + strlen(MP_PIN_PREFIX));
			st.dispatcher = true;
			st.prog_id = pinned_prog_id(path);
			st.ifindex = (int)if_nametoindex(st.ifname);
			if (st.ifindex && !xdp_mp_has(st.ifindex, st.prog_id))
				st.ifindex = 0; /* out of the dispatcher: as good as gone */
			if (st.ifindex)
				st.mode = kernel_mode(st.ifindex);
			err = fn(&st, arg);
			if (err)
				break;
			continue;
		}
		if (strncmp(de->d_name, LINK_PIN_PREFIX, strlen(LINK_PIN_PREFIX)))
			continue;
		snprintf(st.ifname, sizeof(st.ifname), "%s", de->d_name + strlen(LINK_PIN_PREFIX));
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			if (!link_info(fd, &info)) {
				st.ifindex = (int)info.xdp.ifindex;
				st.prog_id = info.prog_id;
			}
			close(fd);
		}
		if (st.ifindex)
			st.mode = kernel_mode(st.ifindex);
		err = fn(&st, arg);
		if (err)
			break;
	}
	closedir(dir);
	return err;
}

int xdp_loader_uninstall(const char *pin_dir_arg)
{
	char path[PATH_MAX], pin_dir[256];
	struct dirent *de;
	DIR *dir;
	int err = 0, lock_fd;

	if (snprintf(pin_dir, sizeof(pin_dir), "%s", pin_dir_arg ? pin_dir_arg : CS_PIN_ROOT) >=
	    (int)sizeof(pin_dir))
		return -ENAMETOOLONG;
	lock_fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	flock(lock_fd, LOCK_EX);
	dir = opendir(pin_dir);
	if (!dir) {
		err = -errno;
		goto out;
	}
	/* Links first: the program stops filtering before its maps go away. */
	while ((de = readdir(dir))) {
		int e = 0;

		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (!strncmp(de->d_name, LINK_PIN_PREFIX, strlen(LINK_PIN_PREFIX)))
			e = detach_pinned_link(path);
		else if (!strncmp(de->d_name, MP_PIN_PREFIX, strlen(MP_PIN_PREFIX)))
			e = detach_dispatched(path, de->d_name + strlen(MP_PIN_PREFIX));
		if (e && e != -ENOENT && !err)
			err = e;
	}
	rewinddir(dir);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (unlink(path) && !err)
			err = -errno;
	}
	closedir(dir);
	if (rmdir(pin_dir) && !err)
		err = -errno;
out:
	close(lock_fd);
	return err;
}

/* ---- the ban list ------------------------------------------------------------------ */

enum ban_map { MAP_HOSTS_V4, MAP_RANGES_V4, MAP_HOSTS_V6, MAP_RANGES_V6, MAP_COUNT };

static struct bpf_map *ban_map(const struct xdp_loader *l, enum ban_map which)
{
	switch (which) {
	case MAP_HOSTS_V4:
		return l->skel->maps.cs_hosts_v4;
	case MAP_RANGES_V4:
		return l->skel->maps.cs_ranges_v4;
	case MAP_HOSTS_V6:
		return l->skel->maps.cs_hosts_v6;
	default:
		return l->skel->maps.cs_ranges_v6;
	}
}

static enum ban_map map_for(const struct cs_prefix *p)
{
	if (p->family == AF_INET)
		return cs_prefix_is_host(p) ? MAP_HOSTS_V4 : MAP_RANGES_V4;
	return cs_prefix_is_host(p) ? MAP_HOSTS_V6 : MAP_RANGES_V6;
}

/* Writes the map key of p into key (at most 20 bytes); returns its size. */
static size_t make_key(const struct cs_prefix *p, void *key)
{
	switch (map_for(p)) {
	case MAP_HOSTS_V4:
		memcpy(key, p->addr, 4);
		return 4;
	case MAP_RANGES_V4: {
		struct cs_lpm_v4 k = { .prefixlen = p->plen };

		memcpy(k.addr, p->addr, 4);
		memcpy(key, &k, sizeof(k));
		return sizeof(k);
	}
	case MAP_HOSTS_V6:
		memcpy(key, p->addr, 16);
		return 16;
	default: {
		struct cs_lpm_v6 k = { .prefixlen = p->plen };

		memcpy(k.addr, p->addr, 16);
		memcpy(key, &k, sizeof(k));
		return sizeof(k);
	}
	}
}

static void key_to_prefix(enum ban_map which, const void *key, struct cs_prefix *p)
{
	memset(p, 0, sizeof(*p));
	switch (which) {
	case MAP_HOSTS_V4:
		p->family = AF_INET, p->plen = 32;
		memcpy(p->addr, key, 4);
		break;
	case MAP_RANGES_V4:
		p->family = AF_INET, p->plen = ((const struct cs_lpm_v4 *)key)->prefixlen;
		memcpy(p->addr, ((const struct cs_lpm_v4 *)key)->addr, 4);
		break;
	case MAP_HOSTS_V6:
		p->family = AF_INET6, p->plen = 128;
		memcpy(p->addr, key, 16);
		break;
	default:
		p->family = AF_INET6, p->plen = ((const struct cs_lpm_v6 *)key)->prefixlen;
		memcpy(p->addr, ((const struct cs_lpm_v6 *)key)->addr, 16);
		break;
	}
}

static int map_full_error(struct xdp_loader *l, enum ban_map which, int err)
{
	struct bpf_map *m = ban_map(l, which);

	/* A full hash says E2BIG, a full LPM trie ENOSPC: one answer for callers. Said
	 * once while it lasts: a daemon retries. */
	if (err == -E2BIG || err == -ENOSPC) {
		if (!(l->full_logged & 1U << which))
			log_error("ban map %s is full (max %u entries)", bpf_map__name(m),
				  bpf_map__max_entries(m));
		l->full_logged |= 1U << which;
		return -ENOSPC;
	}
	return err;
}

/* One write that may replace: BPF_NOEXIST first tells an insert (*added) from a
 * replacement. */
static int write_one(int fd, const void *key, const struct cs_ban *val, size_t *added)
{
	if (!bpf_map_update_elem(fd, key, val, BPF_NOEXIST)) {
		(*added)++;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	return bpf_map_update_elem(fd, key, val, BPF_ANY) ? -errno : 0;
}

/*
 * Writes n keys/values of one map in order: runs of keys whose presence the host
 * index knew (seen[i], enum xdp_filter_seen) in batches when the kernel has them
 * for this map, the others one by one (write_one), so that *added counts the keys
 * inserted rather than replaced exactly (cs_counts): a batch takes no BPF_NOEXIST.
 * A startup of a million hosts is all batches; a range costs a syscall of its own.
 */
static int write_group(struct xdp_loader *l, enum ban_map which, const char *keys,
		       const struct cs_ban *vals, const uint8_t *seen, size_t n, size_t *done,
		       size_t *added)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts, .elem_flags = BPF_ANY);
	struct bpf_map *m = ban_map(l, which);
	size_t ksz = bpf_map__key_size(m);
	int fd = bpf_map__fd(m), err;
	bool batch = true;

	*done = *added = 0;
	while (*done < n) {
		size_t run = 1;
		__u32 count;

		if (seen[*done] == XDP_SEEN_UNKNOWN) {
			err = write_one(fd, keys + *done * ksz, vals + *done, added);
			if (err)
				return map_full_error(l, which, err);
			(*done)++;
			continue;
		}
		while (*done + run < n && run < BATCH_CHUNK && seen[*done + run] != XDP_SEEN_UNKNOWN)
			run++;
		count = (__u32)run;
		if (batch) {
			err = bpf_map_update_batch(fd, keys + *done * ksz, vals + *done, &count,
						   &bopts) ? -errno : 0;
			if (err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP) {
				batch = false; /* this kernel/map has no batch op: element-wise */
				continue;
			}
			/* on a failure, count = how many went in before it */
		} else {
			err = bpf_map_update_elem(fd, keys + *done * ksz, vals + *done, BPF_ANY) ? -errno : 0;
			count = !err;
		}
		for (__u32 k = 0; k < count; k++)
			*added += seen[*done + k] == XDP_SEEN_ABSENT;
		*done += count;
		if (err)
			return map_full_error(l, which, err);
	}
	l->full_logged &= ~(1U << which);
	return 0;
}

/*
 * Each map's group is written on its own: a full host map must not keep the
 * ranges or the other family out. Within a group, what follows a failure is not
 * written (a full map refuses the rest as well) and is marked in failed[].
 */
static int write_bans(struct xdp_loader *l, const struct cs_prefix *prefixes,
		      const struct cs_ban *bans, const uint8_t *seen, size_t n, size_t *applied,
		      bool *failed, long long added[MAP_COUNT])
{
	char *keys[MAP_COUNT] = {};
	struct cs_ban *vals[MAP_COUNT] = {};
	uint8_t *gseen[MAP_COUNT] = {};
	size_t cnt[MAP_COUNT] = {}, done[MAP_COUNT] = {}, total = 0, fresh;
	int err = 0, first = 0;

	for (size_t i = 0; i < n; i++)
		cnt[map_for(&prefixes[i])]++;
	for (int g = 0; g < MAP_COUNT; g++) {
		keys[g] = malloc(cnt[g] * bpf_map__key_size(ban_map(l, g)) + 1);
		vals[g] = malloc(cnt[g] * sizeof(struct cs_ban) + 1);
		gseen[g] = malloc(cnt[g] + 1);
		if (!keys[g] || !vals[g] || !gseen[g]) {
			first = -ENOMEM;
			goto out;
		}
		cnt[g] = 0;
	}
	for (size_t i = 0; i < n; i++) {
		enum ban_map g = map_for(&prefixes[i]);
		size_t ksz = bpf_map__key_size(ban_map(l, g));

		make_key(&prefixes[i], keys[g] + cnt[g] * ksz);
		gseen[g][cnt[g]] = seen[i];
		vals[g][cnt[g]] = bans[i];
		vals[g][cnt[g]++].prefixlen = prefixes[i].plen;
	}
	for (int g = 0; g < MAP_COUNT; g++) {
		if (!cnt[g])
			continue;
		err = write_group(l, g, keys[g], vals[g], gseen[g], cnt[g], &done[g], &fresh);
		added[g] += (long long)fresh;
		if (err && !first)
			first = err;
		total += done[g];
	}
out:
	if (failed) {
		size_t at[MAP_COUNT] = {};

		/* entries keep their order within a group: the first done[g] went in */
		for (size_t i = 0; i < n; i++) {
			enum ban_map g = map_for(&prefixes[i]);

			failed[i] = at[g]++ >= done[g];
		}
	}
	for (int g = 0; g < MAP_COUNT; g++) {
		free(keys[g]);
		free(vals[g]);
		free(gseen[g]);
	}
	if (applied)
		*applied = total;
	return first;
}

static int delete_bans(struct xdp_loader *l, const struct cs_prefix *prefixes, size_t n,
		       size_t *missing, size_t *removed, long long gone[MAP_COUNT])
{
	size_t absent = 0, i;
	int err = 0;

	*removed = 0;
	/* Element-wise: a batch delete stops at the first absent key, and a decision
	 * stream routinely deletes entries that an expiry already removed. */
	for (i = 0; i < n; i++) {
		char key[sizeof(struct cs_lpm_v6)];
		int fd = bpf_map__fd(ban_map(l, map_for(&prefixes[i])));

		make_key(&prefixes[i], key);
		if (bpf_map_delete_elem(fd, key)) {
			if (errno != ENOENT) {
				err = -errno;
				break;
			}
			absent++;
		} else {
			(*removed)++;
			gone[map_for(&prefixes[i])]--;
		}
	}
	/* out of the index once out of the maps: meanwhile it may still drop them */
	xdp_filter_remove(l->filter, prefixes, i);
	if (missing)
		*missing = absent;
	return err;
}

static int filter_rebuild(struct xdp_loader *l);

/* cs_counts += delta; the caller holds the pin lock. */
static void counts_add(struct xdp_loader *l, const long long delta[MAP_COUNT])
{
	int fd = bpf_map__fd(l->skel->maps.cs_counts);
	struct cs_counts c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &c))
		return;
	for (int g = 0; g < MAP_COUNT; g++)
		c.entries[g] = delta[g] < 0 && (__u64)-delta[g] > c.entries[g] ? 0 :
										c.entries[g] + (__u64)delta[g];
	bpf_map_update_elem(fd, &zero, &c, BPF_ANY);
}

int xdp_loader_ban(struct xdp_loader *l, const struct cs_prefix *prefixes,
		   const struct cs_ban *bans, size_t n, size_t *applied)
{
	return xdp_loader_ban_each(l, prefixes, bans, n, applied, NULL);
}

/* The host index learned entries that then failed to go in: it keeps what the map
 * holds (the earlier ban, if any), not what was refused. */
static void filter_resync_failed(struct xdp_loader *l, const struct cs_prefix *prefixes, size_t n,
				 const bool *failed)
{
	struct cs_prefix *p = malloc((n + 1) * sizeof(*p));
	struct cs_ban *now = malloc((n + 1) * sizeof(*now));
	bool *has = malloc(n + 1);
	size_t k = 0;

	if (p && now && has) {
		for (size_t i = 0; i < n; i++) {
			if (!failed[i])
				continue;
			p[k] = prefixes[i];
			has[k] = !xdp_loader_get(l, &prefixes[i], &now[k]);
			k++;
		}
		xdp_filter_resync(l->filter, p, now, has, k);
	} else {
		/* cannot tell the index what the maps hold: off until a rebuild */
		log_warn("out of memory resynchronising the host index: rebuilding it");
		filter_rebuild(l);
	}
	free(p);
	free(now);
	free(has);
}

/* The filter learns a prefix before any map holds it, so no packet finds a banned
 * source's entry behind a filter that says "no". */
int xdp_loader_ban_each(struct xdp_loader *l, const struct cs_prefix *prefixes,
			const struct cs_ban *bans, size_t n, size_t *applied, bool *failed)
{
	long long added[MAP_COUNT] = {};
	bool *failed_here;
	uint8_t *seen = malloc(n + 1);
	int err;

	if (!l->filter) { /* opened read-only */
		free(seen);
		return -EROFS;
	}
	failed_here = failed ? failed : calloc(n + 1, sizeof(bool));
	err = failed_here && seen ? lock_pins(l) : -ENOMEM;
	if (err)
		goto out;
	xdp_filter_add(l->filter, prefixes, bans, n, seen);
	err = write_bans(l, prefixes, bans, seen, n, applied, failed_here, added);
	if (err)
		filter_resync_failed(l, prefixes, n, failed_here);
	counts_add(l, added);
	if (xdp_filter_removed(l->filter, 0) && filter_rebuild(l))
		log_warn("cannot rebuild the ban filter: its host index stays off");
	unlock_pins(l);
out:
	if (failed_here != failed)
		free(failed_here);
	free(seen);
	return err;
}

int xdp_loader_unban(struct xdp_loader *l, const struct cs_prefix *prefixes, size_t n,
		     size_t *missing)
{
	long long gone[MAP_COUNT] = {};
	size_t removed = 0;
	int err, rerr;

	if (!l->filter) /* opened read-only */
		return -EROFS;
	err = lock_pins(l);
	if (err)
		return err;
	err = delete_bans(l, prefixes, n, missing, &removed, gone);
	counts_add(l, gone);
	if (xdp_filter_removed(l->filter, removed)) {
		rerr = filter_rebuild(l);
		if (rerr)
			log_warn("cannot rebuild the ban filter (%s): it keeps stale bits",
				 strerror(-rerr));
	}
	unlock_pins(l);
	return err;
}

int xdp_loader_get(struct xdp_loader *l, const struct cs_prefix *p, struct cs_ban *out)
{
	char key[sizeof(struct cs_lpm_v6)];
	int fd = bpf_map__fd(ban_map(l, map_for(p)));

	make_key(p, key);
	if (bpf_map_lookup_elem(fd, key, out))
		return -errno;
	/* A trie answers with the longest covering prefix, maybe a shorter one. */
	return out->prefixlen == p->plen ? 0 : -ENOENT;
}

/*
 * A hash map is read in batches (a few syscalls for a million entries, where
 * get_next_key + lookup cost two per entry). -EOPNOTSUPP before the first entry
 * when the kernel has no batch lookup for it.
 */
static int walk_batched(struct xdp_loader *l, enum ban_map g,
			int (*fn)(const struct cs_prefix *p, const struct cs_ban *b, void *arg),
			void *arg)
{
	enum { CHUNK = 8192 };
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct bpf_map *m = ban_map(l, g);
	size_t ksz = bpf_map__key_size(m);
	int fd = bpf_map__fd(m), err = 0;
	char *keys = malloc(CHUNK * ksz);
	struct cs_ban *vals = malloc(CHUNK * sizeof(*vals));
	__u64 in = 0, out = 0;
	bool first = true;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = CHUNK;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &bopts);

		rc = rc < 0 ? -errno : 0;
		if (rc && rc != -ENOENT) {
			if (first && (rc == -EINVAL || rc == -ENOTSUPP || rc == -EOPNOTSUPP))
				rc = -EOPNOTSUPP;
			err = rc;
			goto out;
		}
		for (__u32 i = 0; i < count; i++) {
			struct cs_prefix p;

			key_to_prefix(g, keys + i * ksz, &p);
			err = fn(&p, &vals[i], arg);
			if (err)
				goto out;
		}
		if (rc == -ENOENT)
			break;
		in = out;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int xdp_loader_for_each_ban(struct xdp_loader *l,
			    int (*fn)(const struct cs_prefix *p, const struct cs_ban *b, void *arg),
			    void *arg)
{
	for (int g = 0; g < MAP_COUNT; g++) {
		int fd = bpf_map__fd(ban_map(l, g));
		char key[sizeof(struct cs_lpm_v6)], next[sizeof(struct cs_lpm_v6)];
		void *prev = NULL;

		if (g == MAP_HOSTS_V4 || g == MAP_HOSTS_V6) {
			int err = walk_batched(l, g, fn, arg);

			if (err != -EOPNOTSUPP) {
				if (err)
					return err;
				continue;
			}
		}
		/* LPM tries have no batch lookup: key by key */
		while (!bpf_map_get_next_key(fd, prev, next)) {
			struct cs_prefix p;
			struct cs_ban b;
			int err;

			memcpy(key, next, sizeof(key));
			prev = key;
			if (bpf_map_lookup_elem(fd, key, &b))
				continue; /* deleted meanwhile */
			key_to_prefix(g, key, &p);
			err = fn(&p, &b, arg);
			if (err)
				return err;
		}
		if (errno != ENOENT)
			return -errno;
	}
	return 0;
}

int xdp_loader_stats(struct xdp_loader *l, struct cs_stat *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(l->skel->maps.cs_stats);
	struct cs_stat *percpu;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	percpu = calloc((size_t)ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 i = 0; i < CS_STAT_MAX; i++) {
		out[i] = (struct cs_stat){ 0 };
		if (bpf_map_lookup_elem(fd, &i, percpu)) {
			int err = -errno;

			free(percpu);
			return err;
		}
		for (int c = 0; c < ncpu; c++) {
			out[i].packets += percpu[c].packets;
			out[i].bytes += percpu[c].bytes;
		}
	}
	free(percpu);
	return 0;
}

/* ---- the negative filter (xdp_filter.h) ------------------------------------------- */

/* Sized for every entry the four maps can hold, before the pins, if any, say otherwise. */
static void filter_size(struct xdp_loader *l)
{
	uint64_t cap = 0;

	for (int g = 0; g < MAP_COUNT; g++)
		cap += bpf_map__max_entries(ban_map(l, g));
	bpf_map__set_max_entries(l->skel->maps.cs_filter, 1U << xdp_filter_log2_for(cap));
	/* each index beside the ban map it indexes */
	struct bpf_map *index[MAP_COUNT] = {
		[MAP_HOSTS_V4] = l->skel->maps.cs_host_index,
		[MAP_RANGES_V4] = l->skel->maps.cs_range_index,
		[MAP_HOSTS_V6] = l->skel->maps.cs_host_index6,
		[MAP_RANGES_V6] = l->skel->maps.cs_range_index6,
	};

	for (int g = 0; g < MAP_COUNT; g++)
		bpf_map__set_max_entries(index[g], xdp_filter_host_buckets_for(
				 g == MAP_HOSTS_V4 || g == MAP_RANGES_V4 ? AF_INET : AF_INET6,
				 bpf_map__max_entries(ban_map(l, g))));
}

bool xdp_loader_reused_pins(const struct xdp_loader *l)
{
	return l->reused_bans;
}

static bool pin_exists(const struct xdp_loader *l, const struct bpf_map *map)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%.200s", l->pin_dir, bpf_map__name(map));
	/* the effective ids, as libbpf's bpf_obj_get() will use: a pin seen as absent
	 * but then reused would keep its stale index */
	return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0;
}

/* The index maps (and the counts) pinned already: they describe the pinned ban list.
 * (Pins of ABI 3 lack the range indexes: all is rebuilt from the hashes.) Which
 * index maps the load will reuse from their pins goes to index_reused[] (the
 * others it creates, and the kernel zeroes them). */
static bool filter_pins_exist(const struct xdp_loader *l, bool index_reused[4])
{
	const struct bpf_map *index[4] = { l->skel->maps.cs_host_index, l->skel->maps.cs_host_index6,
					   l->skel->maps.cs_range_index,
					   l->skel->maps.cs_range_index6 };
	bool all = pin_exists(l, l->skel->maps.cs_filter) &&
		   pin_exists(l, l->skel->maps.cs_filter_cfg) &&
		   pin_exists(l, l->skel->maps.cs_counts);

	for (int k = 0; k < 4; k++) {
		index_reused[k] = pin_exists(l, index[k]);
		all &= index_reused[k];
	}
	return all;
}

static int filter_setup(struct xdp_loader *l, bool reset, const bool index_reused[4])
{
	const struct bpf_map *index[4] = { l->skel->maps.cs_host_index, l->skel->maps.cs_host_index6,
					   l->skel->maps.cs_range_index,
					   l->skel->maps.cs_range_index6 };
	int index_fd[4];
	uint32_t n_buckets[4];
	bool fresh;
	int err;

	for (int k = 0; k < 4; k++) {
		index_fd[k] = bpf_map__fd(index[k]);
		n_buckets[k] = bpf_map__max_entries(index[k]);
	}
	err = xdp_filter_open(bpf_map__fd(l->skel->maps.cs_filter_cfg),
			      bpf_map__fd(l->skel->maps.cs_filter),
			      bpf_map__max_entries(l->skel->maps.cs_filter), index_fd, n_buckets,
			      index_reused, reset, &l->filter, &fresh);
	if (err)
		return err;
	return fresh ? filter_rebuild(l) : 0;
}

struct rebuild {
	struct xdp_filter_build *b;
	struct cs_counts counts;
};

static int filter_build_cb(const struct cs_prefix *p, const struct cs_ban *b, void *arg)
{
	struct rebuild *r = arg;

	xdp_filter_build_add(r->b, p, b);
	r->counts.entries[map_for(p)]++;
	return 0;
}

/* From the maps' contents, and the counts with it; the caller holds the pin lock,
 * so no insert runs beside it. */
static int filter_rebuild(struct xdp_loader *l)
{
	struct rebuild r = {};
	__u32 zero = 0;
	int err = xdp_filter_build_new(l->filter, &r.b);

	if (err)
		return err;
	err = xdp_loader_for_each_ban(l, filter_build_cb, &r);
	if (err) {
		xdp_filter_build_free(r.b);
		return err;
	}
	xdp_filter_build_commit(l->filter, r.b);
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.cs_counts), &zero, &r.counts, BPF_ANY))
		log_warn("cannot store the entry counts: %s", strerror(errno));
	return 0;
}

static int count_cb(const struct cs_prefix *p, const struct cs_ban *b, void *arg)
{
	(void)b;
	((uint64_t *)arg)[map_for(p)]++;
	return 0;
}

int xdp_loader_counts(struct xdp_loader *l, uint64_t out[4])
{
	int fd = bpf_map__fd(l->skel->maps.cs_counts);
	struct cs_counts c;
	__u32 zero = 0;

	memset(out, 0, 4 * sizeof(out[0]));
	if (fd < 0) /* read-only, on pins from before cs_counts */
		return xdp_loader_for_each_ban(l, count_cb, out);
	if (bpf_map_lookup_elem(fd, &zero, &c))
		return -errno;
	memcpy(out, c.entries, sizeof(c.entries));
	return 0;
}

void xdp_loader_filter_info(struct xdp_loader *l, struct xdp_filter_info *out)
{
	if (l->filter)
		xdp_filter_info(l->filter, out);
	else /* opened read-only */
		memset(out, 0, sizeof(*out));
}
