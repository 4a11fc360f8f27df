// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole: introspect live QEMU/KVM Linux guests from the host.
 *
 * keyhole's options go anywhere on the line, a command's after its name
 * (args.c); each command answers --help with its own.
 */
#include <bpf/libbpf.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"
#include "render.h"

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

/* One line, unless --pretty. */
static size_t json_flags = JSON_COMPACT;

void set_used_technique(const char *name)
{
	static char copy[64];

	snprintf(copy, sizeof(copy), "%s", name ?: "");
	used_technique = copy[0] ? copy : NULL;
}

/* A command that shows one view of a VM (cmd_view.c). */
#define VIEW(n, sum, ex) \
	{ .name = #n, .run = cmd_view, .usage = "VM", .summary = (sum), \
	  .example = (ex), .render = render_##n }
/* Whether cmd takes the option with this short key. */
static bool has_option(const struct subcommand *cmd, int key)
{
	unsigned int i;

	for (i = 0; cmd->options && cmd->options[i].name; i++)
		if (cmd->options[i].key == key)
			return true;
	return false;
}

/* One with a table. */
#define TABLE_VIEW(n, sum, ex) \
	{ .name = #n, .run = cmd_view, .usage = "VM", .summary = (sum), \
	  .example = (ex), .render = render_##n, .columns = n##_columns }

const struct subcommand subcommands[] = {
	{ .name = "list", .run = cmd_list, .usage = "[--probe]",
	  .summary = "the QEMU VMs on this host you may introspect (--probe: kernel, techniques)",
	  .options = list_options, .example = "--probe",
	  .columns = list_columns },
	{ .name = "ps", .run = cmd_ps,
	  .usage = "[-T] [-p PID[,PID...]] [--forest] VM",
	  .summary = "list the guest's processes (threads with -T)",
	  .options = ps_options, .example = "-T web1 -o pid,comm",
	  .columns = ps_columns },
	VIEW(vm, "show how keyhole sees a VM: RAM layout, kernel, KASLR, paging",
	     "4242"),
	VIEW(info, "OS and CPUs: kernel, hostname, uptime, CPUs, load",
	     "/run/web1/qmp.sock"),
	VIEW(mem, "memory use, as /proc/meminfo", "web1"),
	TABLE_VIEW(lsmod, "loaded kernel modules", "web1 --noheadings"),
	VIEW(dmesg, "the kernel log, as dmesg (JSON escaped as /dev/kmsg)",
	     "web1 --json"),
	TABLE_VIEW(mounts, "every mount namespace's mounts, as /proc/PID/mounts",
		   "web1 -o device,path,type"),
	TABLE_VIEW(ebpf, "loaded eBPF programs and maps, as bpftool prog and map",
		   "web1 --json"),
	{ .name = "kallsyms", .run = cmd_kallsyms, .usage = "[-m TEXT] VM",
	  .summary = "the kernel's symbols at this boot's addresses, as /proc/kallsyms",
	  .options = kallsyms_options, .example = "-m sys_call_table web1",
	  .render = render_kallsyms },
	VIEW(ifconfig, "network interfaces and addresses", "web1"),
	{ .name = "ip", .run = cmd_ip, .usage = "[-s] VM",
	  .summary = "network interfaces and addresses as ip addr (JSON as ip -j addr)",
	  .options = ip_options, .example = "-s web1 --json" },
	{ .name = "addr", .run = cmd_ip, .usage = "[-s] VM",
	  .summary = "the same as ip", .options = ip_options,
	  .example = "web1" },
	{ .name = "lsof", .run = cmd_pid_view, .usage = "[-p PID] VM",
	  .summary = "open files of every process (or one)",
	  .options = pid_view_options, .example = "-p 1 web1",
	  .columns = lsof_columns, .render = render_lsof },
	{ .name = "envars", .run = cmd_pid_view, .usage = "[-p PID] VM",
	  .summary = "the environment of every process (or one), as /proc/PID/environ",
	  .options = pid_view_options, .example = "-p 1 web1 -o pid,variable",
	  .columns = envars_columns, .render = render_envars },
	{ .name = "creds", .run = cmd_pid_view, .usage = "[-p PID] VM",
	  .summary = "credentials of every process (or one) as /proc/PID/status, and shared creds",
	  .options = pid_view_options, .example = "web1 -o pid,uid,shared",
	  .columns = creds_columns, .render = render_creds },
	{ .name = "bash", .run = cmd_pid_view, .usage = "[-p PID] VM",
	  .summary = "the command history of every running bash (or of one process), from its heap",
	  .options = pid_view_options, .example = "web1 -o time,command",
	  .columns = bash_columns, .render = render_bash },
	{ .name = "elfs", .run = cmd_pid_view, .usage = "[-p PID] VM",
	  .summary = "the ELF objects every process (or one) maps: executable, libraries, loader",
	  .options = pid_view_options, .example = "-p 1 web1",
	  .columns = elfs_columns, .render = render_elfs },
	{ .name = "libs", .run = cmd_pid_view, .usage = "[-p PID] VM",
	  .summary = "the same without the executables: the libraries every process (or one) maps",
	  .options = pid_view_options, .example = "web1 -o pid,path",
	  .columns = elfs_columns, .render = render_elfs },
	{ .name = "check", .run = cmd_check, .usage = "[--only CHECK] VM",
	  .summary = "find what rootkits hide: hidden processes and modules, hooked tables, injected code",
	  .options = check_options, .example = "web1 --json",
	  .columns = check_columns },
	{ .name = "kprobes", .run = cmd_view, .usage = "VM",
	  .summary = "every kprobe's handlers, where their code is, and which are suspect",
	  .example = "web1", .render = render_hooks, .columns = hooks_columns },
	{ .name = "ftrace", .run = cmd_view, .usage = "VM",
	  .summary = "every ftrace callback, what it traces, and which are suspect",
	  .example = "web1", .render = render_hooks, .columns = hooks_columns },
	{ .name = "netfilter", .run = cmd_view, .usage = "VM",
	  .summary = "every netfilter hook of every netns, by hook and priority",
	  .example = "web1 -o hooked,prio,target", .render = render_hooks,
	  .columns = hooks_columns },
	{ .name = "ss", .run = cmd_ss, .usage = "[-t] [-u] [-x] [-l|-a] VM",
	  .summary = "TCP, UDP and unix sockets with their queues and processes, as ss",
	  .options = ss_options, .example = "-tl web1 -o netid,state,local",
	  .columns = ss_columns },
	{ .name = "netstat", .run = cmd_ss, .usage = "[-t] [-u] [-x] [-l|-a] VM",
	  .summary = "the same as ss",
	  .options = ss_options, .example = "-a web1",
	  .columns = ss_columns },
	{ .name = "maps", .run = cmd_maps, .usage = "PID VM | --all VM",
	  .summary = "a process's memory map, as /proc/PID/maps (--all: every process's)",
	  .options = maps_options, .example = "1 web1" },
	VIEW(techniques,
	     "access techniques, their class and properties, and which work here",
	     "web1"),
	{ .name = "crawl", .run = cmd_crawl,
	  .usage = "[--count N] [--hz F] [--pause] [--summary] [--budget-ms MS] [--budget-kib KIB] VM",
	  .summary = "the whole state, N times at F Hz, as JSON lines with cost and consistency",
	  .options = crawl_options,
	  .example = "--count 10 --hz 2 --summary web1" },
	{ .name = "watch", .run = cmd_watch,
	  .usage = "[--hz F] [--events] [--summary] [--pause] [--count N] VM|--all|--match PAT",
	  .summary = "stream keyholed's crawls of VMs: records, or change events",
	  .options = watch_options, .example = "--events --match 'web*'" },
	{ .name = NULL },
};

static void usage(FILE *out)
{
	const struct subcommand *cmd;

	fprintf(out, "Usage: %s [OPTIONS] COMMAND [COMMAND OPTIONS] [ARGS]\n"
		"\n" VM_HELP "\nCommands:\n", prog_name);
	for (cmd = subcommands; cmd->name; cmd++)
		fprintf(out, "  %-10s %s\n", cmd->name, cmd->summary);
	fprintf(out, "\nOptions (anywhere on the line; after a command's name its own\n"
		"options come first: 'keyhole lsof -p PID', 'keyhole --pretty lsof'):\n");
	print_options(keyhole_options(), out);
	fprintf(out,
		"\n'%s COMMAND --help' shows a command's options and an example.\n"
		"Exit status: 0 done; 1 an error; 2 a usage error; 3 the result is\n"
		"incomplete (printed, with a warning saying why); 4 check found\n"
		"something.\n"
		"\n"
		"Environment: KEYHOLE_TMPDIR (where snapshots are made, default /var/tmp),\n"
		"KEYHOLE_KEEP_SNAPSHOT=FILE (dump, migrate, bgsnap keep their copy there).\n",
		prog_name);
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
	unsigned int i;

	fprintf(out, "Usage: %s [OPTIONS] %s %s\n%s\n", prog_name, cmd->name,
		cmd->usage, cmd->summary);
	if (cmd->options) {
		fprintf(out, "\nOptions of %s:\n", cmd->name);
		print_options(cmd->options, out);
	}
	if (cmd->columns) {
		fprintf(out, "\nColumns (--output NAME,...; any case, '-' for a space):\n");
		for (i = 0; cmd->columns[i].name; i++)
			fprintf(out, "  %-12s %s%s\n", cmd->columns[i].name,
				cmd->columns[i].help,
				cmd->columns[i].flags & TABLE_HIDDEN ?
				" (with -o only)" :
				cmd->columns[i].flags & TABLE_THREADS &&
				has_option(cmd, 'T') ? " (with -T)" : "");
	}
	if (strstr(cmd->usage, "VM"))
		fprintf(out, "\n" VM_HELP);
	fprintf(out, "\nExample:\n  %s %s %s\n"
		"\nkeyhole's own options (--json, --pretty, --technique, ...) go anywhere;\n"
		"see '%s --help'.\n", prog_name, cmd->name, cmd->example,
		prog_name);
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
	json_dumpf(doc, stdout, json_flags | JSON_PRESERVE_ORDER);
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

/* Whether a progress line is on stderr now, to be ended before more. */
static int progress_shown;

/*
 * A halting snapshot's progress, on a terminal only, one line rewritten
 * in place: "keyhole: pmemsave 512/1024 MiB, guest halted 1.2 s".
 */
static void show_progress(void *opaque, const char *technique, uint64_t done,
			  uint64_t total, uint64_t halted_ns)
{
	(void)opaque;
	fprintf(stderr, "\rkeyhole: %s %" PRIu64 "/%" PRIu64 " MiB", technique,
		done >> 20, total >> 20);
	if (halted_ns)
		fprintf(stderr, ", guest halted %.1f s", halted_ns / 1e9);
	fputs("\033[K", stderr);
	progress_shown = 1;
}

/* Ends a progress line, if there is one, before anything else is said. */
static void end_progress(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = 0;
}

void vm_config(const struct options *opts, struct kh_vm_config *cfg)
{
	*cfg = (struct kh_vm_config){
		.progress = isatty(STDERR_FILENO) ? show_progress : NULL,
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
	int ret;

	vm_config(opts, &vcfg);

	if (kh_ctx_new(&ccfg, ctxp, &err))
		return report_error(opts, "%s", err.msg);
	enter_critical();
	ret = kh_vm_open(*ctxp, spec, &vcfg, vmp, &err);
	end_progress();
	if (ret) {
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

/*
 * On a terminal, how long a halting technique kept the guest stopped in
 * all: who runs keyhole by hand should know what it cost the guest.
 */
static void tell_halted(struct kh_vm *vm)
{
	struct kh_access_cost cost;
	struct kh_vm_info info;

	end_progress();
	if (!isatty(STDERR_FILENO))
		return;
	kh_vm_get_access_cost(vm, &cost);
	kh_vm_get_info(vm, &info);
	if (cost.halted_ns)
		fprintf(stderr, "keyhole: %s kept the guest halted for %.3f s in all\n",
			info.technique, cost.halted_ns / 1e9);
}

void detach(struct kh_ctx *ctx, struct kh_vm *vm)
{
	enter_critical();
	tell_halted(vm);
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

/*
 * libbpf reports BTF it rejects on stderr; a hostile guest's BTF is
 * reported by keyhole's own error instead.
 */
static int quiet_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	return 0;
}

/* --debug: libbpf says what it makes of the guest's BTF, too. */
static int debug_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	fprintf(stderr, "%s: debug: libbpf: ", prog_name);
	return vfprintf(stderr, fmt, ap);
}

static void debug_engine(void *opaque, const char *msg)
{
	fprintf(stderr, "%s: debug: %s\n", prog_name, msg);
}

int main(int argc, char **argv)
{
	const struct subcommand *cmd;
	struct options opts = { 0 };
	struct cmd_args *args = calloc(1, sizeof(*args));
	char why[512];
	int ret;

	if (!args)
		return report_error(NULL, "out of memory");
	if (argc < 2) {
		usage(stderr);
		free(args);
		return EXIT_USAGE;
	}
	ret = parse_command_line(argc, argv, &opts, &cmd, args);
	if (ret)
		goto out;
	if (opts.pretty)
		json_flags = JSON_INDENT(2);
	if (opts.version) {
		printf("%s %s\n", prog_name, KEYHOLED_VERSION);
		goto out;
	}
	if (opts.help) {
		if (cmd)
			subcommand_usage(cmd, stdout);
		else
			usage(stdout);
		goto out;
	}
	if (table_check(&opts, cmd->columns, why, sizeof(why))) {
		ret = usage_error(&opts, cmd, "%s", why);
		goto out;
	}
	table_setup(&opts);
	libbpf_set_print(opts.debug ? debug_libbpf : quiet_libbpf);
	if (opts.debug)
		kh_set_debug_log(debug_engine, NULL);
	catch_signals();
	ret = cmd->run(&opts, cmd, args);
out:
	free(args);
	return ret;
}
