// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An interface's packet and byte counters (kh_iface_stats), as
 * dev_get_stats() gets them for /proc/net/dev and ip -s: from the
 * driver's ndo_get_stats64 where it has one, else from dev->stats. A
 * driver's ndo_get_stats64 is code, so only the ones whose counters we
 * know are read:
 * - loopback (IFF_LOOPBACK, ndo_get_stats64 = loopback_get_stats64): the
 *   per-CPU dev->lstats, each packet counted once as sent and once as
 *   received;
 * - dummy (rtnl_link_ops->kind "dummy"): the per-CPU dev->lstats, as
 *   sent only (dummy_get_stats64);
 * - tunnels and others using dev_get_tstats64: dev->stats plus the
 *   per-CPU dev->tstats, received and sent;
 * - a driver with neither ndo_get_stats64 nor ndo_get_stats: dev->stats,
 *   the legacy counters it updates itself;
 * - virtio_net, the NIC of most VMs: its queues' counters, found through
 *   the module's own BTF (walk/net_stats_virtio.c).
 * Any other driver (veth, bridges, e1000...) keeps counters in its own
 * private structures: stats stays 0 and nothing is claimed. The counters
 * of errors and drops are not read.
 *
 * Cost: four batches (the device fields, the ops, the link kind's name,
 * the per-CPU counters of every device and CPU together) after the
 * three reads of walk/percpu.c; and for the devices still unknown,
 * net_stats_virtio.c's (there, most of it parsing the module's BTF,
 * about 0.3 ms of host CPU for virtio_net's 7.6 KiB).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/net_stats.h"
#include "walk/percpu.h"

#define IFF_LOOPBACK_	0x8
#define KIND_LEN	16
#define PCPU_READS_MAX	(1u << 20)

enum {
	ND_NETDEV_OPS, ND_RTNL_LINK_OPS, ND_LSTATS, ND_RX_PACKETS,
	ND_TX_PACKETS, ND_RX_BYTES, ND_TX_BYTES, OPS_GET_STATS64,
	OPS_GET_STATS, LINK_KIND, LSTATS_PACKETS, LSTATS_BYTES,
	TSTATS_RX_PACKETS, TSTATS_RX_BYTES, TSTATS_TX_PACKETS,
	TSTATS_TX_BYTES, NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[ND_NETDEV_OPS] = { "net_device", "netdev_ops" },
	[ND_RTNL_LINK_OPS] = { "net_device", "rtnl_link_ops" },
	/* One union: lstats, tstats and dstats share it. */
	[ND_LSTATS] = { "net_device", "lstats" },
	[ND_RX_PACKETS] = { "net_device", "stats.rx_packets" },
	[ND_TX_PACKETS] = { "net_device", "stats.tx_packets" },
	[ND_RX_BYTES] = { "net_device", "stats.rx_bytes" },
	[ND_TX_BYTES] = { "net_device", "stats.tx_bytes" },
	[OPS_GET_STATS64] = { "net_device_ops", "ndo_get_stats64" },
	[OPS_GET_STATS] = { "net_device_ops", "ndo_get_stats" },
	[LINK_KIND] = { "rtnl_link_ops", "kind" },
	[LSTATS_PACKETS] = { "pcpu_lstats", "packets" },
	[LSTATS_BYTES] = { "pcpu_lstats", "bytes" },
	[TSTATS_RX_PACKETS] = { "pcpu_sw_netstats", "rx_packets" },
	[TSTATS_RX_BYTES] = { "pcpu_sw_netstats", "rx_bytes" },
	[TSTATS_TX_PACKETS] = { "pcpu_sw_netstats", "tx_packets" },
	[TSTATS_TX_BYTES] = { "pcpu_sw_netstats", "tx_bytes" },
};

enum source { UNKNOWN, LOOPBACK, DUMMY, TSTATS, LEGACY };

