// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole.ko: host-side support for introspecting QEMU/KVM guests.
 */

#include <linux/module.h>

#include "device.h"

static int __init keyhole_init(void)
{
	int ret;

	ret = keyhole_device_init();
	if (ret)
		return ret;
	pr_info("ready\n");
	return 0;
}

static void __exit keyhole_exit(void)
{
	keyhole_device_exit();
}

module_init(keyhole_init);
module_exit(keyhole_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("keyhole: host-side VM introspection support");
