// SPDX-License-Identifier: GPL-2.0-only
/*
 * A client gets only what it could do itself: as uid nobody, which cannot
 * ptrace root's QEMU, "list" shows no VM of root's (not even its pid), a
 * query on the guest is refused as PermissionDenied naming the uid, and
 * nothing of the guest is in the reply. Root, asking the same daemon,
 * sees the guest and reads it. The client is this test itself, forked
 * and turned into nobody, so its credentials are the kernel's, not a
 * claim.
 */
#include <grp.h>
#include <pwd.h>

#include "broker.h"
#include "guest.h"

static int as_nobody(const char *sock, int guest_pid, const char *spec)
{
	struct passwd *nobody = getpwnam("nobody");
	char request[512];
	json_t *list, *reply;
	const char *klass;
	char *text;
	size_t i;
	json_t *vm;
	int fd;

	CHECK(nobody, "no user nobody");
	broker_become_nobody();
	fd = broker_connect(sock);
	list = broker_list(fd);
	json_array_foreach(list, i, vm)
		CHECK(json_integer_value(json_object_get(vm, "uid")) ==
		      nobody->pw_uid,
		      "nobody sees a VM of uid %lld: %s",
		      json_integer_value(json_object_get(vm, "uid")),
		      json_dumps(vm, JSON_COMPACT));
	CHECK(!broker_list_find(list, guest_pid),
	      "nobody sees root's guest %d", guest_pid);
	json_decref(list);

	snprintf(request, sizeof(request),
		 "{\"execute\":\"ps\",\"arguments\":{\"vm\":\"%s\"},\"id\":7}",
		 spec);
	reply = broker_call(fd, request);
	klass = broker_error_class(reply);
	text = json_dumps(reply, JSON_COMPACT);
	CHECK(klass && !strcmp(klass, "PermissionDenied"),
	      "nobody's ps: %s", text);
	CHECK(json_integer_value(json_object_get(reply, "id")) == 7,
	      "the refusal lost the id: %s", text);
	CHECK(strstr(text, "uid ") && !json_object_get(reply, "return"),
	      "the refusal does not name the uid, or carries a result: %s",
	      text);
	free(text);
	json_decref(reply);
	close(fd);
	return KH_PASS;
}

int main(int argc, char **argv)
{
	const char *sock = broker_socket();
	char request[512], *text;
	struct guest g;
	json_t *list, *reply;
	int fd, status;
	pid_t child;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	CHECK(getuid() == 0, "this test runs as root (tests/run does)");

	child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0)
		exit(as_nobody(sock, g.pid, g.name));
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == KH_PASS, "the client as nobody failed");

	fd = broker_connect(sock);
	list = broker_list(fd);
	CHECK(broker_list_find(list, g.pid), "root does not see guest %d",
	      g.pid);
	json_decref(list);
	snprintf(request, sizeof(request),
		 "{\"execute\":\"mem\",\"arguments\":{\"vm\":\"%s\"},\"id\":8}",
		 g.name);
	reply = broker_call(fd, request);
	text = json_dumps(reply, JSON_COMPACT);
	CHECK(json_integer_value(json_object_get(json_object_get(reply,
			"return"), "total_kb")) > 0, "root's mem: %s", text);
	free(text);
	json_decref(reply);
	close(fd);
	return KH_PASS;
}
