// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What QEMU's command line says about a VM: its -name and -uuid, guest
 * RAM (-m and the memory backend behind it), and the sockets of its QMP
 * monitor, gdbstub and guest agent. Pure: it parses bytes it is given
 * (a /proc/PID/cmdline image, which any process can make say anything).
 *
 * The command line is parsed the way QEMU parses it: options may be spelt
 * -opt or --opt, option values are QemuOpts strings (key=value pairs split
 * on commas, ",," being a literal comma, the first bare field going to the
 * option's implied key) and -object may also be JSON, as libvirt passes it.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/process.h"

#define MAX_BACKENDS	16
#define MAX_CHARDEVS	16

struct backend {
	char id[64];
	int memfd;		/* memory-backend-memfd */
	uint64_t size;
	char path[PATH_MAX];	/* mem-path of memory-backend-file */
};

struct parse_state {
	struct backend be[MAX_BACKENDS];
	unsigned int nr_be;
	char machine_be[64];	/* -machine memory-backend= */
	char numa_be[64];	/* memdev= of the only -numa node */
	unsigned int nr_numa_be;
	char mon_chardev[8][64];	/* -mon chardev=X,mode=control */
	unsigned int nr_mon;
	struct {
		char id[64];
		char path[108];		/* "" for fd= */
	} chardev[MAX_CHARDEVS];	/* -chardev socket,id=X,path=P|fd=N */
	unsigned int nr_chardev;
	char gdb_chardev[64];	/* -gdb chardev:X */
	char qga_chardev[64];	/* -device virtserialport,chardev=X,name=qga */
};

/*
 * QEMU options that take no argument (HAS_ARG 0 in qemu-options.hx). Every
 * other option consumes the next argv element, so a value that merely
 * looks like an option (say "-append -m") is never taken for one.
 */
static const char *const noarg_opts[] = {
	"h", "help", "version", "S", "no-user-config", "nodefaults",
	"nodefconfig", "nographic", "daemonize", "snapshot", "no-reboot",
	"no-shutdown", "s", "enable-kvm", "no-kvm", "xen-attach",
	"xen-domid-restrict", "no-hpet", "no-acpi", "win2k-hack",
	"rtc-td-hack", "no-fd-bootchk", "full-screen", "curses", "portrait",
	"alt-grab", "ctrl-grab", "no-frame", "no-quit", "sdl", "usb",
	"singlestep", "enable-fips", "preconfig", "only-migratable",
	"old-param", "semihosting", "mem-prealloc", "audio-help",
	"enable-sync-profile", "no-kvm-irqchip", "no-kvm-pit",
	"no-kvm-pit-reinjection", "enable-nesting", "tdf", "kernel-kqemu",
	"no-kqemu", "perfmap", "jitdump", NULL,
};

static int is_noarg(const char *opt)
{
	unsigned int i;

	for (i = 0; noarg_opts[i]; i++)
		if (!strcmp(opt, noarg_opts[i]))
			return 1;
	return 0;
}

/*
 * Looks key up in the QemuOpts string s (implied: the key a leading bare
 * field belongs to, or NULL). Returns 1 and the unescaped value in out, 0
 * when absent, -ENAMETOOLONG when the value does not fit.
 */
static int opts_get(const char *s, const char *key, const char *implied,
		    char *out, size_t outsz)
{
	int first = 1;

	while (*s) {
		const char *eq = NULL, *p = s;
		size_t klen, n = 0;
		int match;

		/* A field ends at a single comma; ",," is a literal comma. */
		while (*p && !(p[0] == ',' && p[1] != ',')) {
			if (p[0] == ',' && p[1] == ',') {
				p += 2;
				continue;
			}
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (eq) {
			klen = eq - s;
			match = strlen(key) == klen && !strncmp(s, key, klen);
			s = eq + 1;
		} else {
			/* A bare field: the implied key, or a boolean flag. */
			match = first && implied && !strcmp(key, implied);
			if (!match && (size_t)(p - s) == strlen(key) &&
			    !strncmp(s, key, p - s)) {
				if (outsz < 3)
					return -ENAMETOOLONG;
				strcpy(out, "on");
				return 1;
			}
		}
		if (match) {
			while (s < p) {
				if (n + 1 >= outsz)
					return -ENAMETOOLONG;
				out[n++] = *s;
				s += (s[0] == ',' && s[1] == ',') ? 2 : 1;
			}
			out[n] = '\0';
			return 1;
		}
		first = 0;
		s = *p ? p + 1 : p;
	}
	return 0;
}

/*
 * A size the way QEMU's qemu_strtosz() reads it: a number, maybe with a
 * fraction, and an optional B/K/M/G/T/P/E suffix; bare numbers are
 * multiplied by defmul (MiB for -m, bytes for size= of objects).
 */
static int parse_size(const char *s, uint64_t defmul, uint64_t *out)
{
	static const char suffixes[] = "BKMGTPE";
	unsigned long long whole;
	long double frac = 0;
	const char *p;
	uint64_t mul = defmul;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	whole = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == '.') {
		frac = strtold(end, &end);
		if (frac >= 1)
			return -EINVAL;
	}
	if (*end) {
		p = strchr(suffixes, toupper((unsigned char)*end));
		if (!p || end[1])
			return -EINVAL;
		mul = 1ull << (10 * (p - suffixes));
	}
	if (whole > UINT64_MAX / mul)
		return -EINVAL;
	*out = whole * mul + (uint64_t)(frac * mul);
	return 0;
}

static int copy_str(char *dst, size_t dstsz, const char *src,
		    const char *what, struct kh_err *err)
{
	if (strlen(src) >= dstsz)
		return kh_err_set(err, ENAMETOOLONG,
				  "QEMU's %s '%.64s...' is longer than %zu bytes",
				  what, src, dstsz - 1);
	strcpy(dst, src);
	return 0;
}

static struct backend *new_backend(struct parse_state *ps)
{
	struct backend *be;

	if (ps->nr_be >= MAX_BACKENDS)
		return NULL;
	be = &ps->be[ps->nr_be++];
	memset(be, 0, sizeof(*be));
	return be;
}

/* -object '{"qom-type":"memory-backend-memfd","id":"mem",...}' */
static int parse_object_json(struct parse_state *ps, const char *val,
			     struct kh_err *err)
{
	const char *type, *id, *path;
	struct backend *be;
	json_t *o, *size;
	int ret = 0;

	o = json_loads(val, 0, NULL);
	if (!o || !json_is_object(o))
		goto out;
	type = json_string_value(json_object_get(o, "qom-type"));
	id = json_string_value(json_object_get(o, "id"));
	if (!type || !id || strncmp(type, "memory-backend-", 15))
		goto out;
	be = new_backend(ps);
	if (!be)
		goto out;
	be->memfd = !strcmp(type, "memory-backend-memfd");
	ret = copy_str(be->id, sizeof(be->id), id, "memory backend id", err);
	if (ret)
		goto out;
	size = json_object_get(o, "size");
	if (json_is_integer(size) && json_integer_value(size) > 0)
		be->size = json_integer_value(size);
	else if (json_is_string(size) &&
		 parse_size(json_string_value(size), 1, &be->size))
		be->size = 0;
	path = json_string_value(json_object_get(o, "mem-path"));
	if (path && !strcmp(type, "memory-backend-file"))
		ret = copy_str(be->path, sizeof(be->path), path,
			       "mem-path", err);
out:
	json_decref(o);
	return ret;
}

static int parse_object(struct parse_state *ps, const char *val,
			struct kh_err *err)
{
	char type[64], buf[PATH_MAX];
	struct backend *be;
	int r;

	if (val[0] == '{')
		return parse_object_json(ps, val, err);
	if (opts_get(val, "qom-type", "qom-type", type, sizeof(type)) != 1 ||
	    strncmp(type, "memory-backend-", 15))
		return 0;
	be = new_backend(ps);
	if (!be)
		return 0;
	be->memfd = !strcmp(type, "memory-backend-memfd");
	r = opts_get(val, "id", NULL, be->id, sizeof(be->id));
	if (r < 0)
		return kh_err_set(err, ENAMETOOLONG,
				  "a memory backend id in QEMU's -object '%.64s' is too long",
				  val);
	if (opts_get(val, "size", NULL, buf, sizeof(buf)) == 1 &&
	    parse_size(buf, 1, &be->size))
		return kh_err_set(err, EINVAL,
				  "cannot parse size '%.32s' of QEMU's memory backend '%s'",
				  buf, be->id);
	if (!strcmp(type, "memory-backend-file")) {
		r = opts_get(val, "mem-path", NULL, be->path,
			     sizeof(be->path));
		if (r < 0)
			return kh_err_set(err, ENAMETOOLONG,
					  "mem-path of QEMU's memory backend '%s' is too long",
					  be->id);
	}
	return 0;
}

/*
 * -qmp unix:PATH[,server=on,wait=off]: QEMU parses what follows "unix:" as
 * QemuOpts with "path" implied, so we do too.
 */
static int parse_qmp(struct kh_target *t, const char *val,
		     struct kh_err *err)
{
	char path[sizeof(t->qmp_path)];
	int r;

	if (t->qmp_path[0] || strncmp(val, "unix:", 5))
		return 0;
	r = opts_get(val + 5, "path", "path", path, sizeof(path));
	if (r < 0)
		return kh_err_set(err, ENAMETOOLONG,
				  "QEMU's QMP socket path in '%.64s' is longer than a unix socket path can be",
				  val);
	if (r == 1)
		strcpy(t->qmp_path, path);
	return 0;
}

/*
 * -gdb DEV: QEMU hands DEV to qemu_chr_new(), except "tcp:" which it
 * rewrites; only unix sockets are usable here (a TCP port would let anyone
 * on the host halt the guest, and we never guess ports).
 */
static int parse_gdb(struct parse_state *ps, struct kh_target *t,
		     const char *val, struct kh_err *err)
{
	char path[sizeof(t->gdb_path)];
	int r;

	if (strcmp(val, "none"))
		t->gdb_owned = 1;
	if (!strncmp(val, "chardev:", 8)) {
		if (strlen(val + 8) < sizeof(ps->gdb_chardev))
			strcpy(ps->gdb_chardev, val + 8);
		return 0;
	}
	if (!strncmp(val, "tcp:", 4) || !strncmp(val, "telnet:", 7)) {
		t->gdb_tcp = 1;
		return 0;
	}
	if (strncmp(val, "unix:", 5))
		return 0;
	r = opts_get(val + 5, "path", "path", path, sizeof(path));
	if (r < 0)
		return kh_err_set(err, ENAMETOOLONG,
				  "QEMU's gdbstub socket path in '%.64s' is longer than a unix socket path can be",
				  val);
	if (r == 1)
		strcpy(t->gdb_path, path);
	return 0;
}

/* The qemu-ga port: a virtserialport named org.qemu.guest_agent.0. */
static void parse_device(struct parse_state *ps, const char *val)
{
	char driver[32], name[64], chardev[64];

	if (val[0] == '{') {
		json_t *o = json_loads(val, 0, NULL);
		const char *d, *n, *c;

		d = json_string_value(json_object_get(o, "driver"));
		n = json_string_value(json_object_get(o, "name"));
		c = json_string_value(json_object_get(o, "chardev"));
		if (d && n && c && !strcmp(d, "virtserialport") &&
		    !strcmp(n, KH_QGA_PORT_NAME) &&
		    strlen(c) < sizeof(ps->qga_chardev))
			strcpy(ps->qga_chardev, c);
		json_decref(o);
		return;
	}
	if (opts_get(val, "driver", "driver", driver, sizeof(driver)) != 1 ||
	    strcmp(driver, "virtserialport") ||
	    opts_get(val, "name", NULL, name, sizeof(name)) != 1 ||
	    strcmp(name, KH_QGA_PORT_NAME) ||
	    opts_get(val, "chardev", NULL, chardev, sizeof(chardev)) != 1)
		return;
	strcpy(ps->qga_chardev, chardev);
}

static int parse_arg(struct parse_state *ps, struct kh_target *t,
		     const char *opt, const char *val, struct kh_err *err)
{
	char buf[PATH_MAX];
	int r;

	if (!strcmp(opt, "name")) {
		r = opts_get(val, "guest", "guest", buf, sizeof(buf));
		if (r == 1)
			return copy_str(t->name, sizeof(t->name), buf,
					"-name", err);
	} else if (!strcmp(opt, "qmp")) {
		return parse_qmp(t, val, err);
	} else if (!strcmp(opt, "chardev")) {
		unsigned int i = ps->nr_chardev;

		if (i >= MAX_CHARDEVS || strncmp(val, "socket,", 7))
			return 0;
		/* A value too long leaves part of itself: start clean. */
		ps->chardev[i].path[0] = '\0';
		if (opts_get(val, "id", NULL, ps->chardev[i].id,
			     sizeof(ps->chardev[i].id)) != 1)
			return 0;
		if (opts_get(val, "path", NULL, ps->chardev[i].path,
			     sizeof(ps->chardev[i].path)) == 1 ||
		    opts_get(val, "fd", NULL, buf, sizeof(buf)) == 1)
			ps->nr_chardev++;
	} else if (!strcmp(opt, "uuid")) {
		if (strlen(val) + 1 > sizeof(t->uuid))
			return kh_err_set(err, EINVAL,
					  "QEMU's -uuid '%.64s' is not a UUID",
					  val);
		strcpy(t->uuid, val);
	} else if (!strcmp(opt, "gdb")) {
		return parse_gdb(ps, t, val, err);
	} else if (!strcmp(opt, "device")) {
		parse_device(ps, val);
	} else if (!strcmp(opt, "mon")) {
		unsigned int i = ps->nr_mon;

		if (i >= 8 || opts_get(val, "mode", NULL, buf, 16) != 1 ||
		    strcmp(buf, "control"))
			return 0;
		if (opts_get(val, "chardev", "chardev", ps->mon_chardev[i],
			     sizeof(ps->mon_chardev[i])) == 1)
			ps->nr_mon++;
	} else if (!strcmp(opt, "machine") || !strcmp(opt, "M")) {
		r = opts_get(val, "type", "type", buf, sizeof(buf));
		if (r == 1 && copy_str(t->machine, sizeof(t->machine), buf,
				       "machine type", err))
			return -ENAMETOOLONG;
		r = opts_get(val, "memory-backend", NULL, ps->machine_be,
			     sizeof(ps->machine_be));
		if (r < 0)
			ps->machine_be[0] = '\0';
	} else if (!strcmp(opt, "m")) {
		r = opts_get(val, "size", "size", buf, sizeof(buf));
		if (r == 1 && parse_size(buf, 1 << 20, &t->ram_size))
			return kh_err_set(err, EINVAL,
					  "cannot parse QEMU's memory size -m '%.64s'",
					  val);
	} else if (!strcmp(opt, "object")) {
		return parse_object(ps, val, err);
	} else if (!strcmp(opt, "numa")) {
		if (strncmp(val, "node", 4) ||
		    opts_get(val, "memdev", NULL, buf, sizeof(ps->numa_be)) != 1)
			return 0;
		strcpy(ps->numa_be, buf);
		ps->nr_numa_be++;
	} else if (!strcmp(opt, "mem-path")) {
		return copy_str(t->mem_path, sizeof(t->mem_path), val,
				"-mem-path", err);
	}
	return 0;
}

/* Ties -machine memory-backend= (or a lone NUMA memdev) and -mon to the
 * objects and chardevs they name. */
static void resolve_refs(struct parse_state *ps, struct kh_target *t)
{
	const char *id = ps->machine_be;
	unsigned int i, j;

	if (!id[0] && ps->nr_numa_be == 1)
		id = ps->numa_be;
	for (i = 0; id[0] && i < ps->nr_be; i++) {
		if (strcmp(ps->be[i].id, id))
			continue;
		t->ram_memfd = ps->be[i].memfd;
		if (ps->be[i].path[0])
			strcpy(t->mem_path, ps->be[i].path);
		if (!t->ram_size)
			t->ram_size = ps->be[i].size;
		break;
	}
	for (i = 0; !t->qmp_path[0] && i < ps->nr_mon; i++)
		for (j = 0; j < ps->nr_chardev; j++)
			if (!strcmp(ps->chardev[j].id, ps->mon_chardev[i])) {
				strcpy(t->qmp_path, ps->chardev[j].path);
				t->monitor_by_fd |= !ps->chardev[j].path[0];
				break;
			}
	if (t->qmp_path[0])
		t->monitor_by_fd = 0;
	for (j = 0; j < ps->nr_chardev; j++) {
		if (!t->gdb_path[0] && ps->gdb_chardev[0] &&
		    !strcmp(ps->chardev[j].id, ps->gdb_chardev))
			strcpy(t->gdb_path, ps->chardev[j].path);
		if (!t->qga_path[0] && ps->qga_chardev[0] &&
		    !strcmp(ps->chardev[j].id, ps->qga_chardev))
			strcpy(t->qga_path, ps->chardev[j].path);
	}
}

int kh_target_parse_cmdline(const char *cmdline, size_t len,
			    struct kh_target *t, struct kh_err *err)
{
	struct parse_state *ps;
	const char *argv[4096];
	unsigned int argc = 0, i;
	pid_t pid = t->pid;
	size_t off = 0;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	while (off < len) {
		const char *nul = memchr(cmdline + off, '\0', len - off);

		if (!nul)
			return kh_err_set(err, EINVAL,
					  "QEMU's command line does not end in a NUL byte");
		if (argc >= sizeof(argv) / sizeof(argv[0]))
			return kh_err_set(err, E2BIG,
					  "QEMU's command line has more than %zu arguments",
					  sizeof(argv) / sizeof(argv[0]));
		argv[argc++] = cmdline + off;
		off = nul - cmdline + 1;
	}

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return kh_err_set(err, ENOMEM, "out of memory");
	for (i = 1; i < argc && !ret; i++) {
		const char *opt = argv[i];

		if (opt[0] != '-')
			continue;	/* a bare disk image argument */
		opt += opt[1] == '-' ? 2 : 1;
		if (!strcmp(opt, "s"))
			t->gdb_tcp = t->gdb_owned = 1;	/* -gdb tcp::1234 */
		if (is_noarg(opt))
			continue;
		if (i + 1 >= argc)
			break;
		ret = parse_arg(ps, t, opt, argv[++i], err);
	}
	if (!ret)
		resolve_refs(ps, t);
	free(ps);
	return ret;
}
