// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the kernel profile built from guest RAM on the first attach is
 * cached on disk and reused by the next attach to the same kernel (with
 * identical results); a damaged cache file is detected, ignored and
 * rebuilt, never trusted; and a disabled cache still works.
 */
#include <dirent.h>
#include <unistd.h>

#include "guest.h"

static json_t *attach(const char *dir, int pid, int want_cached)
{
	json_t *doc;
	int status;

	doc = keyhole_json(&status, "--cache-dir '%s' vm %d", dir, pid);
	CHECK(status == 0, "vm with cache %s: %s", dir, json_dumps(doc, 0));
	CHECK(json_is_true(json_object_get(doc, "profile_cached")) ==
	      want_cached, "profile_cached should be %d (cache '%s')",
	      want_cached, dir);
	return doc;
}

static void damage_cache(const char *dir)
{
	struct dirent *de;
	char path[8192];
	int damaged = 0;
	DIR *d = opendir(dir);

	CHECK(d, "no cache directory %s", dir);
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".kprof"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		CHECK(!truncate(path, 4096), "truncate %s", path);
		damaged++;
	}
	closedir(d);
	CHECK(damaged == 1, "expected one cached profile, found %d", damaged);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/keyhole-cache-test.XXXXXX";
	json_t *cold, *warm, *rebuilt;
	struct guest g;
	char *out;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	CHECK(mkdtemp(dir), "mkdtemp");

	cold = attach(dir, g.pid, 0);
	warm = attach(dir, g.pid, 1);
	CHECK(json_equal(json_object_get(cold, "kernel_virt"),
			 json_object_get(warm, "kernel_virt")) &&
	      json_equal(json_object_get(cold, "kernel_banner"),
			 json_object_get(warm, "kernel_banner")),
	      "cached profile places the kernel differently");
	printf("cold attach %.1f ms, warm attach %.1f ms\n",
	       json_real_value(json_object_get(cold, "attach_ms")),
	       json_real_value(json_object_get(warm, "attach_ms")));

	damage_cache(dir);
	rebuilt = attach(dir, g.pid, 0);
	CHECK(json_equal(json_object_get(cold, "kernel_virt"),
			 json_object_get(rebuilt, "kernel_virt")),
	      "rebuilt profile differs");
	attach(dir, g.pid, 1);
	attach("", g.pid, 0);

	out = run_capture(&status, "rm -rf '%s'", dir);
	free(out);
	return KH_PASS;
}
