// SPDX-License-Identifier: GPL-2.0-only
/*
 * ps, lsof and maps as text: ps and lsof as tables (table.c), maps
 * laid out as /proc/PID/maps.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "keyhole.h"
#include "render.h"

/* /proc/PID/maps pads the path to this column (25 + 6 * sizeof(void *)). */
#define PATH_COLUMN 73
/* The sizes of struct kh_file's and struct kh_vma's path. */
#define PATH_LEN 256

const struct table_column ps_columns[] = {
	{ "UID", TABLE_RIGHT, "the effective user id" },
	{ "PID", TABLE_RIGHT, "the process's id (its thread group's)" },
	{ "TID", TABLE_RIGHT | TABLE_THREADS, "the thread's id" },
	{ "PPID", TABLE_RIGHT, "the parent process's id" },
	{ "STIME", 0, "when it started: HH:MM today, MonDD this year, else the year" },
	{ "TTY", 0, "the controlling terminal, or ?" },
	{ "TIME", TABLE_RIGHT, "CPU time, [DD-]HH:MM:SS (a process's: all its threads')" },
	{ "CMD", 0, "the command line; [name] when it has none (a kernel thread)" },
	{ "RUID", TABLE_RIGHT | TABLE_HIDDEN, "the real user id" },
	{ "GID", TABLE_RIGHT | TABLE_HIDDEN, "the effective group id" },
	{ "RGID", TABLE_RIGHT | TABLE_HIDDEN, "the real group id" },
	{ "S", TABLE_HIDDEN, "the state, a letter as in /proc/PID/stat" },
	{ "COMM", TABLE_HIDDEN, "the command name" },
	{ "THREADS", TABLE_RIGHT | TABLE_HIDDEN, "threads in its process" },
	{ "ADDR", TABLE_HIDDEN, "the task_struct's kernel address" },
	{ NULL },
};

/* The columns that may draw ps --forest's tree: CMD as ps, else COMM. */
static const int ps_trees[] = { 7, 12, -1 };
#define PS_CELLS 15

/* One task's cells, in ps_columns' order, in the buffers of c. */
struct ps_cells {
	char uid[16], pid[16], tid[16], ppid[16], stime[16], time[32];
	char ruid[16], gid[16], rgid[16], threads[16], addr[24];
	char state[2], comm[KH_COMM_LEN], tty[KH_TTY_LEN];
	char cmd[4096];
	const char *cell[PS_CELLS];
};

/*
 * As ps's STIME (procps's pr_stime): the hour and minute for a start
 * today, the month and day for one this year, else the year; in local
 * time.
 */
