// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/keyhole: a misc device whose ioctls are dispatched from a table.
 * Each entry names its argument struct and the last member of its first
 * version, so size checks and struct extension work the same for every
 * command (the scheme of iommufd).
 */

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/uaccess.h>

#include <keyhole.h>

#include "device.h"

union keyhole_ucmd {
	struct keyhole_api api;
};

struct keyhole_ioctl_op {
	unsigned int size;	/* of the struct this module knows */
	unsigned int min_size;	/* up to the first version's last member */
	int (*execute)(union keyhole_ucmd *ucmd);
};

static int keyhole_api(union keyhole_ucmd *ucmd)
{
	struct keyhole_api *api = &ucmd->api;

	api->api_version = KEYHOLE_API_VERSION;
	api->features = 0;
	api->ioctls = BIT_ULL(KEYHOLE_CMD_API - KEYHOLE_CMD_BASE);
	return 0;
}

#define IOCTL_OP(_cmd, _fn, _struct, _last)				\
	[_cmd - KEYHOLE_CMD_BASE] = {					\
		.size = sizeof(_struct),				\
		.min_size = offsetofend(_struct, _last),		\
		.execute = _fn,						\
	}

static const struct keyhole_ioctl_op keyhole_ioctl_ops[] = {
	IOCTL_OP(KEYHOLE_CMD_API, keyhole_api, struct keyhole_api, ioctls),
};

static long keyhole_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	const struct keyhole_ioctl_op *op;
	void __user *uarg = (void __user *)arg;
	union keyhole_ucmd ucmd;
	unsigned int nr = _IOC_NR(cmd);
	u32 user_size;
	int ret;

	if (_IOC_TYPE(cmd) != KEYHOLE_TYPE || nr < KEYHOLE_CMD_BASE ||
	    nr - KEYHOLE_CMD_BASE >= ARRAY_SIZE(keyhole_ioctl_ops))
		return -ENOTTY;
	op = &keyhole_ioctl_ops[nr - KEYHOLE_CMD_BASE];
	if (!op->execute)
		return -ENOTTY;
	if (get_user(user_size, (u32 __user *)uarg))
		return -EFAULT;
	if (user_size < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(&ucmd, op->size, uarg, user_size);
	if (ret)
		return ret;
	ret = op->execute(&ucmd);
	if (ret)
		return ret;
	/* Never write more than the caller said it has room for. */
	if (copy_to_user(uarg, &ucmd, min_t(u32, user_size, op->size)))
		return -EFAULT;
	return 0;
}

static const struct file_operations keyhole_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = keyhole_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice keyhole_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "keyhole",
	.fops = &keyhole_fops,
	.mode = 0600,
};

int keyhole_device_init(void)
{
	return misc_register(&keyhole_misc);
}

void keyhole_device_exit(void)
{
	misc_deregister(&keyhole_misc);
}
