// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Access technique "gdbstub" (class VIII, guest-halting interface access):
 * guest RAM is read through QEMU's built-in GDB server on a unix socket,
 * in its physical-memory mode, with `m addr,len` packets.
 *
 * Connecting is what halts the guest: QEMU stops every vCPU when a
 * debugger connects and, if the guest was running, says so with an
 * unsolicited stop reply before it answers anything else. That reply is
 * therefore the exact answer to "did we stop it?", free of the race a
 * query-status before connecting would have. Resuming mirrors it: when we
 * stopped the guest, `D` (detach) restarts it, and QMP `cont` follows if
 * it is still not running; when its owner had paused it, we only close
 * the socket, since QEMU's `D` would start a paused guest too.
 *
 * The stub serves one debugger at a time: a second one would wait in the listen
 * backlog, so a connected client is looked for first (EBUSY). Replies are
 * untrusted bytes: framing, checksums, escapes and run-length encoding are
 * checked strictly by qemu/gdb_packet.c and every wait has a deadline.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "access/gdbstub_monitor.h"
#include "access/halt_journal.h"
#include "access/technique.h"
#include "qemu/gdb_packet.h"
#include "qemu/qmp.h"
#include "qemu/chardev_socket.h"

#define RX_SIZE		(64 * 1024)	/* a reply larger than this is refused */
#define REPLY_TIMEOUT_MS 5000		/* TCG on a loaded host is slow */
/*
 * The first answer waits for QEMU to stop every vCPU, which a loaded host
 * can stretch to seconds. A busy stub is found before connecting, so this
 * long wait only hits a stub that has really gone quiet.
 */
#define HELLO_TIMEOUT_MS 15000
#define QMP_TIMEOUT_MS	3000
#define MAX_RETRANSMITS	3
#define MIN_PACKET_SIZE	64

static const char what[] = "gdbstub socket";

struct gdbstub {
	pthread_mutex_t lock;
	int fd;			/* -1 while the guest is not held */
	int stopped_it;		/* our connection halted a running guest */
	int monitor;		/* the stub is ours, started by the monitor */
	int journalled;		/* kh_access_halt_journal_begin() wrote one */
	int monitor_held;	/* another client holds QMP: not asked again */
	unsigned int chunk;	/* bytes per `m` packet */
	int timeout_ms;		/* per reply */
	uint64_t stop_start_ns;
	size_t rxlen;
	char rx[RX_SIZE];
	char payload[RX_SIZE];
	char tx[256];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int send_packet(struct gdbstub *gs, const char *cmd,
		       struct kh_err *err)
{
	ssize_t n = kh_gdbrsp_encode(cmd, strlen(cmd), gs->tx,
				     sizeof(gs->tx));

	if (n < 0)
		return kh_err_set(err, EMSGSIZE, "gdb packet '%.32s' too long",
				  cmd);
	return kh_unix_send(gs->fd, gs->tx, n,
			    kh_unix_now_ms() + gs->timeout_ms, what, err);
}

/*
 * The next packet from the stub into gs->payload (*len bytes). Acks '+'
 * are skipped, a '-' makes us send cmd again, a packet that fails its
 * checksum is nacked so the stub sends it again (both bounded).
 */
static int recv_packet(struct gdbstub *gs, const char *cmd, size_t *len,
		       struct kh_err *err)
{
	int64_t deadline = kh_unix_now_ms() + gs->timeout_ms;
	unsigned int retries = 0;
	ssize_t used;
	long n;
	int r;

