/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Client side of QEMU's chardev unix sockets (gdbstub, guest agent): a
 * chardev serves one client at a time, and a second client is not refused
 * but parked in the listen backlog, where it would hang, and later be
 * accepted by QEMU as a ghost connection. So we look before we connect,
 * and every wait has a deadline.
 */
#ifndef KH_UNIXSOCK_H
#define KH_UNIXSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
int64_t kh_unix_now_ms(void);

/*
 * 1 when some client is already connected to the listening socket at
 * path (an accepted socket bound to that path shows in /proc/net/unix),
 * 0 when none is, -errno when that cannot be told.
 */
int kh_unix_in_use(const char *path);

/*
 * Connects to path; what names the socket in errors ("gdbstub socket").
 * Refuses with EBUSY when another client holds it. Returns the fd.
 */
int kh_unix_connect(const char *path, const char *what, int64_t deadline,
		    struct kh_err *err);

/* Sends all of buf before deadline. */
int kh_unix_send(int fd, const void *buf, size_t len, int64_t deadline,
		 const char *what, struct kh_err *err);

/*
 * Receives what is there (at least one byte) before deadline. Returns
 * the count, or -errno: -ETIMEDOUT, -ECONNRESET when the peer closed.
 */
long kh_unix_recv(int fd, void *buf, size_t size, int64_t deadline,
		  const char *what, struct kh_err *err);

#endif
