// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves the command line takes options as GNU tools and bpftool do,
 * against the running guest:
 * - every command runs with keyhole's --json before its name, right after
 *   it and after its arguments, and gives the same kind of document each
 *   time (the guest runs, so the same keys, and in a listing command's
 *   list the same kind of entry, not the same bytes), each keeping the
 *   rule of keyhole's documents (keyhole_doc_rule()); --technique (an
 *   option with a value) takes effect in every position;
 * - the commands' own options work before and after the VM (ps -T gives
 *   threads, lsof -p one process, crawl --count its records);
 * - JSON is one line unless --pretty (or -p before the command), and the
 *   pretty document is the same document; after the command's name -p is
 *   the command's (lsof -p PID);
 * - usage errors (an unknown command or option, an ambiguous or missing
 *   value, numbers that do not parse, a wrong argument count, a column
 *   the table has not) exit 2 with one message naming the problem, as
 *   text and as JSON;
 * - tables take --output (any case), --noheadings and --raw;
 * - every command's --help, wherever it stands, exits 0 and lists the
 *   command's own options and an example; --version names the version;
 *   --debug says on stderr which technique was chosen and which kernel
 *   was found, and leaves the output as it was.
 */
#include "guest.h"

static const char *keyhole(void)
{
	return env_or("KEYHOLE", "build/bin/keyhole");
}

/* keyhole ARGS, taken again while incomplete: stdout and status. */
static char *run(int *status, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return keyhole_whole(status, args);
}

/*
 * The document of out (which stays the caller's), exit status status: it
 * keeps the rule of keyhole's documents.
 */
static json_t *parse(const char *out, int status, const char *args)
{
	char *copy = strdup(out);
	json_t *doc;

	CHECK(copy, "out of memory");
	doc = keyhole_doc(copy, args);
	keyhole_doc_rule(doc, status, args);
	return doc;
}

/*
 * A crawl's record: the rule too, but a crawl exits 0 and says in the
 * record whether it is incomplete (keyhole.1), so its "incomplete" stands
 * for the exit status.
 */
static json_t *parse_record(const char *out, const char *args)
{
	char *copy = strdup(out);
	json_t *doc;

	CHECK(copy, "out of memory");
	doc = keyhole_doc(copy, args);
	keyhole_doc_rule(doc, json_is_true(json_object_get(doc, "incomplete")) ?
			 3 : 0, args);
	return doc;
}

/*
 * Every key of a is in b ("incomplete" and "problems" are in every
 * document, whatever their values).
 */
static int keys_in(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)a, key, v)
		if (!json_object_get(b, key))
			return 0;
	return 1;
}

/*
 * The same kind of document: type, and for objects the same keys; for
 * arrays, both empty or both with a first element of the same kind.
 */
static int same_shape(const json_t *a, const json_t *b)
{
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a))
		return !json_array_size(a) == !json_array_size(b) &&
		       (!json_array_size(a) ||
			same_shape(json_array_get(a, 0),
				   json_array_get(b, 0)));
	return !json_is_object(a) || (keys_in(a, b) && keys_in(b, a));
}

/* One line: the document and its newline, nothing else. */
static int one_line(const char *out)
{
	const char *nl = strchr(out, '\n');

	return nl && !nl[1];
}

/*
 * keyhole's --json before the command, after its name, after the VM; a
 * listing command's list (under key, NULL for others) holds the same kind
 * of entry each time.
 */
static void json_anywhere(const char *cmd, const char *rest, const char *vm,
			  const char *key)
{
	char a[3][1024];
	json_t *doc[3];
	int i, status;

	snprintf(a[0], sizeof(a[0]), "--json %s %s %s", cmd, rest, vm);
	snprintf(a[1], sizeof(a[1]), "%s --json %s %s", cmd, rest, vm);
	snprintf(a[2], sizeof(a[2]), "%s %s %s --json", cmd, rest, vm);
	for (i = 0; i < 3; i++) {
		char *out = run(&status, "%s", a[i]);

		CHECK(status == 0, "keyhole %s: exit %d: %.300s", a[i],
		      status, out);
		CHECK(one_line(out), "keyhole %s: JSON not on one line", a[i]);
		doc[i] = strcmp(cmd, "crawl") ? parse(out, status, a[i]) :
						 parse_record(out, a[i]);
		free(out);
	}
	for (i = 1; i < 3; i++)
		CHECK(same_shape(doc[0], doc[i]) &&
		      (!key || same_shape(doc_list(doc[0], key),
					  doc_list(doc[i], key))),
		      "keyhole %s and keyhole %s: different documents", a[0],
		      a[i]);
	for (i = 0; i < 3; i++)
		json_decref(doc[i]);
	printf("ok: %s %s: --json in three places\n", cmd, rest);
}

