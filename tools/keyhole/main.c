// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole: introspect live QEMU/KVM Linux guests from the host.
 *
 * Global options come before the subcommand; each subcommand parses its
 * own and answers --help.
 */
#include <bpf/libbpf.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"

const char *prog_name = "keyhole";

/*
 * SIGINT, SIGTERM and SIGHUP end keyhole as they always do, except while
 * it attaches or detaches: a snapshot technique then has the guest
 * stopped or a temporary file on disk, and a halting one the guest
 * paused. There the signal is held until the step is over, so the guest
 * is running (or paused by its owner, as before) and no file is left
 * when keyhole dies of it.
 */
static volatile sig_atomic_t in_critical, held_signal;

static void on_signal(int sig)
{
	if (in_critical) {
		held_signal = sig;
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int interrupted(void)
{
	return held_signal != 0;
}

static void enter_critical(void)
{
	in_critical = 1;
}

static void leave_critical(void)
{
	int sig;

	in_critical = 0;
	sig = held_signal;
	if (sig) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

/*
 * The technique of the VM a command attached to, for the "technique" of
 * its JSON (commands print after detaching; the name is static).
 */
static const char *used_technique;

void set_used_technique(const char *name)
{
	static char copy[64];

	snprintf(copy, sizeof(copy), "%s", name ?: "");
	used_technique = copy[0] ? copy : NULL;
}

const struct subcommand subcommands[] = {
	{ "ps", cmd_ps, "[-T] VM", "list the guest's processes (threads with -T)" },
	{ "vm", cmd_vm, "VM", "show how keyhole sees a VM: RAM layout, kernel, KASLR, paging" },
	{ "info", cmd_info, "VM", "OS and CPUs: kernel, hostname, uptime, CPUs, load" },
	{ "mem", cmd_mem, "VM", "memory use, as /proc/meminfo" },
	{ "lsmod", cmd_lsmod, "VM", "loaded kernel modules" },
	{ "ifconfig", cmd_ifconfig, "VM", "network interfaces and addresses" },
	{ "lsof", cmd_lsof, "[-p PID] VM", "open files of every process (or one)" },
	{ "netstat", cmd_netstat, "VM", "TCP, UDP and UNIX sockets with their processes" },
	{ "maps", cmd_maps, "PID VM", "a process's memory map, as /proc/PID/maps" },
	{ "techniques", cmd_techniques, "VM",
	  "access techniques, their class and properties, and which work here" },
	{ "crawl", cmd_crawl,
	  "[--count N] [--hz F] [--pause] [--summary] [--budget-ms MS] [--budget-kib KIB] VM",
	  "the whole state, N times at F Hz, as JSON lines with cost and consistency" },
	{ "watch", cmd_watch,
	  "[--hz F] [--events] [--summary] [--pause] [--count N] VM|--all|--match PAT",
	  "stream keyholed's crawls of VMs: records, or change events" },
	{ "list", cmd_list, "[--probe]",
	  "the QEMU VMs on this host you may introspect (--probe: kernel, techniques)" },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *out)
{
	const struct subcommand *cmd;

	fprintf(out,
		"Usage: %s [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"VM is a QEMU pid, the path of its QMP socket, its -name or -uuid, or\n"
		"the name or UUID of a libvirt domain.\n"
		"\n"
		"Commands:\n", prog_name);
	for (cmd = subcommands; cmd->name; cmd++)
		fprintf(out, "  %-8s %-12s %s\n", cmd->name, cmd->usage,
			cmd->summary);
	fprintf(out,
		"\n"
		"Options:\n"
		"  -j, --json             print JSON (errors too)\n"
		"  -t, --technique NAME   access technique (keyhole techniques VM lists\n"
		"                         them; default: the fastest live one that works)\n"

		"  -l, --layout SOURCE    guest RAM layout from: auto, qmp, maps\n"
		"      --cache-dir DIR    kernel profile cache (\"\" disables)\n"
		"  -c, --connect URI      libvirt connection for libvirt's domains\n"
		"                         (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)\n"
		"      --broker[=SOCK]    ask keyholed (default socket " KH_PROTO_SOCKET ")\n"
		"                         instead of attaching; same output\n"
		"      --ram-file         with --broker: keyholed hands over the file behind\n"
		"                         the VM's RAM (or keyhole.ko's mapping of it) and\n"
		"                         keyhole reads it itself\n"
		"  -h, --help             this help\n"
		"\n"
		"Environment: KEYHOLE_TMPDIR (where snapshots are made, default /var/tmp),\n"
		"KEYHOLE_KEEP_SNAPSHOT=FILE (dump, migrate, bgsnap keep their copy there).\n");
}

const struct subcommand *subcommand_find(const char *name)
{
	const struct subcommand *cmd;

	for (cmd = subcommands; cmd->name; cmd++)
		if (!strcmp(cmd->name, name))
			return cmd;
	return NULL;
}

void subcommand_usage(const struct subcommand *cmd, FILE *out)
{
	fprintf(out, "Usage: %s [OPTIONS] %s %s\n%s\n", prog_name, cmd->name,
		cmd->usage, cmd->summary);
}

int report_error(const struct options *opts, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (opts && opts->json)
		print_json(json_pack("{s:s}", "error", msg));
	else
		fprintf(stderr, "%s: %s\n", prog_name, msg);
	return 1;
}

const char *only_vm_argument(const struct options *opts, int argc,
			     char **argv, int *status)
{
	if (argc == 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		subcommand_usage(subcommand_find(argv[0]), stdout);
		*status = 0;
		return NULL;
	}
	if (argc != 2 || argv[1][0] == '-') {
		*status = report_error(opts, "%s: expected one VM (a QEMU pid, QMP socket path, -name or RAM dump); see '%s --help'",
				       argv[0], argv[0]);
		return NULL;
	}
	return argv[1];
}

int result_status(unsigned int flags, const char *problem)
{
	if (!flags)
		return 0;
	fprintf(stderr, "%s: warning: %s result: %s\n", prog_name,
		flags & KH_RESULT_INCOMPLETE ? "incomplete" : "inconsistent",
		problem);
	return flags & KH_RESULT_INCOMPLETE ? EXIT_PARTIAL : 0;
}

int print_json(json_t *doc)
{
	if (!doc)
		return 1;
	/* Every result says how it was read. */
	if (used_technique && json_is_object(doc) &&
	    !json_object_get(doc, "error") &&
	    !json_object_get(doc, "technique"))
		json_object_set_new(doc, "technique",
				    json_string(used_technique));
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(doc);
	return 0;
}

/*
 * The library reads no environment: the command's variables (keyhole.1,
 * ENVIRONMENT) become its settings here.
 */
static const char *env_setting(const char *name)
{
	const char *value = getenv(name);

	return value && value[0] ? value : NULL;
}

void vm_config(const struct options *opts, struct kh_vm_config *cfg)
{
	*cfg = (struct kh_vm_config){
		.technique = opts->technique,
		.layout = opts->layout,
		.gdb_path = env_setting("KEYHOLE_GDB_SOCKET"),
		.qga_path = env_setting("KEYHOLE_QGA_SOCKET"),
		.tmpdir = env_setting("KEYHOLE_TMPDIR"),
		.keep_snapshot = env_setting("KEYHOLE_KEEP_SNAPSHOT"),
		/* As virsh: the option, else libvirt's own variable. */
		.libvirt_uri = opts->connect ?:
			       env_setting("LIBVIRT_DEFAULT_URI"),
	};
}

/*
 * --cache-dir, else $KEYHOLE_CACHE_DIR (empty: no cache), else
 * $XDG_CACHE_HOME/keyhole, else ~/.cache/keyhole.
 */
const char *cache_dir(const struct options *opts, char *buf, size_t size)
{
	const char *dir;

	if (opts->cache_dir)
		return opts->cache_dir;
	dir = getenv("KEYHOLE_CACHE_DIR");
	if (dir)
		return dir;
	dir = env_setting("XDG_CACHE_HOME");
	if (dir) {
		snprintf(buf, size, "%s/keyhole", dir);
		return buf;
	}
	dir = env_setting("HOME");
	if (!dir)
		return NULL;
	snprintf(buf, size, "%s/.cache/keyhole", dir);
	return buf;
}

int attach(const struct options *opts, const char *spec,
	   struct kh_ctx **ctxp, struct kh_vm **vmp)
{
	char dir[4096];
	struct kh_ctx_config ccfg = {
		.cache_dir = cache_dir(opts, dir, sizeof(dir)),
	};
	struct kh_vm_config vcfg;
	struct kh_err err = { 0 };
	struct kh_vm_info info;

	vm_config(opts, &vcfg);

	if (kh_ctx_new(&ccfg, ctxp, &err))
		return report_error(opts, "%s", err.msg);
	enter_critical();
	if (kh_vm_open(*ctxp, spec, &vcfg, vmp, &err)) {
		kh_ctx_free(*ctxp);
		report_error(opts, "%s", err.msg);
		leave_critical();
		return 1;
	}
	kh_vm_get_info(*vmp, &info);
	used_technique = info.technique;
	/*
	 * A halting technique stops the guest inside every operation, so
	 * signals wait for detach (commands that loop poll interrupted()).
	 */
	if (!(info.technique_props & KH_TECHNIQUE_HALTING))
		leave_critical();
	return 0;
}

void detach(struct kh_ctx *ctx, struct kh_vm *vm)
{
	enter_critical();
	kh_vm_close(vm);
	kh_ctx_free(ctx);
	leave_critical();
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int parse_layout(const char *arg, enum kh_layout_source *layout)
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
 * libbpf reports BTF it rejects on stderr; a hostile guest's BTF is
 * reported by keyhole's own error instead.
 */
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "technique", required_argument, NULL, 't' },
		{ "layout", required_argument, NULL, 'l' },
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "connect", required_argument, NULL, 'c' },
		{ "broker", optional_argument, NULL, 'B' },
		{ "ram-file", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options opts = { 0 };
	const struct subcommand *cmd;
	int c;

	libbpf_set_print(quiet_libbpf);
	/* Scan for --json first so that option errors are JSON too. */
	for (c = 1; c < argc && argv[c][0] == '-'; c++)
		if (!strcmp(argv[c], "--json") || !strcmp(argv[c], "-j"))
			opts.json = true;
	while ((c = getopt_long(argc, argv, "+jt:l:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts.json = true;
			break;
		case 't':
			opts.technique = optarg;
			break;
		case 'l':
			if (parse_layout(optarg, &opts.layout))
				return report_error(&opts, "unknown layout source '%s' (auto, qmp, maps)",
						    optarg);
			break;
		case 'C':
			opts.cache_dir = optarg;
			break;
		case 'c':
			opts.connect = optarg;
			break;
		case 'B':
			opts.broker = optarg ?: KH_PROTO_SOCKET;
			break;
		case 'R':
			opts.ram_file = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return report_error(&opts, "bad option; see '%s --help'",
					    prog_name);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (opts.ram_file && (!opts.broker || opts.technique ||
			      opts.layout != KH_LAYOUT_AUTO)) {
		report_error(&opts, "--ram-file needs --broker, and takes no --technique or --layout: keyholed hands over the file (read with memmap) or keyhole.ko's mapping (kmap)");
		return 2;
	}
	catch_signals();
	for (cmd = subcommands; cmd->name; cmd++)
		if (!strcmp(cmd->name, argv[optind]))
			return cmd->run(&opts, argc - optind, argv + optind);
	return report_error(&opts, "unknown command '%s'; see '%s --help'",
			    argv[optind], prog_name);
}
