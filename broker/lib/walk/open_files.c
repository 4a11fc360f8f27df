// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Open files of the guest's processes, as /proc/PID/fd shows them:
 * task_struct.files -> files_struct.fdt -> fdtable {max_fds, fd[]}, and of
 * a thread that has a files_struct of its own (unshare(CLONE_FILES)) as
 * /proc/PID/task/TID/fd shows it, with its tid; and for
 * each installed struct file its path (walk/dentry_path.c), inode and type; for
 * sockets the struct sock behind it (file->private_data is the struct socket,
 * socket.sk the sock), which kh_conns() decodes.
 *
 * Cost: one batched read for every step that is per process (files, fdt,
 * fdtable, the fd pointer arrays in chunks), then one path resolution per
 * distinct struct file (stdin/stdout/stderr are shared by most processes
 * and resolved once), then two batched reads for the sockets.
 *
 * Bounds: an fd table may claim at most FD_TABLE_MAX entries, all tables
 * together at most as many pointers as guest RAM holds, and the result at
 * most as many entries as guest RAM holds struct files.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "walk/firsts.h"
#include "walk/path_ahead.h"
#include "walk/scratch.h"
#include "walk/toolkit.h"

/* The kernel's own ceiling for fs.nr_open (sysctl_nr_open_max, x86-64). */
/*
 * At most this many open files per call: each costs a path resolution,
 * and a corrupted fd table must not cost more than a bounded time. More
 * marks the result incomplete.
 */
#define FILES_MAX	(1u << 16)
#define FD_TOTAL_MAX	(1u << 22)	/* fd slots read per call, 32 MiB */
#define PF_KTHREAD	0x00200000

#define FD_TABLE_MAX	(1u << 20)
/* fd pointers per read, and per batch of reads. */
#define FD_CHUNK	4096u
#define FD_BATCH	(64u * 1024)

enum {
	TASK_FILES, FILES_FDT, FDT_MAX_FDS, FDT_FD, FILE_PRIVATE_DATA,
	SOCKET_SK, FILE_SIZE, NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[TASK_FILES] = { "task_struct", "files" },
	[FILES_FDT] = { "files_struct", "fdt" },
	[FDT_MAX_FDS] = { "fdtable", "max_fds" },
	[FDT_FD] = { "fdtable", "fd" },
	[FILE_PRIVATE_DATA] = { "file", "private_data" },
	[SOCKET_SK] = { "socket", "sk" },
	[FILE_SIZE] = { "file", NULL },
};

/*
 * One fd table to read: a process's, or a thread's own (tid: one that
 * unshare(CLONE_FILES) or clone without CLONE_FILES gave a table apart).
 */
struct proc {
	int32_t tgid, tid;
	uint64_t files, fdt;
	uint32_t max_fds;
	uint64_t fd_array;
};

struct walk {
	struct kh_vm *vm;
	const uint32_t *off;
	struct kh_file_list *list;
	unsigned int cap, max_files;
};

static const char *file_type(uint32_t mode, const char *path)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "REG";
	case S_IFDIR: return "DIR";
	case S_IFCHR: return "CHR";
	case S_IFBLK: return "BLK";
	case S_IFIFO: return "FIFO";
	case S_IFSOCK: return "SOCK";
	case S_IFLNK: return "LNK";
	}
	/* Anonymous inodes have no type bits; lsof calls them a_inode. */
	if (!strncmp(path, "anon_inode:", 11))
		return "a_inode";
	return "?";
}

static int add_file(struct walk *w, const struct proc *p, int32_t fd,
		    uint64_t addr, struct kh_err *err)
{
	int32_t tgid = p->tgid;
	struct kh_file_list *list = w->list;
	struct kh_file *file;

	if (list->nr >= w->max_files) {
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"more open files than guest RAM can hold; stopped at process %d",
			tgid);
		return 1;
	}
	if (list->nr == w->cap) {
		unsigned int cap = w->cap ? w->cap * 2 : 64;
		struct kh_file *files = realloc(list->files,
						sizeof(*files) * cap);

		if (!files)
			return kh_err_set(err, ENOMEM,
					  "out of memory for %u open files",
					  cap);
		/*
		 * Zeroed once as the array grows, not per file (300 bytes
		 * a file was 2% of a crawl): bytes past a path's NUL never
		 * hold what the heap held before.
		 */
		memset(files + w->cap, 0, sizeof(*files) * (cap - w->cap));
		list->files = files;
		w->cap = cap;
	}
	/* Type, path and inode are resolve_files'. */
	file = &list->files[list->nr++];
	file->pid = tgid;
	file->tid = p->tid;
	file->fd = fd;
	file->type[0] = '\0';
	file->inode = 0;
	file->path[0] = '\0';
	file->addr = addr;
	file->sock = 0;
	return 0;
}

