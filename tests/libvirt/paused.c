// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: keyhole halts a libvirt domain through libvirt (suspend and
 * resume), so libvirt's idea of the domain stays true: while keyhole holds
 * the guest, libvirt says "paused (user)", the reason its own suspend
 * gives (a pause behind its back would read "unknown"), and afterwards
 * "running". A domain libvirt paused before keyhole came stays paused
 * after every technique, halting ones included, and is read all the same;
 * one that libvirt suspends and resumes while keyhole crawls it live is
 * read throughout.
 */
#include <signal.h>

#include "domain.h"

static pid_t spawn(const char *log, const char *fmt, ...)
{
	char args[1024];
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		char cmd[2048];

		snprintf(cmd, sizeof(cmd), "exec %s %s >'%s' 2>&1",
			 env_or("KEYHOLE", "build/bin/keyhole"), args, log);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* The child's exit status once it ends, within secs. */
static int reap(pid_t pid, int secs, const char *what)
{
	double end = guest_now() + secs;
	int st;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (guest_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			CHECK(0, "%s did not end within %d s", what, secs);
		}
		usleep(50000);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Until the crawl printed more lines than it had, within secs. */
static void wait_progress(const char *log, int secs, const char *what)
{
	int had = lines(log);
	double end = guest_now() + secs;

	while (lines(log) < had + 2) {
		CHECK(guest_now() < end, "%s: the crawl made no progress in %d s",
		      what, secs);
		usleep(20000);
	}
}

static int reason_is(const struct domain *d, const char *want)
{
	int status;
	char *out = virsh(d, &status, "domstate --reason '%s'", d->name);
	int yes = status == 0 && strstr(out, want);

	free(out);
	return yes;
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "ptrace", "hmp",
						  "dump", "pmemsave",
						  "gdbstub" };
	char log[4200];
	struct domain d;
	int status, seen = 0, rc;
	double end;
	size_t i;
	pid_t pid;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);
	snprintf(log, sizeof(log), "%s/paused-test.log", d.g.rundir);

	/*
	 * keyhole's own pause is libvirt's suspend, seen by libvirt: crawls
	 * that each hold the guest, back to back, until libvirt was seen
	 * saying so (a condition, not a number of crawls that a busy host
	 * makes too long or too short), then an interrupt. keyhole holds the
	 * signal while the guest is suspended, so it dies of it (128 + SIGINT)
	 * only after resuming the guest.
	 */
	pid = spawn(log, "--connect '%s' -t pvreadv crawl --pause --count 1000000 --hz 0 --summary '%s'",
		    d.uri, d.name);
	end = guest_now() + 240;
	rc = -1;
	while (!seen && guest_now() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		seen = reason_is(&d, "paused (user)");
	}
	CHECK(rc == -1, "crawl --pause through pvreadv ended by itself: exit %d (see %s)",
	      rc, log);
	kill(pid, SIGINT);
	rc = reap(pid, 240, "crawl --pause");
	CHECK(rc == 128 + SIGINT, "crawl --pause through pvreadv: exit %d, not death by SIGINT (see %s)",
	      rc, log);
	CHECK(seen, "libvirt never said the domain was paused (user) while keyhole held it");
	domain_expect(&d, "running", "crawl --pause");

	/* Paused by libvirt: read, and left paused. */
	free(virsh(&d, &status, "suspend '%s'", d.name));
	CHECK(status == 0, "virsh suspend failed");
	for (i = 0; i < sizeof(techniques) / sizeof(techniques[0]); i++) {
		json_t *doc = keyhole_json(&status, "--connect '%s' -t %s ps '%s'",
					   d.uri, techniques[i], d.name);

		CHECK(status == 0 && json_array_size(doc_list(doc, "ps")) > 20,
		      "%s on the paused domain: exit %d", techniques[i],
		      status);
		json_decref(doc);
		domain_expect(&d, "paused", techniques[i]);
	}
	pid = spawn(log, "--connect '%s' crawl --pause --count 2 --summary '%s'",
		    d.uri, d.name);
	CHECK(reap(pid, 120, "crawl --pause") == 0,
	      "crawl --pause of the paused domain failed (see %s)", log);
	domain_expect(&d, "paused", "crawl --pause of a paused domain");
	free(virsh(&d, &status, "resume '%s'", d.name));
	CHECK(status == 0, "virsh resume failed");

	/* libvirt suspends and resumes under a live crawl. */
	pid = spawn(log, "--connect '%s' -t pvreadv crawl --count 400 --hz 50 '%s'",
		    d.uri, d.name);
	wait_progress(log, 120, "before the suspend");
	free(virsh(&d, &status, "suspend '%s'", d.name));
	CHECK(status == 0, "virsh suspend under the crawl failed");
	wait_progress(log, 120, "while suspended");
	free(virsh(&d, &status, "resume '%s'", d.name));
	CHECK(status == 0, "virsh resume under the crawl failed");
	rc = reap(pid, 240, "live crawl");
	CHECK(rc == 0 || rc == 3, "live crawl under suspend/resume: exit %d (see %s)",
	      rc, log);
	domain_expect(&d, "running", "the live crawl");
	return KH_PASS;
}