static void technique_anywhere(const char *vm)
{
	static const char *const forms[] = {
		"--technique pvreadv vm %s --json",
		"vm --json -t pvreadv %s",
		"vm %s --json --technique=pvreadv",
		"-jt pvreadv vm %s",
	};
	unsigned int i;
	int status;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char *out = run(&status, forms[i], vm);
		json_t *doc = parse(out, status, forms[i]);
		const char *t = json_string_value(json_object_get(doc,
								  "technique"));

		CHECK(status == 0 && t && !strcmp(t, "pvreadv"),
		      "'%s': exit %d, technique %s", forms[i], status,
		      t ?: "(none)");
		json_decref(doc);
		free(out);
	}
	printf("ok: --technique before, among and after the arguments\n");
}

/* lsof of pid 1 alone, with args a format taking the VM. */
static void lsof_of_init(const char *args, const char *vm, int pretty)
{
	json_t *doc, *files, *e;
	size_t i;
	int status;
	char *out = run(&status, args, vm);

	CHECK(status == 0 && one_line(out) == !pretty,
	      "%s: exit %d, or %s", args, status,
	      pretty ? "not indented" : "not one line");
	doc = parse(out, status, args);
	files = doc_list(doc, "lsof");
	CHECK(json_array_size(files) > 0, "%s: no files", args);
	json_array_foreach(files, i, e)
		CHECK(json_integer_value(json_object_get(e, "pid")) == 1,
		      "%s: a file of pid %lld", args,
		      json_integer_value(json_object_get(e, "pid")));
	json_decref(doc);
	free(out);
}

/* The tasks named comm in a ps document's list. */
static int tasks_named(const json_t *tasks, const char *comm)
{
	const json_t *t;
	size_t i;
	int n = 0;

	json_array_foreach(tasks, i, t)
		n += !strcmp(json_string_value(json_object_get(t, "comm")) ?: "",
			     comm);
	return n;
}

/*
 * ps -T before and after the VM: the workload's kh-threads (one process,
 * several threads; it lives as long as the guest) is one task in ps and
 * one per thread in both forms of ps -T.
 */
static void threads_anywhere(const char *vm)
{
	static const char *const forms[] = {
		"--json ps %s", "--json ps -T %s", "ps %s --threads --json",
	};
	unsigned int i;
	int status, n[3];

	for (i = 0; i < 3; i++) {
		char *out = run(&status, forms[i], vm);
		json_t *doc = parse(out, status, forms[i]);

		CHECK(status == 0, "%s: exit %d", forms[i], status);
		n[i] = tasks_named(doc_list(doc, "ps"), "kh-threads");
		json_decref(doc);
		free(out);
	}
	CHECK(n[0] == 1 && n[1] > 1 && n[2] == n[1],
	      "kh-threads: %d in ps, %d in ps -T, %d in ps VM --threads",
	      n[0], n[1], n[2]);
}

static void command_options_anywhere(const char *vm)
{
	char *a, *b, *c;
	int status;

	threads_anywhere(vm);
	lsof_of_init("lsof %s -p 1 --json", vm, 0);
	/* keyhole's -p before the command, lsof's after it. */
	lsof_of_init("-p lsof -p 1 %s", vm, 1);

	a = run(&status, "crawl %s --summary --count 2", vm);
	CHECK(status == 0, "crawl VM --summary --count 2: exit %d", status);
	b = strchr(a, '\n');
	CHECK(b && (c = strchr(b + 1, '\n')) && !c[1],
	      "crawl VM --count 2: not two records: %.300s", a);
	free(a);
	printf("ok: the commands' own options before and after the VM\n");
}

