// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ELF objects as JSON (kh_json_elfs): addresses as "0x..." strings, the
 * path as a map's (kept if valid UTF-8, else printable), the type by its
 * name as readelf gives it, and null for what a header that was not
 * resident could not say.
 */
#include <inttypes.h>
#include <stdio.h>

#include "json/format.h"

static json_t *type_json(const struct kh_elf *e)
{
	static const char *const names[] = { "NONE", "REL", "EXEC", "DYN",
					     "CORE" };

	if (!e->resident)
		return json_null();
	if (e->type < sizeof(names) / sizeof(names[0]))
		return json_string(names[e->type]);
	return json_integer(e->type);
}

static json_t *elf_json(const struct kh_elf *e)
{
	char comm[KH_COMM_LEN + 1], start[24], end[24], path[sizeof(e->path)];
	json_t *name = json_string(e->path);

	if (!name) {
		kh_printable(e->path, sizeof(path), path);
		name = json_string(path);
	}
	kh_printable(e->comm, sizeof(comm), comm);
	snprintf(start, sizeof(start), "0x%" PRIx64, e->start);
	snprintf(end, sizeof(end), "0x%" PRIx64, e->end);
	return json_pack("{s:i, s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:b}",
			 "pid", (int)e->pid, "comm", comm, "start", start,
			 "end", end, "path", name, "inode", (json_int_t)e->inode,
			 "type", type_json(e),
			 "bits", e->resident && e->bits ?
				 json_integer(e->bits) : json_null(),
			 "exe", e->exe);
}

json_t *kh_json_elfs(const struct kh_elf_list *list)
{
	json_t *array = json_array();
	unsigned int i;

	for (i = 0; array && i < list->nr; i++)
		if (json_array_append_new(array, elf_json(&list->elfs[i]))) {
			json_decref(array);
			return NULL;
		}
	return array;
}