	for (;;) {
		while (gs->rxlen && gs->rx[0] != '$') {
			char c = gs->rx[0];

			if (c == '-') {
				if (++retries > MAX_RETRANSMITS)
					return kh_err_set(err, EPROTO,
							  "the gdbstub keeps rejecting '%.32s'",
							  cmd);
				r = send_packet(gs, cmd, err);
				if (r)
					return r;
			} else if (c != '+') {
				return kh_err_set(err, EPROTO,
						  "the gdbstub sent byte 0x%02x outside a packet",
						  (unsigned char)c);
			}
			memmove(gs->rx, gs->rx + 1, --gs->rxlen);
		}
		if (gs->rxlen) {
			used = kh_gdbrsp_decode(gs->rx, gs->rxlen, gs->payload,
						sizeof(gs->payload) - 1, len);
			if (used > 0) {
				memmove(gs->rx, gs->rx + used,
					gs->rxlen - used);
				gs->rxlen -= used;
				gs->payload[*len] = '\0';
				return kh_unix_send(gs->fd, "+", 1, deadline,
						    what, err);
			}
			if (used == -EBADMSG) {
				const char *next;

				if (++retries > MAX_RETRANSMITS)
					return kh_err_set(err, EBADMSG,
							  "the gdbstub keeps sending malformed packets");
				/* Drop it and ask again. */
				next = memchr(gs->rx + 1, '$', gs->rxlen - 1);
				used = next ? next - gs->rx : (ssize_t)gs->rxlen;
				memmove(gs->rx, gs->rx + used,
					gs->rxlen - used);
				gs->rxlen -= used;
				r = kh_unix_send(gs->fd, "-", 1, deadline, what,
						 err);
				if (r)
					return r;
				continue;
			}
			if (used == -EMSGSIZE)
				return kh_err_set(err, EMSGSIZE,
						  "a gdbstub reply is larger than %d bytes",
						  RX_SIZE);
		}
		if (gs->rxlen == sizeof(gs->rx))
			return kh_err_set(err, EMSGSIZE,
					  "a gdbstub reply is larger than %d bytes",
					  RX_SIZE);
		n = kh_unix_recv(gs->fd, gs->rx + gs->rxlen,
				 sizeof(gs->rx) - gs->rxlen, deadline, what, err);
		if (n < 0)
			return n;
		gs->rxlen += n;
	}
}

/*
 * Sends cmd and returns its reply in gs->payload. Stop replies ("T..",
 * "S..") are not answers to anything we send after connecting: they are
 * counted in *stops and skipped.
 */
static int transact(struct gdbstub *gs, const char *cmd, size_t *len,
		    unsigned int *stops, struct kh_err *err)
{
	unsigned int skipped = 0;
	int r;

	r = send_packet(gs, cmd, err);
	while (!r) {
		r = recv_packet(gs, cmd, len, err);
		if (r)
			break;
		if (*len && (gs->payload[0] == 'T' || gs->payload[0] == 'S')) {
			if (++skipped > 4)
				return kh_err_set(err, EPROTO,
						  "the gdbstub sends stop replies instead of answering '%.32s'",
						  cmd);
			if (stops)
				(*stops)++;
			continue;
		}
		return 0;
	}
	return r;
}

static int qmp_ensure_running(const struct kh_access *acc, int *running,
			      struct kh_err *err)
{
	struct kh_qmp *qmp;
	json_t *ret = NULL;
	int r;

	r = kh_access_qmp(acc, QMP_TIMEOUT_MS, &qmp, err);
	if (r)
		return r;
	r = kh_qmp_execute(qmp, "query-status", NULL, &ret, err);
	if (!r)
		*running = json_is_true(json_object_get(ret, "running"));
	json_decref(ret);
	if (!r && !*running)
		r = kh_qmp_execute(qmp, "cont", NULL, NULL, err);
	kh_qmp_close(qmp);
	return r;
}

/* The halt is over (or never happened): its journal entry goes; ret. */
static int journal_end(struct kh_access *acc, struct gdbstub *gs, int ret)
{
	if (gs->journalled)
		kh_access_halt_journal_end(acc);
	gs->journalled = 0;
	return ret;
}

/* Lets the guest go; safe on a half-open connection. */
static int gdb_release(struct kh_access *acc, struct gdbstub *gs,
		       struct kh_err *err)
{
	size_t len;
	int r = 0, running = 0;

