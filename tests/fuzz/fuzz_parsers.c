// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the engine's parsers of hostile bytes that need no
 * guest: RAM images given by users (migration streams, ELF dumps, raw),
 * GDB remote protocol packets, the guest agent's base64 and sync replies,
 * the guest's /proc text and HMP xp output, whole guest agent sessions
 * (the agent's side of a real socket says what the input says), and what
 * host-wide discovery reads of any process: the host's /proc/PID/stat and
 * status, a QEMU command line (and its JSON), libvirt's status XML; and
 * a process's heap, for bash's history (kh_hist_scan). One
 * binary, so `make check` runs one short step and one corpus serves all
 * (stat lines and xp lines are plausible packets too); the first input
 * byte picks the parser and the rest is its input.
 *
 * Besides ASan and UBSan, each parser's documented contract is checked on
 * every input (lengths within bounds, what it accepts well formed,
 * encode/decode round trips), so a parser that quietly accepts garbage
 * fails here too.
 *
 * Seeds are in tests/fuzz/corpus_parsers/, each starting with its parser's
 * byte; those named regress-* once found a bug, so every run (make check
 * runs the seeds first) fails again if the bug comes back.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "access/snapshot_store.h"
#include "fuzz_entry.h"
#include "qemu/libvirt_rundir.h"
#include "qemu/procfs.h"
#include "qemu/process.h"
#include "qemu/gdb_packet.h"
#include "access/agent_proc.h"
#include "walk/bash_history.h"
#include "qemu/guest_agent.h"

#define MAX_IDS 64
#define MAX_XP_WORDS 4096	/* access/hmp.c's MAX_WORDS */
/* Replies per agent session: each guest-exec-status poll sleeps 5 ms. */
#define MAX_QGA_LINES 8
#define QGA_TIMEOUT_MS 2000

enum parser {
	P_IMAGE,	/* kh_snap_load: migration stream, ELF core or raw */
	P_GDB_DECODE,
	P_GDB_ROUNDTRIP,
	P_GDB_HEX,
	P_BASE64,
	P_QGA_SYNC,
	P_PROC_STAT,
	P_PROC_STATUS,
	P_HMP_XP,
	P_QGA_SESSION,
	P_HOST_STAT,		/* kh_procfs_parse_stat */
	P_HOST_STATUS,		/* kh_procfs_parse_status */
	P_QEMU_CMDLINE,		/* kh_target_parse_cmdline, then its JSON */
	P_LIBVIRT_STATUS,	/* kh_libvirt_parse_status */
	P_BASH_HISTORY,		/* kh_hist_scan, a heap at BASH_BASE */
	NR_PARSERS
};

static int image_fd = -1;
uint8_t image_sink;	/* global, so reads of mapped images stay */
static int agent_listen_fd = -1;
static char agent_dir[80];
static struct sockaddr_un agent_addr;

static void remove_agent_socket(void)
{
	if (!agent_addr.sun_path[0])
		return;
	unlink(agent_addr.sun_path);
	rmdir(agent_dir);
	agent_addr.sun_path[0] = '\0';
}

/* A broken contract is a crash libFuzzer keeps, like a sanitizer's. */
#define ENSURE(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_parsers: %s:%d: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			remove_agent_socket();				\
			abort();					\
		}							\
	} while (0)

static void fuzz_image(const uint8_t *data, size_t size)
{
	struct kh_snap *snap = calloc(1, sizeof(*snap));
	struct kh_err err = { 0 };
	unsigned int i;

	ENSURE(snap);
	ENSURE(!ftruncate(image_fd, 0));
	ENSURE(pwrite(image_fd, data, size, 0) == (ssize_t)size);
	if (!kh_snap_load(snap, image_fd, "fuzz-image", NULL, &err)) {
		/* Every range must be readable where the snapshot says. */
		for (i = 0; i < snap->nr; i++) {
			ENSURE(snap->range[i].size);
			ENSURE(kh_snap_ptr(snap, snap->range[i].gpa, 1) ==
			       snap->range[i].ptr);
			ENSURE(!i || snap->range[i - 1].gpa +
			       snap->range[i - 1].size <= snap->range[i].gpa);
			image_sink ^= snap->range[i].ptr[snap->range[i].size - 1];
		}
	} else {
		ENSURE(err.msg[0]);
	}
	kh_snap_free(snap);
	free(snap);
}

