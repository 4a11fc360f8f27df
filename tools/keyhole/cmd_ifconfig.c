// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ifconfig: the network interfaces of the guest's initial network
 * namespace with their flags, MTU, hardware address and IPv4 and IPv6
 * addresses.
 *
 * The flags are dev->flags, as /sys/class/net/NAME/flags shows them: the
 * guest's own ifconfig would add RUNNING (and LOWER_UP, DORMANT), which
 * its kernel derives from the link state on each SIOCGIFFLAGS.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "keyhole.h"

#define IFNAME_LEN sizeof(((struct kh_iface *)0)->name)
/* "a.b.c.d/p" or an IPv6 address with "/ppp". */
#define ADDR_STR_LEN (INET6_ADDRSTRLEN + 5)
/* Every MAC byte as "xx:". */
#define MAC_STR_LEN (sizeof(((struct kh_iface *)0)->mac) * 3)

/* The IFF_* bits of <linux/if.h>, named as ifconfig names them. */
static const struct {
	unsigned int bit;
	const char *name;
} iff_names[] = {
	{ 0x1, "UP" }, { 0x2, "BROADCAST" }, { 0x4, "DEBUG" },
	{ 0x8, "LOOPBACK" }, { 0x10, "POINTOPOINT" }, { 0x20, "NOTRAILERS" },
	{ 0x40, "RUNNING" }, { 0x80, "NOARP" }, { 0x100, "PROMISC" },
	{ 0x200, "ALLMULTI" }, { 0x400, "MASTER" }, { 0x800, "SLAVE" },
	{ 0x1000, "MULTICAST" }, { 0x2000, "PORTSEL" },
	{ 0x4000, "AUTOMEDIA" }, { 0x8000, "DYNAMIC" },
	{ 0x10000, "LOWER_UP" }, { 0x20000, "DORMANT" }, { 0x40000, "ECHO" },
};

/* "UP,BROADCAST,NOARP"; bits without a name as one "0x..." at the end. */
static void format_flags(unsigned int flags, char *buf, size_t size)
{
	size_t len = 0, i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(iff_names) / sizeof(iff_names[0]); i++) {
		if (!(flags & iff_names[i].bit) || len >= size)
			continue;
		flags &= ~iff_names[i].bit;
		len += snprintf(buf + len, size - len, "%s%s",
				len ? "," : "", iff_names[i].name);
	}
	if (flags && len < size)
		snprintf(buf + len, size - len, "%s0x%x", len ? "," : "",
			 flags);
}

static void print_text(const struct kh_iface_list *list)
{
	char name[IFNAME_LEN], flags[256], mac[MAC_STR_LEN];
	char addr[ADDR_STR_LEN];
	unsigned int i, j;

	for (i = 0; i < list->nr; i++) {
		const struct kh_iface *ifc = &list->ifaces[i];

		kh_printable(ifc->name, IFNAME_LEN, name);
		format_flags(ifc->flags, flags, sizeof(flags));
		printf("%s%s: index %d flags=0x%x<%s> mtu %u\n", i ? "\n" : "",
		       name, ifc->index, ifc->flags, flags, ifc->mtu);
		if (ifc->mac_len) {
			kh_format_mac(ifc->mac, ifc->mac_len, mac, sizeof(mac));
			printf("        hwaddr %s\n", mac);
		}
		for (j = 0; j < ifc->nr_addrs; j++) {
			const struct kh_ifaddr *a = &ifc->addrs[j];

			kh_format_ifaddr(a, addr, sizeof(addr));
			printf("        %s %s\n",
			       a->family == AF_INET ? "inet" : "inet6", addr);
		}
	}
}

int cmd_ifconfig(const struct options *opts, int argc, char **argv)
{
	struct kh_iface_list *list;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (attach(opts, spec, &ctx, &vm))
		return 1;
	ret = kh_ifaces(vm, &list, &err);
	if (ret) {
		detach(ctx, vm);
		return report_error(opts, "%s", err.msg);
	}
	if (opts->json)
		print_json(kh_json_ifaces(list));
	else
		print_text(list);
	ret = result_status(list->result.flags, list->result.problem);
	kh_iface_list_free(list);
	detach(ctx, vm);
	return ret;
}
