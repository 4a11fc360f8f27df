// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole.ko: host-side support for introspecting QEMU/KVM guests.
 *
 * Unload is safe while nothing is attached and refused otherwise: every
 * open /dev/keyhole and per-VM fd holds the module through its fops, and
 * a per-VM fd's release waits for its own work.
 */

#include <linux/module.h>

#include "device.h"
#include "map.h"
#include "netlink.h"

static int __init keyhole_init(void)
{
	int ret;

	ret = keyhole_map_init();
	if (ret)
		return ret;
	ret = keyhole_netlink_init();
	if (ret)
		goto err_netlink;
	ret = keyhole_device_init();
	if (ret)
		goto err_device;
	pr_info("ready\n");
	return 0;

err_device:
	keyhole_netlink_exit();
err_netlink:
	keyhole_map_exit();
	return ret;
}

static void __exit keyhole_exit(void)
{
	keyhole_device_exit();
	keyhole_netlink_exit();
	keyhole_map_exit();
}

module_init(keyhole_init);
module_exit(keyhole_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("keyhole: host-side VM introspection support");