static void fuzz_gdb_decode(const char *in, size_t len)
{
	size_t outsz = len ? (uint8_t)in[0] * 64 : 0, outlen = ~(size_t)0;
	char *out = malloc(outsz + 1);
	ssize_t n;

	ENSURE(out);
	n = kh_gdbrsp_decode(in, len, out, outsz, &outlen);
	if (n >= 0) {
		ENSURE((size_t)n <= len && n >= 4);
		ENSURE(outlen <= outsz);
		ENSURE(in[n - 3] == '#');
	} else {
		ENSURE(n == -EAGAIN || n == -EBADMSG || n == -EMSGSIZE);
	}
	free(out);
}

/* Whatever payload is framed must decode to itself. */
static void fuzz_gdb_roundtrip(const char *payload, size_t len)
{
	size_t pktsz = 2 * len + 4, outlen;
	char *pkt = malloc(pktsz), *out = malloc(len + 1);
	ssize_t n, m;

	ENSURE(pkt && out);
	n = kh_gdbrsp_encode(payload, len, pkt, pktsz);
	ENSURE(n >= 4 && (size_t)n <= pktsz);
	m = kh_gdbrsp_decode(pkt, n, out, len, &outlen);
	ENSURE(m == n);
	ENSURE(outlen == len && !memcmp(out, payload, len));
	/* One byte short of the room it needs is refused, not cut. */
	ENSURE(kh_gdbrsp_encode(payload, len, pkt, n - 1) == -EMSGSIZE ||
	       n - 1 < 4);
	free(pkt);
	free(out);
}

static void fuzz_gdb_hex(const char *in, size_t len)
{
	uint8_t *out = malloc(len / 2 + 1);
	int e;

	ENSURE(out);
	if (!kh_gdbrsp_unhex(in, len, out, len / 2))
		ENSURE(len % 2 == 0);
	e = kh_gdbrsp_error(in, len);
	ENSURE(e >= -1 && e <= 255);
	ENSURE(e < 0 || (len == 3 && in[0] == 'E'));
	free(out);
}

static void fuzz_base64(const char *in, size_t len)
{
	size_t outsz = len / 4 * 3, outlen = ~(size_t)0;
	uint8_t *out = malloc(outsz + 1);
	int r;

	ENSURE(out);
	r = kh_base64_decode(in, len, out, outsz, &outlen);
	if (!r) {
		ENSURE(len % 4 == 0 && outlen <= outsz);
		ENSURE(outlen + 2 >= outsz);
	} else {
		ENSURE(r == -EBADMSG);
	}
	/* Too small an output is refused, not overrun. */
	if (!r && outlen) {
		r = kh_base64_decode(in, len, out, outlen - 1, &outlen);
		ENSURE(r == -EMSGSIZE);
	}
	free(out);
}

static void fuzz_qga_sync(const char *buf, size_t len)
{
	size_t linelen = ~(size_t)0;
	long off = kh_qga_sync_reply(buf, len, &linelen);

	if (off < 0) {
		ENSURE(off == -EAGAIN);
		return;
	}
	ENSURE(off >= 1 && (size_t)off + linelen < len);
	ENSURE((uint8_t)buf[off - 1] == 0xff && buf[off + linelen] == '\n');
	ENSURE(!memchr(buf + off, 0xff, len - off));
}

