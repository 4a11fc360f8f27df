// SPDX-License-Identifier: GPL-2.0-only
/*
 * `keyhole --broker CMD VM` prints the same bytes as `keyhole CMD VM`, for
 * every command, as text and with --json, and exits the same. The guest
 * is paused (through the tests' own monitor) so that it cannot change
 * between runs; the few values that are measurements of the run itself
 * (attach time, whether the profile came from the cache, a crawl's cost)
 * are found by running each side twice: a line that differs between two
 * direct runs is left out on both sides, and everything else must match.
 * Whether an attach found the kernel profile in a cache is a fact of that
 * attach (the daemon attached once, long ago), so that line is left out
 * too.
 */
#include "broker.h"
#include "guest.h"

static struct guest g;

static void resume(void)
{
	int status;
	char *out = run_capture(&status, "%s -t 60 --qmp '%s' '{\"execute\":\"cont\"}'",
				env_or("TRUTH", "build/guest/truth"),
				g.watch_sock);

	free(out);
}

static char *run(const char *broker, int json, const char *cmd,
		 int *status)
{
	return run_capture(status, "%s %s%s %s %s %s 2>&1",
			   env_or("KEYHOLE", "build/bin/keyhole"),
			   broker ? "--broker=" : "", broker ?: "",
			   json ? "--json" : "", cmd, g.name);
}

/* The next line of *text, or NULL; *text moves past it. */
static char *next_line(char **text)
{
	char *line = *text, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*text = nl + 1;
	} else {
		*text = NULL;
	}
	return line;
}

/* A crawl record without its cost, which is the run's own. */
static void drop_cost(char *text)
{
	json_t *doc = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
	char *clean;

	if (!doc)
		return;
	json_object_del(doc, "cost");
	clean = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (strlen(clean) <= strlen(text))
		strcpy(text, clean);
	free(clean);
	json_decref(doc);
}

static int run_specific(const char *line)
{
	return strstr(line, "\"profile_cached\"") ||
	       !strncmp(line, "profile ", 8);
}

static void compare(const char *broker, int json, const char *cmd)
{
	char *d1, *d2, *b1, *b2, *pd1, *pd2, *pb1, *pb2;
	char *ld1, *ld2, *lb1, *lb2;
	int sd1, sd2, sb1, sb2, line = 0, masked = 0;

	d1 = run(NULL, json, cmd, &sd1);
	d2 = run(NULL, json, cmd, &sd2);
	b1 = run(broker, json, cmd, &sb1);
	b2 = run(broker, json, cmd, &sb2);
	CHECK(sd1 == sb1 && sd1 == sd2 && sb1 == sb2,
	      "%s%s: exit status %d direct, %d through keyholed\n%s\n%s",
	      json ? "--json " : "", cmd, sd1, sb1, d1, b1);
	if (!strncmp(cmd, "crawl", 5)) {
		drop_cost(d1);
		drop_cost(d2);
		drop_cost(b1);
		drop_cost(b2);
	}
	pd1 = d1, pd2 = d2, pb1 = b1, pb2 = b2;
	for (;;) {
		ld1 = next_line(&pd1);
		ld2 = next_line(&pd2);
		lb1 = next_line(&pb1);
		lb2 = next_line(&pb2);
		line++;
		if (!ld1 && !lb1)
			break;
		CHECK(ld1 && lb1, "%s%s: line %d only %s:\n%s",
		      json ? "--json " : "", cmd, line,
		      ld1 ? "direct" : "through keyholed", ld1 ?: lb1);
		if ((ld2 && strcmp(ld1, ld2)) || run_specific(ld1)) {
			masked++;	/* the run's own measurement */
			continue;
		}
		CHECK(!strcmp(ld1, lb1),
		      "%s%s: line %d differs:\n  direct: %s\n  broker: %s",
		      json ? "--json " : "", cmd, line, ld1, lb1);
		(void)lb2;
	}
	fprintf(stderr, "same: %s%s (%d lines, %d masked)\n",
		json ? "--json " : "", cmd, line - 1, masked);
	CHECK(masked <= 3, "%s: %d lines differ between two direct runs: the guest is not still",
	      cmd, masked);
	free(d1);
	free(d2);
	free(b1);
	free(b2);
}

int main(int argc, char **argv)
{
	static const char *const commands[] = {
		"ps", "ps -T", "vm", "info", "mem", "lsmod", "dmesg", "ifconfig",
		"netstat", "lsof", "lsof -p 1", "maps 1", "envars",
		"envars -p 1", "creds", "bash", "elfs", "libs -p 1", "kprobes", "ftrace", "netfilter", "kallsyms -m sys_", "check", "mounts", "ebpf", "techniques",
		"crawl --summary", "crawl --count 1", NULL,
	};
	const char *broker = broker_socket();
	char *out;
	int i, status;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	out = run_capture(&status, "%s -t 60 --qmp '%s' '{\"execute\":\"stop\"}'",
			  env_or("TRUTH", "build/guest/truth"), g.watch_sock);
	CHECK(status == 0, "cannot pause the guest: %s", out);
	free(out);
	atexit(resume);

	for (i = 0; commands[i]; i++) {
		compare(broker, 0, commands[i]);
		compare(broker, 1, commands[i]);
	}
	/* And an error is the same error. */
	compare(broker, 0, "maps 999999");
	compare(broker, 1, "maps 999999");
	return KH_PASS;
}
