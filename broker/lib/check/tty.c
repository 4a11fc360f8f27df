// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hooked tty operations (Volatility's tty_check): a keylogger in the
 * kernel puts its own receive_buf in a line discipline's operations
 * (n_tty's, which every terminal's input goes through), or its own
 * functions in a tty driver's or an open tty's. Judged here, by the rule
 * of check/ops.c:
 *
 * - every registered line discipline (tty_ldiscs[]);
 * - every tty driver on tty_drivers;
 * - every open tty: those of a driver's ttys[] and the controlling tty
 *   of each process (signal->tty: the ptys of ssh and terminal sessions,
 *   whose driver keeps no ttys[]); for each, its own operations, the
 *   line discipline it has now, and its port's operations and client
 *   operations (the port's receive_buf, where input enters).
 *
 * Bounded: so many drivers, ttys and disciplines at most, each tty
 * judged once; a list that loops or a pointer that is not one is
 * marked, not followed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"

#define NR_LDISCS 30
#define MAX_DRIVERS 4096
/* Lines of all drivers at most read (a pty driver has 4096). */
#define MAX_TTYS 65536

enum {
	DRV_LIST, DRV_NAME, DRV_NUM, DRV_TTYS, DRV_OPS,
	TTY_OPS, TTY_LDISC, TTY_NAME, TTY_PORT, LDISC_OPS, LDISC_OPS_NAME,
	PORT_OPS, PORT_CLIENT_OPS, SIGNAL_TTY,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[DRV_LIST] = { "tty_driver", "tty_drivers" },
	[DRV_NAME] = { "tty_driver", "name" },
	[DRV_NUM] = { "tty_driver", "num" },
	[DRV_TTYS] = { "tty_driver", "ttys" },
	[DRV_OPS] = { "tty_driver", "ops" },
	[TTY_OPS] = { "tty_struct", "ops" },
	[TTY_LDISC] = { "tty_struct", "ldisc" },
	[TTY_NAME] = { "tty_struct", "name" },
	[TTY_PORT] = { "tty_struct", "port" },
	[LDISC_OPS] = { "tty_ldisc", "ops" },
	[LDISC_OPS_NAME] = { "tty_ldisc_ops", "name" },
	[PORT_OPS] = { "tty_port", "ops" },
	[PORT_CLIENT_OPS] = { "tty_port", "client_ops" },
	[SIGNAL_TTY] = { "signal_struct", "tty" },
};

struct walk {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	struct kh_addr_set tables;	/* every table judged */
	struct kh_addr_set ttys;	/* every tty judged */
	int bad, full;
};

/* 1 when every read succeeded; 0 (marked) when some failed; fatal < 0. */
static int read_all(struct walk *w, struct kh_read *r, unsigned int nr)
{
	int ret = kh_kva_fetch(w->cx->vm, r, nr, NULL);

	if (ret < 0)
		return ret;
	w->bad |= ret > 0;
	return !ret;
}

static void read_name(struct walk *w, uint64_t va, char *buf, size_t size)
{
	if (!va || kh_kva_str(w->cx->vm, va, buf, size) || !buf[0]) {
		snprintf(buf, size, "?");
		w->bad |= !!va;
	}
}

static int ldiscs(struct walk *w)
{
	struct kh_check_ctx *cx = w->cx;
	uint64_t table[NR_LDISCS], va;
	struct kh_sym_near near;
	unsigned int i, nr;
	int ret;

	if (kh_sym_va(cx->vm, "tty_ldiscs", &va, NULL) ||
	    kh_symbol_near(cx->vm, va, &near) || near.offset || !near.next) {
		w->bad = 1;
		return 0;
	}
	/* The array's size is the kernel's NR_LDISCS, whatever follows it. */
	nr = (near.next - va) / 8 < NR_LDISCS ? (near.next - va) / 8 :
						 NR_LDISCS;
	ret = kh_kva_fetch_one(cx->vm, va, table, nr * 8, NULL);
	if (kh_check_fatal(ret))
		return ret;
	if (ret) {
		w->bad = 1;
		return 0;
	}
	for (i = 0; i < nr; i++) {
		struct kh_check_where where = { .text = NULL };
		char name[24];
		uint64_t name_va = 0;

		if (!table[i])
			continue;
		cx->report->checks[KH_CHECK_TTY].examined++;
		ret = kh_kernel_ptr_aligned(cx->vm, table[i], 8) ?
		      kh_kva_u64(cx->vm, table[i] + w->off[LDISC_OPS_NAME],
				 &name_va) : -EINVAL;
		if (kh_check_fatal(ret))
			return ret;
		w->bad |= !!ret;
		read_name(w, name_va, name, sizeof(name));
		snprintf(where.buf, sizeof(where.buf), "line discipline %u (%s)",
			 i, name);
		where.text = where.buf;
		ret = kh_check_ops(cx, KH_CHECK_TTY, &w->tables, table[i],
				   KH_OPS_LDISC, &where, 0);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * One open tty, once: its operations, its line discipline's and its
 * port's (both tables of it).
 */
static int one_tty(struct walk *w, uint64_t tty)
{
	struct kh_check_ctx *cx = w->cx;
	uint64_t ops = 0, ldisc = 0, port = 0, ldisc_ops = 0, port_ops[2] = { 0 };
	struct kh_check_where where = { .text = NULL };
	char name[64] = "";
	struct kh_read r[4] = {
		{ .addr = tty + w->off[TTY_OPS], .buf = &ops, .len = 8 },
		{ .addr = tty + w->off[TTY_LDISC], .buf = &ldisc, .len = 8 },
		{ .addr = tty + w->off[TTY_NAME], .buf = name,
		  .len = sizeof(name) },
		{ .addr = tty + w->off[TTY_PORT], .buf = &port, .len = 8 },
	};
	int ret;

	if (!kh_kernel_ptr_aligned(cx->vm, tty, 8)) {
		w->bad = 1;
		return 0;
	}
	ret = kh_addr_set_add(&w->ttys, tty);
	if (ret <= 0)
		return ret;
	if (w->ttys.nr > MAX_TTYS) {
		w->full = 1;
		return 0;
	}
	ret = read_all(w, r, 4);
	if (ret <= 0)
		return ret;
	name[sizeof(name) - 1] = 0;
	cx->report->checks[KH_CHECK_TTY].examined++;
	snprintf(where.buf, sizeof(where.buf), "tty %s", name[0] ? name : "?");
	where.text = where.buf;
	ret = kh_check_ops(cx, KH_CHECK_TTY, &w->tables, ops, KH_OPS_TTY,
			   &where, 0);
	if (!ret && ldisc) {
		ret = kh_kernel_ptr_aligned(cx->vm, ldisc, 8) ?
		      kh_kva_u64(cx->vm, ldisc + w->off[LDISC_OPS], &ldisc_ops) :
		      -EINVAL;
		if (kh_check_fatal(ret))
			return ret;
		w->bad |= !!ret;
		ret = ret ? 0 : kh_check_ops(cx, KH_CHECK_TTY, &w->tables,
					     ldisc_ops, KH_OPS_LDISC, &where,
					     0);
	}
	if (!ret && port) {
		struct kh_read p[2] = {
			{ .addr = port + w->off[PORT_OPS], .buf = &port_ops[0],
			  .len = 8 },
			{ .addr = port + w->off[PORT_CLIENT_OPS],
			  .buf = &port_ops[1], .len = 8 },
		};

		if (!kh_kernel_ptr_aligned(cx->vm, port, 8)) {
			w->bad = 1;
			return 0;
		}
		ret = read_all(w, p, 2);
		if (ret < 0)
			return ret;
		ret = kh_check_ops(cx, KH_CHECK_TTY, &w->tables, port_ops[0],
				   KH_OPS_PORT, &where, 0);
		if (!ret)
			ret = kh_check_ops(cx, KH_CHECK_TTY, &w->tables,
					   port_ops[1],
					   KH_OPS_PORT_CLIENT, &where,
					   0);
	}
	return ret;
}

/* The controlling tty of every process (the ptys no driver lists). */
static int controlling_ttys(struct walk *w)
{
	struct kh_check_ctx *cx = w->cx;
	const struct kh_task_list *tasks = cx->tasks;
	uint32_t signal_off = cx->vm->profile->task.signal;
	struct kh_read *reads;
	uint64_t *vals;
	unsigned int i, n = 0;
	int ret;

	/* No walk of the processes: check.c said why. */
	if (!tasks || !tasks->nr)
		return 0;
	reads = calloc(tasks->nr, sizeof(*reads));
	vals = calloc(tasks->nr, sizeof(*vals));
	if (!reads || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < tasks->nr; i++)
		reads[i] = (struct kh_read){
			.addr = tasks->tasks[i].addr + signal_off,
			.buf = &vals[i], .len = 8 };
	ret = kh_kva_fetch(cx->vm, reads, tasks->nr, NULL);
	if (ret < 0)
		goto out;
	/* A process that exited since the walk: its signal may be gone. */
	for (i = 0; i < tasks->nr; i++)
		if (!reads[i].result && vals[i] &&
		    kh_kernel_ptr_aligned(cx->vm, vals[i], 8))
			reads[n++] = (struct kh_read){
				.addr = vals[i] + w->off[SIGNAL_TTY],
				.buf = &vals[i], .len = 8 };
	ret = n ? kh_kva_fetch(cx->vm, reads, n, NULL) : 0;
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; !ret && !w->full && i < n; i++)
		if (!reads[i].result && *(uint64_t *)reads[i].buf)
			ret = one_tty(w, *(uint64_t *)reads[i].buf);
out:
	free(reads);
	free(vals);
	return ret;
}

static int one_driver(struct walk *w, uint64_t drv)
{
	struct kh_check_ctx *cx = w->cx;
	uint64_t name_va = 0, ttys = 0, ops = 0, *lines = NULL;
	uint32_t num = 0, i;
	struct kh_check_where where = { .text = NULL };
	char name[32];
	struct kh_read r[4] = {
		{ .addr = drv + w->off[DRV_NAME], .buf = &name_va, .len = 8 },
		{ .addr = drv + w->off[DRV_NUM], .buf = &num, .len = 4 },
		{ .addr = drv + w->off[DRV_TTYS], .buf = &ttys, .len = 8 },
		{ .addr = drv + w->off[DRV_OPS], .buf = &ops, .len = 8 },
	};
	int ret;

	ret = read_all(w, r, 4);
	if (ret <= 0)
		return ret;
	read_name(w, name_va, name, sizeof(name));
	cx->report->checks[KH_CHECK_TTY].examined++;
	snprintf(where.buf, sizeof(where.buf), "tty driver %s", name);
	where.text = where.buf;
	ret = kh_check_ops(cx, KH_CHECK_TTY, &w->tables, ops, KH_OPS_TTY,
			   &where, 0);
	if (ret || !ttys || !num)
		return ret;
	if (num > MAX_TTYS || !kh_kernel_ptr_aligned(cx->vm, ttys, 8)) {
		w->bad = 1;
		num = num > MAX_TTYS ? MAX_TTYS : 0;
	}
	lines = calloc(num ? num : 1, 8);
	if (!lines)
		return -ENOMEM;
	ret = num ? kh_kva_fetch_one(cx->vm, ttys, lines, num * 8, NULL) : 0;
	if (kh_check_fatal(ret))
		goto out;
	if (ret) {
		w->bad = 1;
		ret = 0;
		goto out;
	}
	for (i = 0; i < num && !ret && !w->full; i++)
		if (lines[i])
			ret = one_tty(w, lines[i]);
out:
	free(lines);
	return ret;
}

int kh_check_tty(struct kh_check_ctx *cx)
{
	struct walk w = { .cx = cx };
	struct kh_addr_list drivers = { 0 };
	struct kh_result result = { 0 };
	uint64_t head;
	unsigned int i;
	int ret;

	if (!cx->have_text)
		return kh_check_problem(cx, KH_CHECK_TTY, 0,
					"the kernel's text bounds are unknown");
	if (kh_offsets(cx->vm, fields, NR_FIELDS, &w.off, NULL) ||
	    kh_sym_va(cx->vm, "tty_drivers", &head, NULL))
		return kh_check_problem(cx, KH_CHECK_TTY, 0,
					"this kernel has no ttys keyhole knows (tty_drivers, struct tty_driver)");
	ret = ldiscs(&w);
	if (!ret)
		ret = kh_list_walk(cx->vm, head, w.off[DRV_LIST], MAX_DRIVERS,
				   kh_list_collect, &drivers, &result, cx->err);
	if (result.flags & KH_RESULT_INCOMPLETE)
		w.bad = 1;
	for (i = 0; !ret && i < drivers.nr; i++)
		ret = one_driver(&w, drivers.addrs[i]);
	if (!ret)
		ret = controlling_ttys(&w);
	if (ret < 0)
		ret = kh_check_fatal_err(cx, ret);
	if (!ret && w.full)
		kh_check_problem(cx, KH_CHECK_TTY, 1,
				 "more than %u open ttys: the rest were not read",
				 MAX_TTYS);
	else if (!ret && w.bad)
		kh_check_problem(cx, KH_CHECK_TTY, 1,
				 "parts of the ttys could not be read or were not ttys");
	kh_addr_set_free(&w.tables);
	kh_addr_set_free(&w.ttys);
	free(drivers.addrs);
	return ret;
}
