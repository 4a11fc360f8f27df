// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The text forms of result fields, one copy for the JSON encoders and for
 * the text tables of the programs that print results: a field printed two
 * ways would soon be printed two different ways.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "json/format.h"

void kh_printable(const char *in, size_t size, char *out)
{
	size_t i;

	for (i = 0; i + 1 < size && in[i]; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

void kh_format_mac(const uint8_t *mac, unsigned int len, char *buf,
		   size_t size)
{
	size_t pos = 0;
	unsigned int i;

	buf[0] = '\0';
	/* Whole bytes only: a truncated one would read as another MAC. */
	for (i = 0; i < len && pos + (i ? 3 : 2) < size; i++)
		pos += snprintf(buf + pos, size - pos, "%s%02x", i ? ":" : "",
				mac[i]);
}

int kh_format_ifaddr(const struct kh_ifaddr *a, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->addr, addr, sizeof(addr))) {
		snprintf(buf, size, "?");
		return -1;
	}
	snprintf(buf, size, "%s/%u", addr, a->prefixlen);
	return 0;
}

static int is_unix(const struct kh_conn *c)
{
	return !strcmp(c->proto, "unix");
}

static int is_inet6(const struct kh_conn *c)
{
	return !strcmp(c->proto, "tcp6") || !strcmp(c->proto, "udp6");
}

void kh_conn_addr(const struct kh_conn *c, const uint8_t *addr, char *out,
		  size_t size)
{
	out[0] = '\0';
	if (is_unix(c))
		return;
	inet_ntop(is_inet6(c) ? AF_INET6 : AF_INET, addr, out, size);
}

void kh_conn_path(const struct kh_conn *c, char *out, size_t size)
{
	size_t i;

	/*
	 * Not kh_printable(): out may be longer than the path, which is
	 * never read past its end, NUL or not.
	 */
	for (i = 0; i < size - 1 && i < sizeof(c->path) && c->path[i]; i++)
		out[i] = c->path[i] >= 0x20 && c->path[i] < 0x7f ?
			 c->path[i] : '?';
	out[i] = '\0';
}

void kh_format_endpoint(const struct kh_conn *c, int local, char *out,
			size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (is_unix(c)) {
		if (local && c->path[0])
			kh_conn_path(c, out, size);
		else
			snprintf(out, size, "-");
		return;
	}
	kh_conn_addr(c, local ? c->local : c->remote, ip, sizeof(ip));
	snprintf(out, size, is_inet6(c) ? "[%s]:%u" : "%s:%u", ip,
		 local ? c->lport : c->rport);
}

static int by_pid(const void *a, const void *b)
{
	const struct kh_task *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

const struct kh_task *kh_task_of(const struct kh_task_list *tasks,
				 int32_t pid)
{
	struct kh_task key = { .pid = pid };

	if (!tasks)
		return NULL;
	return bsearch(&key, tasks->tasks, tasks->nr, sizeof(*tasks->tasks),
		       by_pid);
}

void kh_format_comm(const struct kh_task_list *tasks, int32_t tgid,
		    char *out)
{
	const struct kh_task *task = kh_task_of(tasks, tgid);

	if (task)
		kh_printable(task->comm, KH_COMM_LEN, out);
	else
		strcpy(out, "?");
}

const struct kh_technique_prop kh_technique_props[] = {
	{ KH_TECHNIQUE_LIVE, "live" },
	{ KH_TECHNIQUE_HALTING, "halting" },
	{ KH_TECHNIQUE_SNAPSHOT, "snapshot" },
	{ KH_TECHNIQUE_AGENT, "agent" },
	{ KH_TECHNIQUE_INTERFACE, "interface" },
	{ KH_TECHNIQUE_MAPPED, "mapped" },
};

const unsigned int kh_nr_technique_props =
	sizeof(kh_technique_props) / sizeof(kh_technique_props[0]);

void kh_format_technique_props(unsigned int props, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int p;

	buf[0] = '\0';
	for (p = 0; p < kh_nr_technique_props && len < size; p++)
		if (props & kh_technique_props[p].bit)
			len += snprintf(buf + len, size - len, "%s%s",
					len ? "," : "",
					kh_technique_props[p].name);
}
