// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Network interfaces of every network namespace (net_namespace_list,
 * init_net first), each namespace's dev_base_head list of net_devices
 * (ifindex order, as its /proc/net/dev),
 * each with its hardware address and its IPv4 (in_device->ifa_list, a
 * singly linked RCU list) and IPv6 (inet6_dev->addr_list) addresses.
 *
 * flags is dev->flags, which is what /sys/class/net/NAME/flags prints
 * (net-sysfs.c shows the field itself). SIOCGIFFLAGS and `ip link` show
 * dev_get_flags() instead, which also derives IFF_RUNNING, IFF_LOWER_UP
 * and IFF_DORMANT from the link state and never has them in dev->flags:
 * link_flags is that, from dev->state, operstate and gflags.
 *
 * Cost: the device walk reads one list_head per device; then one batch
 * reads every device's fields, one batch every MAC and IPv4 list head;
 * the IPv4 lists advance in lock step, one batch per list position; the
 * IPv6 lists are walked per device and their addresses read in one batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "walk/toolkit.h"

/* A struct span larger than this is not a layout but garbage. */
#define MAX_SPAN (64 * 1024)
#define MAC_MAX ((uint32_t)sizeof(((struct kh_iface *)0)->mac))
#define IFNAMSIZ ((uint32_t)sizeof(((struct kh_iface *)0)->name))

/* The ABI: <linux/if.h>'s IFF_* and IF_OPER_*. */
#define IFF_PROMISC_	0x100
#define IFF_ALLMULTI_	0x200
#define IFF_RUNNING_	0x40
#define IFF_LOWER_UP_	0x10000
#define IFF_DORMANT_	0x20000
#define IF_OPER_UNKNOWN_	0
#define IF_OPER_DOWN_	2
#define IF_OPER_UP_	6

enum {
	NET_DEV_BASE_HEAD, NET_LIST, NET_INUM, NET_SIZEOF,
	ND_DEV_LIST, ND_NAME, ND_IFINDEX, ND_FLAGS, ND_MTU, ND_DEV_ADDR,
	ND_ADDR_LEN, ND_STATE, ND_OPERSTATE, ND_GFLAGS, ND_TYPE, ND_IP_PTR,
	ND_IP6_PTR, ND_SIZEOF,
	IN_DEV_IFA_LIST, IFA_NEXT, IFA_LOCAL, IFA_PREFIXLEN,
	IN6_DEV_ADDR_LIST, IFA6_IF_LIST, IFA6_ADDR, IFA6_PREFIX_LEN,
	IFA6_SIZEOF,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[NET_DEV_BASE_HEAD] = { "net", "dev_base_head" },
	[NET_LIST] = { "net", "list" },
	[NET_INUM] = { "net", "ns.inum" },
	[NET_SIZEOF] = { "net", NULL },
	[ND_DEV_LIST] = { "net_device", "dev_list" },
	[ND_NAME] = { "net_device", "name" },
	[ND_IFINDEX] = { "net_device", "ifindex" },
	[ND_FLAGS] = { "net_device", "flags" },
	[ND_MTU] = { "net_device", "mtu" },
	[ND_DEV_ADDR] = { "net_device", "dev_addr" },
	[ND_ADDR_LEN] = { "net_device", "addr_len" },
	[ND_STATE] = { "net_device", "state" },
	[ND_OPERSTATE] = { "net_device", "operstate" },
	[ND_GFLAGS] = { "net_device", "gflags" },
	[ND_TYPE] = { "net_device", "type" },
	[ND_IP_PTR] = { "net_device", "ip_ptr" },
	[ND_IP6_PTR] = { "net_device", "ip6_ptr", .optional = 1 },
	[ND_SIZEOF] = { "net_device", NULL },
	[IN_DEV_IFA_LIST] = { "in_device", "ifa_list" },
	[IFA_NEXT] = { "in_ifaddr", "ifa_next" },
	[IFA_LOCAL] = { "in_ifaddr", "ifa_local" },
	[IFA_PREFIXLEN] = { "in_ifaddr", "ifa_prefixlen" },
	/* A kernel without IPv6 built in has none of these in vmlinux. */
	[IN6_DEV_ADDR_LIST] = { "inet6_dev", "addr_list", .optional = 1 },
	[IFA6_IF_LIST] = { "inet6_ifaddr", "if_list", .optional = 1 },
	[IFA6_ADDR] = { "inet6_ifaddr", "addr", .optional = 1 },
	[IFA6_PREFIX_LEN] = { "inet6_ifaddr", "prefix_len", .optional = 1 },
	[IFA6_SIZEOF] = { "inet6_ifaddr", NULL, .optional = 1 },
};

