// SPDX-License-Identifier: GPL-2.0-only
/*
 * ps, lsof and maps as text: ps and lsof as tables (table.c), maps
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

const struct table_column ps_columns[] = {
	{ "PID", TABLE_RIGHT, "the task's id (with -T each thread's)" },
	{ "TGID", TABLE_RIGHT, "its process's id" },
	{ "PPID", TABLE_RIGHT, "the parent process's id" },
	{ "UID", TABLE_RIGHT, "the real user id" },
	{ "S", 0, "the state, a letter as in /proc/PID/stat" },
	{ "COMM", 0, "the command name" },
	{ NULL },
};

void render_ps(const json_t *doc, FILE *out)
{
	struct table *t = table_new(ps_columns);
	char comm[KH_COMM_LEN], pid[16], tgid[16], ppid[16], uid[16];
	const json_t *task;
	size_t i;

	json_array_foreach(doc, i, task) {
		const char *cells[] = { pid, tgid, ppid, uid,
					field_str(task, "state"), comm };

		snprintf(pid, sizeof(pid), "%d", (int)field_int(task, "pid"));
		snprintf(tgid, sizeof(tgid), "%d",
			 (int)field_int(task, "tgid"));
		snprintf(ppid, sizeof(ppid), "%d",
			 (int)field_int(task, "ppid"));
		snprintf(uid, sizeof(uid), "%u",
			 (unsigned int)field_int(task, "uid"));
		kh_printable(field_str(task, "comm"), KH_COMM_LEN, comm);
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}

const struct table_column lsof_columns[] = {
	{ "COMMAND", 0, "the process's command name" },
	{ "PID", TABLE_RIGHT, "the process's id" },
	{ "FD", TABLE_RIGHT, "the file descriptor" },
	{ "TYPE", 0, "REG, DIR, CHR, BLK, FIFO, SOCK, LNK, a_inode or ?" },
	{ "INODE", TABLE_RIGHT, "the inode number" },
	{ "NAME", 0, "the path, or pipe:[ino], socket:[ino], anon_inode:[..]" },
	{ NULL },
};

void render_lsof(const json_t *doc, FILE *out)
{
	struct table *t = table_new(lsof_columns);
	char comm[KH_COMM_LEN], path[PATH_LEN], pid[16], fd[16], inode[24];
	const json_t *file;
	size_t i;

	json_array_foreach(doc, i, file) {
		const char *cells[] = { comm, pid, fd, field_str(file, "type"),
					inode, path };

		kh_printable(field_str(file, "comm"), sizeof(comm), comm);
		kh_printable(field_str(file, "path"), sizeof(path), path);
		snprintf(pid, sizeof(pid), "%d", (int)field_int(file, "pid"));
		snprintf(fd, sizeof(fd), "%d", (int)field_int(file, "fd"));
		snprintf(inode, sizeof(inode), "%" PRIu64,
			 field_u64(file, "inode"));
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
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
