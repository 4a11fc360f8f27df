// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hidden modules (Volatility's hidden_modules and check_modules): a
 * module not on the modules list but
 *
 * - whose kobject is in sysfs: the trace of list_del(&THIS_MODULE->list),
 *   the usual way a module hides from lsmod;
 * - or in the module loader's memory (module_areas.c) that no module on
 *   the list or in sysfs holds: a module that also removed its kobject,
 *   named by the struct module found there. (An area with no struct
 *   module is not reported: a loading module's looks so for a while. It
 *   still names the owner of a hook into it, as hidden.)
 *
 * The list was walked before the other views (modules.c); a module
 * loaded in between would look hidden, so when one does, the list is
 * walked once more, afresh, and only a module still missing from a
 * whole walk is reported (a walk cut short proves nothing). A struct
 * module still unformed (being loaded, or freed) is not reported.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "check/check.h"
#include "kernel/page_cache.h"

/* The modules on the list now, fresh, into set; 1 if the walk was whole. */
static int list_now(struct kh_check_ctx *cx, struct kh_addr_set *set)
{
	struct kh_module_list *list;
	struct kh_err one = { 0 };
	unsigned int i;
	int ret;

	kh_vm_fresh(cx->vm);
	ret = kh_modules(cx->vm, &list, &one);
	if (kh_check_fatal(ret)) {
		*cx->err = one;
		return ret;
	}
	if (ret)
		return kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
					"the modules list could not be walked again: %s",
					one.msg);
	if (list->result.flags & KH_RESULT_INCOMPLETE) {
		kh_check_problem(cx, KH_CHECK_HIDDEN_MODULES, 1,
				 "the modules list could not be walked whole: %s",
				 list->result.problem);
		kh_module_list_free(list);
		return 0;
	}
	for (i = 0; i < list->nr && !ret; i++)
		if (kh_addr_set_add(set, list->modules[i].addr) < 0)
			ret = kh_err_set(cx->err, ENOMEM, "out of memory for modules");
	kh_module_list_free(list);
	return ret ? ret : 1;
}

int kh_check_hidden_modules(struct kh_check_ctx *cx)
{
	struct kh_addr_set listed = { 0 };
	int ret, whole = 0;
	unsigned int i;

	ret = kh_check_modules_once(cx);
	for (i = 0; !ret && i < cx->nr_mods; i++) {
		const struct kh_check_module *m = &cx->mods[i];
		struct kh_finding f = { .addr = m->addr };

		if (!m->in_sysfs && (!m->in_area || m->no_struct))
			continue;
		cx->report->checks[KH_CHECK_HIDDEN_MODULES].examined++;
		/*
		 * Not reported: a struct module still unformed (being loaded
		 * or freed), and the loader's memory with no struct module in
		 * it (a module being loaded has none yet: its kobject does not
		 * point back). A hook into either is still suspect, their
		 * owner being on no list.
		 */
		if (m->listed || (!m->in_sysfs && (m->unformed || m->no_struct)))
			continue;
		if (!whole) {
			ret = list_now(cx, &listed);
			if (ret <= 0)
				break;	/* an error, or no whole list */
			whole = 1;
			ret = 0;
		}
		if (kh_addr_set_find(&listed, m->addr) >= 0)
			continue;
		if (m->in_sysfs)
			snprintf(f.what, sizeof(f.what),
				 "module %.55s is in /sys/module but not on the modules list",
				 m->name[0] ? m->name : "?");
		else
			snprintf(f.what, sizeof(f.what),
				 "module %.55s, in the module loader's memory, is neither on the modules list nor in /sys/module",
				 m->name[0] ? m->name : "?");
		snprintf(f.owner, sizeof(f.owner), "%s", m->name);
		if (m->nr_ranges)
			f.target = m->ranges[0].start;
		if (m->in_area) {
			f.target = m->area_start;
			f.end = m->area_end;
		}
		snprintf(f.expected, sizeof(f.expected),
			 "on the modules list, as lsmod shows it");
		ret = kh_check_found(cx, KH_CHECK_HIDDEN_MODULES, &f);
	}
	kh_addr_set_free(&listed);
	return ret;
}
