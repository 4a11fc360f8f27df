// SPDX-License-Identifier: GPL-2.0-only
/*
 * Change events: what differs between two crawl records of one VM
 * (kh_json_crawl(), full form). Each kind of object is compared by an
 * identity that outlives its changing fields: a process by pid and start
 * time (a reused pid is a new process), a module by name and address, a
 * socket by its struct sock and its endpoints (a TCP socket that goes
 * from SYN_RECV to ESTABLISHED is the same socket), an interface address
 * by interface, family, address and prefix, a rootkit check's finding
 * (watch --check) by its check, its sentence and the addresses it names.
 * Both records come from the
 * guest, so nothing here trusts their shape: a missing or mistyped list
 * is treated as empty, and an object without its identity is skipped.
 */
#include <stdio.h>
#include <string.h>

#include "changes.h"

typedef int (*identity_fn)(json_t *obj, char *key, size_t size);

static const char *str(json_t *obj, const char *field)
{
	return json_string_value(json_object_get(obj, field)) ?: "";
}

static long long num(json_t *obj, const char *field)
{
	json_t *v = json_object_get(obj, field);

	return json_is_integer(v) ? json_integer_value(v) :
	       json_is_real(v) ? (long long)(json_real_value(v) * 1000) : 0;
}

/* Processes, not threads: a thread group's leader has pid == tgid. */
static int process_identity(json_t *t, char *key, size_t size)
{
	if (!json_is_integer(json_object_get(t, "pid")) ||
	    num(t, "pid") != num(t, "tgid"))
		return -1;
	snprintf(key, size, "%lld/%lld", num(t, "pid"), num(t, "start_time"));
	return 0;
}

static int module_identity(json_t *m, char *key, size_t size)
{
	if (!json_is_string(json_object_get(m, "name")))
		return -1;
	snprintf(key, size, "%s@%s", str(m, "name"), str(m, "addr"));
	return 0;
}

/*
 * A finding: its check and the objects it names, not its sentence (a
 * hidden process that starts or stops running changes the views the
 * sentence lists, and stays the same finding) nor the object a shared
 * table was first met through (the walk's order names it).
 */
static int finding_identity(json_t *f, char *key, size_t size)
{
	if (!json_is_string(json_object_get(f, "check")))
		return -1;
	snprintf(key, size, "%s|%lld|%s|%s|%s|%s", str(f, "check"),
		 num(f, "pid"), str(f, "addr"), str(f, "end"), str(f, "target"),
		 str(f, "role"));
	return 0;
}

static int socket_identity(json_t *c, char *key, size_t size)
{
	if (!json_is_string(json_object_get(c, "sock")))
		return -1;
	snprintf(key, size, "%s %s %s:%lld %s:%lld %s", str(c, "sock"),
		 str(c, "proto"), str(c, "local"), num(c, "lport"),
		 str(c, "remote"), num(c, "rport"), str(c, "path"));
	return 0;
}

/* {key: object} of a list, for the identities that it has. */
static json_t *index_of(json_t *list, identity_fn identity)
{
	json_t *set = json_object(), *obj;
	char key[512];
	size_t i;

	json_array_foreach(list, i, obj)
		if (json_is_object(obj) && !identity(obj, key, sizeof(key)))
			json_object_set(set, key, obj);
	return set;
}

/* Appends {"kind": KIND, "object": ...} for what is in a and not in b. */
static void only_in(json_t *a, json_t *b, const char *kind, json_t *out)
{
	const char *key;
	json_t *obj;

	json_object_foreach(a, key, obj)
		if (!json_object_get(b, key))
			json_array_append_new(out, json_pack("{s:s, s:O}",
				"kind", kind, "object", obj));
}

static void compare(json_t *prev, json_t *cur, const char *field,
		    identity_fn identity, const char *added,
		    const char *removed, json_t *out)
{
	json_t *before = index_of(json_object_get(prev, field), identity);
	json_t *after = index_of(json_object_get(cur, field), identity);

	only_in(after, before, added, out);
	only_in(before, after, removed, out);
	json_decref(before);
	json_decref(after);
}

/*
 * Interface addresses: flattened to {"iface", "netns", "family", "addr",
 * ...}; each namespace has its own lo, with the same addresses.
 */
static json_t *iface_addrs(json_t *record)
{
	json_t *flat = json_array(), *ifc, *a;
	size_t i, j;

	json_array_foreach(json_object_get(record, "ifconfig"), i, ifc)
		json_array_foreach(json_object_get(ifc, "addrs"), j, a)
			if (json_is_object(a))
				json_array_append_new(flat,
					json_pack("{s:s, s:I, s:s, s:s, s:I}",
						  "iface", str(ifc, "name"),
						  "netns",
						  (json_int_t)num(ifc, "netns"),
						  "family", str(a, "family"),
						  "addr", str(a, "addr"),
						  "prefixlen",
						  (json_int_t)num(a, "prefixlen")));
	return flat;
}

static int addr_identity(json_t *a, char *key, size_t size)
{
	snprintf(key, size, "%s %lld %s %s/%lld", str(a, "iface"),
		 num(a, "netns"), str(a, "family"), str(a, "addr"),
		 num(a, "prefixlen"));
	return 0;
}

json_t *crawl_changes(json_t *prev, json_t *cur)
{
	json_t *out = json_array();
	json_t *before, *after;

	compare(prev, cur, "ps", process_identity, "process-started",
		"process-exited", out);
	compare(prev, cur, "lsmod", module_identity, "module-loaded",
		"module-unloaded", out);
	compare(prev, cur, "ss", socket_identity, "socket-opened",
		"socket-closed", out);
	/* Records with keyhole check's findings (watch --check). */
	compare(json_object_get(prev, "check"), json_object_get(cur, "check"),
		"findings", finding_identity, "finding-appeared",
		"finding-cleared", out);
	before = json_pack("{s:o}", "addrs", iface_addrs(prev));
	after = json_pack("{s:o}", "addrs", iface_addrs(cur));
	compare(before, after, "addrs", addr_identity, "address-added",
		"address-removed", out);
	json_decref(before);
	json_decref(after);
	return out;
}
