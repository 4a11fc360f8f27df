// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "agent" (class I, agent-assisted): the QEMU guest agent
 * (qemu-ga) inside the guest reads the guest's own /proc for us. It sees
 * OS state, not memory: read always fails with -EOPNOTSUPP, and the
 * engine asks tasks for the process list instead.
 *
 * The process list takes three guest-exec calls whatever the number of
 * processes: `ls /proc` for the pids, then one `cat` of every
 * /proc/PID/stat and one of every /proc/PID/status. A process that exits
 * in between is simply missing from cat's output. Everything the guest
 * returns is parsed as hostile text (access/agent_proc.c) and bounded in count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/technique.h"
#include "access/agent_proc.h"
#include "qemu/guest_agent.h"
#include "qemu/libvirt.h"

/*
 * Per command. Whether an agent answers at all (open, guest-info) is
 * asked with 3 s, so that a channel with no agent behind it, or a paused
 * guest, is reported soon; the work itself gets 10 s a command, because
 * guest-exec forks in the guest, which a loaded guest (with libvirtd in
 * the way) was seen taking more than 3 s to do.
 */
#define QGA_PROBE_MS	3000
#define QGA_COMMAND_MS	10000
#define MAX_PROCS	32768	/* processes listed; beyond is incomplete */

static int agent_connect(struct kh_access *acc, int timeout_ms,
			 struct kh_qga **qga, struct kh_err *err)
{
	if (acc->target && acc->target->libvirt_name[0] &&
	    !acc->target->qga_path[0])
		return kh_libvirt_agent(acc->target, timeout_ms, qga, err);
	if (!acc->target || !acc->target->qga_path[0])
		return kh_err_set(err, ENOENT,
				  "QEMU pid %d has no guest agent channel: start QEMU with -device virtio-serial-pci -chardev socket,path=PATH,server=on,wait=off,id=qga0 -device virtserialport,chardev=qga0,name=" KH_QGA_PORT_NAME " and run qemu-ga in the guest (or set $KEYHOLE_QGA_SOCKET)",
				  (int)acc->pid);
	return kh_qga_connect(acc->target->qga_path, acc->pid,
			      timeout_ms, qga, err);
}

static int agent_open(struct kh_access *acc, struct kh_err *err)
{
	struct kh_qga *qga;
	json_t *ret = NULL;
	int r;

	/* Available means the agent answers and may run programs. */
	r = agent_connect(acc, QGA_PROBE_MS, &qga, err);
	if (r)
		return r;
	r = kh_qga_execute(qga, "guest-info", NULL, &ret, err);
	if (!r) {
		json_t *cmds = json_object_get(ret, "supported_commands"), *c;
		int exec = 0;
		size_t i;

		json_array_foreach(cmds, i, c) {
			const char *name = json_string_value(
				json_object_get(c, "name"));

			if (name && !strcmp(name, "guest-exec") &&
			    json_is_true(json_object_get(c, "enabled")))
				exec = 1;
		}
		if (!exec)
			r = kh_err_set(err, EPERM,
				       "the guest agent on %s does not allow guest-exec (qemu-ga --block-rpcs or an allow-list excludes it)",
				       acc->target->qga_path[0] ?
				       acc->target->qga_path :
				       acc->target->libvirt_name);
	}
	json_decref(ret);
	kh_qga_close(qga);
	return r;
}

static void agent_close(struct kh_access *acc)
{
}

static int agent_read(struct kh_access *acc, struct kh_read *reads,
		      unsigned int nr)
{
	unsigned int i;

	/* The agent sees OS state, not memory. */
	for (i = 0; i < nr; i++)
		reads[i].result = -EOPNOTSUPP;
	return -EOPNOTSUPP;
}

/* Numeric entries of an `ls /proc` listing, as argv for cat. */
static int proc_files(char *listing, const char *file, char ***argvp,
		      unsigned int *argcp, int *incomplete,
		      struct kh_err *err)
{
	char **argv, *line, *save = NULL;
	unsigned int argc = 0;

