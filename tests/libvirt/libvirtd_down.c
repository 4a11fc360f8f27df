// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: with libvirtd down while its domain's QEMU runs on, keyhole says
 * that it cannot reach libvirt and at which URI, and exits 1 at once; it
 * never takes the monitor from under libvirt, nor guesses the RAM layout.
 * Once libvirtd is back, the same command works again and the domain is
 * still running. The libvirtd stopped is the one the test run started
 * (tests/run's KH_LIBVIRT_STATE says so); a libvirtd that was running
 * before is not the tests' to stop, and then the same failure is caused
 * by a URI whose socket nobody listens on.
 */
#include <signal.h>

#include "domain.h"

static int state_value(const char *path, const char *key)
{
	char line[256];
	size_t n = strlen(key);
	int val = 0;
	FILE *f;

	f = path ? fopen(path, "r") : NULL;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == '=')
			val = atoi(line + n + 1);
	fclose(f);
	return val;
}

static int stopped_pid;

/* A failed CHECK must not leave the rest of the run without libvirtd. */
static void restart_libvirtd(void)
{
	int status;

	if (stopped_pid && kill(stopped_pid, 0))
		free(run_capture(&status, "libvirtd -d"));
}

static void wait_until(const char *what, int secs, const char *fmt, ...)
{
	double end = guest_now() + secs;
	char cmd[1024];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	for (;;) {
		free(run_capture(&status, "%s", cmd));
		if (status == 0)
			return;
		CHECK(guest_now() < end, "%s: not within %d s", what, secs);
		usleep(100000);
	}
}

int main(int argc, char **argv)
{
	const char *state = getenv("KH_LIBVIRT_STATE");
	char uri[512], want[600], *out;
	struct domain d;
	json_t *doc;
	int status, pid, ours;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	domain_load(&d, argv[1]);
	ours = state_value(state, "started_libvirtd");
	pid = state_value(state, "libvirtd_pid");
	if (ours && pid > 0) {
		snprintf(uri, sizeof(uri), "%s", d.uri);
		stopped_pid = pid;
		atexit(restart_libvirtd);
		CHECK(!kill(pid, SIGTERM), "kill libvirtd %d: %s", pid,
		      strerror(errno));
		wait_until("libvirtd gone", 60, "! kill -0 %d 2>/dev/null", pid);
	} else {
		printf("libvirtd is not this run's to stop: a URI whose socket nobody listens on instead\n");
		snprintf(uri, sizeof(uri),
			 "qemu:///system?socket=%s/no-libvirtd.sock",
			 d.g.rundir);
	}
	CHECK(kill(d.g.pid, 0) == 0, "the domain's QEMU %d went with libvirtd",
	      d.g.pid);

	snprintf(want, sizeof(want), "cannot connect to libvirt at %s", uri);
	out = run_capture(&status, "%s --json --connect '%s' ps '%s'",
			  env_or("KEYHOLE", "build/bin/keyhole"), uri, d.name);
	doc = json_loads(out, 0, NULL);
	CHECK(status == 1 &&
	      strstr(json_string_value(json_object_get(doc, "error")) ?: "",
		     want),
	      "with libvirtd down: exit %d, and the error does not say '%s': %s",
	      status, want, out);
	keyhole_doc_rule(doc, status, "--json --connect URI ps DOMAIN");
	printf("libvirtd down: %s\n",
	       json_string_value(json_object_get(doc, "error")));
	json_decref(doc);
	free(out);

	if (ours && pid > 0) {
		free(run_capture(&status, "libvirtd -d"));
		CHECK(status == 0, "libvirtd -d failed");
		stopped_pid = 0;
		wait_until("libvirtd back", 120, "virsh -c '%s' domstate '%s'",
			   d.uri, d.name);
		/* The run stops the new one at its end. */
		free(run_capture(&status,
				 "sed -i \"s/^libvirtd_pid=.*/libvirtd_pid=$(cat /run/libvirtd.pid)/\" '%s'",
				 state));
		CHECK(status == 0, "cannot record the new libvirtd's pid");
	}
	doc = keyhole_json(&status, "--connect '%s' ps '%s'", d.uri, d.name);
	CHECK(status == 0 && json_array_size(doc_list(doc, "ps")) > 20,
	      "with libvirtd back: exit %d", status);
	json_decref(doc);
	domain_expect(&d, "running", "libvirtd's restart");
	return KH_PASS;
}
