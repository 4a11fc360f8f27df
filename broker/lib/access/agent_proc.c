// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The guest's /proc text into struct kh_task; see access/agent_proc.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/agent_proc.h"
#include "kernel/task_state.h"

#define PF_KTHREAD	0x00200000
#define STAT_FIELDS	20	/* state .. starttime, after the comm */
#define NS_PER_TICK	(1000000000 / KH_GUEST_USER_HZ)
/* utime and stime each, so that their sum in ns cannot overflow. */
#define TICKS_MAX	((long long)(UINT64_MAX / NS_PER_TICK / 2))

void kh_guest_tty_name(uint32_t dev, char *name)
{
	/* new_encode_dev(): minor in bits 0-7 and 20-31, major in 8-19. */
	unsigned int major = (dev >> 8) & 0xfff;
	unsigned int minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);

	if (!dev)
		name[0] = '\0';
	else if (major >= 136 && major <= 143)	/* UNIX98_PTY_SLAVE_MAJOR */
		snprintf(name, KH_TTY_LEN, "pts/%u", (major - 136) * 256 + minor);
	else if (major == 4 && minor >= 64)
		snprintf(name, KH_TTY_LEN, "ttyS%u", minor - 64);
	else if (major == 4)
		snprintf(name, KH_TTY_LEN, "tty%u", minor);
	else if (major == 5 && minor == 1)
		snprintf(name, KH_TTY_LEN, "console");
	else
		snprintf(name, KH_TTY_LEN, "%u:%u", major, minor);
}

/* A decimal field of at most 20 digits, optionally negative. */
static int parse_num(const char **p, const char *end, long long *out)
{
	const char *s = *p;
	unsigned long long v = 0;
	int neg = 0, digits = 0;

	if (s < end && *s == '-') {
		neg = 1;
		s++;
	}
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (ULLONG_MAX - 9) / 10 || ++digits > 20)
			return -EBADMSG;
		v = v * 10 + (*s++ - '0');
	}
	if (!digits || (s < end && *s != ' '))
		return -EBADMSG;
	if (v > LLONG_MAX)
		return -EBADMSG;
	*out = neg ? -(long long)v : (long long)v;
	*p = s < end ? s + 1 : s;
	return 0;
}

int kh_guest_parse_stat(const char *line, size_t len, struct kh_task *t)
{
	const char *end = line + len, *open, *close, *p;
	long long f[STAT_FIELDS], pid;
	size_t clen;
	int i;

	while (len && (line[len - 1] == '\n' || line[len - 1] == ' '))
		end = line + --len;
	p = line;
	if (parse_num(&p, end, &pid) || pid <= 0 || pid > INT32_MAX)
		return -EBADMSG;
	open = p;
	if (open >= end || *open != '(')
		return -EBADMSG;
	/* The comm may hold ')' itself: the last one closes it. */
	for (close = end - 1; close > open && *close != ')'; close--)
		;
	if (close <= open || close + 2 >= end || close[1] != ' ')
		return -EBADMSG;
	p = close + 2;
	/* strchr would find a NUL state: it is the string's terminator. */
	if (!*p || !strchr("RSDTtXZPIWxKn", *p) || p + 1 >= end ||
	    p[1] != ' ')
		return -EBADMSG;
	memset(t, 0, sizeof(*t));
	t->state = *p;
	p += 2;
	f[0] = 0;
	for (i = 1; i < STAT_FIELDS; i++)
		if (parse_num(&p, end, &f[i]))
			return -EBADMSG;
	if (f[1] < 0 || f[1] > INT32_MAX || f[17] < 0 || f[17] > UINT32_MAX ||
	    f[19] < 0 || f[6] < 0 || f[6] > UINT32_MAX || f[4] < INT32_MIN ||
	    f[4] > UINT32_MAX || f[11] < 0 || f[12] < 0 ||
	    f[11] > TICKS_MAX || f[12] > TICKS_MAX)
		return -EBADMSG;
	clen = close - open - 1;
	if (clen >= KH_COMM_LEN)
		clen = KH_COMM_LEN - 1;	/* a kernel thread's long name */
	memcpy(t->comm, open + 1, clen);
	t->comm[clen] = '\0';
	t->pid = t->tgid = pid;
	t->ppid = f[1];
	t->flags = f[6];
	t->nr_threads = f[17];
	t->cpu_time = (uint64_t)(f[11] + f[12]) * NS_PER_TICK;
	/* An int in the kernel's print: a pts past 524287 is negative. */
	kh_guest_tty_name((uint32_t)f[4], t->tty);
	if ((unsigned long long)f[19] > UINT64_MAX / NS_PER_TICK)
		return -EBADMSG;
	t->start_time = (uint64_t)f[19] * NS_PER_TICK;
	if (t->state == 'Z')
		t->exit_state = EXIT_ZOMBIE;
	else if (t->state == 'X')
		t->exit_state = EXIT_DEAD;
	return 0;
}

/* A number of at most 11 digits after blanks at *p; -1 if none. */
static long long status_num(const char **p, const char *end)
{
	const char *s = *p;
	long long v = 0;
	int digits = 0;

	while (s < end && (*s == '\t' || *s == ' '))
		s++;
	while (s < end && *s >= '0' && *s <= '9' && digits++ < 12)
		v = v * 10 + (*s++ - '0');
	if (!digits || digits > 11 || (s < end && *s != '\t' && *s != ' '))
		return -1;
	*p = s;
	return v;
}

/*
 * "Key:\tvalue..." at the start of line: the first number after it, and
 * the second (the effective id of Uid: and Gid:) when second is not NULL.
 */
static int field(const char *line, const char *end, const char *key,
		 long long *out, long long *second)
{
	size_t klen = strlen(key);
	const char *p = line + klen;

	if ((size_t)(end - line) <= klen || memcmp(line, key, klen))
		return 0;
	*out = status_num(&p, end);
	if (second)
		*second = status_num(&p, end);
	return *out >= 0 && (!second || *second >= 0) ? 1 : -1;
}

int kh_guest_parse_status(const char *text, size_t len,
			  struct kh_guest_ids *ids, size_t max)
{
	const char *p = text, *end = text + len;
	long long pid = -1, uid = -1, euid = -1, v, ev;
	size_t n = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			eol = end;
		if (eol - p >= 5 && !memcmp(p, "Name:", 5)) {
			pid = uid = -1;	/* a new file begins */
		} else if (field(p, eol, "Pid:", &v, NULL) == 1) {
			pid = v <= INT32_MAX ? v : -1;
		} else if (field(p, eol, "Uid:", &v, &ev) == 1) {
			uid = v <= UINT32_MAX && ev <= UINT32_MAX ? v : -1;
			euid = ev;
		} else if (field(p, eol, "Gid:", &v, &ev) == 1 && pid > 0 &&
			   uid >= 0 && v <= UINT32_MAX && ev <= UINT32_MAX) {
			if (n >= max)
				return -E2BIG;
			ids[n] = (struct kh_guest_ids){
				.pid = pid, .uid = uid, .gid = v,
				.euid = euid, .egid = ev };
			n++;
			pid = uid = -1;
		}
		p = eol + 1;
	}
	return n;
}
