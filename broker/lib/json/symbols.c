// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel's symbols as JSON (kh_json_kallsyms): addresses as "0x..."
 * strings, names made printable (kallsyms' tables came from guest RAM).
 */
#include <inttypes.h>
#include <stdio.h>

#include "json/format.h"

/* KSYM_NAME_LEN of Linux 6.1, with room to spare. */
#define NAME_LEN 600

json_t *kh_json_kallsyms(const struct kh_symbol_list *list)
{
	json_t *array = json_array();
	char addr[24], type[2] = "?", name[NAME_LEN];
	unsigned int i;

	for (i = 0; array && i < list->nr; i++) {
		const struct kh_symbol *s = &list->symbols[i];

		snprintf(addr, sizeof(addr), "0x%" PRIx64, s->addr);
		type[0] = s->type > 0x20 && s->type < 0x7f ? s->type : '?';
		kh_printable(s->name, sizeof(name), name);
		if (json_array_append_new(array,
					  json_pack("{s:s, s:s, s:s}",
						    "addr", addr, "type", type,
						    "name", name))) {
			json_decref(array);
			return NULL;
		}
	}
	return array;
}
