// SPDX-License-Identifier: GPL-2.0-only
/*
 * elfs and libs as text: one row per ELF object a process maps, as
 * Volatility's linux.elfs lists them (PID, Process, Start, End, File
 * Path), with the object's type and whether it is the executable.
 */
#include <inttypes.h>
#include <stdio.h>

#include "keyhole.h"
#include "render.h"

const struct table_column elfs_columns[] = {
	{ "PID", TABLE_RIGHT, "the process's id" },
	{ "COMM", 0, "its command name" },
	{ "START", 0, "where the object's first mapping starts (its ELF header)" },
	{ "END", 0, "where the last mapping of the same file after it ends" },
	{ "TYPE", 0, "e_type: EXEC, DYN, REL, CORE; ? when the header page is not resident" },
	{ "BITS", TABLE_HIDDEN, "32 or 64 (EI_CLASS)" },
	{ "EXE", 0, "yes for the process's executable (mm->exe_file)" },
	{ "INODE", TABLE_HIDDEN, "the file's inode number" },
	{ "PATH", 0, "the file, as /proc/PID/maps names it" },
	{ NULL },
};

/* The list of either query: "elfs", or "libs" (without executables). */
void render_elfs(const json_t *doc, FILE *out)
{
	const json_t *elfs = json_object_get(doc, "elfs") ?:
			     json_object_get(doc, "libs"), *e;
	struct table *t = table_new(elfs_columns);
	size_t i;

	json_array_foreach(elfs, i, e) {
		char pid[16], type[16] = "?", bits[8] = "?", inode[24],
		     path[256];
		const json_t *ty = json_object_get(e, "type");
		const char *cells[] = {
			pid, field_str(e, "comm"), field_str(e, "start"),
			field_str(e, "end"), type, bits,
			json_is_true(json_object_get(e, "exe")) ? "yes" : "no",
			inode, path,
		};

		snprintf(pid, sizeof(pid), "%" PRId64,
			 (int64_t)field_int(e, "pid"));
		if (json_is_string(ty))
			snprintf(type, sizeof(type), "%s",
				 json_string_value(ty));
		else if (json_is_integer(ty))
			snprintf(type, sizeof(type), "%" PRId64,
				 (int64_t)json_integer_value(ty));
		if (json_is_integer(json_object_get(e, "bits")))
			snprintf(bits, sizeof(bits), "%" PRId64,
				 (int64_t)field_int(e, "bits"));
		snprintf(inode, sizeof(inode), "%" PRId64,
			 (int64_t)field_int(e, "inode"));
		kh_printable(field_str(e, "path"), sizeof(path), path);
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}