/*
 * Reads a batch of fd-array chunks (procs[i] from fd start[i], count[i]
 * entries) and appends each installed file. 1 when the result is full.
 */
static int read_chunks(struct walk *w, const struct proc *procs,
		       const unsigned int *which, const uint32_t *start,
		       const uint32_t *count, unsigned int nr, uint64_t *buf,
		       struct kh_read *reads, struct kh_err *err)
{
	unsigned int i, j, pos = 0;
	int ret;

	for (i = 0; i < nr; i++) {
		reads[i] = (struct kh_read){
			.addr = procs[which[i]].fd_array + 8ULL * start[i],
			.buf = buf + pos, .len = 8 * count[i] };
		pos += count[i];
	}
	ret = kh_kva_fetch(w->vm, reads, nr, err);
	if (ret < 0)
		return ret;
	for (i = 0, pos = 0; i < nr; pos += count[i], i++) {
		const struct proc *p = &procs[which[i]];

		if (reads[i].result) {
			kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
				"fd table of process %d at 0x%llx cannot be read",
				p->tgid, (unsigned long long)p->fd_array);
			continue;
		}
		for (j = 0; j < count[i]; j++) {
			uint64_t file = buf[pos + j];

			if (!file)
				continue;
			if (!kh_kernel_ptr(w->vm, file)) {
				kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
					"process %d fd %u: 0x%llx is not a kernel address",
					p->tgid, start[i] + j,
					(unsigned long long)file);
				continue;
			}
			ret = add_file(w, p, start[i] + j, file, err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Every fd array, in batches of at most FD_BATCH pointers. */
static int read_fd_arrays(struct walk *w, const struct proc *procs,
			  unsigned int nr_procs, struct kh_err *err)
{
	unsigned int max_reads = FD_BATCH / FD_CHUNK + 1, nr = 0, fill = 0, i;
	unsigned int *which = calloc(max_reads, sizeof(*which));
	uint32_t *start = calloc(max_reads, sizeof(*start));
	uint32_t *count = calloc(max_reads, sizeof(*count));
	struct kh_read *reads = calloc(max_reads, sizeof(*reads));
	uint64_t *buf = malloc(8 * (FD_BATCH + FD_CHUNK));
	int ret = 0;

	if (!which || !start || !count || !reads || !buf) {
		ret = kh_err_set(err, ENOMEM, "out of memory for fd tables");
		goto out;
	}
	for (i = 0; i < nr_procs && !ret; i++) {
		uint32_t fd;

		for (fd = 0; fd < procs[i].max_fds && !ret; fd += FD_CHUNK) {
			uint32_t n = procs[i].max_fds - fd;

			if (n > FD_CHUNK)
				n = FD_CHUNK;
			which[nr] = i;
			start[nr] = fd;
			count[nr] = n;
			nr++;
			fill += n;
			if (fill >= FD_BATCH || nr == max_reads) {
				ret = read_chunks(w, procs, which, start,
						  count, nr, buf, reads, err);
				nr = fill = 0;
			}
		}
	}
	if (!ret && nr)
		ret = read_chunks(w, procs, which, start, count, nr, buf,
				  reads, err);
out:
	free(which);
	free(start);
	free(count);
	free(reads);
	free(buf);
	return ret < 0 ? ret : 0;
}

/*
 * Each process's tables once. Its first (its leader's, as leaders come
 * first; a thread's when the leader has none, a zombie) is the
 * process's, tid 0; a thread's counts only when the process had not
 * met it yet: its own table then. Two processes that share a table
 * (clone(CLONE_FILES) without CLONE_THREAD) each list it, as /proc does.
 */
static int own_tables(struct proc *procs, unsigned int *nr_procs,
		      struct kh_err *err)
{
	struct kh_addr_set tables = { 0 }, groups = { 0 };
	unsigned int i, n;
	int ret = 0, at;

	for (i = n = 0; i < *nr_procs && ret >= 0; i++) {
		struct proc *p = &procs[i];

		at = kh_addr_set_find(&tables, p->files);
		if (at >= 0 && procs[at].tgid == p->tgid)
			continue;
		ret = kh_addr_set_add(&groups, (uint64_t)(uint32_t)p->tgid + 1);
		if (ret > 0)
			p->tid = 0;
		if (ret >= 0 && at < 0)
			ret = kh_addr_set_put(&tables, p->files, n);
		procs[n++] = *p;
	}
	kh_addr_set_free(&tables);
	kh_addr_set_free(&groups);
	*nr_procs = n;
	return ret < 0 ? kh_err_set(err, ENOMEM,
				    "out of memory for %u fd tables", i) : 0;
}

/*
 * One batch per step from task to fd table: files, then fdt, then the
 * fdtable's max_fds and fd. Processes without files (exited, or whose
 * pointers are not kernel addresses) drop out; the latter mark the result.
 */
static int read_fd_tables(struct walk *w, struct proc *procs,
			  unsigned int *nr_procs, const struct kh_task *tasks,
			  struct kh_err *err)
{
	const uint32_t *off = w->off;
	unsigned int nr = *nr_procs, i, n;
	struct kh_read *reads = calloc(2 * (size_t)nr + 1, sizeof(*reads));
	uint32_t fd_max = kh_max_objects(w->vm, 8), total = 0;
	int ret;

	if (!reads)
		return kh_err_set(err, ENOMEM, "out of memory for %u processes",
				  nr);
	if (fd_max > FD_TABLE_MAX)
		fd_max = FD_TABLE_MAX;
	for (i = 0; i < nr; i++)
		reads[i] = (struct kh_read){
			.addr = tasks[i].addr + off[TASK_FILES],
			.buf = &procs[i].files, .len = 8 };
	ret = kh_kva_fetch(w->vm, reads, nr, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < nr; i++) {
		if (reads[i].result) {
			kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
				"task_struct of process %d cannot be read",
				procs[i].tgid);
			continue;
		}
		if (!procs[i].files)
			continue;	/* exited, or a zombie */
		if (!kh_kernel_ptr(w->vm, procs[i].files)) {
			kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
				"process %d: files 0x%llx is not a kernel address",
				procs[i].tgid,
				(unsigned long long)procs[i].files);
			continue;
		}
		procs[n++] = procs[i];
	}
	nr = n;
	ret = own_tables(procs, &nr, err);
	if (ret)
		goto out;

