// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyholed hands over a VM's RAM as a file ("ram"), and a client reads
 * the guest with no daemon in its read path:
 * - the reply carries the memfd behind the guest's RAM and a pidfd of
 *   its QEMU (SCM_RIGHTS); the file is read-only (no write, no writable
 *   mapping) and the pidfd says QEMU runs;
 * - `keyhole --broker --ram-file ps` on it gives the guest's own process
 *   list, field by field, read with memmap from the file;
 * - a client that may not ptrace the QEMU (nobody) gets PermissionDenied
 *   and no descriptor; "ram" with a technique is a BadArgument.
 */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "broker.h"
#include "guest.h"
#include "proto.h"

static char vm_spec[16];	/* the guest's QEMU pid, as a VM argument */

/* The reply to one "ram" request, and how many descriptors came. */
static json_t *ask_ram(const char *sock, json_t *args, int *fds,
		       unsigned int *nr)
{
	struct kh_proto_conn conn;
	json_t *reply = NULL;
	char why[512];

	CHECK(!kh_proto_connect(sock, &conn, why, sizeof(why)), "%s", why);
	CHECK(!kh_proto_send(&conn, "ram", args, 1, why, sizeof(why)), "%s",
	      why);
	do {
		json_decref(reply);
		CHECK(!kh_proto_receive(&conn, &reply, why, sizeof(why)),
		      "%s", why);
	} while (json_integer_value(json_object_get(reply, "id")) != 1);
	*nr = kh_proto_take_fds(&conn, fds, KH_PROTO_MAX_FDS);
	kh_proto_close(&conn);
	return reply;
}

static void check_handed_over(const char *sock, const struct guest *g)
{
	struct pollfd pfd = { .events = POLLIN };
	int fds[KH_PROTO_MAX_FDS];
	unsigned int nr, i;
	json_t *reply, *ranges;
	char *text;
	void *map;

	reply = ask_ram(sock, json_pack("{s:s}", "vm", vm_spec), fds, &nr);
	text = json_dumps(reply, JSON_COMPACT);
	ranges = json_object_get(json_object_get(reply, "return"), "ranges");
	CHECK(json_array_size(ranges) >= 1 && nr == 2,
	      "ram of VM %d: %u descriptors, reply %s", g->pid, nr, text);
	CHECK(json_integer_value(json_object_get(json_object_get(reply,
			"return"), "pid")) == g->pid, "ram names another pid: %s",
	      text);
	CHECK((fcntl(fds[0], F_GETFL) & O_ACCMODE) == O_RDONLY,
	      "the RAM file is not read-only");
	CHECK(write(fds[0], "x", 1) < 0 && errno == EBADF,
	      "the RAM file can be written");
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	CHECK(map == MAP_FAILED && errno == EACCES,
	      "the RAM file can be mapped writable");
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fds[0], 0);
	CHECK(map != MAP_FAILED, "the RAM file cannot be mapped to read: %s",
	      strerror(errno));
	munmap(map, 4096);
	pfd.fd = fds[1];
	CHECK(poll(&pfd, 1, 0) == 0, "the pidfd says QEMU %d exited", g->pid);
	for (i = 0; i < nr; i++)
		close(fds[i]);
	free(text);
	json_decref(reply);
}

static json_t *find_task(json_t *tasks, int pid)
{
	size_t i;
	json_t *t;

	json_array_foreach(tasks, i, t)
		if (json_integer_value(json_object_get(t, "pid")) == pid)
			return t;
	return NULL;
}

/* Every process unchanged over the walk is in it, the same. */
static void check_ps(const char *sock, const struct guest *g)
{
	struct truth_task *before, *after;
	int nr_before, nr_after, status, i, j, matched = 0;
	json_t *doc, *tasks;

	nr_before = guest_truth_ps(g, &before);
	doc = keyhole_json_whole(&status, "--broker=%s --ram-file ps %d",
				 sock, g->pid);
	nr_after = guest_truth_ps(g, &after);
	CHECK(status == 0, "keyhole --broker --ram-file ps: exit %d: %s",
	      status, json_dumps(doc, JSON_COMPACT));
	tasks = doc_list(doc, "ps");
	for (i = 0; i < nr_before; i++) {
		const struct truth_task *t = &before[i];
		const struct truth_task *a = NULL;
		json_t *k;

		for (j = 0; j < nr_after; j++)
			if (after[j].pid == t->pid)
				a = &after[j];
		if (t->pid != t->tgid || !a || a->ppid != t->ppid ||
		    a->uid != t->uid || strcmp(a->comm, t->comm) ||
		    a->start_ticks != t->start_ticks)
			continue;
		k = find_task(tasks, t->pid);
		CHECK(k, "process %d (%s) missing from the ram-file ps",
		      t->pid, t->comm);
		CHECK(json_integer_value(json_object_get(k, "ppid")) == t->ppid &&
		      json_integer_value(json_object_get(k, "uid")) == t->uid,
		      "process %d: ppid/uid %lld/%lld, the guest says %d/%u",
		      t->pid, json_integer_value(json_object_get(k, "ppid")),
		      json_integer_value(json_object_get(k, "uid")), t->ppid,
		      t->uid);
		matched++;
	}
	CHECK(matched >= 20, "only %d stable processes to compare", matched);
	free(before);
	free(after);
	json_decref(doc);
}

static int nobody_is_refused(const char *sock, const char *spec)
{
	int fds[KH_PROTO_MAX_FDS];
	unsigned int nr;
	json_t *reply;
	const char *klass;

	broker_become_nobody();
	reply = ask_ram(sock, json_pack("{s:s}", "vm", spec), fds, &nr);
	klass = broker_error_class(reply);
	CHECK(klass && !strcmp(klass, "PermissionDenied") && nr == 0 &&
	      !json_object_get(reply, "return"),
	      "nobody's ram: %u descriptors, %s", nr,
	      json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	return KH_PASS;
}

int main(int argc, char **argv)
{
	const char *sock = broker_socket();
	int fds[KH_PROTO_MAX_FDS], status;
	unsigned int nr;
	struct guest g;
	json_t *reply;
	const char *klass;
	pid_t child;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	snprintf(vm_spec, sizeof(vm_spec), "%d", g.pid);

	check_handed_over(sock, &g);
	check_ps(sock, &g);

	reply = ask_ram(sock, json_pack("{s:s, s:s}", "vm", vm_spec,
					"technique", "pvreadv"), fds, &nr);
	klass = broker_error_class(reply);
	CHECK(klass && !strcmp(klass, "InvalidArgument") && nr == 0,
	      "ram with a technique: %s", json_dumps(reply, JSON_COMPACT));
	json_decref(reply);

	child = fork();
	CHECK(child >= 0, "fork");
	if (!child)
		_exit(nobody_is_refused(sock, vm_spec));
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == KH_PASS, "as nobody: status 0x%x", status);
	return KH_PASS;
}