/* The bytes [start, start + len) of a struct that hold what we need. */
struct span {
	uint32_t start, len;
};

/* Per device, what the later passes need. */
struct dev_state {
	uint64_t addr;		/* struct net_device */
	uint32_t netns;		/* its namespace's inode number */
	uint64_t dev_addr, ip_ptr, ip6_ptr;
	uint64_t ifa;		/* next in_ifaddr to read, or 0 */
	unsigned int nr_ifa;	/* in_ifaddrs seen, for the bound */
	struct kh_addr_set seen;	/* in_ifaddrs, for cycles */
};

struct walk {
	struct kh_vm *vm;
	const uint32_t *off;
	struct kh_iface_list *list;
	struct dev_state *devs;
	unsigned int nr_devs, cap_devs;
	struct span nd, ifa, ifa6_span;
	int has_ipv6;
	/* IPv6 pass: inet6_ifaddrs found, and which device owns each. */
	uint64_t *ifa6;
	unsigned int *ifa6_dev;
	unsigned int nr_ifa6, cap_ifa6;
	unsigned int cur_dev;	/* whose addr_list is being walked */
	unsigned int start_bit, nocarrier_bit, dormant_bit;	/* of state */
	uint32_t cur_netns;	/* whose devices are being collected */
	unsigned int max_devs;	/* over every namespace together */
	struct kh_addr_set dev_seen;	/* a device in two lists is once */
	/* The namespaces: struct net and its inode number, in list order. */
	struct kh_addr_list nets;
	uint32_t *net_inums;
};

static int span_of(const uint32_t *off, const unsigned int *idx,
		   const uint32_t *len, unsigned int nr, struct span *span,
		   struct kh_err *err)
{
	uint32_t start = UINT32_MAX, end = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (off[idx[i]] < start)
			start = off[idx[i]];
		if (off[idx[i]] + len[i] > end)
			end = off[idx[i]] + len[i];
	}
	if (end - start > MAX_SPAN)
		return kh_err_set(err, EINVAL,
				  "guest kernel layout: interface fields span %u bytes",
				  end - start);
	span->start = start;
	span->len = end - start;
	return 0;
}

/* The bits of dev->state that dev_get_flags() reads, from BTF. */
static int link_state_bits(struct walk *w, struct kh_err *err)
{
	static const char *const names[] = {
		"__LINK_STATE_START", "__LINK_STATE_NOCARRIER",
		"__LINK_STATE_DORMANT",
	};
	int64_t bit[3];
	unsigned int i;
	int ret;

	for (i = 0; i < 3; i++) {
		ret = kh_enum_value(w->vm, names[i], &bit[i], err);
		if (ret)
			return ret;
		if (bit[i] < 0 || bit[i] > 63)
			return kh_err_set(err, EINVAL,
					  "guest kernel layout: %s is %lld",
					  names[i], (long long)bit[i]);
	}
	w->start_bit = bit[0];
	w->nocarrier_bit = bit[1];
	w->dormant_bit = bit[2];
	return 0;
}

/*
 * dev_get_flags(): dev->flags with what the link state says, for a
 * device that runs; promiscuity and allmulti as the user set them.
 */
static uint32_t link_flags(const struct walk *w, uint32_t flags,
			   uint64_t state, uint8_t operstate, uint16_t gflags)
{
	uint32_t f = (flags & ~(IFF_PROMISC_ | IFF_ALLMULTI_ | IFF_RUNNING_ |
				IFF_LOWER_UP_ | IFF_DORMANT_)) |
		     (gflags & (IFF_PROMISC_ | IFF_ALLMULTI_));

	if (!(state & (1ULL << w->start_bit)))
		return f;
	if (operstate == IF_OPER_UP_ || operstate == IF_OPER_UNKNOWN_)
		f |= IFF_RUNNING_;
	if (!(state & (1ULL << w->nocarrier_bit)))
		f |= IFF_LOWER_UP_;
	if (state & (1ULL << w->dormant_bit))
		f |= IFF_DORMANT_;
	return f;
}