	for (i = 0; i < nr; i++)
		reads[i] = (struct kh_read){
			.addr = procs[i].files + off[FILES_FDT],
			.buf = &procs[i].fdt, .len = 8 };
	ret = kh_kva_fetch(w->vm, reads, nr, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < nr; i++) {
		if (reads[i].result || !kh_kernel_ptr(w->vm, procs[i].fdt)) {
			kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
				"process %d: files_struct 0x%llx has no readable fd table",
				procs[i].tgid,
				(unsigned long long)procs[i].files);
			continue;
		}
		procs[n++] = procs[i];
	}
	nr = n;

	for (i = 0; i < nr; i++) {
		reads[2 * i] = (struct kh_read){
			.addr = procs[i].fdt + off[FDT_MAX_FDS],
			.buf = &procs[i].max_fds, .len = 4 };
		reads[2 * i + 1] = (struct kh_read){
			.addr = procs[i].fdt + off[FDT_FD],
			.buf = &procs[i].fd_array, .len = 8 };
	}
	ret = kh_kva_fetch(w->vm, reads, 2 * nr, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < nr; i++) {
		struct proc *p = &procs[i];

		if (reads[2 * i].result || reads[2 * i + 1].result ||
		    !kh_kernel_ptr(w->vm, p->fd_array)) {
			kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
				"process %d: fdtable 0x%llx cannot be read",
				p->tgid, (unsigned long long)p->fdt);
			continue;
		}
		if (p->max_fds > fd_max) {
			kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
				"process %d: fd table claims %u entries; read %u",
				p->tgid, p->max_fds, fd_max);
			p->max_fds = fd_max;
		}
		/* Bound the fd slots read over all processes, not just each. */
		if (p->max_fds > FD_TOTAL_MAX - total) {
			kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
				"fd tables of all processes exceed %u entries; cut at process %d",
				FD_TOTAL_MAX, p->tgid);
			p->max_fds = FD_TOTAL_MAX - total;
		}
		total += p->max_fds;
		if (p->max_fds)
			procs[n++] = *p;
	}
	*nr_procs = n;
	ret = 0;
