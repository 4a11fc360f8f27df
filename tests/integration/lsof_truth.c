// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole lsof` shows the open files of the guest's processes
 * exactly as the guest's own /proc/PID/fd does: for init and for the
 * workload processes kh-files (a regular file, /proc/version, /init, a
 * pipe, /dev/null), kh-sockets (TCP, UDP, TCP6 and unix sockets, a pipe)
 * and kh-maps, every fd is there with the same target string (readlink),
 * no fd is invented, the type matches the target, the inode is that of
 * the file the guest's fd refers to (stat through /proc/PID/fd/FD; for a
 * pipe or socket also the number in its name), and the comm is the
 * process's own. Both with -p PID and in the listing of every process,
 * where every process the guest had throughout is shown by its comm.
 * A thread with an fd table of its own (kh-files's second) is listed
 * with its tid, as the guest's /proc/TID/fd shows it.
 *
 * The guest's fds are read before and after keyhole's; only fds present
 * and unchanged in both are required (none of these processes churns
 * fds, but the check must not race with one that did).
 */
#include "guest.h"

struct truth_fd {
	int fd;
	unsigned long long inode;	/* of the file itself (stat) */
	char target[4096];
};

struct truth_fds {
	int nr;
	struct truth_fd fds[256];
};

static void truth_fds(const struct guest *g, int pid, struct truth_fds *t)
{
	char request[64], *out, *line, *save = NULL;

	snprintf(request, sizeof(request), "fds %d", pid);
	out = guest_truth(g, request);
	t->nr = 0;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct truth_fd *f = &t->fds[t->nr];
		int off = 0;

		CHECK(sscanf(line, "%d %llu %n", &f->fd, &f->inode, &off) >= 2 &&
		      off, "unexpected truth fds line '%s'", line);
		CHECK(t->nr < 255, "process %d has too many fds for the test",
		      pid);
		snprintf(f->target, sizeof(f->target), "%s", line + off);
		t->nr++;
	}
	free(out);
}

static const struct truth_fd *find_fd(const struct truth_fds *t, int fd)
{
	int i;

	for (i = 0; i < t->nr; i++)
		if (t->fds[i].fd == fd)
			return &t->fds[i];
	return NULL;
}

static json_t *find_json(json_t *array, int pid, int fd)
{
	json_t *f;
	size_t i;

	json_array_foreach(array, i, f)
		if (json_integer_value(json_object_get(f, "pid")) == pid &&
		    json_integer_value(json_object_get(f, "fd")) == fd)
			return f;
	return NULL;
}

/* The type lsof gives a target, where the target alone decides it. */
static const char *expected_type(const char *target)
{
	if (!strncmp(target, "socket:[", 8))
		return "SOCK";
	if (!strncmp(target, "pipe:[", 6))
		return "FIFO";
	if (!strncmp(target, "anon_inode:", 11))
		return "a_inode";
	if (!strcmp(target, "/dev/null") || !strcmp(target, "/dev/console"))
		return "CHR";
	if (!strcmp(target, "/init") || !strcmp(target, "/proc/version") ||
	    !strncmp(target, "/tmp/kh-", 8))
		return "REG";
	return NULL;
}