	argv = calloc(MAX_PROCS, sizeof(*argv));
	if (!argv)
		return kh_err_set(err, ENOMEM, "out of memory");
	for (line = strtok_r(listing, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = strspn(line, "0123456789");

		if (!n || line[n] || n > 10)
			continue;
		if (argc == MAX_PROCS) {
			*incomplete = 1;
			break;
		}
		if (asprintf(&argv[argc], "/proc/%s/%s", line, file) < 0)
			break;
		argc++;
	}
	*argvp = argv;
	*argcp = argc;
	return 0;
}

static void free_argv(char **argv, unsigned int argc)
{
	while (argc)
		free(argv[--argc]);
	free(argv);
}

static int cmp_ids(const void *a, const void *b)
{
	const struct kh_guest_ids *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* One `cat` of /proc/PID/<file> for every pid in the listing. */
static int cat_all(struct kh_qga *qga, char *listing, const char *file,
		   char **out, size_t *len, int *incomplete,
		   struct kh_err *err)
{
	unsigned int argc = 0;
	char **argv = NULL;
	int r, cut = 0;

	r = proc_files(listing, file, &argv, &argc, incomplete, err);
	if (r)
		return r;
	if (!argc) {
		/* cat without files would read its standard input. */
		free(argv);
		return kh_err_set(err, EPROTO,
				  "`ls /proc` in the guest listed no processes");
	}
	r = kh_qga_exec(qga, "/bin/cat", (const char *const *)argv, argc,
			out, len, &cut, err);
	free_argv(argv, argc);
	*incomplete |= cut;
	return r;
}

static int agent_tasks(struct kh_access *acc, struct kh_task **tasksp,
		       size_t *nrp, struct kh_err *err)
{
	char *listing = NULL, *stat = NULL, *status = NULL, *copy = NULL;
	const char *const ls_args[] = { "/proc" };
	struct kh_guest_ids *ids = NULL;
	struct kh_task *tasks = NULL;
	size_t len, stat_len, status_len, nr = 0;
	int incomplete = 0, cut = 0, nids, r;
	struct kh_qga *qga;
	char *p, *end;

	r = agent_connect(acc, QGA_COMMAND_MS, &qga, err);
	if (r)
		return r;
	r = kh_qga_exec(qga, "/bin/ls", ls_args, 1, &listing, &len, &cut,
			err);
	incomplete |= cut;
	copy = r ? NULL : strdup(listing);
	if (!r && !copy)
		r = kh_err_set(err, ENOMEM, "out of memory");
	if (!r)
		r = cat_all(qga, listing, "stat", &stat, &stat_len,
			    &incomplete, err);
	if (!r)
		r = cat_all(qga, copy, "status", &status, &status_len,
			    &incomplete, err);
	kh_qga_close(qga);
	if (r)
		goto out;

	tasks = calloc(MAX_PROCS, sizeof(*tasks));
	ids = calloc(MAX_PROCS, sizeof(*ids));
	if (!tasks || !ids) {
		r = kh_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	nids = kh_guest_parse_status(status, status_len, ids, MAX_PROCS);
	if (nids < 0) {
		incomplete = 1;
		nids = MAX_PROCS;
	}
	qsort(ids, nids, sizeof(*ids), cmp_ids);
	for (p = stat, end = stat + stat_len; p < end && nr < MAX_PROCS;) {
		char *eol = memchr(p, '\n', end - p);
		struct kh_guest_ids key, *id;

		if (!eol)
			eol = end;
		/*
		 * A comm with a newline splits its line: that process is
		 * skipped, and the list says it is incomplete.
		 */
		if (kh_guest_parse_stat(p, eol - p, &tasks[nr])) {
			incomplete = 1;
			p = eol + 1;
			continue;
		}
		key.pid = tasks[nr].pid;
		id = bsearch(&key, ids, nids, sizeof(*ids), cmp_ids);
		p = eol + 1;
		/*
		 * No status: it exited between the two cats, as a process
		 * may exit during any walk.
		 */
		if (!id)
			continue;
		tasks[nr].uid = id->uid;
		tasks[nr].gid = id->gid;
		tasks[nr].euid = id->euid;
		tasks[nr].egid = id->egid;
		nr++;
	}
	if (!nr)
		r = kh_err_set(err, EPROTO,
			       "the guest agent returned no readable /proc/PID/stat");
out:
	free(listing);
	free(copy);
	free(stat);
	free(status);
	free(ids);
	if (r < 0) {
		free(tasks);
		return r;
	}
	*tasksp = tasks;
	*nrp = nr;
	/* 1: the list is real but not whole (see walk/tasks.c). */
	return incomplete;
}

const struct kh_access_ops kh_access_agent = {
	.name = "agent",
	.klass = "I",
	.props = KH_TECHNIQUE_LIVE | KH_TECHNIQUE_AGENT,
	.description = "qemu-ga in the guest reads its own /proc (OS state, not memory)",
	.open = agent_open,
	.read = agent_read,
	.close = agent_close,
	.tasks = agent_tasks,
};