static int resolve(struct walk *w, struct kh_err *err)
{
	/* ND_IP6_PTR last: a kernel without IPv6 leaves it out. */
	static const unsigned int nd_idx[] = {
		ND_NAME, ND_IFINDEX, ND_FLAGS, ND_MTU, ND_DEV_ADDR,
		ND_ADDR_LEN, ND_STATE, ND_OPERSTATE, ND_GFLAGS, ND_TYPE,
		ND_IP_PTR, ND_IP6_PTR,
	};
	static const uint32_t nd_len[] = {
		IFNAMSIZ, 4, 4, 4, 8, 1, 8, 1, 2, 2, 8, 8,
	};
	static const unsigned int ifa_idx[] = {
		IFA_NEXT, IFA_LOCAL, IFA_PREFIXLEN,
	};
	static const uint32_t ifa_len[] = { 8, 4, 1 };
	static const unsigned int ifa6_idx[] = { IFA6_ADDR, IFA6_PREFIX_LEN };
	static const uint32_t ifa6_len[] = { 16, 4 };
	const uint32_t *off;
	unsigned int i;
	int ret;

	ret = kh_offsets(w->vm, fields, NR_FIELDS, &off, err);
	if (ret)
		return ret;
	w->off = off;
	w->has_ipv6 = 1;
	for (i = ND_IP6_PTR; i < NR_FIELDS; i++)
		if (fields[i].optional && off[i] == KH_FIELD_ABSENT)
			w->has_ipv6 = 0;
	ret = span_of(off, nd_idx, nd_len, w->has_ipv6 ? 12 : 11, &w->nd,
		      err);
	if (!ret)
		ret = link_state_bits(w, err);
	if (!ret)
		ret = span_of(off, ifa_idx, ifa_len, 3, &w->ifa, err);
	if (!ret && w->has_ipv6)
		ret = span_of(off, ifa6_idx, ifa6_len, 2, &w->ifa6_span, err);
	return ret;
}

static int collect_dev(struct kh_vm *vm, uint64_t entry, void *opaque)
{
	struct walk *w = opaque;
	int ret;

	if (w->nr_devs >= w->max_devs) {
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
			"more interfaces than guest RAM can hold; stopped at 0x%" PRIx64,
			entry);
		return 1;
	}
	ret = kh_addr_set_add(&w->dev_seen, entry);
	if (ret < 0)
		return ret;
	if (!ret) {
		kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
			"net_device 0x%" PRIx64 " is in two namespaces' lists",
			entry);
		return 1;
	}
	if (w->nr_devs == w->cap_devs) {
		unsigned int cap = w->cap_devs ? w->cap_devs * 2 : 16;
		struct dev_state *devs = realloc(w->devs, sizeof(*devs) * cap);

		if (!devs)
			return -ENOMEM;
		w->devs = devs;
		w->cap_devs = cap;
	}
	memset(&w->devs[w->nr_devs], 0, sizeof(*w->devs));
	w->devs[w->nr_devs].netns = w->cur_netns;
	w->devs[w->nr_devs++].addr = entry;
	return 0;
}

/*
 * Every namespace's devices: net_namespace_list links the struct nets
 * (init_net first), each with its dev_base_head list. A namespace whose
 * inode number cannot be read still has its devices listed, as 0.
 */
