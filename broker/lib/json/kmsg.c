// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The kernel log as JSON (kh_json_dmesg): each record's text escaped as
 * /dev/kmsg escapes it, so that a document is plain ASCII whatever the
 * guest logged and compares byte for byte with what the guest's own
 * /dev/kmsg says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/format.h"

/* LOG_* as dmesg -x names them (syslog.h's prioritynames, facilitynames). */
static const char *level_name(unsigned int level)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "err", "warn", "notice", "info",
		"debug",
	};

	return level < 8 ? names[level] : "?";
}

static const char *facility_name(unsigned int facility)
{
	static const char *const names[] = {
		"kern", "user", "mail", "daemon", "auth", "syslog", "lpr",
		"news", "uucp", "cron", "authpriv", "ftp", "res0", "res1",
		"res2", "res3", "local0", "local1", "local2", "local3",
		"local4", "local5", "local6", "local7",
	};

	return facility < sizeof(names) / sizeof(names[0]) ?
	       names[facility] : "?";
}

/* /dev/kmsg's escaping (msg_add_ext_text): out holds 4 * len + 1. */
static void kmsg_escape(const uint8_t *text, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t c = text[i];

		if (c < ' ' || c >= 127 || c == '\\') {
			*out++ = '\\';
			*out++ = 'x';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		} else {
			*out++ = c;
		}
	}
	*out = 0;
}

#define LOG_CONT 8

static json_t *kmsg_json(const struct kh_kmsg_list *list,
			 const struct kh_kmsg *m, char *text)
{
	char caller[16], sub[KH_KMSG_SUBSYSTEM_LEN], dev[KH_KMSG_DEVICE_LEN];
	json_t *obj;

	kmsg_escape((const uint8_t *)list->text + m->text_off, m->text_len,
		    text);
	snprintf(caller, sizeof(caller), "%c%u",
		 m->caller_id & 0x80000000u ? 'C' : 'T',
		 m->caller_id & ~0x80000000u);
	obj = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:b}",
			"seq", (json_int_t)m->seq,
			"ts_ns", (json_int_t)m->ts_nsec,
			"facility", facility_name(m->facility),
			"level", level_name(m->level),
			"caller", caller, "text", text,
			"cont", !!(m->flags & LOG_CONT));
	if (obj && m->subsystem[0]) {
		kh_printable(m->subsystem, sizeof(sub), sub);
		json_object_set_new(obj, "subsystem", json_string(sub));
	}
	if (obj && m->device[0]) {
		kh_printable(m->device, sizeof(dev), dev);
		json_object_set_new(obj, "device", json_string(dev));
	}
	return obj;
}

json_t *kh_json_dmesg(const struct kh_kmsg_list *list)
{
	json_t *array = json_array();
	/* A record's text is at most 64 KiB: text_len is a u16. */
	char *text = malloc(4 * 65536 + 1);
	unsigned int i;

	if (!array || !text) {
		json_decref(array);
		free(text);
		return NULL;
	}
	for (i = 0; i < list->nr; i++)
		json_array_append_new(array,
				      kmsg_json(list, &list->msgs[i], text));
	free(text);
	return array;
}