	if (gs->fd < 0)
		return journal_end(acc, gs, 0);
	if (gs->stopped_it) {
		r = transact(gs, "D", &len, NULL, err);
		if (!r && strcmp(gs->payload, "OK"))
			r = kh_err_set(err, EPROTO,
				       "the gdbstub answered '%.32s' to detach",
				       gs->payload);
	}
	close(gs->fd);
	gs->fd = -1;
	gs->rxlen = 0;
	if (gs->monitor) {
		int s = kh_gdbstub_monitor_stop(acc, r ? NULL : err);

		r = r ?: s;
		gs->monitor = 0;
	}
	if (gs->stopped_it) {
		/*
		 * Detach restarts the guest in QEMU 7.2; cont covers any
		 * stub that does not, and a detach that failed.
		 */
		if (acc->target && !gs->monitor_held &&
		    (acc->target->qmp_path[0] ||
		     acc->target->libvirt_name[0])) {
			struct kh_err qerr = { 0 };

			if (!qmp_ensure_running(acc, &running, &qerr))
				r = 0;
			else if (qerr.code == EBUSY)
				gs->monitor_held = 1;
			else if (r)
				kh_err_prefix(err, "%s; and QMP cont failed too",
					      qerr.msg);
		}
		atomic_fetch_add_explicit(&acc->halted_ns,
					  now_ns() - gs->stop_start_ns,
					  memory_order_relaxed);
		gs->stopped_it = 0;
	}
	return journal_end(acc, gs, r);
}

static int missing_socket(const struct kh_access *acc, struct kh_err *err)
{
	/* Its owner's stub, on TCP: keyhole neither uses nor replaces it. */
	if (acc->target && acc->target->libvirt_name[0])
		return kh_err_set(err, ENOENT,
				  "libvirt domain %s has a gdbstub of its own (<qemu:commandline>) that is not on a unix socket: give it -chardev socket,id=gdb0,path=PATH,server=on,wait=off -gdb chardev:gdb0 there, or remove it and keyhole starts one through the monitor",
				  acc->target->libvirt_name);
	return kh_err_set(err, ENOENT,
			  "QEMU pid %d has no gdbstub on a unix socket%s: start QEMU with -chardev socket,id=gdb0,path=PATH,server=on,wait=off -gdb chardev:gdb0 (or set $KEYHOLE_GDB_SOCKET), or with a QMP socket and no -gdb, and keyhole starts one through the monitor",
			  (int)acc->pid,
			  acc->target && acc->target->gdb_tcp ?
			  " (its gdbstub listens on TCP, which keyhole does not use)" : "");
}

/* Reads PacketSize=hex out of a qSupported reply. */
static unsigned long packet_size(const char *features)
{
	const char *p = strstr(features, "PacketSize=");
	unsigned long size = 0;
	char *end;

	if (p && (p == features || p[-1] == ';')) {
		size = strtoul(p + 11, &end, 16);
		if (*end && *end != ';')
			size = 0;
	}
	return size;
}

static int gdb_hold(struct kh_access *acc, struct gdbstub *gs,
		    struct kh_err *err)
{
	struct ucred cred;
	socklen_t credlen = sizeof(cred);
	unsigned int stops = 0;
	unsigned long size;
	size_t len;
	int fd, r, was_running = 0;

