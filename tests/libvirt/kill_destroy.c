// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: a libvirt domain destroyed while keyhole reads it ends keyhole
 * with an error that says the VM went away, promptly, without a hang or
 * a crash: a live crawl (pvreadv) on a domain with anonymous RAM, and a
 * crawl that holds the guest through libvirt's suspend (hmp --pause) on
 * the other, whose resume then has no domain left. Ends the domain.
 */
#include <signal.h>
#include <sys/stat.h>

#include "domain.h"

int main(int argc, char **argv)
{
	char log[4200], cmd[4096], *out;
	const char *mode;
	struct domain d;
	int status, st, rc;
	double end;
	pid_t pid;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);
	snprintf(log, sizeof(log), "%s/kill-test.log", d.g.rundir);
	mode = d.memfd ? "-t hmp crawl --pause" : "-t pvreadv crawl";
	snprintf(cmd, sizeof(cmd),
		 "exec %s --connect '%s' %s --count 100000 --hz 0 '%s' >'%s' 2>&1",
		 env_or("KEYHOLE", "build/bin/keyhole"), d.uri, mode, d.name,
		 log);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* Destroy it once the crawl is well under way. */
	end = guest_now() + 240;
	for (;;) {
		struct stat sb;

		if (!stat(log, &sb) && sb.st_size > 4096)
			break;
		CHECK(waitpid(pid, &st, WNOHANG) == 0,
		      "the crawl ended before the domain was destroyed");
		CHECK(guest_now() < end, "the crawl printed nothing in 240 s");
		usleep(50000);
	}
	out = virsh(&d, &status, "destroy '%s'", d.name);
	CHECK(status == 0, "virsh destroy: %s", out);
	free(out);

	end = guest_now() + 60;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (guest_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			CHECK(0, "keyhole still ran 60 s after the domain was destroyed");
		}
		usleep(50000);
	}
	CHECK(WIFEXITED(st), "keyhole died of signal %d", WTERMSIG(st));
	rc = WEXITSTATUS(st);
	CHECK(rc == 1, "keyhole exited %d after the domain was destroyed", rc);
	/* The last line is the error; it names the cause. */
	snprintf(cmd, sizeof(cmd), "tail -n 1 '%s'", log);
	out = run_capture(&status, "%s", cmd);
	CHECK(strstr(out, "exited while being read") ||
	      strstr(out, "is gone (shut off or destroyed)"),
	      "keyhole's error does not say the VM went away: %s", out);
	printf("%s: %s", mode, out);
	free(out);
	return KH_PASS;
}