static void format_stime(const char *utc, time_t now, char *out,
			 size_t size)
{
	struct tm tm = { 0 }, local, today;
	const char *end = strptime(utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
	time_t t;

	snprintf(out, size, "?");
	if (!end || *end)
		return;
	t = timegm(&tm);
	if (!localtime_r(&t, &local) || !localtime_r(&now, &today))
		return;
	if (local.tm_year != today.tm_year)
		strftime(out, size, "%Y", &local);
	else if (local.tm_yday != today.tm_yday)
		strftime(out, size, "%b%d", &local);
	else
		strftime(out, size, "%H:%M", &local);
}

/* As ps's TIME: [DD-]HH:MM:SS of whole seconds. */
static void format_cpu_time(double secs, char *out, size_t size)
{
	unsigned long long s = secs > 0 && secs < 1e15 ? (unsigned long long)secs : 0;

	if (s >= 86400)
		snprintf(out, size, "%llu-%02llu:%02llu:%02llu", s / 86400,
			 s / 3600 % 24, s / 60 % 60, s % 60);
	else
		snprintf(out, size, "%02llu:%02llu:%02llu", s / 3600,
			 s / 60 % 60, s % 60);
}

/* argv joined by spaces; [comm] when there is none, as ps shows it. */
static void format_cmd(const json_t *task, const char *comm, char *out,
		       size_t size)
{
	const json_t *argv = json_object_get(task, "cmdline"), *arg;
	size_t i, n = 0;

	json_array_foreach(argv, i, arg) {
		const char *s = json_string_value(arg);
		char printable[4096];

		if (!s || n >= size)
			continue;
		kh_printable(s, sizeof(printable), printable);
		n += snprintf(out + n, size - n, "%s%s", i ? " " : "",
			      printable);
	}
	/* No argv read at all (the agent technique): the name as it is. */
	if (!argv)
		snprintf(out, size, "%s", comm);
	else if (!n)
		snprintf(out, size, "[%s]%s", comm,
			 !strcmp(field_str(task, "state"), "Z") ? " <defunct>" : "");
}

static const char *const *ps_cells(const json_t *task, struct ps_cells *c)
{
	const char *tty = field_str(task, "tty");
	unsigned int i = 0;

	/* A document with the real uid only: that one. */
	snprintf(c->uid, sizeof(c->uid), "%u", (unsigned int)field_int(task,
		 json_object_get(task, "euid") ? "euid" : "uid"));
	snprintf(c->pid, sizeof(c->pid), "%d", (int)field_int(task, "tgid"));
	snprintf(c->tid, sizeof(c->tid), "%d", (int)field_int(task, "pid"));
	snprintf(c->ppid, sizeof(c->ppid), "%d", (int)field_int(task, "ppid"));
	format_stime(field_str(task, "start_utc"), time(NULL), c->stime,
		     sizeof(c->stime));
	snprintf(c->tty, sizeof(c->tty), "%s", tty[0] ? tty : "?");
	format_cpu_time(json_number_value(json_object_get(task, "cpu_time")),
			c->time, sizeof(c->time));
	kh_printable(field_str(task, "comm"), KH_COMM_LEN, c->comm);
	format_cmd(task, c->comm, c->cmd, sizeof(c->cmd));
	snprintf(c->ruid, sizeof(c->ruid), "%u",
		 (unsigned int)field_int(task, "uid"));
	snprintf(c->gid, sizeof(c->gid), "%u",
		 (unsigned int)field_int(task, "egid"));
	snprintf(c->rgid, sizeof(c->rgid), "%u",
		 (unsigned int)field_int(task, "gid"));
	/* One letter, as /proc/PID/stat has it. */
	kh_printable(field_str(task, "state"), sizeof(c->state), c->state);
	snprintf(c->threads, sizeof(c->threads), "%d",
		 (int)field_int(task, "threads"));
	snprintf(c->addr, sizeof(c->addr), "%s", field_str(task, "addr"));
	c->cell[i++] = c->uid;
	c->cell[i++] = c->pid;
	c->cell[i++] = c->tid;
	c->cell[i++] = c->ppid;
	c->cell[i++] = c->stime;
	c->cell[i++] = c->tty;
	c->cell[i++] = c->time;
	c->cell[i++] = c->cmd;
	c->cell[i++] = c->ruid;
	c->cell[i++] = c->gid;
	c->cell[i++] = c->rgid;
	c->cell[i++] = c->state;
	c->cell[i++] = c->comm;
	c->cell[i++] = c->threads;
	c->cell[i++] = c->addr;
	return c->cell;
}

void render_ps(const json_t *doc, FILE *out)
{
	const json_t *tasks = json_object_get(doc, "ps");
	struct table *t = table_new(ps_columns);
	struct ps_cells c;
	const json_t *task;
	size_t i;

	json_array_foreach(tasks, i, task)
		table_row(t, ps_cells(task, &c));
	table_print(t, out);
	table_free(t);
}


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
	const json_t *tasks = json_object_get(doc, "ps");
	struct table *t = table_new_tree(ps_columns, ps_trees);
	size_t nr = json_array_size(tasks), i, j, nr_pids, *stack;
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
	json_array_foreach(tasks, i, task) {
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
	{ "TID", TABLE_RIGHT | TABLE_THREADS, "a thread with an fd table of its own (unshare(CLONE_FILES)); shown when one has" },
	{ "USER", TABLE_RIGHT, "the process's effective user id" },
	{ "FD", TABLE_RIGHT, "the file descriptor and its mode: r, w or u (both)" },
	{ "TYPE", 0, "REG, DIR, CHR, BLK, FIFO, LNK, a_inode, IPv4, IPv6, unix, netlink, sock" },
	{ "DEVICE", TABLE_RIGHT, "major,minor; a device file's own; an inet socket's inode, a unix socket's address" },
	{ "SIZE/OFF", TABLE_RIGHT, "0t and the offset of a device, pipe or socket, else the size" },
	{ "NODE", TABLE_RIGHT, "the inode number; TCP or UDP for an inet socket" },
	{ "NAME", 0, "the path, or pipe:[ino], anon_inode:[..]; a socket's endpoints (and TCP state), or its path and type=" },
	{ "ADDR", TABLE_HIDDEN, "the struct file's kernel address" },
	{ NULL },
};

/* A socket's TYPE as lsof names it by its family. */
static const char *lsof_type(const json_t *file)
{
	static const struct {
		const char *family, *type;
	} types[] = {
		{ "inet", "IPv4" }, { "inet6", "IPv6" }, { "unix", "unix" },
		{ "netlink", "netlink" }, { "packet", "pack" },
	};
	const char *type = field_str(file, "type");
	const char *family = field_str(file, "family");
	size_t i;

	if (strcmp(type, "SOCK"))
		return type;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(family, types[i].family))
			return types[i].type;
	return "sock";
}