static int collect_all(struct kh_vm *vm, struct walk *w, struct kh_err *err)
{
	struct kh_read *reads;
	uint64_t head;
	unsigned int i;
	int ret;

	ret = kh_sym_va(vm, "net_namespace_list", &head, err);
	if (!ret)
		ret = kh_list_walk(vm, head, w->off[NET_LIST],
				   kh_max_objects(vm, w->off[NET_SIZEOF]),
				   kh_list_collect, &w->nets, &w->list->result,
				   err);
	if (ret)
		return ret;
	w->net_inums = calloc(w->nets.nr + 1, sizeof(*w->net_inums));
	reads = calloc(w->nets.nr + 1, sizeof(*reads));
	if (!w->net_inums || !reads) {
		free(reads);
		return kh_err_set(err, ENOMEM, "out of memory for %u namespaces",
				  w->nets.nr);
	}
	for (i = 0; i < w->nets.nr; i++)
		reads[i] = (struct kh_read){
			.addr = w->nets.addrs[i] + w->off[NET_INUM],
			.buf = &w->net_inums[i], .len = 4 };
	ret = kh_kva_fetch(vm, reads, w->nets.nr, err);
	free(reads);
	if (ret > 0)
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
			"%d network namespaces' numbers cannot be read", ret);
	/* One bound for the devices of every namespace together. */
	w->max_devs = kh_max_objects(vm, w->off[ND_SIZEOF]);
	for (i = 0; ret >= 0 && i < w->nets.nr && w->nr_devs < w->max_devs;
	     i++) {
		w->cur_netns = w->net_inums[i];
		ret = kh_list_walk(vm, w->nets.addrs[i] + w->off[NET_DEV_BASE_HEAD],
				   w->off[ND_DEV_LIST],
				   w->max_devs - w->nr_devs + 1, collect_dev, w,
				   &w->list->result, err);
	}
	return ret < 0 ? ret : 0;
}

static uint64_t get_u64(const uint8_t *span, const struct span *s,
			uint32_t off)
{
	uint64_t val;

	memcpy(&val, span + off - s->start, sizeof(val));
	return val;
}

static uint32_t get_u32(const uint8_t *span, const struct span *s,
			uint32_t off)
{
	uint32_t val;

	memcpy(&val, span + off - s->start, sizeof(val));
	return val;
}

/* A pointer read from the guest: 0 stays 0, anything else must be valid. */
static int pointer_ok(const struct kh_vm *vm, uint64_t va)
{
	return !va || kh_kernel_ptr(vm, va);
}

/* Fills the iface of every device from one batch of net_device reads. */
static int read_devices(struct walk *w, struct kh_err *err)
{
	const uint32_t *off = w->off;
	struct kh_iface_list *list = w->list;
	struct kh_read *reads;
	uint8_t *spans;
	unsigned int i;
	int ret;

	reads = calloc(w->nr_devs, sizeof(*reads));
	spans = calloc(w->nr_devs, w->nd.len);
	if (!reads || !spans) {
		free(reads);
		free(spans);
		return kh_err_set(err, ENOMEM, "out of memory for %u interfaces",
				  w->nr_devs);
	}
	for (i = 0; i < w->nr_devs; i++)
		reads[i] = (struct kh_read){
			.addr = w->devs[i].addr + w->nd.start,
			.buf = spans + (size_t)i * w->nd.len,
			.len = w->nd.len };
	ret = kh_kva_fetch(w->vm, reads, w->nr_devs, err);
	for (i = 0; ret >= 0 && i < w->nr_devs; i++) {
		const uint8_t *span = spans + (size_t)i * w->nd.len;
		struct dev_state *dev = &w->devs[i];
		struct kh_iface *iface = &list->ifaces[list->nr];
		uint16_t gflags;
		uint64_t state;
		uint8_t addr_len;

		if (reads[i].result) {
			/* Unregistered and freed since the walk saw it. */
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"net_device at 0x%" PRIx64 " cannot be read",
				dev->addr);
			continue;
		}
		memcpy(iface->name, span + off[ND_NAME] - w->nd.start,
		       IFNAMSIZ - 1);
		iface->index = get_u32(span, &w->nd, off[ND_IFINDEX]);
		iface->dev = dev->addr;
		iface->netns = dev->netns;
		iface->flags = get_u32(span, &w->nd, off[ND_FLAGS]);
		memcpy(&iface->operstate,
		       span + off[ND_OPERSTATE] - w->nd.start, 1);
		memcpy(&iface->type, span + off[ND_TYPE] - w->nd.start, 2);
		memcpy(&gflags, span + off[ND_GFLAGS] - w->nd.start, 2);
		state = get_u64(span, &w->nd, off[ND_STATE]);
		iface->link_flags = link_flags(w, iface->flags, state,
					       iface->operstate, gflags);
		/* As rtnetlink and sysfs: a device not running is down. */
		if (!(state & (1ULL << w->start_bit)))
			iface->operstate = IF_OPER_DOWN_;
		iface->mtu = get_u32(span, &w->nd, off[ND_MTU]);
		memcpy(&addr_len, span + off[ND_ADDR_LEN] - w->nd.start, 1);
		iface->mac_len = addr_len;
		if (iface->mac_len > MAC_MAX) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s: addr_len %u exceeds MAX_ADDR_LEN",
				iface->name, iface->mac_len);
			iface->mac_len = MAC_MAX;
		}
		dev->dev_addr = get_u64(span, &w->nd, off[ND_DEV_ADDR]);
		dev->ip_ptr = get_u64(span, &w->nd, off[ND_IP_PTR]);
		if (w->has_ipv6)
			dev->ip6_ptr = get_u64(span, &w->nd, off[ND_IP6_PTR]);
		if (!pointer_ok(w->vm, dev->dev_addr) ||
		    !pointer_ok(w->vm, dev->ip_ptr) ||
		    !pointer_ok(w->vm, dev->ip6_ptr)) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s: net_device 0x%" PRIx64 " holds a bad pointer",
				iface->name, dev->addr);
			dev->dev_addr = dev->ip_ptr = dev->ip6_ptr = 0;
		}
		if (!dev->dev_addr)
			iface->mac_len = 0;
		/* From here on devs[i] is the device of ifaces[i]. */
		w->devs[list->nr++] = *dev;
	}
	free(reads);
	free(spans);
	return ret < 0 ? ret : 0;
}