static void pretty(const char *vm)
{
	char *compact, *indented;
	json_t *a, *b;
	int status;

	compact = run(&status, "--json vm %s", vm);
	CHECK(status == 0 && one_line(compact), "vm --json: exit %d, %s",
	      status, "or not one line");
	indented = run(&status, "vm %s --pretty", vm);
	CHECK(status == 0 && !one_line(indented) &&
	      strstr(indented, "\n  \""),
	      "vm --pretty: exit %d, not indented: %.200s", status, indented);
	a = parse(compact, 0, "vm --json");
	b = parse(indented, 0, "vm --pretty");
	/* attach_ms is this run's own: all else must be the same. */
	json_object_del(a, "attach_ms");
	json_object_del(b, "attach_ms");
	CHECK(json_equal(a, b), "vm --json and vm --pretty differ");
	json_decref(a);
	json_decref(b);
	free(compact);
	free(indented);
	printf("ok: compact JSON by default, indented with --pretty\n");
}

/* keyhole ARGS must exit 2 naming needle: one line as text, JSON error. */
static void usage_error(const char *args, const char *needle)
{
	const char *msg;
	char *out;
	json_t *doc;
	int status;

	out = run_capture(&status, "%s %s 2>&1 >/dev/null", keyhole(), args);
	CHECK(status == 2 && strstr(out, needle) && one_line(out),
	      "keyhole %s: want exit 2 and one line naming '%s', got exit %d: %s",
	      args, needle, status, out);
	free(out);
	out = run_capture(&status, "%s --json %s 2>/dev/null", keyhole(),
			  args);
	doc = parse(out, status, args);
	msg = json_string_value(json_object_get(doc, "error"));
	CHECK(status == 2 && msg && strstr(msg, needle),
	      "keyhole --json %s: want exit 2 and an error naming '%s', got exit %d: %s",
	      args, needle, status, out);
	printf("ok: keyhole %s -> 2: %s\n", args, msg);
	json_decref(doc);
	free(out);
}

/* Usage errors: the command line, "%s" where the VM goes, and the word. */
static const struct {
	const char *args, *needle;
} bad_lines[] = {
	{ "frobnicate", "unknown command 'frobnicate'" },
	{ "ps --frobnicate %s", "unknown option '--frobnicate'" },
	{ "ps -Z %s", "unknown option '-Z'" },
	{ "ps %s --c x", "ambiguous" },
	{ "ps %s --technique", "needs a value" },
	{ "ps %s --threads=yes", "takes no value" },
	{ "lsof --=5 %s", "unknown option '--=5'" },
	{ "watch --count ' -1' --all", "' -1'" },
	{ "crawl --hz 1e-10 %s", "'1e-10'" },
	{ "crawl --hz 0x10 %s", "'0x10'" },
	{ "ps", "expected one VM" },
	{ "ps %s 1", "unexpected argument '1'" },
	{ "crawl --count 5x %s", "'5x'" },
	{ "crawl --hz foo %s", "'foo'" },
	{ "crawl --budget-ms -1 %s", "'-1'" },
	{ "lsof -p 12ab %s", "'12ab'" },
	{ "maps init %s", "'init'" },
	{ "maps 1", "expected a PID and one VM" },
	{ "watch --count 0 --all", "'0'" },
	{ "watch --hz 0 --all", "'0'" },
	{ "watch", "expected one VM, --all or --match" },
	{ "--layout sideways ps %s", "unknown layout source 'sideways'" },
	{ "list x", "takes no VM" },
	{ "--ram-file ps %s", "--ram-file needs --broker" },
	{ "ps %s -o pid,nosuch", "no column 'nosuch'" },
	{ "lsmod %s --output ''", "names no column" },
	{ "vm %s --raw", "prints no table" },
};

static void usage_errors(const char *vm)
{
	char args[1024];
	unsigned int i;

	for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		const char *at = strstr(bad_lines[i].args, "%s");

		if (at)
			snprintf(args, sizeof(args), "%.*s%s%s",
				 (int)(at - bad_lines[i].args),
				 bad_lines[i].args, vm, at + 2);
		else
			snprintf(args, sizeof(args), "%s", bad_lines[i].args);
		usage_error(args, bad_lines[i].needle);
	}
}