	/*
	 * Journalled before the stub halts the guest, so that a restarted
	 * keyholed can resume it (through the monitor: a QEMU without one
	 * could not be resumed, and is not journalled).
	 */
	if (acc->target && !gs->monitor_held &&
	    (acc->target->qmp_path[0] || acc->target->libvirt_name[0])) {
		r = kh_access_halt_journal_begin(acc,
				kh_gdbstub_monitor_usable(acc) ?
				"gdbstub-monitor" : "gdbstub", err);
		/*
		 * A monitor that another client holds cannot journal, and a
		 * restarted keyholed could not resume through it either:
		 * the owner's own stub still serves, unjournalled.
		 */
		if (r == -EBUSY && acc->target->gdb_path[0]) {
			if (err)
				memset(err, 0, sizeof(*err));
			gs->monitor_held = 1;	/* each ask costs a timeout */
			r = 0;
		}
		if (r < 0)
			return r;
		gs->journalled = r;
	}
	if (kh_gdbstub_monitor_usable(acc)) {
		fd = kh_gdbstub_monitor_start(acc, &was_running, err);
		if (fd < 0)
			return journal_end(acc, gs, fd);
		gs->monitor = 1;
	} else if (!acc->target || !acc->target->gdb_path[0]) {
		return journal_end(acc, gs, missing_socket(acc, err));
	} else {
		fd = kh_unix_connect(acc->target->gdb_path, what,
				     kh_unix_now_ms() + REPLY_TIMEOUT_MS, err);
		if (fd < 0)
			return journal_end(acc, gs, fd);
	}
	gs->fd = fd;
	gs->rxlen = 0;
	gs->stop_start_ns = now_ns();
	if (!gs->monitor &&
	    (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) ||
	     cred.pid != acc->pid)) {
		/* Not QEMU's: it never saw us, so there is nothing to undo. */
		close(fd);
		gs->fd = -1;
		journal_end(acc, gs, 0);
		return kh_err_set(err, EPERM,
				  "gdbstub socket %s belongs to pid %d, not to QEMU pid %d",
				  acc->target->gdb_path, (int)cred.pid,
				  (int)acc->pid);
	}
	gs->timeout_ms = HELLO_TIMEOUT_MS;
	r = transact(gs, "qSupported", &len, &stops, err);
	gs->timeout_ms = REPLY_TIMEOUT_MS;
	gs->stopped_it = stops > 0 || was_running;
	if (r == -ETIMEDOUT && gs->monitor)
		r = kh_err_set(err, ETIMEDOUT,
			       "the gdbstub keyhole started through the monitor does not answer");
	else if (r == -ETIMEDOUT)
		r = kh_err_set(err, EBUSY,
			       "the gdbstub on %s does not answer: another debugger may hold it",
			       acc->target->gdb_path);
	if (r)
		goto fail;
	size = packet_size(gs->payload);
	if (size < MIN_PACKET_SIZE) {
		r = kh_err_set(err, EPROTO,
			       "the gdbstub's qSupported reply '%.64s' has no usable PacketSize",
			       gs->payload);
		goto fail;
	}
	/* Hex doubles each byte; keep room for framing. */
	if (size > sizeof(gs->rx) - 8)
		size = sizeof(gs->rx) - 8;
	gs->chunk = (size - 8) / 2;
	r = transact(gs, "Qqemu.PhyMemMode:1", &len, &stops, err);
	gs->stopped_it |= stops > 0;
	if (!r && strcmp(gs->payload, "OK"))
		r = kh_err_set(err, EOPNOTSUPP,
			       "this QEMU's gdbstub has no physical memory mode (Qqemu.PhyMemMode answered '%.32s')",
			       gs->payload);
	if (!r)
		return 0;
fail:
	gdb_release(acc, gs, NULL);
	return r;
}

static int gdbstub_pause(struct kh_access *acc, struct kh_err *err)
{
	struct gdbstub *gs = acc->priv;
	int r = 0;

	pthread_mutex_lock(&gs->lock);
	if (gs->fd < 0)
		r = gdb_hold(acc, gs, err);
	pthread_mutex_unlock(&gs->lock);
	return r;
}

static int gdbstub_resume(struct kh_access *acc, struct kh_err *err)
{
	struct gdbstub *gs = acc->priv;
	int r;

	pthread_mutex_lock(&gs->lock);
	r = gdb_release(acc, gs, err);
	pthread_mutex_unlock(&gs->lock);
	return r;
}

