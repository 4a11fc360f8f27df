// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * virtio_net's packet and byte counters, for kh_iface_stats: what its
 * ndo_get_stats64 (virtnet_stats() in drivers/net/virtio_net.c) sums for
 * /proc/net/dev, the receive queue's stats.packets and stats.bytes and
 * the send queue's, over every queue pair (max_queue_pairs). They are in
 * the driver's private struct virtnet_info, after the net_device
 * (netdev_priv(): sizeof(struct net_device) rounded up to NETDEV_ALIGN),
 * in the rq and sq arrays.
 *
 * Only the module has those types: its own BTF, which the kernel keeps
 * (CONFIG_DEBUG_INFO_BTF_MODULES) on the list btf_modules as a struct btf
 * whose data is split BTF, type ids following vmlinux's. It is read (a
 * few KiB) and parsed on each call, on top of the profile's BTF: a module
 * reloaded since is read again.
 *
 * A device is virtio_net's when its parent device's driver is named so
 * (dev.parent->driver->name), as ethtool -i says. A kernel without module
 * BTF, or without the module loaded, leaves such a device without
 * counters, as for any driver whose counters are not known (nothing is
 * claimed); a pointer that cannot be read, or more queue pairs than
 * QUEUE_PAIRS_MAX, marks the list incomplete.
 *
 * Guest memory is untrusted: the list walk is bounded (MODULES_MAX, a
 * revisited entry ends it), so is the BTF's size (BTF_MAX), and libbpf
 * checks the BTF it parses (kernel/btf.c checks what it does not).
 *
 * Cost, for the devices whose counters are not known otherwise: four
 * reads each for its driver's name; then, if one is virtio_net's, the
 * list walk (two reads a module with BTF), the BTF, and per device three
 * reads and one batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/btf.h"
#include "kernel/profile.h"
#include "walk/net_stats.h"

#define NETDEV_ALIGN		32
#define DRIVER_NAME_LEN		32
#define MODULE_NAME		"virtio_net"
#define MODULES_MAX		4096
#define BTF_MAX			(4u << 20)
#define QUEUE_PAIRS_MAX		1024

enum {
	ND_PARENT, DEVICE_DRIVER, DRIVER_NAME, ND_SIZE, BTFM_LIST, BTFM_BTF,
	BTF_DATA, BTF_DATA_SIZE, BTF_NAME, NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[ND_PARENT] = { "net_device", "dev.parent" },
	[DEVICE_DRIVER] = { "device", "driver" },
	[DRIVER_NAME] = { "device_driver", "name" },
	[ND_SIZE] = { "net_device", NULL },
	/* kernel/bpf/btf.c's own types: absent without module BTF */
	[BTFM_LIST] = { "btf_module", "list", NULL, 1 },
	[BTFM_BTF] = { "btf_module", "btf", NULL, 1 },
	[BTF_DATA] = { "btf", "data", NULL, 1 },
	[BTF_DATA_SIZE] = { "btf", "data_size", NULL, 1 },
	[BTF_NAME] = { "btf", "name", NULL, 1 },
};

/* The module's layout: where virtnet_stats() finds its sums. */
struct virtio_layout {
	uint32_t sq, rq, max_pairs;		/* in virtnet_info */
	uint32_t sq_size, rq_size;		/* array strides */
	uint32_t sq_packets, sq_bytes;		/* in a send_queue */
	uint32_t rq_packets, rq_bytes;		/* in a receive_queue */
};

/*
 * Whether a virtio_net driver runs device dev: dev.parent->driver->name,
 * a read a hop (few devices have no counters we know otherwise). A hop
 * that cannot be read is a device we do not know, as before.
 */
static int is_virtio(struct kh_vm *vm, uint64_t dev, const uint32_t *off)
{
	char name[DRIVER_NAME_LEN];
	uint64_t parent, driver, text;

	if (kh_kva_u64(vm, dev + off[ND_PARENT], &parent) ||
	    !kh_kernel_ptr_aligned(vm, parent, 8) ||
	    kh_kva_u64(vm, parent + off[DEVICE_DRIVER], &driver) ||
	    !kh_kernel_ptr_aligned(vm, driver, 8) ||
	    kh_kva_u64(vm, driver + off[DRIVER_NAME], &text) ||
	    !kh_kernel_ptr(vm, text) ||
	    kh_kva_str(vm, text, name, sizeof(name)))
		return 0;
	return !strcmp(name, MODULE_NAME);
}

/* What module_btf()'s walk looks for, and finds. */
struct btf_search {
	const uint32_t *off;
	uint64_t btf;		/* the module's struct btf, or 0 */
};

static int match_btf(struct kh_vm *vm, uint64_t entry, void *opaque)
{
	struct btf_search *s = opaque;
	char name[sizeof(MODULE_NAME) + 1];
	uint64_t btf;

	if (kh_kva_u64(vm, entry + s->off[BTFM_BTF], &btf) ||
	    !kh_kernel_ptr_aligned(vm, btf, 8))
		return 0;
	if (kh_kva_str(vm, btf + s->off[BTF_NAME], name, sizeof(name)) ||
	    strcmp(name, MODULE_NAME))
		return 0;
	s->btf = btf;
	return 1;
}

