/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A monitor or agent that someone else holds: the QMP and guest-agent
 * clients then hand each command to the holder (libvirt, qemu/libvirt.c)
 * instead of writing it to a socket. Commands and replies keep their QMP
 * shape, so no technique needs to know who carries them.
 */
#ifndef KH_PASSTHROUGH_H
#define KH_PASSTHROUGH_H

#include <jansson.h>

#include "err.h"

struct kh_passthrough {
	/* Runs cmd with args (may be NULL, stolen); *ret gets "return". */
	int (*execute)(void *priv, const char *cmd, json_t *args,
		       json_t **ret, struct kh_err *err);
	/* The same with one file descriptor passed along (getfd, add-fd). */
	int (*execute_fd)(void *priv, const char *cmd, json_t *args, int fd,
			  json_t **ret, struct kh_err *err);
	void (*close)(void *priv);
	void *priv;
	/* For messages: "libvirt domain NAME (URI)". */
	char what[256];
};

#endif /* KH_PASSTHROUGH_H */