/* What is read of one device. */
struct dev_words {
	uint64_t ops, link_ops, pcpu, legacy[4];	/* rx, tx packets; bytes */
	uint64_t get_stats64, get_stats, kind_ptr;
	char kind[KIND_LEN];
	enum source source;
};

/* The kernel's own ndo_get_stats64 functions we know, or 0. */
struct known_ops {
	uint64_t loopback, tstats;
};

static struct kh_read at(uint64_t addr, void *buf, uint32_t len)
{
	return (struct kh_read){ .addr = addr, .buf = buf, .len = len };
}

static uint64_t sym_or_0(struct kh_vm *vm, const char *name)
{
	struct kh_err err = { 0 };
	uint64_t va;

	return kh_sym_va(vm, name, &va, &err) ? 0 : va;
}

/* The device fields: ops, link ops, the per-CPU pointer, dev->stats. */
static int read_devs(struct kh_vm *vm, struct kh_iface_list *list,
		     const uint32_t *off, struct dev_words *words,
		     struct kh_read *reads, uint8_t *failed,
		     struct kh_err *err)
{
	static const unsigned int legacy[4] = {
		ND_RX_PACKETS, ND_TX_PACKETS, ND_RX_BYTES, ND_TX_BYTES,
	};
	unsigned int i, k, n = 0;
	int ret;

