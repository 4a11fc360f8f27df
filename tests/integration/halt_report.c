// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: on a terminal, keyhole tells what a halting snapshot costs the
 * guest. With pmemsave, dump and migrate, run under script(1) (a real
 * pty), stderr shows a progress line rewritten in place ("keyhole:
 * pmemsave 256/1024 MiB, guest halted 1.0 s"; migrate copies while the
 * guest runs, and has no halt to tell until its end), whose MiB only
 * grow and end at the total, with a halted time that only grows; then
 * one line saying how
 * long the technique kept the guest halted in all, no shorter than the
 * last progress line said, and the command's own output (ps's table) is
 * whole. Without a terminal (stderr a pipe), none of this is printed, so
 * scripts see only what they asked for.
 */
#include "guest.h"

/* The progress lines of out (split at \r), checked; the last's halt. */
static double progress(const char *what, const char *out)
{
	char *copy = strdup(out), *line, *save = NULL, want[32];
	unsigned long long done, total, last_done = 0, last_total = 0;
	double halted, last_halted = 0;
	int lines = 0;

	snprintf(want, sizeof(want), "keyhole: %s ", what);
	for (line = strtok_r(copy, "\r\n", &save); line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		/* A live copy (migrate) has no halt to tell until its end. */
		halted = 0;
		if (strncmp(line, want, strlen(want)) ||
		    sscanf(line + strlen(want), "%llu/%llu MiB, guest halted %lf s",
			   &done, &total, &halted) < 2)
			continue;
		CHECK(done >= last_done && done <= total &&
		      (!lines || total == last_total) &&
		      halted >= last_halted,
		      "%s: progress went from %llu/%llu MiB, %.1f s to '%s'",
		      what, last_done, last_total, last_halted, line);
		last_done = done;
		last_total = total;
		last_halted = halted;
		lines++;
	}
	CHECK(lines >= 2 && last_done == last_total && last_total >= 64,
	      "%s: %d progress lines, the last at %llu/%llu MiB:\n%s", what,
	      lines, last_done, last_total, out);
	free(copy);
	return last_halted;
}

static void on_terminal(const struct guest *g, const char *technique)
{
	const char *keyhole = env_or("KEYHOLE", "build/bin/keyhole");
	char want[64], *end;
	double halted, in_all;
	int status;
	char *out;

	/* script -e: keyhole's exit status; its stdout (ps) to a pipe too. */
	out = run_capture(&status,
			  "script -qec '%s --technique %s ps %d' /dev/null",
			  keyhole, technique, g->pid);
	CHECK(status == 0, "%s under script: exit %d:\n%s", technique, status,
	      out);
	halted = progress(technique, out);
	snprintf(want, sizeof(want), "keyhole: %s kept the guest halted for ",
		 technique);
	end = strstr(out, want);
	CHECK(end && sscanf(end + strlen(want), "%lf s in all", &in_all) == 1,
	      "%s: no '%s... s in all' line:\n%s", technique, want, out);
	CHECK(in_all > 0 && in_all + 0.1 >= halted,
	      "%s: halted %.3f s in all, but the progress said %.1f s",
	      technique, in_all, halted);
	CHECK(strstr(out, "kh-tree") && strstr(out, "CMD"),
	      "%s: ps's table is not whole:\n%s", technique, out);
	free(out);
}

static void not_on_terminal(const struct guest *g)
{
	int status;
	char *err;

	err = run_capture(&status, "%s --technique pmemsave ps %d 2>&1 >/dev/null",
			  env_or("KEYHOLE", "build/bin/keyhole"), g->pid);
	CHECK(status == 0 && !strstr(err, "MiB") && !strstr(err, "halted"),
	      "pmemsave without a terminal: exit %d, stderr:\n%s", status,
	      err);
	free(err);
}

int main(int argc, char **argv)
{
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	on_terminal(&g, "pmemsave");
	on_terminal(&g, "dump");
	on_terminal(&g, "migrate");
	not_on_terminal(&g);
	printf("halt_report: pmemsave, dump and migrate show their progress and the guest's halt on a terminal, and nothing without one\n");
	return KH_PASS;
}
