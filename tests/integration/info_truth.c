// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: `keyhole info` reports the guest's own uname fields, hostname
 * and domainname exactly, its online and possible CPU counts exactly (the
 * kaslr5 guest has more possible than online), and its uptime and load
 * averages as the guest's /proc shows them, through both access
 * techniques; the text output carries the same values.
 *
 * Uptime and load change by nature, so keyhole's reading is bracketed by
 * two readings of the guest's own (its truth daemon's `info`):
 * - uptime: keyhole's value is CLOCK_BOOTTIME as of the timekeeper's last
 *   update, so it may lag real time by up to a tick, or by a NO_HZ idle
 *   period when every CPU idles; it may not exceed the later guest
 *   reading (+0.01 s: /proc/uptime truncates to centiseconds). The lag
 *   allowed is 2 s, far above a tick (4 ms) and the idle periods of a
 *   guest with a running workload, far below a wrong clock.
 * - load: avenrun changes only every LOAD_FREQ (5 s) and is printed with
 *   the same rounding as /proc/loadavg, so keyhole's value equals one of
 *   the two guest readings unless the readings lie more than 5 s apart;
 *   then it must lie between them, widened by 0.25 (one 5 s step moves the
 *   1-minute average by (n - load) * 0.08, n runnable tasks, n <= 3).
 */
#include "guest.h"

/* No libm for three helpers. */
static double dabs(double x)
{
	return x < 0 ? -x : x;
}

static double dmin(double a, double b)
{
	return a < b ? a : b;
}

static double dmax(double a, double b)
{
	return a > b ? a : b;
}

struct truth_info {
	char release[128], version[128], hostname[128], domainname[128];
	double uptime;
	int cpus, cpus_possible;
	double load[3];
};

static void copy_field(char *dst, size_t size, const char *val, int *got,
		       int bit)
{
	snprintf(dst, size, "%s", val);
	*got |= bit;
}

static void truth_info(const struct guest *g, struct truth_info *t)
{
	char *out = guest_truth(g, "info"), *line, *save = NULL;
	int got = 0;

	memset(t, 0, sizeof(*t));
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, ' ');

		if (!val)
			continue;
		*val++ = '\0';
		if (!strcmp(line, "release"))
			copy_field(t->release, sizeof(t->release), val, &got,
				   1);
		else if (!strcmp(line, "version"))
			copy_field(t->version, sizeof(t->version), val, &got,
				   2);
		else if (!strcmp(line, "hostname"))
			copy_field(t->hostname, sizeof(t->hostname), val, &got,
				   4);
		else if (!strcmp(line, "domainname"))
			copy_field(t->domainname, sizeof(t->domainname), val,
				   &got, 8);
		else if (!strcmp(line, "uptime") &&
			 sscanf(val, "%lf", &t->uptime) == 1)
			got |= 16;
		else if (!strcmp(line, "cpus") &&
			 sscanf(val, "%d", &t->cpus) == 1)
			got |= 32;
		else if (!strcmp(line, "cpus_possible") &&
			 sscanf(val, "%d", &t->cpus_possible) == 1)
			got |= 128;
		else if (!strcmp(line, "loadavg") &&
			 sscanf(val, "%lf %lf %lf", &t->load[0], &t->load[1],
				&t->load[2]) == 3)
			got |= 64;
	}
	free(out);
	CHECK(got == 255, "truth info reply incomplete (fields 0x%x)", got);
}

static const char *str(json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));

	CHECK(s, "keyhole info has no string '%s'", key);
	return s;
}

static double num(json_t *doc, const char *key)
{
	json_t *v = json_object_get(doc, key);

	CHECK(json_is_number(v), "keyhole info has no number '%s'", key);
	return json_number_value(v);
}