/* One batch: every MAC and the head of every IPv4 address list. */
static int read_macs_and_heads(struct walk *w, struct kh_err *err)
{
	struct kh_iface_list *list = w->list;
	struct kh_read *reads;
	unsigned int i, n = 0;
	int ret;

	reads = calloc(list->nr * 2, sizeof(*reads));
	if (!reads)
		return kh_err_set(err, ENOMEM, "out of memory for %u interfaces",
				  list->nr);
	for (i = 0; i < list->nr; i++) {
		struct dev_state *dev = &w->devs[i];

		if (list->ifaces[i].mac_len)
			reads[n++] = (struct kh_read){
				.addr = dev->dev_addr,
				.buf = list->ifaces[i].mac,
				.len = list->ifaces[i].mac_len };
		if (dev->ip_ptr)
			reads[n++] = (struct kh_read){
				.addr = dev->ip_ptr + w->off[IN_DEV_IFA_LIST],
				.buf = &dev->ifa, .len = 8 };
	}
	ret = n ? kh_kva_fetch(w->vm, reads, n, err) : 0;
	if (ret > 0)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%d MAC or in_device reads failed", ret);
	for (i = 0, n = 0; ret >= 0 && i < list->nr; i++) {
		struct dev_state *dev = &w->devs[i];

		if (list->ifaces[i].mac_len && reads[n++].result)
			list->ifaces[i].mac_len = 0;
		if (dev->ip_ptr && reads[n++].result)
			dev->ifa = 0;
		if (!pointer_ok(w->vm, dev->ifa)) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s: bad ifa_list pointer 0x%" PRIx64,
				list->ifaces[i].name, dev->ifa);
			dev->ifa = 0;
		}
	}
	free(reads);
	return ret < 0 ? ret : 0;
}

static int add_addr(struct kh_iface_list *list, struct kh_iface *iface,
		    int family, const void *addr, unsigned int prefixlen)
{
	struct kh_ifaddr *a;

	if (iface->nr_addrs == KH_IFADDR_MAX) {
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%s has more than %d addresses", iface->name,
			KH_IFADDR_MAX);
		return 0;
	}
	a = &iface->addrs[iface->nr_addrs++];
	memset(a, 0, sizeof(*a));
	a->family = family;
	memcpy(a->addr, addr, family == AF_INET ? 4 : 16);
	a->prefixlen = prefixlen;
	return 1;
}

/*
 * The IPv4 lists, all in lock step: one batch per list position. Each
 * in_ifaddr must be new to its device's set (a cycle ends the list) and
 * a list never holds more than fits in the result.
 */
