/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef KH_HALT_H
#define KH_HALT_H

#include <stdint.h>

#include "err.h"

struct kh_vm;
struct kh_read;

/*
 * access/halt.c: the halting technique's pause for one public operation
 * (its first read pauses, kh_vm_verify() or kh_vm_close() resumes).
 */
int kh_vm_op_pause(struct kh_vm *vm, struct kh_err *err);
int kh_vm_op_resume(struct kh_vm *vm, struct kh_err *err);
/*
 * Under a kh_vm_pause() through keyhole.ko: -ETIMEDOUT (err set) when the
 * module's watchdog ended that pause, so the operation now ending read a
 * guest that ran, whatever the caller's hold says; else 0. Each public
 * operation ends with it (kh_vm_verify()).
 */
int kh_vm_pause_lasted(struct kh_vm *vm, struct kh_err *err);

#endif /* KH_HALT_H */