static int gdbstub_open(struct kh_access *acc, struct kh_err *err)
{
	struct gdbstub *gs;
	int r;

	if (!kh_gdbstub_monitor_usable(acc) &&
	    (!acc->target || !acc->target->gdb_path[0]))
		return missing_socket(acc, err);
	gs = calloc(1, sizeof(*gs));
	if (!gs)
		return kh_err_set(err, ENOMEM, "out of memory");
	pthread_mutex_init(&gs->lock, NULL);
	gs->fd = -1;
	gs->timeout_ms = REPLY_TIMEOUT_MS;
	acc->priv = gs;
	/* Available means the stub answers: hold the guest once, let go. */
	r = gdbstub_pause(acc, err);
	if (!r)
		r = gdbstub_resume(acc, err);
	if (r) {
		pthread_mutex_destroy(&gs->lock);
		free(gs);
		acc->priv = NULL;
	}
	return r;
}

static void gdbstub_close(struct kh_access *acc)
{
	struct gdbstub *gs = acc->priv;

	if (!gs)
		return;
	gdbstub_resume(acc, NULL);
	pthread_mutex_destroy(&gs->lock);
	free(gs);
	acc->priv = NULL;
}

/* One element in `m` packets; -EIO when the connection failed. */
static int read_elem(struct kh_access *acc, struct gdbstub *gs,
		     struct kh_read *rd)
{
	uint32_t done = 0, n;
	struct kh_err err;
	char cmd[64];
	size_t len;
	int r;

	while (done < rd->len) {
		n = rd->len - done;
		if (n > gs->chunk)
			n = gs->chunk;
		snprintf(cmd, sizeof(cmd), "m%" PRIx64 ",%x",
			 rd->addr + done, n);
		r = transact(gs, cmd, &len, NULL, &err);
		atomic_fetch_add_explicit(&acc->calls, 1,
					  memory_order_relaxed);
		if (r)
			return -EIO;
		if (kh_gdbrsp_error(gs->payload, len) >= 0) {
			rd->result = -EFAULT;
			return 0;
		}
		if (kh_gdbrsp_unhex(gs->payload, len,
				    (uint8_t *)rd->buf + done, n)) {
			rd->result = -EBADMSG;
			return 0;
		}
		atomic_fetch_add_explicit(&acc->bytes, n,
					  memory_order_relaxed);
		done += n;
	}
	rd->result = 0;
	return 0;
}

/*
 * Reads outside a pause (the engine's attach reads) hold the guest for
 * the batch: a halting technique never reads a running guest.
 */
static int gdbstub_read(struct kh_access *acc, struct kh_read *reads,
			unsigned int nr)
{
	struct gdbstub *gs = acc->priv;
	unsigned int i, failed = 0;
	struct kh_err err;
	int own = 0, r = 0;

	atomic_fetch_add_explicit(&acc->elems, nr, memory_order_relaxed);
	pthread_mutex_lock(&gs->lock);
	if (gs->fd < 0) {
		r = gdb_hold(acc, gs, &err);
		own = !r;
	}
	for (i = 0; !r && i < nr; i++) {
		r = read_elem(acc, gs, &reads[i]);
		failed += !!reads[i].result;
	}
	if (r) {
		/* The connection is broken: let the guest go. */
		gdb_release(acc, gs, NULL);
		r = kh_access_alive(acc) ? -ESRCH : -EIO;
		for (i = 0; i < nr; i++)
			reads[i].result = r;
	} else if (own) {
		gdb_release(acc, gs, NULL);
	}
	pthread_mutex_unlock(&gs->lock);
	return r ? r : (int)failed;
}

const struct kh_access_ops kh_access_gdbstub = {
	.name = "gdbstub",
	.klass = "VIII",
	.props = KH_TECHNIQUE_HALTING | KH_TECHNIQUE_INTERFACE,
	.description = "QEMU's gdbstub in physical-memory mode ('m' packets); connecting halts the guest",
	.open = gdbstub_open,
	.read = gdbstub_read,
	.close = gdbstub_close,
	.pause = gdbstub_pause,
	.resume = gdbstub_resume,
};
