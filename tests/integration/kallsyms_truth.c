// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole kallsyms` lists the kernel's own symbols as the
 * guest's /proc/kallsyms does (its truth daemon is root and kptr_restrict
 * is 0: real addresses), one per name: as many as the guest has names,
 * and for a sample spread over the whole table plus the symbols rootkit
 * checks start from, an address (KASLR applied) and type the guest lists
 * for that name, its global one where it has one; in address order;
 * `-m TEXT` keeps exactly the names containing TEXT, and a TEXT that is
 * not printable is a usage error (exit 2).
 */
#include <ctype.h>

#include "guest.h"

#define SAMPLE 24

static const char *sym_name(const json_t *s)
{
	return json_string_value(json_object_get(s, "name"));
}

/* "ADDR TYPE" of every symbol called name, "\n"-joined. */
static void keyhole_entries(json_t *syms, const char *name, char *out,
			    size_t size)
{
	json_t *s;
	size_t i, n = 0;

	out[0] = 0;
	json_array_foreach(syms, i, s)
		if (!strcmp(sym_name(s), name))
			n += snprintf(out + n, n < size ? size - n : 0,
				      "%016llx %s\n",
				      strtoull(json_string_value(json_object_get(
					      s, "addr")), NULL, 16),
				      json_string_value(json_object_get(s,
									"type")));
}

/* Whether "ADDR TYPE\n" lines have an upper-case (global) type. */
static int has_global(const char *lines)
{
	const char *l;

	for (l = lines; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (isupper((unsigned char)l[17]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const fixed[] = {
		"_text", "sys_call_table", "init_task", "linux_banner",
		"prb", "modules",
	};
	char req[1024], *names[SAMPLE + 6], *out, *line, *save = NULL;
	char want[4096], got[4096];
	unsigned long long prev = 0, count = 0, distinct = 0;
	int status, nr_names = 0, i, compared = 0;
	json_t *doc, *syms, *s;
	struct guest g;
	size_t k, n;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	doc = keyhole_json(&status, "kallsyms %d", g.pid);
	CHECK(status == 0, "kallsyms: exit %d", status);
	syms = doc_list(doc, "kallsyms");
	n = json_array_size(syms);
	CHECK(n > 10000, "only %zu symbols", n);
	json_array_foreach(syms, k, s) {
		unsigned long long addr = strtoull(json_string_value(
			json_object_get(s, "addr")), NULL, 16);

		CHECK(addr >= prev, "symbol %zu (%s) is out of address order",
		      k, sym_name(s));
		prev = addr;
	}

	/* A sample over the table, and the symbols checks start from. */
	for (i = 0; i < 6; i++)
		names[nr_names++] = (char *)fixed[i];
	for (i = 0; i < SAMPLE; i++) {
		const char *name = sym_name(json_array_get(syms,
					(n - 1) * i / (SAMPLE - 1)));

		if (strlen(name) < 40)
			names[nr_names++] = (char *)name;
	}
	n = snprintf(req, sizeof(req), "kallsyms");
	for (i = 0; i < nr_names; i++)
		n += snprintf(req + n, sizeof(req) - n, " %s", names[i]);
	CHECK(n < sizeof(req), "request too long");
	out = guest_truth(&g, req);
	for (i = 0; i < nr_names; i++) {
		char *copy = strdup(out);
		size_t w = 0;

		want[0] = 0;
		for (line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char addr[32], type[4], name[512];

			CHECK(strncmp(line, "error", 5), "the guest's kallsyms: %s",
			      line);
			if (sscanf(line, "count %llu", &count) == 1 ||
			    sscanf(line, "distinct %llu", &distinct) == 1)
				continue;
			CHECK(sscanf(line, "%31s %3s %511s", addr, type, name) == 3,
			      "unexpected kallsyms line '%s'", line);
			if (!strcmp(name, names[i]))
				w += snprintf(want + w, w < sizeof(want) ?
					      sizeof(want) - w : 0,
					      "%016llx %s\n",
					      strtoull(addr, NULL, 16), type);
		}
		free(copy);
		keyhole_entries(syms, names[i], got, sizeof(got));
		/* One of the guest's; a global one if it has one. */
		CHECK(want[0] && got[0] && !strchr(got, '\n')[1] &&
		      strstr(want, got) &&
		      (isupper((unsigned char)got[17]) || !has_global(want)),
		      "symbol %s: keyhole says\n%sthe guest says\n%s",
		      names[i], got, want);
		compared++;
	}
	CHECK(distinct == json_array_size(syms),
	      "keyhole lists %zu of the kernel's symbols, the guest %llu names (%llu symbols)",
	      json_array_size(syms), distinct, count);
	free(out);

	/* -m keeps exactly the names that contain the text. */
	json_decref(doc);
	doc = keyhole_json(&status, "kallsyms -m sys_call %d", g.pid);
	CHECK(status == 0, "kallsyms -m: exit %d", status);
	n = 0;
	json_array_foreach(doc_list(doc, "kallsyms"), k, s) {
		CHECK(strstr(sym_name(s), "sys_call"), "-m sys_call kept %s",
		      sym_name(s));
		n += !strcmp(sym_name(s), "sys_call_table");
	}
	CHECK(n == 1, "-m sys_call: sys_call_table is there %zu times", n);
	json_decref(doc);
	out = run_capture(&status, "%s kallsyms -m \"$(printf 'a\\tb')\" %d 2>&1",
			  env_or("KEYHOLE", "build/bin/keyhole"), g.pid);
	CHECK(status == 2 && strstr(out, "printable"),
	      "kallsyms -m with a tab: exit %d: %s", status, out);
	free(out);
	printf("%d symbols matched /proc/kallsyms (%llu names, as many as the guest's, of %llu symbols)\n",
	       compared, distinct, count);
	return KH_PASS;
}
