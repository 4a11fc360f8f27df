// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole mounts` lists each mount namespace's mounts as the
 * guest's /proc/PID/mounts does, through two techniques. The initial
 * namespace (the lowest inode number, listed first) against init's
 * /proc/1/mounts line for line, in order: device, mount point, type,
 * and the options, whose generic part keyhole gives (the file system's
 * own follow it in the guest's line). kdevtmpfs's namespace, which it
 * made for itself, is there too, holding what the guest shows for it
 * (its /proc/PID/mounts lists only the mounts under its chroot). Mount
 * ids are unique and every parent is a mount of the same namespace.
 */
#include "guest.h"

#define MAX_LINES 256

struct line {
	char dev[256], path[512], type[64], opts[512];
};

static int truth_mounts(const struct guest *g, long pid, struct line *lines)
{
	char req[64], *out, *l, *save = NULL;
	int nr = 0;

	snprintf(req, sizeof(req), "mounts %ld", pid);
	out = guest_truth(g, req);
	for (l = strtok_r(out, "\n", &save); l && nr < MAX_LINES;
	     l = strtok_r(NULL, "\n", &save)) {
		CHECK(sscanf(l, "%255s %511s %63s %511s", lines[nr].dev,
			     lines[nr].path, lines[nr].type,
			     lines[nr].opts) == 4,
		      "unexpected /proc/%ld/mounts line '%s'", pid, l);
		nr++;
	}
	free(out);
	return nr;
}

static int same(const json_t *m, const struct line *l)
{
	const char *opts = json_string_value(json_object_get(m, "options"));
	size_t n = opts ? strlen(opts) : 0;

	return opts && !strcmp(json_need_str((json_t *)m, "devname"), l->dev) &&
	       !strcmp(json_need_str((json_t *)m, "path"), l->path) &&
	       !strcmp(json_need_str((json_t *)m, "fstype"), l->type) &&
	       !strncmp(l->opts, opts, n) &&
	       (l->opts[n] == ',' || !l->opts[n]);
}

static void compare(const char *technique, json_t *doc,
		    const struct line *init, int nr_init,
		    const struct line *dev, int nr_dev)
{
	json_t *mounts = doc_list(doc, "mounts"), *m, *p;
	json_int_t first_ns = 0, dev_ns = 0;
	int in_init = 0, i;
	size_t k, j;

	json_array_foreach(mounts, k, m) {
		json_int_t ns = json_integer_value(json_object_get(m, "ns"));
		json_int_t parent = json_integer_value(json_object_get(m, "parent_id"));
		int parent_found = 0;

		if (!k)
			first_ns = ns;
		/* ids unique; parents in the same namespace (the root's: itself or 0) */
		json_array_foreach(mounts, j, p) {
			if (j != k)
				CHECK(json_integer_value(json_object_get(p, "id")) !=
				      json_integer_value(json_object_get(m, "id")),
				      "%s: two mounts with id %lld", technique,
				      json_integer_value(json_object_get(m, "id")));
			if (json_integer_value(json_object_get(p, "id")) == parent &&
			    json_integer_value(json_object_get(p, "ns")) == ns)
				parent_found = 1;
		}
		CHECK(parent_found || !strcmp(json_need_str(m, "path"), "/"),
		      "%s: mount %s's parent %lld is no mount of its namespace",
		      technique, json_dumps(m, 0), (long long)parent);
		if (ns != first_ns)
			continue;
		CHECK(in_init < nr_init && same(m, &init[in_init]),
		      "%s: mount %d of the initial namespace is %s, the guest's is '%s %s %s %s'",
		      technique, in_init, json_dumps(m, 0),
		      in_init < nr_init ? init[in_init].dev : "(none)",
		      in_init < nr_init ? init[in_init].path : "",
		      in_init < nr_init ? init[in_init].type : "",
		      in_init < nr_init ? init[in_init].opts : "");
		in_init++;
	}
	CHECK(in_init == nr_init, "%s: %d mounts in the initial namespace, the guest's /proc/1/mounts has %d",
	      technique, in_init, nr_init);
	/* kdevtmpfs's own namespace holds what the guest shows for it. */
	for (i = 0; i < nr_dev; i++) {
		int found = 0;

		json_array_foreach(mounts, k, m) {
			json_int_t ns = json_integer_value(json_object_get(m, "ns"));

			if (ns != first_ns && same(m, &dev[i])) {
				found = 1;
				dev_ns = ns;
			}
		}
		CHECK(found, "%s: kdevtmpfs's mount '%s %s %s %s' is in no other namespace",
		      technique, dev[i].dev, dev[i].path, dev[i].type,
		      dev[i].opts);
	}
	printf("%s: %d mounts of the initial namespace as /proc/1/mounts; kdevtmpfs's namespace %lld holds its %d\n",
	       technique, in_init, (long long)dev_ns, nr_dev);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	static struct line init[MAX_LINES], dev[MAX_LINES];
	int nr_init, nr_dev, i, status;
	struct guest g;
	json_t *doc;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	nr_init = truth_mounts(&g, 1, init);
	nr_dev = truth_mounts(&g, guest_pid_of(&g, "kdevtmpfs"), dev);
	CHECK(nr_init >= 5 && nr_dev >= 1,
	      "the guest has %d mounts, kdevtmpfs %d", nr_init, nr_dev);
	for (i = 0; i < 2; i++) {
		doc = keyhole_json_whole(&status, "--technique %s mounts %d",
					 techniques[i], g.pid);
		CHECK(status == 0, "mounts via %s: exit %d", techniques[i],
		      status);
		compare(techniques[i], doc, init, nr_init, dev, nr_dev);
		json_decref(doc);
	}
	return KH_PASS;
}
