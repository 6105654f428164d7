// SPDX-License-Identifier: MIT
#include "bouncer/xdp_multiprog.h"

#include <errno.h>
#include <string.h>
#include <linux/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "common/log.h"

int xdp_mp_log_demoted(int level, const char *fmt, va_list ap)
{
	/* Both libraries are chatty at WARN for things we report better ourselves. */
	enum log_level lvl = level == LIBXDP_WARN ? LOG_LVL_INFO :
			     level == LIBXDP_INFO ? LOG_LVL_DEBUG : LOG_LVL_TRACE;

	if (lvl <= log_get_level())
		log_vmsg(lvl, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return xdp_mp_log_demoted((int)level, fmt, ap);
}

void xdp_mp_setup_logging(void)
{
	libxdp_set_print(libxdp_print);
}

/* ifindex's programs, NULL with *err set (-ENOENT: no program at all) */
static struct xdp_multiprog *multiprog(int ifindex, int *err)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	long e = libxdp_get_error(mp);

	if (e) {
		*err = (int)e;
		return NULL;
	}
	if (!xdp_multiprog__main_prog(mp) && !xdp_multiprog__program_count(mp)) {
		xdp_multiprog__close(mp);
		*err = -ENOENT;
		return NULL;
	}
	return mp;
}

int xdp_mp_present(int ifindex)
{
	struct xdp_multiprog *mp;
	int err = 0, present;

	mp = multiprog(ifindex, &err);
	if (!mp)
		return err == -ENOENT ? 0 : err;
	present = !xdp_multiprog__is_legacy(mp);
	xdp_multiprog__close(mp);
	return present;
}

/* ifindex's dispatcher's program prog_id (its multiprog in *mpp), or NULL */
static struct xdp_program *find_prog(int ifindex, uint32_t prog_id, struct xdp_multiprog **mpp)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	int err = 0;

	mp = multiprog(ifindex, &err);
	if (!mp)
		return NULL;
	if (!xdp_multiprog__is_legacy(mp)) {
		for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
			if (xdp_program__id(p) == prog_id)
				break;
	}
	if (!p) {
		xdp_multiprog__close(mp);
		return NULL;
	}
	*mpp = mp;
	return p;
}

bool xdp_mp_has(int ifindex, uint32_t prog_id)
{
	struct xdp_multiprog *mp = NULL;

	if (!find_prog(ifindex, prog_id, &mp))
		return false;
	xdp_multiprog__close(mp);
	return true;
}

int xdp_mp_attach(struct bpf_object *obj, int ifindex, unsigned prio, bool generic,
		  bool *generic_out, uint32_t *prog_id)
{
	enum xdp_attach_mode mode = generic ? XDP_MODE_SKB : XDP_MODE_NATIVE;
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	int err = 0;

	mp = multiprog(ifindex, &err);
	if (mp) {
		/* programs of one dispatcher share its mode */
		mode = xdp_multiprog__attach_mode(mp);
		xdp_multiprog__close(mp);
		mp = NULL;
	} else if (err != -ENOENT) {
		return err;
	}
	prog = xdp_program__from_bpf_obj(obj, NULL);
	err = (int)libxdp_get_error(prog);
	if (err)
		return err;
	err = xdp_program__set_run_prio(prog, prio);
	/* what we do not drop goes on to the next program */
	if (!err)
		err = xdp_program__set_chain_call_enabled(prog, XDP_PASS, true);
	if (!err)
		err = xdp_program__attach(prog, ifindex, mode, 0);
	if (!err) {
		*generic_out = mode == XDP_MODE_SKB;
		*prog_id = xdp_program__id(prog);
	}
	xdp_program__close(prog); /* the object stays ours; libxdp's pinned link holds the program */
	/* When the kernel refuses its dispatcher (extension programs), libxdp attaches the
	 * program alone, through netlink: worse than our own pinned bpf_link (no atomic
	 * replace), so take it off and let the caller attach the usual way. */
	if (!err && (mp = multiprog(ifindex, &err)) && xdp_multiprog__is_legacy(mp)) {
		xdp_multiprog__detach(mp);
		err = -EOPNOTSUPP;
	}
	if (mp)
		xdp_multiprog__close(mp);
	return err == -ENOENT ? -EIO : err;
}

int xdp_mp_detach(int ifindex, uint32_t prog_id)
{
	struct xdp_multiprog *mp = NULL;
	struct xdp_program *p = find_prog(ifindex, prog_id, &mp);
	int err;

	if (!p)
		return -ENOENT;
	err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	xdp_multiprog__close(mp);
	return err;
}