/* An inet socket, as lsof shows it: the one the read decoded, or NULL. */
static const json_t *inet_socket(const json_t *file)
{
	const json_t *sock = json_object_get(file, "socket");

	return !strncmp(field_str(sock, "proto"), "tcp", 3) ||
	       !strncmp(field_str(sock, "proto"), "udp", 3) ? sock : NULL;
}

/* "MAJOR:MINOR" as lsof writes it, "MAJOR,MINOR". */
static void lsof_device(const json_t *file, const char *type, char *out,
			size_t size)
{
	const char *dev = field_str(file, "device");

	/* lsof's DEVICE of an inet socket is its inode, NODE its protocol */
	if (inet_socket(file)) {
		snprintf(out, size, "%" PRIu64, field_u64(file, "inode"));
		return;
	}
	if (!strcmp(field_str(file, "type"), "SOCK"))
		dev = field_str(file, "sock");
	else if (!strcmp(type, "CHR") || !strcmp(type, "BLK"))
		dev = field_str(file, "rdev");
	snprintf(out, size, "%s", dev);
	if (strchr(out, ':'))
		*strchr(out, ':') = ',';
}

/* An inet endpoint as lsof -n -P writes it: "*:22", "[::1]:7780". */
static void lsof_endpoint(const json_t *sock, const char *addr_key,
			  const char *port_key, char *out, size_t size)
{
	char addr[64];
	const char *a = field_str(sock, addr_key);

	kh_printable(a, sizeof(addr), addr);
	if (!strcmp(addr, "0.0.0.0") || !strcmp(addr, "::"))
		snprintf(out, size, "*:%lld", (long long)field_int(sock,
								   port_key));
	else if (strchr(addr, ':'))
		snprintf(out, size, "[%s]:%lld", addr,
			 (long long)field_int(sock, port_key));
	else
		snprintf(out, size, "%s:%lld", addr,
			 (long long)field_int(sock, port_key));
}

/*
 * lsof's NAME of a socket: "127.0.0.1:41234->127.0.0.1:7778
 * (ESTABLISHED)", "*:22 (LISTEN)", "127.0.0.1:68" (UDP: no state); a
 * unix socket's path and type, "/tmp/kh.sock type=STREAM". A socket the
 * read did not decode keeps its socket:[ino].
 */
static void lsof_socket_name(const json_t *file, char *out, size_t size)
{
	static const struct {
		const char *type, *name;
	} unix_types[] = {
		{ "stream", "STREAM" }, { "dgram", "DGRAM" },
		{ "seqpacket", "SEQPACKET" },
	};
	const json_t *sock = json_object_get(file, "socket");
	char local[80], remote[80], path[PATH_LEN];
	const char *type = "?";
	size_t i;

	if (inet_socket(file)) {
		lsof_endpoint(sock, "local", "lport", local, sizeof(local));
		remote[0] = '\0';
		if (field_int(sock, "rport"))
			lsof_endpoint(sock, "remote", "rport", remote,
				      sizeof(remote));
		snprintf(out, size, "%s%s%s", local, remote[0] ? "->" : "",
			 remote);
		if (!strncmp(field_str(sock, "proto"), "tcp", 3))
			snprintf(out + strlen(out), size - strlen(out),
				 " (%s)", field_str(sock, "state"));
		return;
	}
	if (!strcmp(field_str(sock, "proto"), "unix")) {
		for (i = 0; i < sizeof(unix_types) / sizeof(unix_types[0]); i++)
			if (!strcmp(field_str(sock, "type"), unix_types[i].type))
				type = unix_types[i].name;
		kh_printable(field_str(sock, "path"), sizeof(path), path);
		snprintf(out, size, "%s%stype=%s", path, path[0] ? " " : "",
			 type);
	}
}

/* As lsof: a TID column only when a thread has files of its own. */
static bool any_tid(const json_t *files)
{
	const json_t *file;
	size_t i;

	json_array_foreach(files, i, file)
		if (field_int(file, "tid"))
			return true;
	return false;
}