static void fuzz_proc_stat(const char *line, size_t len)
{
	struct kh_task t;

	if (kh_guest_parse_stat(line, len, &t))
		return;
	ENSURE(t.pid > 0 && t.tgid == t.pid && t.ppid >= 0);
	ENSURE(t.state && strchr("RSDTtXZPIWxKn", t.state));
	ENSURE(memchr(t.comm, '\0', sizeof(t.comm)));
}

static void fuzz_proc_status(const char *text, size_t len)
{
	struct kh_guest_ids ids[MAX_IDS];
	size_t max = len ? (uint8_t)text[0] % (MAX_IDS + 1) : 0;
	int n = kh_guest_parse_status(text, len, ids, max), i;

	ENSURE(n == -E2BIG || (n >= 0 && (size_t)n <= max));
	for (i = 0; i < n; i++)
		ENSURE(ids[i].pid > 0);
}

/* Input: u64 GPA, u16 word count, then the monitor's text. */
static void fuzz_hmp_xp(const uint8_t *data, size_t size)
{
	uint64_t gpa;
	uint16_t nr;
	uint8_t *out;
	char *text;

	if (size < 10)
		return;
	memcpy(&gpa, data, 8);
	memcpy(&nr, data + 8, 2);
	nr = nr % MAX_XP_WORDS + 1;
	gpa &= ~7ull;
	text = strndup((const char *)data + 10, size - 10);
	out = malloc(nr * 8);
	ENSURE(text && out);
	if (!kh_hmp_parse_xp(text, gpa, nr, out))
		ENSURE(strlen(text) >= nr / 2 * 56u);
	free(text);
	free(out);
}

