/* SPDX-License-Identifier: MIT */
/* Private to userspace/hub: the plan as plan.c builds it and apply.c runs it. */
#ifndef CS_HUB_PLAN_INT_H
#define CS_HUB_PLAN_INT_H

#include "hub/hub.h"

struct hub_cmd {
	enum hub_op op;
	struct hub_item *it;
	bool force;
};

struct hub_plan {
	struct hub *h;
	struct hub_cmd *cmds; /* in execution order, no duplicates */
	size_t ncmds, cmds_cap;
	bool refresh_data;    /* hub upgrade: data files of every installed item */
	bool refresh_force;
};

bool hub_plan_has(const struct hub_plan *p, enum hub_op op, const struct hub_item *it);

#endif /* CS_HUB_PLAN_INT_H */