/* Whether this kernel keeps modules' BTF: the list's head at *head. */
static int has_module_btf(struct kh_vm *vm, const uint32_t *off,
			  uint64_t *head)
{
	struct kh_err sym_err = { 0 };
	unsigned int f;

	for (f = BTFM_LIST; f <= BTF_NAME; f++)
		if (off[f] == KH_FIELD_ABSENT)
			return 0;
	return !kh_sym_va(vm, "btf_modules", head, &sym_err);
}

/*
 * virtio_net's BTF, parsed on top of the profile's: 0 and *btfp; 0 and
 * NULL when this kernel keeps none for it, or it cannot be read (the
 * list marked); -errno for a VM gone.
 */
static int module_btf(struct kh_vm *vm, const uint32_t *off,
		      struct kh_iface_list *list, struct kh_btf **btfp,
		      struct kh_err *err)
{
	struct btf_search s = { .off = off };
	struct kh_err why_err = { 0 };
	const struct kh_btf *base;
	struct kh_read read;
	uint64_t head, data;
	uint32_t len;
	void *bytes;
	int ret;

	*btfp = NULL;
	if (!has_module_btf(vm, off, &head))
		return 0;
	ret = kh_list_walk(vm, head, off[BTFM_LIST], MODULES_MAX, match_btf,
			   &s, &list->result, err);
	if (ret)
		return ret;
	if (!s.btf)
		return 0;
	if (kh_kva_u64(vm, s.btf + off[BTF_DATA], &data) ||
	    kh_kva_u32(vm, s.btf + off[BTF_DATA_SIZE], &len) ||
	    !kh_kernel_ptr(vm, data) || !len || len > BTF_MAX)
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       MODULE_NAME "'s BTF at 0x%" PRIx64 " cannot be read",
			       s.btf);
	bytes = malloc(len);
	if (!bytes)
		return kh_err_set(err, ENOMEM, "out of memory for %u bytes of BTF",
				  len);
	read = (struct kh_read){ .addr = data, .buf = bytes, .len = len };
	ret = kh_kva_fetch(vm, &read, 1, err);
	if (ret >= 0)
		ret = kh_profile_btf(vm->profile, &base, err);
	if (ret < 0)
		goto out;
	ret = 0;
	if (read.result)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			MODULE_NAME "'s BTF (%u bytes at 0x%" PRIx64 ") cannot be read",
			len, data);
	else if ((ret = kh_btf_load_split(bytes, len, base, btfp,
					  &why_err))) {
		/* This host's failure is ours; BTF that does not parse, not. */
		if (ret == -ENOMEM || ret == -EMFILE || ret == -ENFILE) {
			*err = why_err;
			goto out;
		}
		ret = 0;
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			MODULE_NAME "'s BTF: %s", why_err.msg);
	}
out:
	free(bytes);
	return ret;
}

/* The layout from the module's BTF; -ENOENT names what is missing. */
static int virtio_layout(const struct kh_btf *btf, struct virtio_layout *l,
			 struct kh_err *err)
{
	static const struct {
		const char *type, *path;
		size_t at;
		uint32_t size;
	} want[] = {
		{ "virtnet_info", "sq", offsetof(struct virtio_layout, sq), 8 },
		{ "virtnet_info", "rq", offsetof(struct virtio_layout, rq), 8 },
		{ "virtnet_info", "max_queue_pairs",
		  offsetof(struct virtio_layout, max_pairs), 2 },
		{ "send_queue", "stats.packets",
		  offsetof(struct virtio_layout, sq_packets), 8 },
		{ "send_queue", "stats.bytes",
		  offsetof(struct virtio_layout, sq_bytes), 8 },
		{ "receive_queue", "stats.packets",
		  offsetof(struct virtio_layout, rq_packets), 8 },
		{ "receive_queue", "stats.bytes",
		  offsetof(struct virtio_layout, rq_bytes), 8 },
	};
	struct kh_member m;
	unsigned int i;
	int ret;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ret = kh_btf_member(btf, want[i].type, want[i].path, &m, err);
		if (!ret && (m.size != want[i].size || m.bit_size))
			ret = kh_err_set(err, EINVAL, "%s.%s: %u bytes, not %u",
					 want[i].type, want[i].path, m.size,
					 want[i].size);
		if (ret)
			return ret;
		*(uint32_t *)((char *)l + want[i].at) = m.offset;
	}
	ret = kh_btf_sizeof(btf, "send_queue", &l->sq_size, err);
	if (!ret)
		ret = kh_btf_sizeof(btf, "receive_queue", &l->rq_size, err);
	if (!ret && (!l->sq_size || !l->rq_size))
		ret = kh_err_set(err, EINVAL, "empty queue structs");
	return ret;
}

