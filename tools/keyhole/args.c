// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command line, taken as GNU tools and bpftool take theirs: keyhole's
 * own options (--json, --technique, ...) anywhere, before the command or
 * among its arguments, and the command's options anywhere after its name.
 * After the name, a letter or name the command has is the command's
 * (lsof -p PID, crawl --pause): keyhole's -p, --pretty, then goes before
 * the command or is spelt out. "--" ends the options. A long option may
 * be shortened to any prefix that names one option.
 *
 * Usage errors (an unknown command or option, a missing or malformed
 * value) exit 2, as "no command" always did; --help and --version exit 0.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"

enum {
	OPT_CACHE_DIR = OPT_LONG_ONLY,
	OPT_BROKER,
	OPT_RAM_FILE,
	OPT_NOHEADINGS,
	OPT_RAW,
};

static const struct cmd_option global_options[] = {
	OPTION("json", 'j', NULL, "print JSON (errors too); compact, one line"),
	OPTION("pretty", 'p', NULL, "print JSON, indented (implies --json)"),
	OPTION("technique", 't', "NAME",
	  "access technique ('keyhole techniques VM' lists them;\n"
	  "default: the fastest live one that works)"),
	OPTION("layout", 'l', "SOURCE", "guest RAM layout from: auto, qmp, maps"),
	OPTION("cache-dir", OPT_CACHE_DIR, "DIR",
	  "kernel profile cache (\"\" disables)"),
	OPTION("connect", 'c', "URI",
	  "libvirt connection for libvirt's domains\n"
	  "(default: $LIBVIRT_DEFAULT_URI, else qemu:///system)"),
	{ .name = "broker", .key = OPT_BROKER, .arg = "SOCK",
	  .help = "ask keyholed (default socket " KH_PROTO_SOCKET ")\n"
		  "instead of attaching; same output",
	  .optional = true },
	OPTION("ram-file", OPT_RAM_FILE, NULL,
	  "with --broker: keyholed hands over the file behind the\n"
	  "VM's RAM (or keyhole.ko's mapping of it) and keyhole\n"
	  "reads it itself"),
	OPTION("output", 'o', "COLS",
	  "the table's columns, in this order (a command's --help\n"
	  "lists its columns)"),
	OPTION("noheadings", OPT_NOHEADINGS, NULL, "tables without their header"),
	OPTION("raw", OPT_RAW, NULL,
	  "tables unaligned: one space between cells"),
	OPTION("debug", 'd', NULL,
	  "say on stderr what the engine and libbpf decide while\n"
	  "attaching (the target, each technique tried, the kernel)"),
	OPTION("version", 'V', NULL, "print keyhole's version"),
	OPTION("help", 'h', NULL, "this help, or a command's after its name"),
	{ .name = NULL },
};

const struct cmd_option *keyhole_options(void)
{
	return global_options;
}

int usage_error(const struct options *opts, const struct subcommand *cmd,
		const char *fmt, ...)
{
	char msg[1024], see[128];
	size_t n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "%s%s", cmd ? cmd->name : "",
		     cmd ? ": " : "");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	va_end(ap);
	snprintf(see, sizeof(see), "; see '%s %s%s--help'", prog_name,
		 cmd ? cmd->name : "", cmd ? " " : "");
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, "%s", see);
	report_error(opts, "%s", msg);
	return EXIT_USAGE;
}

/* "-t, --technique NAME" for help. */
static void option_label(const struct cmd_option *o, char *buf, size_t size)
{
	int n;

	if (o->key < OPT_LONG_ONLY)
		n = snprintf(buf, size, "-%c, --%s", o->key, o->name);
	else
		n = snprintf(buf, size, "    --%s", o->name);
	if (o->arg && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - n, o->optional ? "[=%s]" : " %s",
			 o->arg);
}

void print_options(const struct cmd_option *o, FILE *out)
{
	char label[64];

	for (; o->name; o++) {
		const char *line = o->help;

		option_label(o, label, sizeof(label));
		fprintf(out, "  %-24s", label);
		if (strlen(label) > 24)
			fprintf(out, "\n  %-24s", "");
		/* Help text of several lines lines up under the first. */
		while (line) {
			const char *nl = strchr(line, '\n');

			fprintf(out, " %.*s\n", nl ? (int)(nl - line) :
				(int)strlen(line), line);
			line = nl ? nl + 1 : NULL;
			if (line)
				fprintf(out, "  %-24s", "");
		}
	}
}

/*
 * The option of table spelt name (len bytes: "--name=value" stops at the
 * '='): an exact match, else the only one it is a prefix of. NULL when
 * none; *ambiguous set when several.
 */
