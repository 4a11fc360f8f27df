// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/keyhole: a misc device whose ioctls are dispatched from a table.
 * Each entry names its argument struct and the last member of its first
 * version, so size checks and struct extension work the same for every
 * command (the scheme of iommufd). The per-VM fds use the same dispatch.
 */

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/uaccess.h>

#include <keyhole.h>

#include "device.h"
#include "vm.h"

union keyhole_dev_ucmd {
	struct keyhole_api api;
	struct keyhole_attach_cmd attach;	/* starts with the uapi struct */
};

/* Commands of both tables, for the handshake. */
#define KEYHOLE_IOCTLS_ALL (GENMASK_ULL(KEYHOLE_CMD_RESUME - KEYHOLE_CMD_BASE, 0))

static int keyhole_api(void *priv, void *ucmd)
{
	struct keyhole_api *api = ucmd;

	api->api_version = KEYHOLE_API_VERSION;
	api->features = KEYHOLE_FEATURE_MAP | KEYHOLE_FEATURE_READ |
			KEYHOLE_FEATURE_PAUSE | KEYHOLE_FEATURE_KVM_RANGES |
			KEYHOLE_FEATURE_NETLINK;
	api->ioctls = KEYHOLE_IOCTLS_ALL;
	return 0;
}

static int keyhole_attach(void *priv, void *ucmd)
{
	return keyhole_vm_attach(ucmd);
}

static void keyhole_attach_finish(void *priv, void *ucmd, bool copied)
{
	keyhole_vm_attach_finish(ucmd, copied);
}

static const struct keyhole_ioctl_op keyhole_dev_ops[] = {
	KEYHOLE_IOCTL_OP(KEYHOLE_CMD_API, keyhole_api, struct keyhole_api,
			 ioctls),
	KEYHOLE_IOCTL_OP_FINISH(KEYHOLE_CMD_ATTACH, keyhole_attach,
				keyhole_attach_finish, struct keyhole_attach,
				session_id),
};

long keyhole_ioctl_dispatch(const struct keyhole_ioctl_op *ops,
			    unsigned int nr_ops, void *priv, unsigned int cmd,
			    unsigned long arg, void *ucmd, size_t ucmd_size)
{
	const struct keyhole_ioctl_op *op;
	void __user *uarg = (void __user *)arg;
	unsigned int nr = _IOC_NR(cmd);
	u32 user_size, out_size;
	int ret;

	/*
	 * Commands are _IO(): the struct's size travels in the struct, so
	 * any direction or size bits mean someone else's command.
	 */
	if (cmd != _IO(KEYHOLE_TYPE, nr) || nr < KEYHOLE_CMD_BASE ||
	    nr - KEYHOLE_CMD_BASE >= nr_ops)
		return -ENOTTY;
	op = &ops[nr - KEYHOLE_CMD_BASE];
	if (!op->execute)
		return -ENOTTY;
	if (WARN_ON_ONCE(op->size > ucmd_size))
		return -EINVAL;
	if (get_user(user_size, (u32 __user *)uarg))
		return -EFAULT;
	if (user_size < op->min_size)
		return -EINVAL;
	/*
	 * Bytes beyond what the module knows must be zero, and checking them
	 * costs: no struct may be larger than a page (as clone3 and openat2).
	 */
	if (user_size > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(ucmd, op->size, uarg, user_size);
	if (ret)
		return ret;
	/*
	 * The result must be able to reach the caller before the op changes
	 * anything (a PAUSE the caller never hears of would stay): write the
	 * struct back unchanged first. Never more than the caller said it has
	 * room for.
	 */
	out_size = min_t(u32, user_size, op->size);
	if (copy_to_user(uarg, ucmd, out_size))
		return -EFAULT;
	ret = op->execute(priv, ucmd);
	if (ret && !op->out_on_error)
		return ret;
	if (copy_to_user(uarg, ucmd, out_size))
		ret = -EFAULT;
	/* Only now, when the caller may have lost it, can an op undo. */
	if (op->finish)
		op->finish(priv, ucmd, !ret);
	return ret;
}

static long keyhole_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	union keyhole_dev_ucmd ucmd;

	return keyhole_ioctl_dispatch(keyhole_dev_ops,
				      ARRAY_SIZE(keyhole_dev_ops), NULL, cmd,
				      arg, &ucmd, sizeof(ucmd));
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
