/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small synchronous client for the QEMU guest agent (qemu-ga) on the
 * host side of its virtio-serial port: the guest-sync-delimited handshake,
 * commands, and guest-exec with captured output. Everything the agent says
 * comes from inside the guest and is untrusted: replies are bounded in
 * size and time, and base64 is decoded strictly.
 */
#ifndef KH_QGA_H
#define KH_QGA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "qemu/passthrough.h"

#define KH_QGA_MAX_REPLY	(32u << 20)	/* bytes of one JSON reply */

struct kh_qga;

/*
 * Connects to the agent's chardev socket at path (served by QEMU pid
 * qemu_pid) and synchronises with guest-sync-delimited.
 */
int kh_qga_connect(const char *path, pid_t qemu_pid, int timeout_ms,
		   struct kh_qga **qgap, struct kh_err *err);
void kh_qga_close(struct kh_qga *qga);
/* An agent someone else holds (libvirt); see kh_qmp_open_passthrough. */
int kh_qga_open_passthrough(const struct kh_passthrough *pt, int timeout_ms,
			    struct kh_qga **qgap, struct kh_err *err);

/* Runs cmd with args (may be NULL, stolen); *ret gets "return". */
int kh_qga_execute(struct kh_qga *qga, const char *cmd, json_t *args,
		   json_t **ret, struct kh_err *err);

/*
 * Runs path with argv (argc elements, without argv[0]) in the guest via
 * guest-exec and waits (bounded) for it to exit. *out (malloc'd, NUL
 * added) gets its standard output; *truncated is set when the agent cut
 * it short. The exit status is not an error: cat of a vanished /proc file
 * fails but still prints the others.
 */
int kh_qga_exec(struct kh_qga *qga, const char *path,
		const char *const *argv, unsigned int argc, char **out,
		size_t *outlen, int *truncated, struct kh_err *err);

/*
 * Strict base64 (RFC 4648, with padding): -EBADMSG on any other byte,
 * misplaced padding or non-zero pad bits; -EMSGSIZE when out is too
 * small. Sets *outlen.
 */
int kh_base64_decode(const char *in, size_t inlen, uint8_t *out,
		     size_t outsz, size_t *outlen);

/*
 * Finds the reply to guest-sync-delimited in buf: the bytes after the
 * last 0xFF up to a newline. Returns the offset of its first byte and
 * sets *linelen, or -EAGAIN when buf holds no complete one yet.
 */
long kh_qga_sync_reply(const char *buf, size_t len, size_t *linelen);

#endif