/* What each command's --help must list: its options, and an example. */
static const struct {
	const char *cmd;
	const char *options[10];
} helps[] = {
	{ .cmd = "list", .options = { "--probe" } },
	{ .cmd = "ps", .options = { "--threads" } },
	{ .cmd = "vm" }, { .cmd = "info" }, { .cmd = "mem" },
	{ .cmd = "lsmod" }, { .cmd = "dmesg" }, { .cmd = "ifconfig" },
	{ .cmd = "lsof", .options = { "--pid" } },
	{ .cmd = "envars", .options = { "--pid" } },
	{ .cmd = "creds", .options = { "--pid" } },
	{ .cmd = "bash", .options = { "--pid" } },
	{ .cmd = "elfs", .options = { "--pid" } },
	{ .cmd = "libs", .options = { "--pid" } },
	{ .cmd = "kallsyms", .options = { "--match" } },
	{ .cmd = "check", .options = { "--only" } },
	{ .cmd = "mounts" }, { .cmd = "ebpf" },
	{ .cmd = "kprobes" }, { .cmd = "ftrace" }, { .cmd = "netfilter" },
	{ .cmd = "netstat" }, { .cmd = "maps" }, { .cmd = "techniques" },
	{ .cmd = "crawl", .options = { "--count", "--hz", "--pause",
				       "--summary", "--check", "--budget-ms",
				       "--budget-kib" } },
	{ .cmd = "watch", .options = { "--all", "--match", "--hz", "--events",
				       "--summary", "--pause", "--check",
				       "--count" } },
};

static void help(const char *vm)
{
	char *out, *global;
	unsigned int i, j;
	int status;

	global = run_capture(&status, "%s --help", keyhole());
	CHECK(status == 0, "keyhole --help: exit %d", status);
	for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		char usage[64];

		/* Each form: after the name, after the VM, before the name. */
		out = run_capture(&status, "%s %s %s --help", keyhole(),
				  helps[i].cmd, vm);
		snprintf(usage, sizeof(usage), "Usage: keyhole [OPTIONS] %s ",
			 helps[i].cmd);
		CHECK(status == 0 && strstr(out, usage) &&
		      strstr(out, "Example:"),
		      "keyhole %s VM --help: exit %d: %s", helps[i].cmd,
		      status, out);
		/* In its options' list, not only in the usage line. */
		for (j = 0; helps[i].options[j]; j++)
			CHECK(strstr(out, "\nOptions of ") &&
			      strstr(strstr(out, "\nOptions of "),
				     helps[i].options[j]),
			      "keyhole %s --help does not list %s: %s",
			      helps[i].cmd, helps[i].options[j], out);
		free(out);
		out = run_capture(&status, "%s --help %s", keyhole(),
				  helps[i].cmd);
		CHECK(status == 0 && strstr(out, usage),
		      "keyhole --help %s: exit %d: %s", helps[i].cmd, status,
		      out);
		free(out);
		snprintf(usage, sizeof(usage), "\n  %s ", helps[i].cmd);
		CHECK(strstr(global, usage), "keyhole --help does not list %s",
		      helps[i].cmd);
	}
	free(global);
	printf("ok: every command's --help, wherever it stands\n");
}

