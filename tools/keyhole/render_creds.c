// SPDX-License-Identifier: GPL-2.0-only
/*
 * creds as text: each process's ids as /proc/PID/status's Uid: and Gid:
 * lines give them (real, effective, saved, file system), its capability
 * sets, its struct cred, and the processes that share that cred (none on
 * a healthy guest: Volatility's check_creds).
 */
#include <inttypes.h>
#include <stdio.h>

#include "keyhole.h"
#include "render.h"

const struct table_column creds_columns[] = {
	{ "PID", TABLE_RIGHT, "the process's id" },
	{ "COMMAND", 0, "the process's command name" },
	{ "UID", 0, "real, effective, saved and file-system uid, as Uid:" },
	{ "GID", 0, "the same gids, as Gid:" },
	{ "CAPEFF", 0, "the effective capabilities, as CapEff:" },
	{ "CAPPRM", TABLE_HIDDEN, "the permitted capabilities, as CapPrm:" },
	{ "CAPINH", TABLE_HIDDEN, "the inheritable capabilities, as CapInh:" },
	{ "CAPBND", TABLE_HIDDEN, "the bounding set, as CapBnd:" },
	{ "CAPAMB", TABLE_HIDDEN, "the ambient capabilities, as CapAmb:" },
	{ "CRED", 0, "the struct cred's kernel address (real_cred, as /proc reads)" },
	{ "SHARED", 0, "other processes on the same cred (a finding: processes get their own)" },
	{ NULL },
};

static void ids(const json_t *c, const char *const keys[4], char *buf,
		size_t size)
{
	snprintf(buf, size, "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
		 field_u64(c, keys[0]), field_u64(c, keys[1]),
		 field_u64(c, keys[2]), field_u64(c, keys[3]));
}

void render_creds(const json_t *doc, FILE *out)
{
	static const char *const uids[4] = { "uid", "euid", "suid", "fsuid" };
	static const char *const gids[4] = { "gid", "egid", "sgid", "fsgid" };
	const json_t *creds = json_object_get(doc, "creds"), *c, *p;
	struct table *t = table_new(creds_columns);
	size_t i, j;

	json_array_foreach(creds, i, c) {
		char pid[16], uid[64], gid[64], shared[128] = "-";
		const char *cells[] = {
			pid, field_str(c, "comm"), uid, gid,
			field_str(c, "cap_eff"), field_str(c, "cap_prm"),
			field_str(c, "cap_inh"), field_str(c, "cap_bnd"),
			field_str(c, "cap_amb"), field_str(c, "real_cred"), shared,
		};
		size_t n = 0;

		snprintf(pid, sizeof(pid), "%" PRId64,
			 (int64_t)field_int(c, "pid"));
		ids(c, uids, uid, sizeof(uid));
		ids(c, gids, gid, sizeof(gid));
		json_array_foreach(json_object_get(c, "shared_with"), j, p)
			if (n < sizeof(shared))
				n += snprintf(shared + n, sizeof(shared) - n,
					      "%s%" PRId64, j ? "," : "",
					      (int64_t)json_integer_value(p));
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}
