/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * walk/net_stats.c's readers of the counters that drivers keep in their
 * own private structures, one file per driver.
 */
#ifndef KH_WALK_NET_STATS_H
#define KH_WALK_NET_STATS_H

#include <stdint.h>

#include "walk/toolkit.h"

/*
 * virtio_net's (walk/net_stats_virtio.c): fills the counters of the
 * devices marked in want[] that a virtio_net driver runs. Failures mark
 * the list; -errno: VM gone, or out of memory.
 */
int kh_iface_stats_virtio(struct kh_vm *vm, struct kh_iface_list *list,
			  const uint8_t *want, struct kh_err *err);

#endif /* KH_WALK_NET_STATS_H */
