/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kh_vm_ram_file() (libkeyhole.h) for keyholed: the keyhole.ko session
 * for anonymous RAM attached by attach (access/kmod_session.h) rather
 * than with the caller's rights, so that the daemon can make it with its
 * client's credentials.
 */
#ifndef KH_RAM_FILE_H
#define KH_RAM_FILE_H

#include "access/kmod_session.h"
#include "libkeyhole.h"

int kh_vm_ram_file_by(struct kh_vm *vm, unsigned int flags,
		      kh_kmod_attach_t attach, void *arg,
		      struct kh_ram_file *ram, struct kh_err *err);

#endif