static int read_ipv4(struct walk *w, struct kh_err *err)
{
	struct kh_iface_list *list = w->list;
	struct kh_read *reads;
	unsigned int *owner;
	uint8_t *spans;
	int ret = 0;

	reads = calloc(list->nr, sizeof(*reads));
	owner = calloc(list->nr, sizeof(*owner));
	spans = calloc(list->nr, w->ifa.len);
	if (!reads || !owner || !spans) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u interfaces",
				 list->nr);
		goto out;
	}
	for (;;) {
		unsigned int i, n = 0;

		for (i = 0; i < list->nr; i++) {
			struct dev_state *dev = &w->devs[i];
			int added;

			if (!dev->ifa)
				continue;
			added = kh_addr_set_add(&dev->seen, dev->ifa);
			if (added < 0) {
				ret = kh_err_set(err, ENOMEM,
						 "out of memory walking addresses");
				goto out;
			}
			if (!added)
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"%s: IPv4 address list cycle at 0x%" PRIx64,
					list->ifaces[i].name, dev->ifa);
			else if (++dev->nr_ifa > KH_IFADDR_MAX)
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"%s has more than %d IPv4 addresses",
					list->ifaces[i].name, KH_IFADDR_MAX);
			if (!added || dev->nr_ifa > KH_IFADDR_MAX) {
				dev->ifa = 0;
				continue;
			}
			owner[n] = i;
			reads[n] = (struct kh_read){
				.addr = dev->ifa + w->ifa.start,
				.buf = spans + (size_t)n * w->ifa.len,
				.len = w->ifa.len };
			n++;
		}
		if (!n)
			break;
		ret = kh_kva_fetch(w->vm, reads, n, err);
		if (ret < 0)
			goto out;
		for (i = 0; i < n; i++) {
			const uint8_t *span = spans + (size_t)i * w->ifa.len;
			struct kh_iface *iface = &list->ifaces[owner[i]];
			struct dev_state *dev = &w->devs[owner[i]];
			uint32_t local;
			uint8_t plen;

			if (reads[i].result) {
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"%s: in_ifaddr 0x%" PRIx64 " cannot be read",
					iface->name, dev->ifa);
				dev->ifa = 0;
				continue;
			}
			local = get_u32(span, &w->ifa, w->off[IFA_LOCAL]);
			memcpy(&plen, span + w->off[IFA_PREFIXLEN] -
			       w->ifa.start, 1);
			if (plen > 32)
				kh_mark(&list->result, KH_RESULT_INCONSISTENT,
					"%s: IPv4 prefix length %u",
					iface->name, plen);
			if (!add_addr(list, iface, AF_INET, &local, plen)) {
				dev->ifa = 0;
				continue;
			}
			dev->ifa = get_u64(span, &w->ifa, w->off[IFA_NEXT]);
			if (!pointer_ok(w->vm, dev->ifa)) {
				kh_mark(&list->result, KH_RESULT_INCOMPLETE,
					"%s: bad ifa_next pointer 0x%" PRIx64,
					iface->name, dev->ifa);
				dev->ifa = 0;
			}
		}
		ret = 0;
	}
out:
	free(reads);
	free(owner);
	free(spans);
	return ret;
}

static int collect_ifa6(struct kh_vm *vm, uint64_t entry, void *opaque)
{
	struct walk *w = opaque;

	if (w->nr_ifa6 == w->cap_ifa6) {
		unsigned int cap = w->cap_ifa6 ? w->cap_ifa6 * 2 : 16;
		uint64_t *ifa6 = realloc(w->ifa6, sizeof(*ifa6) * cap);
		unsigned int *owner;

		if (!ifa6)
			return -ENOMEM;
		w->ifa6 = ifa6;
		owner = realloc(w->ifa6_dev, sizeof(*owner) * cap);
		if (!owner)
			return -ENOMEM;
		w->ifa6_dev = owner;
		w->cap_ifa6 = cap;
	}
	w->ifa6[w->nr_ifa6] = entry;
	w->ifa6_dev[w->nr_ifa6++] = w->cur_dev;
	return 0;
}