struct agent_script {
	const uint8_t *stale, *replies;	/* before the sync reply, after it */
	size_t stale_len, replies_len;
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * The agent's side: answers the client's guest-sync-delimited with its id
 * (after the script's stale bytes), sends the scripted replies, then reads
 * and drops the client's commands until it hangs up.
 */
static void *agent(void *arg)
{
	const struct agent_script *sc = arg;
	char req[4096], reply[64];
	size_t len = 0;
	const char *id;
	ssize_t n;
	int fd;

	/* A client that never connected (refused as busy) ends it too. */
	if (poll(&(struct pollfd){ agent_listen_fd, POLLIN, 0 }, 1,
		 2 * QGA_TIMEOUT_MS) != 1)
		return NULL;
	fd = accept(agent_listen_fd, NULL, NULL);
	ENSURE(fd >= 0);
	for (;;) {
		n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (n <= 0)
			goto out;
		len += n;
		req[len] = '\0';
		if (memchr(req, '\n', len))
			break;
		ENSURE(len < sizeof(req) - 1);
	}
	id = strstr(req, "\"id\":");
	ENSURE(id);
	snprintf(reply, sizeof(reply), "\xff{\"return\": %lld}\n",
		 strtoll(id + 5, NULL, 10));
	if (write_all(fd, sc->stale, sc->stale_len) ||
	    write_all(fd, reply, strlen(reply)) ||
	    write_all(fd, sc->replies, sc->replies_len))
		goto out;
	shutdown(fd, SHUT_WR);
	while (recv(fd, req, sizeof(req), 0) > 0)
		;
out:
	close(fd);
	return NULL;
}

/*
 * Input: one byte of how many stale bytes come first, those bytes, then
 * the agent's replies (up to MAX_QGA_LINES lines) to guest-exec and
 * guest-exec-status.
 */
static void fuzz_qga_session(const uint8_t *data, size_t size)
{
	static const char *const argv[] = { "/proc/1/stat" };
	struct agent_script sc = { 0 };
	struct kh_err err = { 0 };
	struct kh_qga *qga = NULL;
	size_t outlen = 0, i, lines = 0;
	char *out = NULL;
	int truncated, r;
	pthread_t thread;

	if (!size)
		return;
	sc.stale_len = data[0] < size - 1 ? data[0] : size - 1;
	sc.stale = data + 1;
	sc.replies = sc.stale + sc.stale_len;
	for (i = 0; i < size - 1 - sc.stale_len && lines < MAX_QGA_LINES; i++)
		lines += sc.replies[i] == '\n';
	sc.replies_len = i;
	ENSURE(!pthread_create(&thread, NULL, agent, &sc));
	r = kh_qga_connect(agent_addr.sun_path, getpid(), QGA_TIMEOUT_MS,
			   &qga, &err);
	if (!r) {
		r = kh_qga_exec(qga, "/bin/cat", argv, 1, &out, &outlen,
				&truncated, &err);
		if (!r)
			ENSURE(out && out[outlen] == '\0');
		free(out);
		kh_qga_close(qga);
	}
	ENSURE(!r || err.msg[0]);
	/* The client gives up only by hanging up, so this always ends. */
	ENSURE(!pthread_join(thread, NULL));
}

static void fuzz_host_stat(const char *text, size_t len)
{
	struct kh_procfs_stat st;
	int r = kh_procfs_parse_stat(text, len, &st);

	ENSURE(r == 0 || r == -EINVAL);
	ENSURE(r || (memchr(text, ')', len) && st.ppid >= 0));
}

static void fuzz_host_status(const char *text, size_t len)
{
	struct kh_procfs_status st;
	int r = kh_procfs_parse_status(text, len, &st);

	ENSURE(r == 0 || r == -EINVAL);
	ENSURE(r || st.tgid >= 0);
}

/* Every string field ends within its array; the JSON always encodes. */
static void fuzz_qemu_cmdline(const char *text, size_t len)
{
	struct kh_target *t = calloc(1, sizeof(*t));
	struct kh_qemu_proc proc = { .pid = 1 };
	struct kh_err err = { 0 };
	json_t *doc;
	int r;

	ENSURE(t);
	r = kh_target_parse_cmdline(text, len, t, &err);
	if (r) {
		ENSURE(r < 0 && err.msg[0]);
		free(t);
		return;
	}
	ENSURE(strnlen(t->name, sizeof(t->name)) < sizeof(t->name));
	ENSURE(strnlen(t->uuid, sizeof(t->uuid)) < sizeof(t->uuid));
	ENSURE(strnlen(t->qmp_path, sizeof(t->qmp_path)) <
	       sizeof(t->qmp_path));
	ENSURE(strnlen(t->mem_path, sizeof(t->mem_path)) <
	       sizeof(t->mem_path));
	ENSURE(strnlen(t->gdb_path, sizeof(t->gdb_path)) <
	       sizeof(t->gdb_path));
	ENSURE(strnlen(t->qga_path, sizeof(t->qga_path)) <
	       sizeof(t->qga_path));
	/* As discovery copies them: the public fields are as large. */
	memcpy(proc.name, t->name, sizeof(t->name));
	memcpy(proc.uuid, t->uuid, sizeof(t->uuid));
	memcpy(proc.libvirt_name, t->name, sizeof(t->name));
	memcpy(proc.libvirt_uuid, t->uuid, sizeof(t->uuid));
	memcpy(proc.qmp_path, t->qmp_path, sizeof(t->qmp_path));
	doc = kh_json_qemu_procs(&proc, 1);
	ENSURE(json_array_size(doc) == 1);
	json_decref(doc);
	free(t);
}

/* A low base, so that the fuzzer can make pointers into the heap. */
#define BASH_BASE 0x1000

static void fuzz_bash_history(const uint8_t *heap, size_t len)
{
	struct kh_hist_scan scan;
	unsigned int i;

	if (kh_hist_scan(heap, len, BASH_BASE, &scan))
		return;
	ENSURE(scan.listed <= scan.nr && scan.nr <= KH_BASH_ENTRIES_MAX);
	for (i = 0; i < scan.nr; i++) {
		const struct kh_hist_entry *e = &scan.entries[i];

		ENSURE(e->addr >= BASH_BASE && e->addr + 24 <= BASH_BASE + len);
		ENSURE(e->line < len && e->len <= len - e->line &&
		       e->len <= KH_BASH_COMMAND_MAX);
		ENSURE(e->len == KH_BASH_COMMAND_MAX ||
		       (e->line + e->len < len && !heap[e->line + e->len]));
		ENSURE(!memchr(heap + e->line, 0, e->len));
		ENSURE(e->time >= 0 && e->in_list == (i < scan.listed));
	}
	free(scan.entries);
}

static void fuzz_libvirt_status(const char *text, size_t len)
{
	char uuid[37];
	pid_t pid;
	int r = kh_libvirt_parse_status(text, len, &pid, uuid);

	ENSURE(r == 0 || r == -EINVAL);
	ENSURE(r || (pid > 0 && strlen(uuid) == 36));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmpdir;

	image_fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (image_fd < 0) {
		perror("fuzz_parsers: memfd_create");
		exit(1);
	}
	/* Listening in this process: SO_PEERCRED names us as the "QEMU". */
	tmpdir = getenv("TMPDIR") ?: "/tmp";
	if (snprintf(agent_dir, sizeof(agent_dir), "%s/kh-fuzz-qga.XXXXXX",
		     tmpdir) >= (int)sizeof(agent_dir)) {
		fprintf(stderr, "fuzz_parsers: TMPDIR %s is too long for a unix socket path\n",
			tmpdir);
		exit(1);
	}
	if (!mkdtemp(agent_dir)) {
		fprintf(stderr, "fuzz_parsers: cannot create a directory in %s: %s\n",
			tmpdir, strerror(errno));
		exit(1);
	}
	agent_addr.sun_family = AF_UNIX;
	snprintf(agent_addr.sun_path, sizeof(agent_addr.sun_path), "%s/qga",
		 agent_dir);
	agent_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (agent_listen_fd < 0 ||
	    bind(agent_listen_fd, (struct sockaddr *)&agent_addr,
		 sizeof(agent_addr)) || listen(agent_listen_fd, 1)) {
		perror("fuzz_parsers: agent socket");
		exit(1);
	}
	/*
	 * Crashes end in _exit, past atexit: tests/run and run.sh point
	 * TMPDIR into a directory they remove.
	 */
	atexit(remove_agent_socket);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;

	if (!size)
		return 0;
	switch (data[0] % NR_PARSERS) {
	case P_IMAGE:
		fuzz_image(data + 1, size - 1);
		break;
	case P_GDB_DECODE:
		fuzz_gdb_decode(text, size - 1);
		break;
	case P_GDB_ROUNDTRIP:
		fuzz_gdb_roundtrip(text, size - 1);
		break;
	case P_GDB_HEX:
		fuzz_gdb_hex(text, size - 1);
		break;
	case P_BASE64:
		fuzz_base64(text, size - 1);
		break;
	case P_QGA_SYNC:
		fuzz_qga_sync(text, size - 1);
		break;
	case P_PROC_STAT:
		fuzz_proc_stat(text, size - 1);
		break;
	case P_PROC_STATUS:
		fuzz_proc_status(text, size - 1);
		break;
	case P_HMP_XP:
		fuzz_hmp_xp(data + 1, size - 1);
		break;
	case P_QGA_SESSION:
		fuzz_qga_session(data + 1, size - 1);
		break;
	case P_HOST_STAT:
		fuzz_host_stat(text, size - 1);
		break;
	case P_HOST_STATUS:
		fuzz_host_status(text, size - 1);
		break;
	case P_QEMU_CMDLINE:
		fuzz_qemu_cmdline(text, size - 1);
		break;
	case P_LIBVIRT_STATUS:
		fuzz_libvirt_status(text, size - 1);
		break;
	case P_BASH_HISTORY:
		fuzz_bash_history(data + 1, size - 1);
		break;
	}
	return 0;
}
