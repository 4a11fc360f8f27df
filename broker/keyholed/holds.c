// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pause holds ("pause" and "resume", Documentation/broker-protocol.md): a
 * client keeps a VM's guest halted across many queries, for a bounded
 * time. A hold is its VM's worker's alone (each worker keeps a list, and
 * only that thread touches it), so the pause, every read under it and the
 * resume run in order on one thread. Holds nest through kh_vm_pause(): the
 * guest runs again when the last one ends, and a guest its owner paused
 * stays paused. A hold ends on "resume", at its deadline, when its client
 * goes, when its VM exits, or when the daemon stops: never later.
 *
 * Through keyhole.ko (kmap, kpause) the module's watchdog would end a
 * pause after its pause_timeout_ms (2 s by default): the worker renews
 * every hold each HOLD_RENEW_NS, or each eighth of pause_timeout_ms when
 * that is shorter (an admin may lower it at run time). Should the module end one anyway (the
 * worker busy with a long crawl), the hold ends there and its client is
 * told the guest ran: a hold never claims a halt that did not last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "access/kmod_pause.h"
#include "keyholed.h"

#define HOLD_RENEW_NS	(500 * 1000000ull)

struct hold {
	struct vm_entry *vm;		/* referenced */
	struct client *client;		/* referenced */
	uint64_t until_ns;
	uint64_t renew_ns;		/* when to renew the pause: 0 at once */
	struct hold *next;
};

/* The module's cap read at each renewal: a lowered one is seen at once. */
static uint64_t renew_every_ns(void)
{
	uint64_t eighth = kh_kmod_pause_cap_ms() * 1000000ull / 8;

	return eighth && eighth < HOLD_RENEW_NS ? eighth : HOLD_RENEW_NS;
}

static int fail(struct kh_err *err, int code, const char *why, int pid)
{
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), "VM %d: %s", pid, why);
	return -code;
}

static struct hold **find(struct hold **list, const struct vm_entry *e,
			  const struct client *c)
{
	for (; *list; list = &(*list)->next)
		if ((*list)->vm == e && (*list)->client == c)
			return list;
	return NULL;
}

/* Unlinks *link and resumes its guest (NULL err: nothing to tell). */
static int end_hold(struct hold **link, struct kh_err *err)
{
	struct hold *h = *link;
	int ret = 0;

	*link = h->next;
	if (h->vm->vm)
		ret = kh_vm_resume(h->vm->vm, err);
	vm_put(h->vm);
	client_put(h->client);
	free(h);
	return ret;
}

int hold_pause(struct hold **list, struct vm_entry *e, struct client *c,
	       uint64_t until_ns, struct kh_err *err)
{
	struct hold **link = find(list, e, c), *h;
	int ret;

	if (link) {
		(*link)->until_ns = until_ns;
		return 1;
	}
	/* Its "client gone" job may have run already (a VM that moved). */
	if (client_gone(c))
		return fail(err, ECONNRESET,
			    "the client that asked for this pause has gone",
			    (int)e->id.pid);
	h = calloc(1, sizeof(*h));
	if (!h)
		return fail(err, ENOMEM, "out of memory for a pause",
			    (int)e->id.pid);
	ret = kh_vm_pause(e->vm, err);
	if (ret) {
		free(h);
		return ret;
	}
	vm_get(e);
	client_get(c);
	h->vm = e;
	h->client = c;
	h->until_ns = until_ns;
	h->next = *list;
	*list = h;
	return 0;
}

int hold_resume(struct hold **list, struct vm_entry *e, struct client *c,
		struct kh_err *err)
{
	struct hold **link = find(list, e, c);

	if (!link)
		return fail(err, ENOENT,
			    "not paused by this client ('pause' first)",
			    (int)e->id.pid);
	return end_hold(link, err);
}

uint64_t holds_tick(struct hold **list, uint64_t now, bool renew_now,
		   hold_ended_fn ended)
{
	struct kh_err err = { 0 };
	uint64_t next = 0;
	struct hold *h;

	while ((h = *list)) {
		if (h->vm->gone) {
			ended(h->client, h->vm, "QEMU exited");
			end_hold(list, NULL);
			continue;
		}
		if (h->until_ns <= now) {
			ended(h->client, h->vm, NULL);
			end_hold(list, NULL);
			continue;
		}
		if (renew_now || h->renew_ns <= now) {
			if (kh_vm_keep_paused(h->vm->vm, &err)) {
				ended(h->client, h->vm, err.msg);
				end_hold(list, NULL);
				continue;
			}
			h->renew_ns = now + renew_every_ns();
		}
		if (!next || h->until_ns < next)
			next = h->until_ns;
		if (h->renew_ns < next)
			next = h->renew_ns;
		list = &h->next;
	}
	return next;
}

bool holds_on(struct hold *list, const struct vm_entry *e)
{
	for (; list; list = list->next)
		if (list->vm == e)
			return true;
	return false;
}

void holds_release_client(struct hold **list, const struct client *c)
{
	while (*list) {
		if ((*list)->client == c)
			end_hold(list, NULL);
		else
			list = &(*list)->next;
	}
}

void holds_release_all(struct hold **list)
{
	while (*list)
		end_hold(list, NULL);
}
