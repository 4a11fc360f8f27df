// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bash histories as JSON (kh_json_bash): one object per command. The
 * command is kept as it is when it is valid UTF-8 (jansson escapes its
 * control characters), since bash's `history` prints any byte; any
 * other is made printable, as a map's path is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/format.h"

static json_t *command_json(const char *command)
{
	json_t *str = json_string(command);
	size_t size;
	char *shown;

	if (str)
		return str;
	size = strlen(command) + 1;
	shown = malloc(size);
	if (!shown)
		return NULL;
	kh_printable(command, size, shown);
	str = json_string(shown);
	free(shown);
	return str;
}

static json_t *entry_json(const struct kh_bash_entry *e)
{
	char comm[KH_COMM_LEN + 1], addr[24];

	kh_printable(e->comm, sizeof(comm), comm);
	snprintf(addr, sizeof(addr), "0x%" PRIx64, e->addr);
	return json_pack("{s:i, s:s, s:I, s:o, s:s, s:b}", "pid", (int)e->pid,
			 "comm", comm, "time", (json_int_t)e->time,
			 "command", command_json(e->command), "addr", addr,
			 "in_list", e->in_list);
}

json_t *kh_json_bash(const struct kh_bash_list *list)
{
	json_t *array = json_array();
	unsigned int i;

	for (i = 0; array && i < list->nr; i++)
		if (json_array_append_new(array,
					  entry_json(&list->entries[i]))) {
			json_decref(array);
			return NULL;
		}
	return array;
}