static const struct cmd_option *find_long(const struct cmd_option *table,
					  const char *name, size_t len,
					  bool *ambiguous)
{
	const struct cmd_option *o, *found = NULL;

	/* "--=x" names nothing, not every option. */
	if (!len)
		return NULL;
	for (o = table; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	for (o = table; o && o->name; o++) {
		if (strncmp(o->name, name, len))
			continue;
		if (found)
			*ambiguous = true;
		found = o;
	}
	return *ambiguous ? NULL : found;
}

static const struct cmd_option *find_short(const struct cmd_option *table,
					   char c)
{
	const struct cmd_option *o;

	for (o = table; o && o->name; o++)
		if (o->key == (unsigned char)c)
			return o;
	return NULL;
}

static int set_layout(const char *arg, enum kh_layout_source *layout)
{
	if (!strcmp(arg, "auto"))
		*layout = KH_LAYOUT_AUTO;
	else if (!strcmp(arg, "qmp"))
		*layout = KH_LAYOUT_QMP;
	else if (!strcmp(arg, "maps"))
		*layout = KH_LAYOUT_MAPS;
	else
		return -1;
	return 0;
}

/*
 * Where each of keyhole's plain options lands in struct options: a flag
 * set, or its value kept. The few that do more are take_global()'s.
 */
static const struct {
	int key;
	size_t flag, text;	/* offsetof a bool, or a const char * */
} targets[] = {
#define FLAG(k, field) { k, offsetof(struct options, field), SIZE_MAX }
#define TEXT(k, field) { k, SIZE_MAX, offsetof(struct options, field) }
	FLAG('j', json), FLAG(OPT_RAM_FILE, ram_file),
	FLAG(OPT_NOHEADINGS, noheadings), FLAG(OPT_RAW, raw),
	FLAG('d', debug), FLAG('V', version), FLAG('h', help),
	TEXT('t', technique), TEXT(OPT_CACHE_DIR, cache_dir),
	TEXT('c', connect), TEXT('o', output),
#undef FLAG
#undef TEXT
};

/* One of keyhole's own options, with its value (NULL if it takes none). */
static int take_global(struct options *opts, const struct cmd_option *o,
		       const char *value)
{
	unsigned int i;

	switch (o->key) {
	case 'p':
		opts->json = opts->pretty = true;
		return 0;
	case 'l':
		if (set_layout(value, &opts->layout))
			return usage_error(opts, NULL, "unknown layout source '%s' (auto, qmp, maps)",
					   value);
		return 0;
	case OPT_BROKER:
		opts->broker = value ?: KH_PROTO_SOCKET;
		return 0;
	}
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		if (targets[i].key != o->key)
			continue;
		if (targets[i].flag != SIZE_MAX)
			*(bool *)((char *)opts + targets[i].flag) = true;
		else
			*(const char **)((char *)opts + targets[i].text) = value;
	}
	return 0;
}

struct parser {
	int argc, i;
	char **argv;
	struct options *opts;
	const struct subcommand *cmd;	/* NULL until its name is read */
	struct cmd_args *args;
};

/*
 * Records option o, spelt as, whose value is attached (inline, may be
 * NULL) or is the next argument: keyhole's own into opts, the command's
 * into args. 0, or the usage error's exit status.
 */
static int take(struct parser *p, const struct cmd_option *o, bool global,
		const char *as, const char *inline_value)
{
	const char *value = inline_value;

	if (!o->arg && inline_value)
		return usage_error(p->opts, p->cmd, "option '%s' takes no value",
				   as);
	if (o->arg && !value && !o->optional) {
		if (p->i + 1 >= p->argc)
			return usage_error(p->opts, p->cmd, "option '%s' needs a value (%s)",
					   as, o->arg);
		value = p->argv[++p->i];
	}
	if (global)
		return take_global(p->opts, o, value);
	if (p->args->nr_opts == CMD_ARGS_MAX)
		return usage_error(p->opts, p->cmd, "more than %d options",
				   CMD_ARGS_MAX);
	p->args->opt[p->args->nr_opts++] = (struct cmd_arg){ o->key, value };
	return 0;
}

static int long_option(struct parser *p, const char *arg)
{
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct cmd_option *o = NULL;
	bool ambiguous = false, global = false;

	if (p->cmd)
		o = find_long(p->cmd->options, name, len, &ambiguous);
	if (!o && !ambiguous) {
		o = find_long(global_options, name, len, &ambiguous);
		global = true;
	}
	if (ambiguous)
		return usage_error(p->opts, p->cmd, "option '--%.*s' is ambiguous",
				   (int)len, name);
	if (!o)
		return usage_error(p->opts, p->cmd, "unknown option '%s'", arg);
	return take(p, o, global, arg, eq ? eq + 1 : NULL);
}

