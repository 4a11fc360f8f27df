/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the engine benchmarks share: a clock, quantiles of a run's
 * samples, and dying with the engine's message.
 */
#ifndef KH_BENCH_H
#define KH_BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "libkeyhole.h"

static inline double now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v. */
static inline double quantile(double *v, int n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(int)(q * (n - 1) + 0.5)];
}

static inline void die(const char *what, const struct kh_err *err)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		err->msg);
	exit(1);
}

/* views.c: prints the table of each command's cost per technique. */
int views_table(const char *spec, int repeat);

#endif /* KH_BENCH_H */