static void compare(const char *what, json_t *doc, int pid,
		    const struct truth_fds *before,
		    const struct truth_fds *after)
{
	int i, matched = 0;
	json_t *f;
	size_t k;

	for (i = 0; i < before->nr; i++) {
		const struct truth_fd *t = &before->fds[i];
		const struct truth_fd *a = find_fd(after, t->fd);
		const char *type = expected_type(t->target);
		unsigned long long ino;
		json_t *j;

		if (!a || strcmp(a->target, t->target) || a->inode != t->inode)
			continue;
		j = find_json(doc, pid, t->fd);
		CHECK(j, "%s: process %d fd %d (%s) missing", what, pid,
		      t->fd, t->target);
		CHECK(!strcmp(json_string_value(json_object_get(j, "path")),
			      t->target),
		      "%s: process %d fd %d is '%s', guest says '%s'", what,
		      pid, t->fd,
		      json_string_value(json_object_get(j, "path")),
		      t->target);
		CHECK(!type ||
		      !strcmp(json_string_value(json_object_get(j, "type")),
			      type),
		      "%s: process %d fd %d (%s) has type %s, expected %s",
		      what, pid, t->fd, t->target,
		      json_string_value(json_object_get(j, "type")), type);
		CHECK((unsigned long long)json_integer_value(
			      json_object_get(j, "inode")) == t->inode,
		      "%s: process %d fd %d (%s) inode %lld, guest says %llu",
		      what, pid, t->fd, t->target,
		      json_integer_value(json_object_get(j, "inode")),
		      t->inode);
		if (sscanf(t->target, "socket:[%llu]", &ino) == 1 ||
		    sscanf(t->target, "pipe:[%llu]", &ino) == 1)
			CHECK(ino == t->inode,
			      "the guest's fd %d of %d: %s is inode %llu",
			      t->fd, pid, t->target, t->inode);
		CHECK(!strcmp(json_string_value(json_object_get(j, "type")),
			      "SOCK") ==
		      !!strcmp(json_string_value(json_object_get(j, "sock")),
			       "0x0"),
		      "%s: process %d fd %d: a sock exactly for sockets",
		      what, pid, t->fd);
		matched++;
	}
	/*
	 * Nothing invented: each fd keyhole shows is one the guest had (a
	 * thread's own table is own_table()'s to check).
	 */
	json_array_foreach(doc, k, f) {
		int fd = json_integer_value(json_object_get(f, "fd"));

		if (json_integer_value(json_object_get(f, "pid")) != pid ||
		    json_integer_value(json_object_get(f, "tid")))
			continue;
		CHECK(find_fd(before, fd) || find_fd(after, fd),
		      "%s: process %d fd %d (%s) is not open in the guest",
		      what, pid, fd,
		      json_string_value(json_object_get(f, "path")));
	}
	CHECK(matched >= 3, "%s: only %d stable fds of process %d", what,
	      matched, pid);
}

/*
 * kh-files's second thread has an fd table of its own: keyhole lists it
 * under the thread's tid, fd for fd as the guest's /proc/TID/fd shows
 * it, /tmp/kh-own-fds.txt included, which the process's table (tid 0)
 * does not hold; and lsof's text has a TID column for it.
 */
static void own_table(const struct guest *g, json_t *doc, int pid)
{
	struct truth_fds *t = calloc(1, sizeof(*t));
	int tid = 0, rows = 0, own = 0, status;
	char args[64], row[64], *text;
	json_t *f;
	size_t k;

	CHECK(t, "out of memory");
	json_array_foreach(doc, k, f) {
		int ftid = json_integer_value(json_object_get(f, "tid"));

		if (json_integer_value(json_object_get(f, "pid")) != pid ||
		    !ftid)
			continue;
		CHECK(!tid || tid == ftid,
		      "kh-files: the files of two threads, %d and %d", tid,
		      ftid);
		tid = ftid;
	}
	CHECK(tid && tid != pid,
	      "lsof: no thread of kh-files (%d) with an fd table of its own",
	      pid);
	truth_fds(g, tid, t);
	json_array_foreach(doc, k, f) {
		const char *path = json_string_value(json_object_get(f, "path"));
		const struct truth_fd *fd;

		if (json_integer_value(json_object_get(f, "pid")) != pid)
			continue;
		if (!json_integer_value(json_object_get(f, "tid"))) {
			CHECK(strcmp(path, "/tmp/kh-own-fds.txt"),
			      "kh-files's own table has the thread's file");
			continue;
		}
		fd = find_fd(t, json_integer_value(json_object_get(f, "fd")));
		CHECK(fd && !strcmp(fd->target, path),
		      "thread %d: fd %lld (%s) is not the guest's", tid,
		      json_integer_value(json_object_get(f, "fd")), path);
		own += !strcmp(path, "/tmp/kh-own-fds.txt");
		rows++;
	}
	CHECK(rows == t->nr && own == 1,
	      "thread %d: keyhole lists %d fds (%d of /tmp/kh-own-fds.txt), the guest %d",
	      tid, rows, own, t->nr);
	snprintf(args, sizeof(args), "lsof -p %d %d", pid, g->pid);
	text = keyhole_whole(&status, args);
	snprintf(row, sizeof(row), " %d %d ", pid, tid);
	CHECK(status == 0 && strstr(text, " TID ") && strstr(text, row) &&
	      strstr(text, "/tmp/kh-own-fds.txt"),
	      "lsof -p %d: exit %d, no TID column or row '%s' in\n%s", pid,
	      status, row, text);
	free(text);
	free(t);
}