out:
	free(reads);
	return ret;
}

/* Every distinct file's path, fetched ahead in a few batches. */
static void read_ahead(struct kh_vm *vm, const struct kh_file_list *list,
		       const uint32_t *first)
{
	struct kh_scratch_mark mark = kh_scratch_mark();
	uint64_t *files = kh_scratch_alloc(sizeof(*files) * list->nr);
	unsigned int i, n = 0;

	if (files) {
		for (i = 0; i < list->nr; i++)
			if (first[i] == i)
				files[n++] = list->files[i].addr;
		kh_file_paths_read_ahead(vm, files, n);
	}
	kh_scratch_release(mark);
}

/*
 * Path, inode and type of every file; each distinct struct file once.
 * Files whose path cannot be resolved (closed and freed under us, or bad
 * data) are dropped and the result is marked.
 */
static int resolve_files(struct walk *w, struct kh_err *err)
{
	struct kh_file_list *list = w->list;
	struct kh_scratch_mark mark = kh_scratch_mark();
	unsigned int i, n;
	uint32_t *first;

	if (!list->nr)
		return 0;
	/* stdin, stdout and stderr are shared by most processes. */
	first = kh_scratch_alloc(sizeof(*first) * list->nr);
	if (!first || kh_firsts(&list->files[0].addr, sizeof(*list->files),
				list->nr, first) < 0) {
		kh_scratch_release(mark);
		return kh_err_set(err, ENOMEM, "out of memory for %u files",
				  list->nr);
	}
	read_ahead(w->vm, list, first);
	for (i = 0; i < list->nr; i++) {
		struct kh_file *f = &list->files[i];
		uint32_t mode = 0;
		int ret;

		if (first[i] != i) {
			const struct kh_file *prev = &list->files[first[i]];

			/* Resolved already, or dropped (type ""). */
			strcpy(f->type, prev->type);
			if (f->type[0])
				strcpy(f->path, prev->path);
			f->inode = prev->inode;
			continue;
		}
		ret = kh_file_path(w->vm, f->addr, f->path, sizeof(f->path),
				   &f->inode, &mode);
		if (ret == -ESRCH || ret == -ENOMEM) {
			kh_scratch_release(mark);
			return kh_err_set(err, -ret, "reading open files");
		}
		if (ret) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"process %d fd %d: struct file 0x%llx: %s",
				f->pid, f->fd, (unsigned long long)f->addr,
				strerror(-ret));
			f->type[0] = '\0';	/* dropped below */
			continue;
		}
		strcpy(f->type, file_type(mode, f->path));
	}
	kh_scratch_release(mark);
	for (i = n = 0; i < list->nr; i++)
		if (list->files[i].type[0] && n++ != i)
			list->files[n - 1] = list->files[i];
	list->nr = n;
	return 0;
}

