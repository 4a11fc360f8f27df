// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: kh_query() checks a query's name and arguments strictly before
 * it touches the VM (so these run with vm NULL): an unknown key, a value
 * of the wrong type or out of range, a missing required pid, arguments
 * that are not an object and an unknown query are each EINVAL with one
 * sentence naming the query and the key, and leave nothing in the
 * result; good arguments get as far as the VM. kh_query_known() tells
 * VM queries from "techniques" from names that are none.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "libkeyhole.h"

/* kh_query(NULL, name, args as JSON text) fails with want in its error. */
static void expect_error(const char *name, const char *args_text,
			 const char *want)
{
	struct kh_query_result res;
	struct kh_err err = { 0 };
	json_t *args = NULL;
	int ret;

	if (args_text) {
		args = json_loads(args_text, JSON_DECODE_ANY, NULL);
		CHECK(args, "bad test arguments %s", args_text);
	}
	memset(&res, 0xa5, sizeof(res));
	ret = kh_query(NULL, name, args, &res, &err);
	CHECK(ret == -EINVAL && err.code == EINVAL,
	      "%s %s: ret %d code %d, want -EINVAL", name,
	      args_text ? args_text : "NULL", ret, err.code);
	CHECK(!strcmp(err.msg, want), "%s %s: '%s', want '%s'", name,
	      args_text ? args_text : "NULL", err.msg, want);
	CHECK(!res.doc && !res.flags && !res.problem[0],
	      "%s: a failed query left something in its result", name);
	kh_query_result_release(&res);
	json_decref(args);
}

/* Arguments that pass the checks: the query then needs its VM. */
static void expect_checked(const char *name, const char *args_text)
{
	char want[128];

	snprintf(want, sizeof(want), "%s: no VM", name);
	expect_error(name, args_text, want);
}

