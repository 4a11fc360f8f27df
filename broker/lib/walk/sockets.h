/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * walk/sockets.c's reading of a struct sock_common, shared with the hash
 * table walk (walk/sock_hash.c): every entry of the kernel's socket hash
 * tables, a full sock, an inet_timewait_sock or a request_sock, begins
 * with one.
 */
#ifndef KH_WALK_SOCKETS_H
#define KH_WALK_SOCKETS_H

#include <stdint.h>

#include "walk/toolkit.h"

/* The first entries of kh_skc_offsets()' array. */
enum {
	SKC_FAMILY, SKC_STATE, SKC_RCV_SADDR, SKC_DADDR, SKC_NUM, SKC_DPORT,
	SKC_V6_RCV_SADDR, SKC_V6_DADDR, SKC_NULLS_NODE, SOCK_COMMON_SIZE,
	KH_SKC_NR
};

/* The offsets above (and sockets.c's own after them), checked to fit. */
int kh_skc_offsets(struct kh_vm *vm, const uint32_t **off,
		   struct kh_err *err);
/*
 * Fills conn's protocol (tcp, tcp6; with udp, udp6 and udp), type,
 * endpoints, state and mini (a TIME_WAIT or NEW_SYN_RECV entry: an
 * inet_timewait_sock or request_sock, of which only the sock_common may
 * be read) from a TCP or UDP table entry's sock_common bytes; 0 if it is
 * not IPv4 or IPv6.
 */
int kh_skc_decode(const uint32_t *off, const uint8_t *common, int udp,
		  struct kh_conn *conn);

/* The name netstat and ss give /proc/net/tcp's numeric state. */
const char *kh_inet_state(unsigned int state);

#endif /* KH_WALK_SOCKETS_H */
