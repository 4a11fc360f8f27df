/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for keyhole's test programs. Every test is one small program that
 * proves one behaviour and exits with KH_PASS, KH_FAIL or KH_SKIP; the
 * runner (tests/run) counts them. A failed CHECK prints where and why.
 */
#ifndef KH_TEST_CHECK_H
#define KH_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define KH_PASS 0
#define KH_FAIL 1
#define KH_SKIP 4	/* the kselftest code; the runner reports it as skipped */

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ",	\
				__FILE__, __LINE__, #cond);		\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			exit(KH_FAIL);					\
		}							\
	} while (0)

#define SKIP(...)							\
	do {								\
		fprintf(stderr, "SKIP: " __VA_ARGS__);			\
		fputc('\n', stderr);					\
		exit(KH_SKIP);						\
	} while (0)

#endif
