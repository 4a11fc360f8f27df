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

/* One task's cells, in ps_columns' order, in the buffers of c. */
struct ps_cells {
	char pid[16], tgid[16], ppid[16], uid[16], comm[KH_COMM_LEN];
	char state[2];
	const char *cell[6];
};

static const char *const *ps_cells(const json_t *task, struct ps_cells *c)
{
	snprintf(c->pid, sizeof(c->pid), "%d", (int)field_int(task, "pid"));
	snprintf(c->tgid, sizeof(c->tgid), "%d", (int)field_int(task, "tgid"));
	snprintf(c->ppid, sizeof(c->ppid), "%d", (int)field_int(task, "ppid"));
	snprintf(c->uid, sizeof(c->uid), "%u",
		 (unsigned int)field_int(task, "uid"));
	kh_printable(field_str(task, "comm"), KH_COMM_LEN, c->comm);
	/* One letter, as /proc/PID/stat has it. */
	kh_printable(field_str(task, "state"), sizeof(c->state), c->state);
	c->cell[0] = c->pid;
	c->cell[1] = c->tgid;
	c->cell[2] = c->ppid;
	c->cell[3] = c->uid;
	c->cell[4] = c->state;
	c->cell[5] = c->comm;
	return c->cell;
}

void render_ps(const json_t *doc, FILE *out)
{
	struct table *t = table_new(ps_columns);
	struct ps_cells c;
	const json_t *task;
	size_t i;

	json_array_foreach(doc, i, task)
		table_row(t, ps_cells(task, &c));
	table_print(t, out);
	table_free(t);
}

/* The column that draws ps --forest's tree. */
#define PS_TREE 5

/* A task and the one it hangs under: a thread's process, else its parent. */
struct forest_node {
	json_int_t pid, up;
	const json_t *task;
	struct table_row *row;
	struct forest_node *above;	/* placed under its row */
	unsigned int level;		/* its depth in the tree */
	bool placed;
};

/* A pid, and whether the tasks under it were placed (once per pid). */
struct pid_scan {
	json_int_t pid;
	size_t scanned;
};

/* Deeper than this, a chain of parents starts again at the top. */
#define FOREST_DEPTH 200

static int by_up(const void *a, const void *b)
{
	const struct forest_node *x = a, *y = b;

	if (x->up != y->up)
		return x->up < y->up ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int by_pid(const void *a, const void *b)
{
	const struct pid_scan *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* bsearch's: a json_int_t key against a struct pid_scan. */
static int by_pid_of(const void *key, const void *elem)
{
	const json_int_t *k = key;
	const struct pid_scan *e = elem;

	return *k < e->pid ? -1 : *k > e->pid;
}

/* The first node hanging under pid, in nodes sorted by_up; or nr. */
static size_t first_under(const struct forest_node *nodes, size_t nr,
			  json_int_t pid)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (nodes[mid].up < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Places node i and everything under it, depth first, children in pid
 * order: a row is made when its node comes off the stack, under the row
 * of the node that pushed it. Each node is pushed once (placed marks
 * it), so the stack never holds more than all of them, and a cycle of
 * parents a hostile guest made ends with nothing lost.
 */
static void place(struct table *t, struct forest_node *nodes, size_t nr,
		  size_t i, size_t *stack, struct pid_scan *pids,
		  size_t nr_pids)
{
	struct ps_cells c;
	size_t depth = 0, j;

	nodes[i].placed = true;
	nodes[i].above = NULL;
	nodes[i].level = 0;
	stack[depth++] = i;
	while (depth) {
		struct forest_node *n = &nodes[stack[--depth]];
		struct pid_scan *scanned;

		/*
		 * Past FOREST_DEPTH a chain starts again at the top: the
		 * tree is printed recursively, at a cost that grows with
		 * the square of its depth.
		 */
		if (n->above && n->above->level + 1 >= FOREST_DEPTH)
			n->above = NULL;
		n->level = n->above ? n->above->level + 1 : 0;
		n->row = table_row_under(t, n->above ? n->above->row : NULL,
					 ps_cells(n->task, &c));
		/* Children of a pid that came twice are the first one's. */
		scanned = bsearch(&n->pid, pids, nr_pids, sizeof(*pids),
				  by_pid_of);
		if (!scanned || scanned->scanned)
			continue;
		scanned->scanned = 1;
		/* Pushed highest pid first: the lowest comes off first. */
		for (j = first_under(nodes, nr, n->pid); j < nr &&
		     nodes[j].up == n->pid; j++)
			;
		while (j-- > 0 && nodes[j].up == n->pid) {
			if (nodes[j].placed)
				continue;
			nodes[j].placed = true;
			nodes[j].above = n;
			stack[depth++] = j;
		}
	}
}

void render_ps_forest(const json_t *doc, FILE *out)
{
	struct table *t = table_new_tree(ps_columns, PS_TREE);
	size_t nr = json_array_size(doc), i, j, nr_pids, *stack;
	struct forest_node *nodes = calloc(nr + 1, sizeof(*nodes));
	struct pid_scan *pids = calloc(nr + 1, sizeof(*pids));
	const json_t *task;

	stack = calloc(nr + 1, sizeof(*stack));
	if (!nodes || !stack || !pids) {
		free(nodes);
		free(stack);
		free(pids);
		table_free(t);
		render_ps(doc, out);
		return;
	}
	json_array_foreach(doc, i, task) {
		json_int_t pid = field_int(task, "pid");
		json_int_t tgid = field_int(task, "tgid");

		nodes[i] = (struct forest_node){
			.pid = pid, .task = task,
			.up = pid != tgid ? tgid : field_int(task, "ppid"),
		};
	}
	for (i = 0; i < nr; i++)
		pids[i].pid = nodes[i].pid;
	qsort(pids, nr, sizeof(*pids), by_pid);
	/* A pid twice: bsearch must find one entry, the first. */
	for (i = 1, j = 1; i < nr; i++)
		if (pids[i].pid != pids[j - 1].pid)
			pids[j++] = pids[i];
	nr_pids = nr ? j : 0;
	qsort(nodes, nr, sizeof(*nodes), by_up);
	/* Roots: those whose parent is not listed (0 for init, kthreadd). */
	for (i = 0; i < nr; i++)
		if (!nodes[i].placed &&
		    !bsearch(&nodes[i].up, pids, nr_pids, sizeof(*pids),
			     by_pid_of))
			place(t, nodes, nr, i, stack, pids, nr_pids);
	/* What is left hangs in a cycle: each such task as a root. */
	for (i = 0; i < nr; i++)
		if (!nodes[i].placed)
			place(t, nodes, nr, i, stack, pids, nr_pids);
	table_print(t, out);
	table_free(t);
	free(nodes);
	free(stack);
	free(pids);
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
