// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIGTERM stops keyholed cleanly: a crawl that halts the guest, sent just
 * before, is answered or ended, and the guest runs afterwards; every
 * client gets the "goodbye" event and then EOF; the daemon exits 0 and
 * leaves no socket behind. The daemon is the test's own.
 */
#include "broker.h"
#include "guest.h"

int main(int argc, char **argv)
{
	char dir[] = "/tmp/kh-sigterm.XXXXXX", path[256], log[256];
	char request[512], state[32];
	json_t *msg;
	int idle, busy, status, eof, goodbyes = 0, i;
	struct guest g;
	struct stat st;
	pid_t daemon;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	CHECK(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof(path), "%s/keyholed.sock", dir);
	snprintf(log, sizeof(log), "%s/keyholed.log", dir);
	daemon = broker_start(path, log);

	idle = broker_connect(path);
	busy = broker_connect(path);
	/* Attach first, so that the crawl below starts at once. */
	snprintf(request, sizeof(request),
		 "{\"execute\":\"mem\",\"arguments\":{\"vm\":\"%d\"}}", g.pid);
	json_decref(broker_call(busy, request));
	snprintf(request, sizeof(request),
		 "{\"execute\":\"crawl\",\"arguments\":{\"vm\":\"%d\",\"pause\":true,\"summary\":true},\"id\":1}\n",
		 g.pid);
	broker_write(busy, request);
	usleep(20000);
	CHECK(!kill(daemon, SIGTERM), "kill");

	for (i = 0; i < 2; i++) {
		int fd = i ? busy : idle;

		while ((msg = broker_read(fd, 120, &eof))) {
			const char *event = json_string_value(
				json_object_get(msg, "event"));

			if (event && !strcmp(event, "goodbye"))
				goodbyes++;
			json_decref(msg);
		}
		CHECK(eof, "client %d: no EOF within 120 s of SIGTERM", i);
	}
	CHECK(goodbyes == 2, "%d of 2 clients got a goodbye", goodbyes);
	status = broker_wait_exit(daemon, 120);
	CHECK(status != -1, "keyholed still runs 120 s after SIGTERM");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "keyholed ended with status 0x%x; see %s", status, log);
	CHECK(stat(path, &st) && errno == ENOENT,
	      "keyholed left its socket %s behind", path);
	CHECK(guest_run_state(&g, state, sizeof(state)),
	      "the guest is '%s' after keyholed stopped", state);
	unlink(log);
	rmdir(dir);
	return KH_PASS;
}