/* "-abc", "-p5", "-p 5": letters, the last may take a value. */
static int short_options(struct parser *p, const char *arg)
{
	const char *c;
	int ret;

	for (c = arg + 1; *c; c++) {
		const struct cmd_option *o = p->cmd ?
					     find_short(p->cmd->options, *c) :
					     NULL;
		bool global = !o;
		char as[3] = { '-', *c, '\0' };

		if (!o)
			o = find_short(global_options, *c);
		if (!o)
			return usage_error(p->opts, p->cmd, "unknown option '-%c'",
					   *c);
		if (o->arg && !o->optional) {
			return take(p, o, global, as, c[1] ? c + 1 : NULL);
		}
		ret = take(p, o, global, as, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

int parse_command_line(int argc, char **argv, struct options *opts,
		       const struct subcommand **cmdp, struct cmd_args *args)
{
	struct parser p = { argc, 1, argv, opts, NULL, args };
	bool options_end = false;
	int i, ret;

	memset(args, 0, sizeof(*args));
	/* Errors in the options are JSON too when --json is among them. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j") ||
		    !strcmp(argv[i], "--pretty"))
			opts->json = true;
	for (; p.i < argc; p.i++) {
		const char *arg = argv[p.i];

		if (!options_end && !strcmp(arg, "--")) {
			options_end = true;
			continue;
		}
		if (!options_end && arg[0] == '-' && arg[1]) {
			ret = arg[1] == '-' ? long_option(&p, arg) :
			      short_options(&p, arg);
			if (ret)
				return ret;
			continue;
		}
		if (!p.cmd) {
			p.cmd = subcommand_find(arg);
			if (!p.cmd)
				return usage_error(opts, NULL, "unknown command '%s'",
						   arg);
			continue;
		}
		if (args->nr_pos == CMD_ARGS_MAX)
			return usage_error(opts, p.cmd, "more than %d arguments",
					   CMD_ARGS_MAX);
		args->pos[args->nr_pos++] = arg;
	}
	*cmdp = p.cmd;
	if (opts->version || opts->help)
		return 0;
	if (!p.cmd)
		return usage_error(opts, NULL, "no command given");
	if (opts->ram_file && (!opts->broker || opts->technique ||
			       opts->layout != KH_LAYOUT_AUTO))
		return usage_error(opts, NULL, "--ram-file needs --broker, and takes no --technique or --layout: keyholed hands over the file (read with memmap) or keyhole.ko's mapping (kmap)");
	return 0;
}

int expect_args(const struct options *opts, const struct subcommand *cmd,
		const struct cmd_args *args, unsigned int nr,
		const char *what)
{
	if (args->nr_pos == nr)
		return 0;
	if (args->nr_pos < nr)
		return usage_error(opts, cmd, "expected %s", what);
	return usage_error(opts, cmd, "unexpected argument '%s' (expected %s)",
			   args->pos[nr], what);
}

int parse_uint(const struct options *opts, const struct subcommand *cmd,
	       const char *option, const char *value, unsigned long min,
	       unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* Digits only: strtoul would take " -1" for ULONG_MAX. */
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || !isdigit((unsigned char)value[0]) || *end || v < min ||
	    v > max)
		return usage_error(opts, cmd, "%s wants a whole number from %lu to %lu, not '%s'",
				   option, min, max, value);
	*out = v;
	return 0;
}

#define RATE_MIN	(1.0 / 86400)
#define RATE_MAX	1e6

int parse_rate(const struct options *opts, const struct subcommand *cmd,
	       const char *option, const char *value, bool zero_ok,
	       double *out)
{
	char *end;
	double v;

	/*
	 * Decimal only, and no slower than one a day: the period of a rate
	 * closer to 0 is no time a timer takes.
	 */
	errno = 0;
	v = strtod(value, &end);
	if (errno || !(isdigit((unsigned char)value[0]) || value[0] == '.') ||
	    strpbrk(value, "xX") || *end || !isfinite(v) || v > RATE_MAX ||
	    (v < RATE_MIN && !(zero_ok && v == 0)))
		return usage_error(opts, cmd, "%s wants a rate in Hz from %g to %g%s, not '%s'",
				   option, RATE_MIN, RATE_MAX,
				   zero_ok ? " (or 0)" : "", value);
	*out = v;
	return 0;
}