static const struct truth_task *find_task(const struct truth_task *tasks,
					  int nr, int pid)
{
	int i;

	for (i = 0; i < nr; i++)
		if (tasks[i].pid == pid)
			return &tasks[i];
	return NULL;
}

/*
 * Every file keyhole lists of a process the guest had throughout (in
 * both of its ps lists, the same start time and comm) carries that
 * process's comm. Returns how many processes were so named.
 */
static int same_comms(const char *what, json_t *doc,
		      const struct truth_task *before, int nr_before,
		      const struct truth_task *after, int nr_after)
{
	int named = 0, last = -1;
	json_t *f;
	size_t k;

	json_array_foreach(doc, k, f) {
		int pid = json_integer_value(json_object_get(f, "pid"));
		const struct truth_task *b = find_task(before, nr_before, pid);
		const struct truth_task *a = find_task(after, nr_after, pid);
		const char *comm = json_string_value(json_object_get(f, "comm"));

		if (!a || !b || a->start_ticks != b->start_ticks ||
		    strcmp(a->comm, b->comm))
			continue;
		CHECK(comm && !strcmp(comm, b->comm),
		      "%s: fd %lld of process %d has comm '%s', the guest says '%s'",
		      what, json_integer_value(json_object_get(f, "fd")), pid,
		      comm ? comm : "(null)", b->comm);
		named += pid != last;
		last = pid;
	}
	return named;
}

int main(int argc, char **argv)
{
	static const char *const comms[] = {
		"kh-files", "kh-sockets", "kh-maps", NULL
	};
	struct truth_fds *before, *after;
	struct truth_task *ps_before, *ps_after;
	int pids[4], nr = 0, i, status, nr_ps_before, nr_ps_after, named;
	json_t *all_doc, *one_doc, *all, *one;
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	before = calloc(4, sizeof(*before));
	after = calloc(4, sizeof(*after));
	CHECK(before && after, "out of memory");
	pids[nr++] = 1;
	for (i = 0; comms[i]; i++)
		pids[nr++] = guest_pid_of(&g, comms[i]);

	nr_ps_before = guest_truth_ps(&g, &ps_before);
	for (i = 0; i < nr; i++)
		truth_fds(&g, pids[i], &before[i]);
	all_doc = keyhole_json_whole(&status, "lsof %d", g.pid);
	CHECK(status == 0, "lsof: exit %d: %s", status,
	      json_dumps(all_doc, 0));
	all = doc_list(all_doc, "lsof");
	for (i = 0; i < nr; i++) {
		char what[64];

		one_doc = keyhole_json_whole(&status, "lsof -p %d %d", pids[i],
					     g.pid);
		CHECK(status == 0, "lsof -p %d: exit %d: %s", pids[i], status,
		      json_dumps(one_doc, 0));
		one = doc_list(one_doc, "lsof");
		truth_fds(&g, pids[i], &after[i]);
		snprintf(what, sizeof(what), "lsof -p %d", pids[i]);
		compare(what, one, pids[i], &before[i], &after[i]);
		compare("lsof", all, pids[i], &before[i], &after[i]);
		CHECK(same_comms(what, one, ps_before, nr_ps_before,
				 ps_before, nr_ps_before) == 1,
		      "%s: the process is not named as the guest names it",
		      what);
		CHECK(json_array_size(one) > 0 &&
		      json_integer_value(json_object_get(
			      json_array_get(one, 0), "pid")) == pids[i],
		      "lsof -p %d lists other processes", pids[i]);
		json_decref(one_doc);
	}

	own_table(&g, all, pids[1]);

	/* init, the workload, kh-truth, httpd: a dozen at least. */
	nr_ps_after = guest_truth_ps(&g, &ps_after);
	named = same_comms("lsof", all, ps_before, nr_ps_before, ps_after,
			   nr_ps_after);
	CHECK(named >= 10, "lsof: only %d processes named", named);

	/* A process that does not exist is an error, not an empty list. */
	one_doc = keyhole_json(&status, "lsof -p 2147483647 %d", g.pid);
	CHECK(status == 1 && json_object_get(one_doc, "error"),
	      "lsof of a missing process: exit %d", status);
	json_decref(one_doc);
	json_decref(all_doc);
	free(before);
	free(after);
	free(ps_before);
	free(ps_after);
	printf("lsof_truth: %d processes match the guest's /proc/PID/fd, %d named as the guest names them\n",
	       nr, named);
	return KH_PASS;
}