int main(void)
{
	struct kh_query_result res = { 0 };
	char text[256];

	CHECK(kh_query_known("ps") == 1 && kh_query_known("crawl") == 1 &&
	      kh_query_known("maps") == 1, "VM queries not known as such");
	CHECK(kh_query_known("techniques") == 2, "techniques not known");
	CHECK(!kh_query_known("frobnicate") && !kh_query_known("") &&
	      !kh_query_known(NULL) && !kh_query_known("PS"),
	      "a name that is no query is known");

	/* Unknown keys, also beside good ones and on queries without any. */
	expect_error("ps", "{\"foo\": 1}", "ps: unknown argument 'foo'");
	expect_error("ps", "{\"threads\": true, \"thread\": true}",
		     "ps: unknown argument 'thread'");
	expect_error("info", "{\"pid\": 1}", "info: unknown argument 'pid'");
	expect_error("lsof", "{\"pid\": \"x\", \"bad\": 1}",
		     "lsof: unknown argument 'bad'");
	/* A key from a client reaches a terminal: made printable. */
	expect_error("mem", "{\"a\\u001b[2Jb\": 1}",
		     "mem: unknown argument 'a?[2Jb'");

	/* Wrong types and ranges. */
	expect_error("ps", "{\"threads\": 1}", "ps: 'threads' must be a boolean");
	expect_error("ps", "{\"threads\": \"true\"}",
		     "ps: 'threads' must be a boolean");
	expect_error("ps", "{\"threads\": null}",
		     "ps: 'threads' must be a boolean");
	expect_error("lsof", "{\"pid\": \"1\"}",
		     "lsof: 'pid' must be an integer > 0");
	expect_error("lsof", "{\"pid\": 0}", "lsof: 'pid' must be an integer > 0");
	expect_error("lsof", "{\"pid\": -5}",
		     "lsof: 'pid' must be an integer > 0");
	expect_error("lsof", "{\"pid\": 1.0}",
		     "lsof: 'pid' must be an integer > 0");
	expect_error("lsof", "{\"pid\": true}",
		     "lsof: 'pid' must be an integer > 0");
	expect_error("envars", "{\"pid\": 0}",
		     "envars: 'pid' must be an integer > 0");
	expect_error("dmesg", "{\"pid\": 1}",
		     "dmesg: unknown argument 'pid'");
	expect_error("kallsyms", "{\"match\": \"\"}",
		     "kallsyms: 'match' must be a string of 1 to 127 bytes");
	expect_error("kallsyms", "{\"match\": 5}",
		     "kallsyms: 'match' must be a string of 1 to 127 bytes");
	expect_error("kallsyms", "{\"match\": \"\\u001b[2J\"}",
		     "kallsyms: 'match' must be printable ASCII");
	expect_error("lsof", "{\"pid\": 2147483648}",
		     "lsof: 'pid' must be at most 2147483647");
	expect_error("maps", "{\"pid\": [1]}",
		     "maps: 'pid' must be an integer > 0");
	expect_error("crawl", "{\"iteration\": -1}",
		     "crawl: 'iteration' must be an integer >= 0");
	expect_error("crawl", "{\"pause\": \"yes\"}",
		     "crawl: 'pause' must be a boolean");
	expect_error("crawl", "{\"summary\": 0}",
		     "crawl: 'summary' must be a boolean");

	/* maps needs its pid or all; no other query needs anything. */
	expect_error("maps", NULL, "maps: 'pid' or 'all' is required");
	expect_error("maps", "{}", "maps: 'pid' or 'all' is required");
	expect_error("maps", "{\"all\": false}",
		     "maps: 'pid' or 'all' is required");
	expect_error("maps", "{\"pid\": 1, \"all\": true}",
		     "maps: 'pid' and 'all' exclude each other");

	/* Arguments that are not an object. */
	expect_error("ps", "[]", "ps: the arguments must be a JSON object");
	expect_error("vm", "true", "vm: the arguments must be a JSON object");

	/* Names. */
	expect_error("frobnicate", NULL, "unknown query 'frobnicate'");
	expect_error("p\ts", NULL, "unknown query 'p?s'");
	expect_error("techniques", NULL,
		     "techniques: not a query on an attached VM (kh_query_techniques())");

	/* Good arguments reach the VM. */
	expect_checked("ps", NULL);
	expect_checked("ps", "{}");
	expect_checked("ps", "{\"threads\": false}");
	expect_checked("vm", NULL);
	expect_checked("info", "{}");
	expect_checked("mem", NULL);
	expect_checked("lsmod", NULL);
	expect_checked("dmesg", NULL);
	expect_checked("envars", NULL);
	expect_checked("envars", "{\"pid\": 1}");
	expect_checked("kallsyms", NULL);
	expect_checked("creds", NULL);
	expect_checked("creds", "{\"pid\": 1}");
	expect_checked("bash", NULL);
	expect_checked("bash", "{\"pid\": 1}");
	expect_checked("elfs", "{\"pid\": 1}");
	expect_checked("libs", NULL);
	expect_checked("kprobes", NULL);
	expect_checked("ftrace", NULL);
	expect_checked("netfilter", NULL);
	expect_checked("check", NULL);
	expect_checked("mounts", NULL);
	expect_checked("ebpf", NULL);
	expect_error("mounts", "{\"pid\": 1}",
		     "mounts: unknown argument 'pid'");
	expect_checked("check", "{\"only\": \"syscalls\"}");
	expect_error("check", "{\"only\": 3}",
		     "check: 'only' must be a string of 1 to 127 bytes");
	expect_error("check", "{\"pid\": 1}",
		     "check: unknown argument 'pid'");
	expect_checked("kallsyms", "{\"match\": \"sys_call_table\"}");
	/* 127 bytes is the most; 128 is one too many. */
	snprintf(text, sizeof(text), "{\"match\": \"%0127d\"}", 0);
	expect_checked("kallsyms", text);
	snprintf(text, sizeof(text), "{\"match\": \"%0128d\"}", 0);
	expect_error("kallsyms", text,
		     "kallsyms: 'match' must be a string of 1 to 127 bytes");
	expect_checked("ifconfig", NULL);
	expect_checked("netstat", NULL);
	expect_checked("lsof", NULL);
	expect_checked("lsof", "{\"pid\": 2147483647}");
	expect_checked("maps", "{\"pid\": 1}");
	expect_checked("maps", "{\"all\": true}");
	expect_checked("crawl", NULL);
	expect_checked("crawl", "{\"check\": true, \"summary\": true}");
	expect_checked("crawl",
		       "{\"pause\": true, \"summary\": true, \"iteration\": 0}");
	expect_checked("crawl", "{\"iteration\": 2147483647}");

	/* Releasing an empty result, twice, is harmless. */
	kh_query_result_release(&res);
	kh_query_result_release(&res);
	kh_query_result_release(NULL);
	printf("query arguments: every bad one refused, by name, before the VM\n");
	return KH_PASS;
}
