// SPDX-License-Identifier: MIT
#include "parser/data_section.h"

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "expr/expr.h"

int cs_data_section_load(struct ywalk *w, const yaml_node_t *seq, struct expr_runtime *rt)
{
	const yaml_node_t *m;

	if (ywalk_is_null(seq))
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return ywalk_fail(w, seq, "'data' must be a list");
	YWALK_ITEMS(w, seq, m) {
		const char *dest = NULL, *type = NULL, *k;
		yaml_node_t *v;
		int err;

		if (!m || m->type != YAML_MAPPING_NODE)
			return ywalk_fail(w, m, "a data entry must be a mapping");
		YWALK_PAIRS(w, m, k, v) {
			if (!k)
				continue;
			if (!strcmp(k, "dest_file"))
				dest = ywalk_scalar(v);
			else if (!strcmp(k, "type"))
				type = ywalk_scalar(v);
			else if (strcmp(k, "source_url") && strcmp(k, "strategy") && strcmp(k, "size") &&
				 strcmp(k, "ttl"))
				return ywalk_fail(w, v, "data: unknown key '%s'", k);
		}
		if (!dest)
			return ywalk_fail(w, m, "data entry without dest_file");
		if (!type)
			continue; /* downloaded but not loaded (e.g. GeoIP .mmdb) */
		err = expr_runtime_load_data(rt, dest, type);
		if (err == -ENOENT)
			log_warn("%s:%d: data file %s missing: its helpers see an empty list",
				 w->file, ywalk_line(m), dest);
		else if (err)
			return ywalk_fail(w, m, "data file %s: %s", dest, strerror(-err));
	}
	return 0;
}