/* ps's table with --output and --noheadings, against ps --json. */
static void table_columns(const char *vm)
{
	char *out, *line, *save = NULL;
	int status, pid, lines = 0, init = 0;
	char comm[64];

	out = run(&status, "ps %s --output pid,Comm --noheadings", vm);
	CHECK(status == 0, "ps -o pid,comm --noheadings: exit %d", status);
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), lines++) {
		CHECK(sscanf(line, "%d %63s", &pid, comm) >= 1 && pid > 0 &&
		      !strstr(line, "PID"),
		      "ps -o pid,comm --noheadings: line '%s'", line);
		init |= pid == 1 && !strcmp(comm, "init");
	}
	CHECK(lines > 20 && init, "ps -o pid,comm: %d lines, init %s", lines,
	      init ? "there" : "missing");
	free(out);
	out = run(&status, "--raw -o s,pid ps %s", vm);
	CHECK(status == 0 && !strncmp(out, "S PID\n", 6),
	      "--raw -o s,pid ps: exit %d: %.100s", status, out);
	for (line = strtok_r(out + 6, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		CHECK(sscanf(line, "%63s %d", comm, &pid) == 2 &&
		      strlen(comm) == 1 && line[1] == ' ' && line[2] != ' ',
		      "--raw -o s,pid ps: line '%s'", line);
	free(out);
	printf("ok: tables: --output, --noheadings, --raw\n");
}

static void version_and_debug(const char *vm)
{
	char *out, *err_out;
	int status;

	out = run_capture(&status, "%s ps --version", keyhole());
	CHECK(status == 0 && !strncmp(out, "keyhole ", 8) &&
	      strchr(out, '.') && one_line(out),
	      "keyhole ps --version: exit %d: %s", status, out);
	free(out);
	out = run_capture(&status, "%s -V", keyhole());
	CHECK(status == 0 && !strncmp(out, "keyhole ", 8),
	      "keyhole -V: exit %d: %s", status, out);
	free(out);

	err_out = run_capture(&status, "%s info %s --debug 2>&1 >/dev/null",
			      keyhole(), vm);
	CHECK(status == 0 && strstr(err_out, "keyhole: debug: ") &&
	      strstr(err_out, "works: chosen") &&
	      strstr(err_out, "guest kernel ") &&
	      strstr(err_out, "guest RAM layout from"),
	      "keyhole info --debug: exit %d, stderr: %s", status, err_out);
	free(err_out);
	out = run_capture(&status, "%s -d --json info %s 2>/dev/null",
			  keyhole(), vm);
	CHECK(status == 0 && one_line(out), "-d --json info: exit %d: %s",
	      status, out);
	json_decref(parse(out, status, "-d --json info"));
	free(out);
	err_out = run_capture(&status, "%s info %s 2>&1 >/dev/null",
			      keyhole(), vm);
	CHECK(status == 0 && !strstr(err_out, "debug"),
	      "keyhole info without --debug says: %s", err_out);
	free(err_out);
	printf("ok: --version; --debug explains on stderr only\n");
}

int main(int argc, char **argv)
{
	/* The command, its arguments, and its list's key (a listing's). */
	static const char *const commands[][3] = {
		{ "ps", "", "ps" }, { "ps", "-T", "ps" }, { "vm", "", NULL },
		{ "info", "", NULL }, { "mem", "", NULL },
		{ "lsmod", "", "lsmod" }, { "dmesg", "", "dmesg" },
		{ "ifconfig", "", "ifconfig" },
		{ "netstat", "", "ss" }, { "lsof", "", "lsof" },
		{ "lsof", "-p 1", "lsof" }, { "maps", "1", "maps" },
		{ "envars", "", "envars" }, { "envars", "-p 1", "envars" },
		{ "creds", "", "creds" }, { "creds", "-p 1", "creds" },
		{ "bash", "", "bash" }, { "bash", "-p 1", "bash" },
		{ "elfs", "-p 1", "elfs" }, { "libs", "", "libs" },
		{ "kprobes", "", "kprobes" }, { "ftrace", "", "ftrace" },
		{ "netfilter", "", "netfilter" },
		{ "kallsyms", "-m sys_call_table", "kallsyms" },
		{ "check", "", NULL }, { "check", "--only idt", NULL },
		{ "mounts", "", "mounts" }, { "ebpf", "", NULL },
		{ "techniques", "", "techniques" },
		{ "crawl", "--summary", NULL },
	};
	char vm[32];
	unsigned int i;
	struct guest g;

	CHECK(argc == 2, "usage: %s RUNDIR", argv[0]);
	guest_load(&g, argv[1]);
	snprintf(vm, sizeof(vm), "%d", g.pid);

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		json_anywhere(commands[i][0], commands[i][1], vm,
			      commands[i][2]);
	json_anywhere("list", "", "", "list");
	technique_anywhere(vm);
	command_options_anywhere(vm);
	pretty(vm);
	usage_errors(vm);
	help(vm);
	table_columns(vm);
	version_and_debug(vm);
	return KH_PASS;
}