	for (i = 0; i < list->nr; i++) {
		uint64_t dev = list->ifaces[i].dev;
		struct dev_words *w = &words[i];

		reads[n++] = at(dev + off[ND_NETDEV_OPS], &w->ops, 8);
		reads[n++] = at(dev + off[ND_RTNL_LINK_OPS], &w->link_ops, 8);
		reads[n++] = at(dev + off[ND_LSTATS], &w->pcpu, 8);
		for (k = 0; k < 4; k++)
			reads[n++] = at(dev + off[legacy[k]], &w->legacy[k],
					8);
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		return ret;
	for (i = n = 0; i < list->nr; i++)
		for (k = 0; k < 7; k++)
			failed[i] |= reads[n++].result != 0;
	/* The ops' functions and the link kind's name pointer. */
	for (i = n = 0; i < list->nr; i++) {
		struct dev_words *w = &words[i];

		if (failed[i])
			continue;
		if (w->ops && kh_kernel_ptr_aligned(vm, w->ops, 8)) {
			reads[n++] = at(w->ops + off[OPS_GET_STATS64],
					&w->get_stats64, 8);
			reads[n++] = at(w->ops + off[OPS_GET_STATS],
					&w->get_stats, 8);
		}
		if (w->link_ops && kh_kernel_ptr_aligned(vm, w->link_ops, 8))
			reads[n++] = at(w->link_ops + off[LINK_KIND],
					&w->kind_ptr, 8);
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		return ret;
	for (i = n = 0; i < list->nr; i++) {
		struct dev_words *w = &words[i];

		if (failed[i])
			continue;
		if (w->ops && kh_kernel_ptr_aligned(vm, w->ops, 8)) {
			failed[i] |= reads[n].result || reads[n + 1].result;
			n += 2;
		} else {
			failed[i] = 1;	/* every device has its ops */
		}
		/* Only a dummy needs its kind: else it is just not known. */
		if (w->link_ops && kh_kernel_ptr_aligned(vm, w->link_ops, 8) &&
		    reads[n++].result)
			w->kind_ptr = 0;
	}
	/*
	 * A name, page by page (the kind of a module's device is in the
	 * module); one that cannot be read is no kind we know. Few devices
	 * have a kind: one read each.
	 */
	for (i = 0; i < list->nr; i++)
		if (!failed[i] && words[i].kind_ptr &&
		    kh_kernel_ptr(vm, words[i].kind_ptr) &&
		    kh_kva_str(vm, words[i].kind_ptr, words[i].kind, KIND_LEN))
			words[i].kind[0] = '\0';
	return 0;
}

static enum source source_of(const struct kh_iface *iface,
			     const struct dev_words *w,
			     const struct known_ops *known)
{
	if (iface->flags & IFF_LOOPBACK_ && w->get_stats64 &&
	    w->get_stats64 == known->loopback)
		return LOOPBACK;
	if (!strcmp(w->kind, "dummy"))
		return DUMMY;
	if (w->get_stats64 && w->get_stats64 == known->tstats)
		return TSTATS;
	if (!w->get_stats64 && !w->get_stats)
		return LEGACY;
	return UNKNOWN;
}

static int per_cpu(const struct dev_words *w)
{
	return w->source == LOOPBACK || w->source == DUMMY ||
	       w->source == TSTATS;
}

/* The per-CPU counters, every device's and CPU's in one batch. */
static int sum_pcpu(struct kh_vm *vm, struct kh_iface_list *list,
		    const uint32_t *off, struct dev_words *words,
		    uint8_t *failed, const struct kh_percpu *pcpu,
		    struct kh_err *err)
{
	static const unsigned int lstats[2] = { LSTATS_PACKETS, LSTATS_BYTES };
	static const unsigned int tstats[4] = {
		TSTATS_RX_PACKETS, TSTATS_RX_BYTES, TSTATS_TX_PACKETS,
		TSTATS_TX_BYTES,
	};
	unsigned int i, c, k, n = 0, nr_reads = 0;
	struct kh_read *reads;
	uint64_t *vals;
	int ret;

	/* Devices past the bound on reads keep no counters, marked. */
	for (i = 0; i < list->nr; i++) {
		unsigned int each;

		if (failed[i] || !per_cpu(&words[i]))
			continue;
		each = pcpu->nr * (words[i].source == TSTATS ? 4 : 2);
		if (each > PCPU_READS_MAX - nr_reads) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s: its counters are past %u per-CPU reads",
				list->ifaces[i].name, PCPU_READS_MAX);
			failed[i] = 1;
			continue;
		}
		nr_reads += each;
	}
	reads = calloc(nr_reads + 1, sizeof(*reads));
	vals = calloc(nr_reads + 1, sizeof(*vals));
	if (!reads || !vals) {
		ret = kh_err_set(err, ENOMEM, "out of memory for counters");
		goto out;
	}
	for (i = 0; i < list->nr; i++) {
		const unsigned int *f = words[i].source == TSTATS ? tstats :
					lstats;
		unsigned int nr_f = words[i].source == TSTATS ? 4 : 2;

		if (failed[i] || !per_cpu(&words[i]))
			continue;
		for (c = 0; c < pcpu->nr; c++)
			for (k = 0; k < nr_f; k++, n++)
				reads[n] = at(words[i].pcpu + pcpu->offsets[c] +
					      off[f[k]], &vals[n], 8);
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = n = 0; i < list->nr; i++) {
		struct kh_iface *iface = &list->ifaces[i];
		unsigned int nr_f = words[i].source == TSTATS ? 4 : 2;
		uint64_t sum[4] = { 0 };
		int bad = 0;

		if (failed[i] || !per_cpu(&words[i]))
			continue;
		for (c = 0; c < pcpu->nr; c++)
			for (k = 0; k < nr_f; k++, n++) {
				bad |= reads[n].result != 0;
				sum[k] += vals[n];
			}
		if (bad) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s: per-CPU counters at 0x%" PRIx64 " cannot be read",
				iface->name, words[i].pcpu);
			continue;
		}
		iface->stats = 1;
		if (words[i].source == TSTATS) {
			/* dev_get_tstats64: dev->stats, then the sums. */
			iface->rx_packets = words[i].legacy[0] + sum[0];
			iface->rx_bytes = words[i].legacy[2] + sum[1];
			iface->tx_packets = words[i].legacy[1] + sum[2];
			iface->tx_bytes = words[i].legacy[3] + sum[3];
		} else {
			iface->tx_packets = sum[0];
			iface->tx_bytes = sum[1];
			if (words[i].source == LOOPBACK) {
				iface->rx_packets = sum[0];
				iface->rx_bytes = sum[1];
			}
		}
	}
