// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole ebpf` lists the guest's loaded eBPF programs and maps
 * as the bpf() syscall does inside it (bpftool's source: each id from
 * BPF_PROG_GET_NEXT_ID / BPF_MAP_GET_NEXT_ID, then its info), through
 * two techniques. The guest's truth daemon loads a socket filter
 * (kh_prog) and an array map (kh_map) and keeps them; then every
 * program's id, type, name, tag, translated and JITed size and load time
 * and every map's id, type, name, key and value size, entries and flags
 * must be the guest's, with none missing and none added.
 */
#include "guest.h"

static int ids(json_t *list)
{
	return (int)json_array_size(list);
}

static long long num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void compare(const char *technique, json_t *doc, char *truth,
		    unsigned int prog_id, unsigned int map_id)
{
	json_t *progs = json_object_get(doc, "progs");
	json_t *maps = json_object_get(doc, "maps");
	int nr_progs = 0, nr_maps = 0, seen_prog = 0, seen_map = 0;
	char *line, *save = NULL, *copy = strdup(truth);

	CHECK(json_is_array(progs) && json_is_array(maps) && copy,
	      "%s: no progs and maps: %s", technique, json_dumps(doc, 0));
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned int id, type, xl, jit, a, b, c, d;
		unsigned long long load;
		char tag[17], name[32];
		const json_t *o = NULL;
		size_t k;

		CHECK(strncmp(line, "error", 5), "the guest's bpf: %s", line);
		if (sscanf(line, "prog %u %u %16s %u %u %llu %31s", &id, &type,
			   tag, &xl, &jit, &load, name) == 7) {
			json_array_foreach(progs, k, o)
				if (num(o, "id") == id)
					break;
			CHECK(k < json_array_size(progs),
			      "%s: program %u of the guest is not listed", technique, id);
			CHECK(!strcmp(json_need_str((json_t *)o, "tag"), tag) &&
			      num(o, "xlated_bytes") == xl &&
			      num(o, "jited_bytes") == jit &&
			      (unsigned long long)num(o, "load_time_ns") == load &&
			      !strcmp(json_need_str((json_t *)o, "name"),
				      strcmp(name, "-") ? name : "") &&
			      (type != 1 || !strcmp(json_need_str((json_t *)o, "type"),
						    "socket_filter")),
			      "%s: program %s, the guest's: %s", technique,
			      json_dumps(o, 0), line);
			seen_prog |= id == prog_id;
			nr_progs++;
		} else if (sscanf(line, "map %u %u %u %u %u %u %31s", &id, &type,
				  &a, &b, &c, &d, name) == 7) {
			json_array_foreach(maps, k, o)
				if (num(o, "id") == id)
					break;
			CHECK(k < json_array_size(maps),
			      "%s: map %u of the guest is not listed", technique, id);
			CHECK(num(o, "key_size") == a && num(o, "value_size") == b &&
			      num(o, "max_entries") == c && num(o, "flags") == d &&
			      !strcmp(json_need_str((json_t *)o, "name"),
				      strcmp(name, "-") ? name : "") &&
			      (type != 2 || !strcmp(json_need_str((json_t *)o, "type"),
						    "array")),
			      "%s: map %s, the guest's: %s", technique,
			      json_dumps(o, 0), line);
			seen_map |= id == map_id;
			nr_maps++;
		} else {
			CHECK(0, "unexpected bpf line '%s'", line);
		}
	}
	free(copy);
	CHECK(seen_prog && seen_map, "%s: kh_prog %u or kh_map %u not in the guest's list",
	      technique, prog_id, map_id);
	CHECK(ids(progs) == nr_progs && ids(maps) == nr_maps,
	      "%s: %d programs and %d maps listed, the guest has %d and %d",
	      technique, ids(progs), ids(maps), nr_progs, nr_maps);
	printf("%s: %d programs and %d maps as the guest's bpf() lists them\n",
	       technique, nr_progs, nr_maps);
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	unsigned int prog_id, map_id;
	struct guest g;
	json_t *doc;
	char *out;
	int i, status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	out = guest_truth(&g, "bpf-load");
	CHECK(sscanf(out, "ok prog=%u map=%u", &prog_id, &map_id) == 2,
	      "the guest's bpf-load: %s", out);
	free(out);
	for (i = 0; i < 2; i++) {
		char *truth = guest_truth(&g, "bpf");

		doc = keyhole_json(&status, "--technique %s ebpf %d",
				   techniques[i], g.pid);
		CHECK(status == 0, "ebpf via %s: exit %d", techniques[i],
		      status);
		compare(techniques[i], doc, truth, prog_id, map_id);
		json_decref(doc);
		free(truth);
	}
	return KH_PASS;
}
