/* SPDX-License-Identifier: MIT */
/*
 * Intrusive doubly linked lists (LRU and FIFO orders): the one place that
 * links and unlinks. Embed a struct cs_dlink in the element; cs_dlist_entry()
 * gets the element back.
 *
 *   struct item { struct cs_dlink lru; ... };
 *   cs_dlist_push_tail(&list, &it->lru);          newest at the tail
 *   cs_dlist_unlink(&list, &it->lru);
 *   struct item *oldest = cs_dlist_entry(list.head, struct item, lru);   (head != NULL)
 */
#ifndef CS_DLIST_H
#define CS_DLIST_H

#include <stddef.h>

struct cs_dlink {
	struct cs_dlink *prev, *next;
};

struct cs_dlist {
	struct cs_dlink *head, *tail;
};

#define cs_dlist_entry(link, type, member) ((type *)((char *)(link) - offsetof(type, member)))

static inline void cs_dlist_unlink(struct cs_dlist *l, struct cs_dlink *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

/* e must not be in the list. */
static inline void cs_dlist_push_tail(struct cs_dlist *l, struct cs_dlink *e)
{
	e->prev = l->tail;
	e->next = NULL;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

/* Move e (in the list, or not yet: prev == next == NULL and not the head) to the tail. */
static inline void cs_dlist_move_tail(struct cs_dlist *l, struct cs_dlink *e)
{
	if (l->tail == e)
		return;
	if (e->prev || l->head == e)
		cs_dlist_unlink(l, e);
	cs_dlist_push_tail(l, e);
}

#endif /* CS_DLIST_H */