/* Walks every addr_list, then reads all IPv6 addresses in one batch. */
static int read_ipv6(struct walk *w, struct kh_err *err)
{
	struct kh_iface_list *list = w->list;
	struct kh_read *reads = NULL;
	uint8_t *spans = NULL;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < list->nr; i++) {
		struct dev_state *dev = &w->devs[i];

		if (!dev->ip6_ptr)
			continue;
		if (!w->has_ipv6) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s has IPv6 state but the kernel's BTF has no inet6_dev",
				list->ifaces[i].name);
			continue;
		}
		w->cur_dev = i;
		/* More than fit in the result ends the walk, marked. */
		ret = kh_list_walk(w->vm,
				   dev->ip6_ptr + w->off[IN6_DEV_ADDR_LIST],
				   w->off[IFA6_IF_LIST], KH_IFADDR_MAX,
				   collect_ifa6, w, &list->result, err);
		if (ret)
			return ret;
	}
	if (!w->nr_ifa6)
		return 0;
	reads = calloc(w->nr_ifa6, sizeof(*reads));
	spans = calloc(w->nr_ifa6, w->ifa6_span.len);
	if (!reads || !spans) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u addresses",
				 w->nr_ifa6);
		goto out;
	}
	for (i = 0; i < w->nr_ifa6; i++)
		reads[i] = (struct kh_read){
			.addr = w->ifa6[i] + w->ifa6_span.start,
			.buf = spans + (size_t)i * w->ifa6_span.len,
			.len = w->ifa6_span.len };
	ret = kh_kva_fetch(w->vm, reads, w->nr_ifa6, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < w->nr_ifa6; i++) {
		const uint8_t *span = spans + (size_t)i * w->ifa6_span.len;
		struct kh_iface *iface = &list->ifaces[w->ifa6_dev[i]];
		uint32_t plen;

		if (reads[i].result) {
			kh_mark(&list->result, KH_RESULT_INCOMPLETE,
				"%s: inet6_ifaddr 0x%" PRIx64 " cannot be read",
				iface->name, w->ifa6[i]);
			continue;
		}
		plen = get_u32(span, &w->ifa6_span, w->off[IFA6_PREFIX_LEN]);
		if (plen > 128)
			kh_mark(&list->result, KH_RESULT_INCONSISTENT,
				"%s: IPv6 prefix length %u", iface->name, plen);
		add_addr(list, iface, AF_INET6,
			 span + w->off[IFA6_ADDR] - w->ifa6_span.start, plen);
	}
out:
	free(reads);
	free(spans);
	return ret;
}

int kh_ifaces(struct kh_vm *vm, struct kh_iface_list **listp,
	      struct kh_err *err)
{
	struct walk w = { .vm = vm };
	unsigned int i;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	ret = resolve(&w, err);
	if (ret)
		return ret;
	w.list = calloc(1, sizeof(*w.list));
	if (!w.list)
		return kh_err_set(err, ENOMEM, "out of memory for interfaces");
	ret = collect_all(vm, &w, err);
	if (!ret && w.nr_devs) {
		w.list->ifaces = calloc(w.nr_devs, sizeof(*w.list->ifaces));
		if (!w.list->ifaces)
			ret = kh_err_set(err, ENOMEM,
					 "out of memory for %u interfaces",
					 w.nr_devs);
		if (!ret)
			ret = read_devices(&w, err);
		if (!ret)
			ret = read_macs_and_heads(&w, err);
		if (!ret)
			ret = read_ipv4(&w, err);
		if (!ret)
			ret = read_ipv6(&w, err);
	}
	if (!ret)
		ret = kh_vm_verify(vm, err);
	for (i = 0; i < w.nr_devs; i++)
		kh_addr_set_free(&w.devs[i].seen);
	kh_addr_set_free(&w.dev_seen);
	free(w.devs);
	free(w.nets.addrs);
	free(w.net_inums);
	free(w.ifa6);
	free(w.ifa6_dev);
	if (ret) {
		kh_iface_list_free(w.list);
		return ret;
	}
	*listp = w.list;
	return 0;
}

void kh_iface_list_free(struct kh_iface_list *list)
{
	if (!list)
		return;
	free(list->ifaces);
	free(list);
}