/* One device's sums: its queue arrays, then every pair's counters. */
static int device_stats(struct kh_vm *vm, struct kh_iface_list *list,
			struct kh_iface *iface, uint64_t priv,
			const struct virtio_layout *l, struct kh_err *err)
{
	uint16_t max_pairs = 0;
	struct kh_read pairs = { .addr = priv + l->max_pairs,
				 .buf = &max_pairs, .len = 2 };
	struct kh_read *reads;
	uint64_t sq, rq, *vals;
	unsigned int i, k;
	int ret;

	ret = kh_kva_fetch(vm, &pairs, 1, err);
	if (ret < 0)
		return ret;
	if (pairs.result || kh_kva_u64(vm, priv + l->sq, &sq) ||
	    kh_kva_u64(vm, priv + l->rq, &rq))
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "%s: virtio_net's queues at 0x%" PRIx64 " cannot be read",
			       iface->name, priv);
	if (!max_pairs || max_pairs > QUEUE_PAIRS_MAX ||
	    !kh_kernel_ptr_aligned(vm, sq, 8) ||
	    !kh_kernel_ptr_aligned(vm, rq, 8))
		return kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			       "%s: virtio_net with %u queue pairs at 0x%" PRIx64 " and 0x%" PRIx64 ": not a queue array",
			       iface->name, max_pairs, rq, sq);
	reads = calloc(4 * max_pairs, sizeof(*reads));
	vals = calloc(4 * max_pairs, sizeof(*vals));
	if (!reads || !vals) {
		free(reads);
		free(vals);
		return kh_err_set(err, ENOMEM, "out of memory for %u queues",
				  max_pairs);
	}
	for (i = 0; i < max_pairs; i++) {
		uint64_t r = rq + (uint64_t)i * l->rq_size;
		uint64_t s = sq + (uint64_t)i * l->sq_size;

		reads[4 * i] = (struct kh_read){ .addr = r + l->rq_packets,
						 .buf = &vals[4 * i], .len = 8 };
		reads[4 * i + 1] = (struct kh_read){ .addr = r + l->rq_bytes,
					.buf = &vals[4 * i + 1], .len = 8 };
		reads[4 * i + 2] = (struct kh_read){ .addr = s + l->sq_packets,
					.buf = &vals[4 * i + 2], .len = 8 };
		reads[4 * i + 3] = (struct kh_read){ .addr = s + l->sq_bytes,
					.buf = &vals[4 * i + 3], .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, 4 * max_pairs, err);
	for (k = 0; ret >= 0 && k < 4u * max_pairs; k++)
		if (reads[k].result)
			break;
	free(reads);
	if (ret < 0 || k < 4u * max_pairs) {
		free(vals);
		return ret < 0 ? ret : kh_mark(&list->result,
			KH_RESULT_INCOMPLETE,
			"%s: virtio_net's counters in its %u queue pairs cannot be read",
			iface->name, max_pairs);
	}
	iface->rx_packets = iface->rx_bytes = 0;
	iface->tx_packets = iface->tx_bytes = 0;
	for (i = 0; i < max_pairs; i++) {
		iface->rx_packets += vals[4 * i];
		iface->rx_bytes += vals[4 * i + 1];
		iface->tx_packets += vals[4 * i + 2];
		iface->tx_bytes += vals[4 * i + 3];
	}
	free(vals);
	iface->stats = 1;
	return 0;
}

int kh_iface_stats_virtio(struct kh_vm *vm, struct kh_iface_list *list,
			  const uint8_t *want, struct kh_err *err)
{
	uint8_t *virtio = calloc(list->nr + 1, 1);
	struct virtio_layout layout;
	struct kh_btf *btf = NULL;
	const uint32_t *off;
	unsigned int i, any = 0;
	uint64_t head;
	int ret;

	if (!virtio)
		return kh_err_set(err, ENOMEM, "out of memory for %u interfaces",
				  list->nr);
	ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	/* Without module BTF, no device's driver needs reading. */
	if (ret || !has_module_btf(vm, off, &head))
		goto out;
	for (i = 0; !ret && i < list->nr; i++) {
		virtio[i] = want[i] && is_virtio(vm, list->ifaces[i].dev, off);
		any |= virtio[i];
	}
	if (ret || !any)
		goto out;
	ret = module_btf(vm, off, list, &btf, err);
	if (ret || !btf)
		goto out;
	if (virtio_layout(btf, &layout, err)) {
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			MODULE_NAME "'s layout: %s", err->msg);
		*err = (struct kh_err){ 0 };
		goto out;
	}
	for (i = 0; !ret && i < list->nr; i++) {
		uint64_t priv = list->ifaces[i].dev +
				((off[ND_SIZE] + NETDEV_ALIGN - 1) &
				 ~(uint64_t)(NETDEV_ALIGN - 1));

		if (virtio[i])
			ret = device_stats(vm, list, &list->ifaces[i], priv,
					   &layout, err);
	}
out:
	kh_btf_free(btf);
	free(virtio);
	return ret < 0 ? ret : 0;
}
