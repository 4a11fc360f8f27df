// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the kernel profile built from guest RAM on the first attach is
 * cached on disk and reused by the next attach to the same kernel, and
 * what keyhole then reports is exactly what it reports with a profile
 * built from RAM: the whole of `vm` (but for the attach time and the
 * cached flag), `ps -T` and `lsmod`, on a guest paused meanwhile so that
 * nothing may differ; a damaged cache file is detected, ignored and
 * rebuilt, never trusted, and again gives the same results; and a
 * disabled cache still works.
 */
#include <dirent.h>
#include <unistd.h>

#include "guest.h"

static struct guest guest;

/* keyhole --json with the cache in dir ("" = no cache); must succeed. */
static json_t *run(const char *dir, const char *cmd)
{
	json_t *doc;
	int status;

	doc = keyhole_json(&status, "--cache-dir '%s' %s %d", dir, cmd,
			   guest.pid);
	CHECK(status == 0, "%s with cache '%s': exit %d: %s", cmd, dir, status,
	      json_dumps(doc, 0));
	return doc;
}

/* The same ps -T and lsmod as with a profile built from RAM. */
static void same_results(const char *dir, json_t *ref_ps, json_t *ref_lsmod,
			 const char *what)
{
	json_t *ps = run(dir, "ps -T"), *lsmod = run(dir, "lsmod");

	/* The whole documents: the lists, and all said of them. */
	CHECK(json_array_size(doc_list(ps, "ps")) > 20 &&
	      json_equal(ps, ref_ps),
	      "%s: ps -T differs from the one with a profile from RAM:\n%s\n%s",
	      what, json_dumps(ps, JSON_COMPACT),
	      json_dumps(ref_ps, JSON_COMPACT));
	CHECK(json_array_size(doc_list(lsmod, "lsmod")) > 1 &&
	      json_equal(lsmod, ref_lsmod),
	      "%s: lsmod differs from the one with a profile from RAM:\n%s\n%s",
	      what, json_dumps(lsmod, JSON_COMPACT),
	      json_dumps(ref_lsmod, JSON_COMPACT));
	json_decref(ps);
	json_decref(lsmod);
}

/* vm output without what may differ between two attaches. */
static json_t *vm_facts(json_t *vm)
{
	json_t *facts = json_deep_copy(vm);

	json_object_del(facts, "attach_ms");
	json_object_del(facts, "profile_cached");
	return facts;
}

static json_t *attach(const char *dir, int want_cached)
{
	json_t *doc = run(dir, "vm");

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
	json_t *cold, *warm, *rebuilt, *ref_ps, *ref_lsmod, *facts;
	char *out;
	int status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&guest, argv[1]);
	CHECK(mkdtemp(dir), "mkdtemp");
	/* Paused by its owner: two walks of it must give the same bytes. */
	guest_hold(&guest);

	/* The reference: a profile built from RAM, no cache at all. */
	ref_ps = run("", "ps -T");
	ref_lsmod = run("", "lsmod");
	json_decref(attach("", 0));

	cold = attach(dir, 0);
	warm = attach(dir, 1);
	facts = vm_facts(cold);
	CHECK(json_equal(facts, vm_facts(warm)),
	      "vm with a cached profile differs:\n%s\n%s",
	      json_dumps(facts, JSON_COMPACT),
	      json_dumps(vm_facts(warm), JSON_COMPACT));
	printf("cold attach %.1f ms, warm attach %.1f ms\n",
	       json_real_value(json_object_get(cold, "attach_ms")),
	       json_real_value(json_object_get(warm, "attach_ms")));
	same_results(dir, ref_ps, ref_lsmod, "cached profile");

	damage_cache(dir);
	rebuilt = attach(dir, 0);
	CHECK(json_equal(facts, vm_facts(rebuilt)),
	      "vm with a rebuilt profile differs:\n%s\n%s",
	      json_dumps(facts, JSON_COMPACT),
	      json_dumps(vm_facts(rebuilt), JSON_COMPACT));
	json_decref(attach(dir, 1));
	same_results(dir, ref_ps, ref_lsmod, "profile rebuilt after damage");

	out = run_capture(&status, "rm -rf '%s'", dir);
	free(out);
	return KH_PASS;
}