void render_lsof(const json_t *doc, FILE *out)
{
	const json_t *files = json_object_get(doc, "lsof");
	struct table *t;
	char comm[KH_COMM_LEN], path[PATH_LEN], pid[16], tid[16], fd[24];
	char inode[24];
	char user[16], device[32], size_off[32], addr[24];
	const json_t *file;
	size_t i;

	table_show_threads(any_tid(files));
	t = table_new(lsof_columns);
	json_array_foreach(files, i, file) {
		const char *type = lsof_type(file);
		const char *cells[] = { comm, pid, tid, user, fd, type, device,
					size_off, inode, path, addr };
		const json_t *euid = json_object_get(file, "euid");

		kh_printable(field_str(file, "comm"), sizeof(comm), comm);
		kh_printable(field_str(file, "path"), sizeof(path), path);
		snprintf(pid, sizeof(pid), "%d", (int)field_int(file, "pid"));
		/* lsof's TID: only on a thread's own rows. */
		tid[0] = '\0';
		if (field_int(file, "tid"))
			snprintf(tid, sizeof(tid), "%d",
				 (int)field_int(file, "tid"));
		snprintf(user, sizeof(user), json_is_integer(euid) ? "%u" : "?",
			 (unsigned int)json_integer_value(euid));
		snprintf(fd, sizeof(fd), "%d%s", (int)field_int(file, "fd"),
			 field_str(file, "mode"));
		lsof_device(file, type, device, sizeof(device));
		/*
		 * lsof's SIZE/OFF: a stream's offset (devices, pipes,
		 * sockets), else the size.
		 */
		if (!strcmp(type, "CHR") || !strcmp(type, "BLK") ||
		    !strcmp(type, "FIFO") ||
		    !strcmp(field_str(file, "type"), "SOCK"))
			snprintf(size_off, sizeof(size_off), "0t%lld",
				 (long long)field_int(file, "offset"));
		else
			snprintf(size_off, sizeof(size_off), "%lld",
				 (long long)field_int(file, "size_bytes"));
		snprintf(inode, sizeof(inode), "%" PRIu64,
			 field_u64(file, "inode"));
		if (inet_socket(file))
			snprintf(inode, sizeof(inode), "%s",
				 strncmp(field_str(json_object_get(file, "socket"),
						   "proto"), "tcp", 3) ?
				 "UDP" : "TCP");
		if (json_object_get(file, "socket"))
			lsof_socket_name(file, path, sizeof(path));
		snprintf(addr, sizeof(addr), "%s", field_str(file, "addr"));
		table_row(t, cells);
	}
	table_print(t, out);
	table_free(t);
}

/* One map's lines, as /proc/PID/maps; each after prefix when not NULL. */
static void maps_lines(const json_t *vmas, const char *prefix, FILE *out)
{
	char path[PATH_LEN];
	const json_t *vma;
	size_t i;
	int n;

	json_array_foreach(vmas, i, vma) {
		unsigned int major = 0, minor = 0;

		/* A document without devices: 00:00. */
		if (sscanf(field_str(vma, "device"), "%u:%u", &major,
			   &minor) != 2)
			major = minor = 0;
		if (prefix)
			fputs(prefix, out);
		n = fprintf(out, "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64
			    " %02x:%02x %" PRIu64 " ", field_hex(vma, "start"),
			    field_hex(vma, "end"), field_str(vma, "perms"),
			    field_u64(vma, "offset"), major, minor,
			    field_u64(vma, "inode"));
		/* The document keeps a UTF-8 path as it is; text never does. */
		kh_printable(field_str(vma, "path"), sizeof(path), path);
		if (path[0])
			fprintf(out, "%*s%s",
				n < PATH_COLUMN ? PATH_COLUMN - n : 0, "",
				path);
		fputc('\n', out);
	}
}

void render_maps(const json_t *doc, FILE *out)
{
	maps_lines(json_object_get(doc, "maps"), NULL, out);
}

/* maps --all: every line after its process's id, as grep -H would. */
void render_maps_all(const json_t *doc, FILE *out)
{
	const json_t *procs = json_object_get(doc, "maps");
	const json_t *proc;
	char prefix[24];
	size_t i;

	json_array_foreach(procs, i, proc) {
		snprintf(prefix, sizeof(prefix), "%d ",
			 (int)field_int(proc, "pid"));
		maps_lines(json_object_get(proc, "maps"), prefix, out);
	}
}
