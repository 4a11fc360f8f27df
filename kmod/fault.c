// SPDX-License-Identifier: GPL-2.0-only
/*
 * fail_nth for the tests' build of the module (fault.h says why).
 */

#include <linux/atomic.h>
#include <linux/moduleparam.h>

#include "fault.h"

static int fail_nth;
module_param(fail_nth, int, 0644);
MODULE_PARM_DESC(fail_nth,
		 "test builds only: make the Nth fallible step from now fail, once");

bool keyhole_fail(void)
{
	int n = READ_ONCE(fail_nth), old;

	while (n > 0) {
		old = cmpxchg(&fail_nth, n, n - 1);
		if (old == n)
			return n == 1;
		n = old;
	}
	return false;
}