out:
	free(reads);
	free(vals);
	return ret;
}

/*
 * The CPUs, where a device keeps per-CPU counters. CPUs that make no
 * sense (a guest's nr_cpu_ids of 0, say), or a kernel without SMP's
 * offsets, cost those devices their counters, marked, not the list.
 */
static int read_percpu(struct kh_vm *vm, struct kh_iface_list *list,
		       const struct dev_words *words, uint8_t *failed,
		       struct kh_percpu *pcpu, struct kh_err *err)
{
	struct kh_err why = { 0 };
	unsigned int i;
	int ret, needed = 0;

	for (i = 0; i < list->nr; i++)
		needed |= !failed[i] && per_cpu(&words[i]);
	if (!needed)
		return 0;
	ret = kh_percpu_read(vm, pcpu, &why);
	if (ret == -ESRCH || ret == -ENOMEM) {
		*err = why;
		return ret;
	}
	if (ret)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"interface counters kept per CPU: %s", why.msg);
	return 0;
}

int kh_iface_stats(struct kh_vm *vm, struct kh_iface_list *list,
		   struct kh_err *err)
{
	struct dev_words *words = calloc(list->nr + 1, sizeof(*words));
	struct kh_read *reads = calloc((size_t)list->nr * 7 + 1,
				       sizeof(*reads));
	uint8_t *failed = calloc(list->nr + 1, 1);
	struct kh_percpu pcpu = { 0 };
	struct known_ops known;
	const uint32_t *off;
	unsigned int i;
	int ret;

	if (kh_vm_need_memory(vm, err))
		ret = -EOPNOTSUPP;
	else if (!words || !reads || !failed)
		ret = kh_err_set(err, ENOMEM,
				 "out of memory for %u interfaces", list->nr);
	else
		ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (!ret)
		ret = read_devs(vm, list, off, words, reads, failed, err);
	if (ret)
		goto out;
	known.loopback = sym_or_0(vm, "loopback_get_stats64");
	known.tstats = sym_or_0(vm, "dev_get_tstats64");
	for (i = 0; i < list->nr; i++) {
		struct kh_iface *iface = &list->ifaces[i];
		struct dev_words *w = &words[i];

		if (failed[i]) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s: the counters of net_device 0x%" PRIx64 " cannot be read",
				iface->name, iface->dev);
			continue;
		}
		w->source = source_of(iface, w, &known);
		if (w->source == LEGACY) {
			iface->stats = 1;
			iface->rx_packets = w->legacy[0];
			iface->tx_packets = w->legacy[1];
			iface->rx_bytes = w->legacy[2];
			iface->tx_bytes = w->legacy[3];
		} else if (w->source != UNKNOWN &&
			   (!w->pcpu || w->pcpu & 7)) {
			/*
			 * A __percpu pointer is an offset into every CPU's
			 * area, not an address: x86-64 links the per-CPU
			 * section at 0. Each sum is checked by its read.
			 */
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s: per-CPU counters at 0x%" PRIx64 ": not a per-CPU pointer",
				iface->name, w->pcpu);
			failed[i] = 1;
		}
	}
	ret = read_percpu(vm, list, words, failed, &pcpu, err);
	if (!ret && pcpu.nr)
		ret = sum_pcpu(vm, list, off, words, failed, &pcpu, err);
	/* The ones not known yet, by their driver's name. */
	for (i = 0; i < list->nr; i++)
		failed[i] = !failed[i] && words[i].source == UNKNOWN;
	if (!ret)
		ret = kh_iface_stats_virtio(vm, list, failed, err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
out:
	free(pcpu.offsets);
	free(words);
	free(reads);
	free(failed);
	return ret;
}
