/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * /dev/keyhole, and the table-driven ioctl dispatch that it shares with
 * the per-VM file descriptors.
 */
#ifndef _KEYHOLE_DEVICE_H
#define _KEYHOLE_DEVICE_H

#include <linux/stddef.h>
#include <linux/types.h>

struct keyhole_ioctl_op {
	unsigned int size;	/* of the struct this module knows */
	unsigned int min_size;	/* up to the first version's last member */
	/*
	 * The op reports progress in the struct even when it fails (how
	 * much was done, or the room that was needed): copy it out anyway.
	 */
	bool out_on_error;
	int (*execute)(void *priv, void *ucmd);
	/*
	 * Optional: runs after the result was copied out (copied says if
	 * that worked), to publish what must not exist if the caller never
	 * learns of it, such as a new fd.
	 */
	void (*finish)(void *priv, void *ucmd, bool copied);
};

/* One table entry for command _cmd, whose first version ended at _last. */
#define KEYHOLE_IOCTL_OP(_cmd, _fn, _struct, _last)			\
	KEYHOLE_IOCTL_OP_FULL(_cmd, _fn, NULL, false, _struct, _last)
#define KEYHOLE_IOCTL_OP_FINISH(_cmd, _fn, _finish, _struct, _last)	\
	KEYHOLE_IOCTL_OP_FULL(_cmd, _fn, _finish, false, _struct, _last)
/* An op whose struct says how far it got even when it fails. */
#define KEYHOLE_IOCTL_OP_PARTIAL(_cmd, _fn, _struct, _last)		\
	KEYHOLE_IOCTL_OP_FULL(_cmd, _fn, NULL, true, _struct, _last)
#define KEYHOLE_IOCTL_OP_FULL(_cmd, _fn, _finish, _partial, _struct, _last) \
	[(_cmd) - KEYHOLE_CMD_BASE] = {					\
		.size = sizeof(_struct),				\
		.min_size = offsetofend(_struct, _last),		\
		.out_on_error = _partial,				\
		.execute = _fn,						\
		.finish = _finish,					\
	}

/*
 * Copies the caller's struct into ucmd (ucmd_size bytes, at least the
 * largest op->size), checks that it can be written back, runs the op,
 * copies the result back: on success, or whatever the result for an op
 * that reports progress (out_on_error).
 */
long keyhole_ioctl_dispatch(const struct keyhole_ioctl_op *ops,
			    unsigned int nr_ops, void *priv, unsigned int cmd,
			    unsigned long arg, void *ucmd, size_t ucmd_size);

int keyhole_device_init(void);
void keyhole_device_exit(void);

#endif /* _KEYHOLE_DEVICE_H */
