// SPDX-License-Identifier: GPL-2.0-only
/*
 * ps, lsof and maps as text: ps and lsof as tables with a header, maps
 * laid out as /proc/PID/maps (the device column is 00:00: keyhole does
 * not resolve devices).
 */
#include <inttypes.h>

#include "keyhole.h"
#include "render.h"

/* /proc/PID/maps pads the path to this column (25 + 6 * sizeof(void *)). */
#define PATH_COLUMN 73
/* The sizes of struct kh_file's and struct kh_vma's path. */
#define PATH_LEN 256

void render_ps(const json_t *doc, FILE *out)
{
	char comm[KH_COMM_LEN];
	const json_t *task;
	size_t i;

	fprintf(out, "%7s %7s %7s %6s %s %s\n", "PID", "TGID", "PPID", "UID",
		"S", "COMM");
	json_array_foreach(doc, i, task) {
		kh_printable(field_str(task, "comm"), KH_COMM_LEN, comm);
		fprintf(out, "%7d %7d %7d %6u %c %s\n",
			(int)field_int(task, "pid"),
			(int)field_int(task, "tgid"),
			(int)field_int(task, "ppid"),
			(unsigned int)field_int(task, "uid"),
			field_str(task, "state")[0], comm);
	}
}

void render_lsof(const json_t *doc, FILE *out)
{
	char comm[KH_COMM_LEN], path[PATH_LEN];
	const json_t *file;
	size_t i;

	fprintf(out, "%-15s %7s %5s %-7s %10s %s\n", "COMMAND", "PID", "FD",
		"TYPE", "INODE", "NAME");
	json_array_foreach(doc, i, file) {
		kh_printable(field_str(file, "comm"), sizeof(comm), comm);
		kh_printable(field_str(file, "path"), sizeof(path), path);
		fprintf(out, "%-15s %7d %5d %-7s %10" PRIu64 " %s\n", comm,
			(int)field_int(file, "pid"), (int)field_int(file, "fd"),
			field_str(file, "type"), field_u64(file, "inode"),
			path);
	}
}

void render_maps(const json_t *doc, FILE *out)
{
	char path[PATH_LEN];
	const json_t *vma;
	size_t i;
	int n;

	json_array_foreach(doc, i, vma) {
		n = fprintf(out, "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64
			    " 00:00 %" PRIu64 " ", field_hex(vma, "start"),
			    field_hex(vma, "end"), field_str(vma, "perms"),
			    field_u64(vma, "offset"), field_u64(vma, "inode"));
		/* The document keeps a UTF-8 path as it is; text never does. */
		kh_printable(field_str(vma, "path"), sizeof(path), path);
		if (path[0])
			fprintf(out, "%*s%s",
				n < PATH_COLUMN ? PATH_COLUMN - n : 0, "",
				path);
		fputc('\n', out);
	}
}
