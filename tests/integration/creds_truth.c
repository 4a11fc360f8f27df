// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole creds` gives each process's credentials as the
 * guest's own /proc/PID/status does (through its truth daemon): the four
 * uids and gids (real, effective, saved, file system) and the five
 * capability sets, for every process that lived through the test with
 * the same ones, through two access techniques; the guest's processes
 * include one that is not root. On this clean guest no two processes
 * share a cred (processes get their own at fork), so no entry names
 * another; each names its cred and task at kernel addresses. `-p 1` gives
 * init's alone, and a pid the guest does not have is an error naming it.
 */
#include "guest.h"

struct truth_cred {
	long pid;
	char line[256];		/* "UIDS GIDS CAPS", as the test prints ours */
};

static int truth_creds(const struct guest *g, struct truth_cred **credsp)
{
	char *out = guest_truth(g, "creds"), *line, *save = NULL;
	struct truth_cred *creds = NULL;
	int nr = 0;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *rest;

		CHECK(strncmp(line, "error", 5), "the guest's creds: %s", line);
		creds = realloc(creds, sizeof(*creds) * (nr + 1));
		CHECK(creds, "out of memory");
		creds[nr].pid = strtol(line, &rest, 10);
		CHECK(rest != line && *rest == ' ', "unexpected creds line '%s'",
		      line);
		snprintf(creds[nr].line, sizeof(creds[nr].line), "%s",
			 rest + 1);
		nr++;
	}
	free(out);
	*credsp = creds;
	return nr;
}

static const char *find(const struct truth_cred *creds, int nr, long pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (creds[i].pid == pid)
			return creds[i].line;
	return NULL;
}

/* Our entry in the truth's format. */
static void ours(const json_t *c, char *buf, size_t size)
{
	snprintf(buf, size, "%lld %lld %lld %lld %lld %lld %lld %lld %s %s %s %s %s",
		 json_integer_value(json_object_get(c, "uid")),
		 json_integer_value(json_object_get(c, "euid")),
		 json_integer_value(json_object_get(c, "suid")),
		 json_integer_value(json_object_get(c, "fsuid")),
		 json_integer_value(json_object_get(c, "gid")),
		 json_integer_value(json_object_get(c, "egid")),
		 json_integer_value(json_object_get(c, "sgid")),
		 json_integer_value(json_object_get(c, "fsgid")),
		 json_string_value(json_object_get(c, "cap_inh")),
		 json_string_value(json_object_get(c, "cap_prm")),
		 json_string_value(json_object_get(c, "cap_eff")),
		 json_string_value(json_object_get(c, "cap_bnd")),
		 json_string_value(json_object_get(c, "cap_amb")));
}

static void compare(const char *technique, json_t *doc,
		    const struct truth_cred *before, int nr_before,
		    const struct truth_cred *after, int nr_after)
{
	json_t *creds = doc_list(doc, "creds"), *c;
	int compared = 0, not_root = 0;
	char got[256];
	size_t k;

	json_array_foreach(creds, k, c) {
		long pid = json_integer_value(json_object_get(c, "pid"));
		const char *b = find(before, nr_before, pid);
		const char *a = find(after, nr_after, pid);
		const char *cred = json_string_value(json_object_get(c, "cred"));

		/* The kernel half: 0xff... for 4- and 5-level paging. */
		CHECK(cred && strtoull(cred, NULL, 16) >= 0xff00000000000000ull,
		      "%s: process %ld's cred is at %s", technique, pid,
		      cred ? cred : "(null)");
		/* One that exited mid-walk may read a reused task: not it. */
		if (!a || !b || strcmp(a, b))
			continue;
		CHECK(json_array_size(json_object_get(c, "shared_with")) == 0,
		      "%s: process %ld shares its cred on a clean guest: %s",
		      technique, pid, json_dumps(c, 0));
		ours(c, got, sizeof(got));
		CHECK(!strcmp(got, b), "%s: process %ld's creds:\n%s\nthe guest's:\n%s",
		      technique, pid, got, b);
		compared++;
		not_root += strncmp(b, "0 ", 2) != 0;
	}
	CHECK(compared >= 20 && not_root >= 1,
	      "%s: only %d processes compared (%d not root)", technique,
	      compared, not_root);
	printf("%s: %d processes' creds matched /proc/PID/status (%d not root)\n",
	       technique, compared, not_root);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	struct truth_cred *before, *after;
	int nr_before, nr_after, i, status;
	json_t *docs[2];
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	nr_before = truth_creds(&g, &before);
	for (i = 0; i < 2; i++) {
		docs[i] = keyhole_json_whole(&status, "--technique %s creds %d",
					     techniques[i], g.pid);
		CHECK(status == 0, "creds via %s: exit %d: %s", techniques[i],
		      status, json_dumps(docs[i], 0));
	}
	nr_after = truth_creds(&g, &after);
	for (i = 0; i < 2; i++)
		compare(techniques[i], docs[i], before, nr_before, after,
			nr_after);

	check_pid_filter(&g, "creds");
	return KH_PASS;
}
