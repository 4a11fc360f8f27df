// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * eBPF programs and maps as JSON (kh_json_ebpf): names made printable,
 * the tag as bpftool prints it (16 hex digits), addresses as "0x...".
 */
#include <inttypes.h>
#include <stdio.h>

#include "json/format.h"

static json_t *prog_json(const struct kh_bpf_prog *p)
{
	char name[sizeof(p->name) + 1], tag[17], addr[24];
	unsigned int i;

	kh_printable(p->name, sizeof(name), name);
	for (i = 0; i < 8; i++)
		snprintf(tag + 2 * i, 3, "%02x", p->tag[i]);
	snprintf(addr, sizeof(addr), "0x%" PRIx64, p->addr);
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
			 "id", (json_int_t)p->id, "type", p->type_name,
			 "name", name, "tag", tag,
			 "xlated_bytes", (json_int_t)p->xlated_bytes,
			 "jited_bytes", (json_int_t)p->jited_bytes,
			 "load_time_ns", (json_int_t)p->load_time,
			 "addr", addr);
}

static json_t *map_json(const struct kh_bpf_map *m)
{
	char name[sizeof(m->name) + 1], addr[24];

	kh_printable(m->name, sizeof(name), name);
	snprintf(addr, sizeof(addr), "0x%" PRIx64, m->addr);
	return json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:s}",
			 "id", (json_int_t)m->id, "type", m->type_name,
			 "name", name, "key_size", (json_int_t)m->key_size,
			 "value_size", (json_int_t)m->value_size,
			 "max_entries", (json_int_t)m->max_entries,
			 "flags", (json_int_t)m->flags, "addr", addr);
}

json_t *kh_json_ebpf(const struct kh_bpf_list *list)
{
	json_t *progs = json_array(), *maps = json_array();
	unsigned int i;

	for (i = 0; progs && i < list->nr_progs; i++)
		if (json_array_append_new(progs, prog_json(&list->progs[i])))
			goto fail;
	for (i = 0; maps && i < list->nr_maps; i++)
		if (json_array_append_new(maps, map_json(&list->maps[i])))
			goto fail;
	if (!progs || !maps)
		goto fail;
	return json_pack("{s:o, s:o}", "progs", progs, "maps", maps);
fail:
	json_decref(progs);
	json_decref(maps);
	return NULL;
}
