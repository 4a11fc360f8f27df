// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Credentials as JSON (kh_json_creds): ids as integers, capability sets
 * as /proc/PID/status prints them (16 hex digits), kernel addresses as
 * "0x..." strings.
 */
#include <inttypes.h>
#include <stdio.h>

#include "json/format.h"

static json_t *hex(uint64_t v, int width)
{
	char buf[24];

	snprintf(buf, sizeof(buf), width ? "%016" PRIx64 : "0x%" PRIx64, v);
	return json_string(buf);
}

static json_t *cred_json(const struct kh_cred *c)
{
	char comm[KH_COMM_LEN + 1];
	json_t *shared = json_array();
	unsigned int i;

	for (i = 0; shared && i < c->nr_shared && i < KH_CRED_SHARED; i++)
		json_array_append_new(shared, json_integer(c->shared_with[i]));
	kh_printable(c->comm, sizeof(comm), comm);
	return json_pack("{s:i, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "pid", (int)c->pid, "comm", comm,
			 "addr", hex(c->addr, 0), "cred", hex(c->cred, 0),
			 "real_cred", hex(c->real_cred, 0),
			 "uid", (json_int_t)c->uid, "euid", (json_int_t)c->euid,
			 "suid", (json_int_t)c->suid,
			 "fsuid", (json_int_t)c->fsuid,
			 "gid", (json_int_t)c->gid, "egid", (json_int_t)c->egid,
			 "sgid", (json_int_t)c->sgid,
			 "fsgid", (json_int_t)c->fsgid,
			 "cap_inh", hex(c->cap_inheritable, 1),
			 "cap_prm", hex(c->cap_permitted, 1),
			 "cap_eff", hex(c->cap_effective, 1),
			 "cap_bnd", hex(c->cap_bounding, 1),
			 "cap_amb", hex(c->cap_ambient, 1),
			 "shared_with", shared);
}

json_t *kh_json_creds(const struct kh_cred_list *list)
{
	json_t *array = json_array();
	unsigned int i;

	for (i = 0; array && i < list->nr; i++)
		if (json_array_append_new(array, cred_json(&list->creds[i]))) {
			json_decref(array);
			return NULL;
		}
	return array;
}