/* file->private_data (the struct socket), then socket.sk, for sockets. */
static int resolve_socks(struct walk *w, struct kh_err *err)
{
	struct kh_file_list *list = w->list;
	unsigned int i, n = 0;
	struct kh_read *reads;
	uint64_t *sock;
	int ret;

	reads = calloc(list->nr + 1, sizeof(*reads));
	sock = calloc(list->nr + 1, sizeof(*sock));
	if (!reads || !sock) {
		ret = kh_err_set(err, ENOMEM, "out of memory for sockets");
		goto out;
	}
	for (i = 0; i < list->nr; i++)
		if (!strcmp(list->files[i].type, "SOCK"))
			reads[n++] = (struct kh_read){
				.addr = list->files[i].addr +
					w->off[FILE_PRIVATE_DATA],
				.buf = &sock[i], .len = 8 };
	ret = kh_kva_fetch(w->vm, reads, n, err);
	if (ret < 0)
		goto out;
	for (i = n = 0; i < list->nr; i++) {
		if (!sock[i])
			continue;
		if (!kh_kernel_ptr(w->vm, sock[i])) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"process %d fd %d: socket 0x%llx is not a kernel address",
				list->files[i].pid, list->files[i].fd,
				(unsigned long long)sock[i]);
			continue;
		}
		reads[n++] = (struct kh_read){
			.addr = sock[i] + w->off[SOCKET_SK],
			.buf = &list->files[i].sock, .len = 8 };
	}
	ret = kh_kva_fetch(w->vm, reads, n, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < list->nr; i++) {
		struct kh_file *f = &list->files[i];

		if (f->sock && !kh_kernel_ptr(w->vm, f->sock)) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"process %d fd %d: sock 0x%llx is not a kernel address",
				f->pid, f->fd, (unsigned long long)f->sock);
			f->sock = 0;
		}
	}
out:
	free(reads);
	free(sock);
	return ret;
}

int kh_files_of(struct kh_vm *vm, const struct kh_task_list *tasks,
		int32_t pid, struct kh_file_list **listp, struct kh_err *err)
{
	struct walk w = { .vm = vm };
	struct kh_task *chosen = NULL;
	struct proc *procs = NULL;
	unsigned int i, nr = 0, pass;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	*listp = NULL;
	ret = kh_offsets(vm, fields, NR_FIELDS, &w.off, err);
	if (ret)
		return ret;
	w.max_files = kh_max_objects(vm, w.off[FILE_SIZE]);
	if (w.max_files > FILES_MAX)
		w.max_files = FILES_MAX;
	w.list = calloc(1, sizeof(*w.list));
	if (!w.list)
		return kh_err_set(err, ENOMEM, "out of memory for open files");
	if (tasks->result.flags)
		kh_mark(&w.list->result, tasks->result.flags, "task list: %s",
			tasks->result.problem);
	procs = calloc(tasks->nr + 1, sizeof(*procs));
	chosen = calloc(tasks->nr + 1, sizeof(*chosen));
	if (!procs || !chosen) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u tasks",
				 tasks->nr);
		goto out;
	}
	/*
	 * Leaders first, then the threads of a list with threads: a thread
	 * counts only with a table of its own (own_tables()).
	 */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < tasks->nr; i++) {
			const struct kh_task *t = &tasks->tasks[i];

			if ((pid && t->tgid != pid) ||
			    (t->pid == t->tgid) == pass)
				continue;
			/*
			 * Kernel threads share init_files and /proc shows
			 * them no fds: reading it ~50 times over would only
			 * multiply the cost of a corrupted init_files.
			 */
			if (t->flags & PF_KTHREAD)
				continue;
			chosen[nr] = *t;
			procs[nr].tgid = t->tgid;
			procs[nr++].tid = pass ? t->pid : 0;
		}
	if (pid && !nr) {
		ret = kh_err_set(err, ENOENT, "no process %d in the guest",
				 pid);
		goto out;
	}
	ret = read_fd_tables(&w, procs, &nr, chosen, err);
	if (!ret)
		ret = read_fd_arrays(&w, procs, nr, err);
	if (!ret)
		ret = resolve_files(&w, err);
	if (!ret)
		ret = resolve_socks(&w, err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
out:
	free(procs);
	free(chosen);
	if (ret) {
		kh_file_list_free(w.list);
		return ret;
	}
	*listp = w.list;
	return 0;
}

void kh_file_list_free(struct kh_file_list *list)
{
	if (!list)
		return;
	free(list->files);
	free(list);
}

int kh_files(struct kh_vm *vm, int32_t pid, struct kh_file_list **listp,
	     struct kh_err *err)
{
	struct kh_task_list *tasks;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	*listp = NULL;
	/* With threads: one may have a table of its own. */
	ret = kh_tasks(vm, KH_TASKS_THREADS, &tasks, err);
	if (ret)
		return ret;
	ret = kh_files_of(vm, tasks, pid, listp, err);
	kh_task_list_free(tasks);
	return ret;
}