static void compare(json_t *doc, const char *what,
		    const struct truth_info *before,
		    const struct truth_info *after)
{
	double uptime = num(doc, "uptime_s");
	json_t *load = json_object_get(doc, "loadavg");
	int i;

	CHECK(!strcmp(str(doc, "sysname"), "Linux"), "%s: sysname '%s'",
	      what, str(doc, "sysname"));
	CHECK(!strcmp(str(doc, "machine"), "x86_64"), "%s: machine '%s'",
	      what, str(doc, "machine"));
	CHECK(!strcmp(str(doc, "release"), before->release),
	      "%s: release '%s', guest says '%s'", what, str(doc, "release"),
	      before->release);
	CHECK(!strcmp(str(doc, "version"), before->version),
	      "%s: version '%s', guest says '%s'", what, str(doc, "version"),
	      before->version);
	CHECK(!strcmp(str(doc, "nodename"), before->hostname),
	      "%s: nodename '%s', guest says '%s'", what,
	      str(doc, "nodename"), before->hostname);
	CHECK(!strcmp(str(doc, "domainname"), before->domainname),
	      "%s: domainname '%s', guest says '%s'", what,
	      str(doc, "domainname"), before->domainname);
	CHECK(num(doc, "cpus_online") == before->cpus &&
	      before->cpus == after->cpus,
	      "%s: cpus_online %g, guest says %d then %d", what,
	      num(doc, "cpus_online"), before->cpus, after->cpus);
	CHECK(num(doc, "cpus_possible") == before->cpus_possible &&
	      before->cpus_possible == after->cpus_possible,
	      "%s: cpus_possible %g, guest says %d then %d", what,
	      num(doc, "cpus_possible"), before->cpus_possible,
	      after->cpus_possible);
	CHECK(uptime >= before->uptime - 2.0 &&
	      uptime <= after->uptime + 0.01,
	      "%s: uptime %.3f, guest says %.2f before and %.2f after", what,
	      uptime, before->uptime, after->uptime);

	CHECK(json_is_array(load) && json_array_size(load) == 3,
	      "%s: loadavg is not an array of 3", what);
	for (i = 0; i < 3; i++) {
		double k = json_number_value(json_array_get(load, i));
		double lo = dmin(before->load[i], after->load[i]);
		double hi = dmax(before->load[i], after->load[i]);

		if (after->uptime - before->uptime < 5.0)
			CHECK(dabs(k - before->load[i]) < 0.005 ||
			      dabs(k - after->load[i]) < 0.005,
			      "%s: loadavg[%d] %.2f, guest says %.2f then %.2f",
			      what, i, k, before->load[i], after->load[i]);
		else
			CHECK(k >= lo - 0.25 && k <= hi + 0.25,
			      "%s: loadavg[%d] %.2f, guest says %.2f then %.2f",
			      what, i, k, before->load[i], after->load[i]);
	}
}

int main(int argc, char **argv)
{
	static const char *const techniques[] = { "pvreadv", "procmem" };
	struct truth_info before, after;
	char *text, expect[256];
	struct guest g;
	json_t *doc;
	int i, status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);

	for (i = 0; i < 2; i++) {
		char what[64];

		snprintf(what, sizeof(what), "info via %s", techniques[i]);
		truth_info(&g, &before);
		doc = keyhole_json(&status, "--technique %s info %d",
				   techniques[i], g.pid);
		truth_info(&g, &after);
		CHECK(status == 0 && json_is_object(doc), "%s: exit %d: %s",
		      what, status, json_dumps(doc, 0));
		compare(doc, what, &before, &after);
		printf("%s: %s up %.2f s (guest %.2f..%.2f), %g CPUs, load %.2f\n",
		       what, str(doc, "nodename"), num(doc, "uptime_s"),
		       before.uptime, after.uptime, num(doc, "cpus_online"),
		       json_number_value(json_array_get(
			       json_object_get(doc, "loadavg"), 0)));
		json_decref(doc);
	}

	/* The text output names the VM by -name and shows the same. */
	text = run_capture(&status, "%s info '%s'",
			   env_or("KEYHOLE", "build/bin/keyhole"), g.name);
	CHECK(status == 0, "keyhole info %s: exit %d: %s", g.name, status,
	      text);
	snprintf(expect, sizeof(expect), "nodename      %s\n", before.hostname);
	CHECK(strstr(text, expect), "text output lacks '%s': %s", expect, text);
	snprintf(expect, sizeof(expect), "release       %s\n", before.release);
	CHECK(strstr(text, expect), "text output lacks '%s': %s", expect, text);
	free(text);
	return KH_PASS;
}
