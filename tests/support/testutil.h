/* tests/support/testutil.h — what every Check test program shares: running
 * its suite, and knowing whether it runs under valgrind (make valgrind sets
 * SCSISIM_VALGRIND), where long loops must loop less. */
#ifndef TESTS_SUPPORT_TESTUTIL_H
#define TESTS_SUPPORT_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Runs a suite, prints Check's summary, returns the process exit code. */
static inline int testutil_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* True when the Makefile runs the tests under valgrind (SCSISIM_VALGRIND). */
static inline bool testutil_valgrind(void)
{
    const char *v = getenv("SCSISIM_VALGRIND");
    return v && *v && strcmp(v, "0") != 0;
}

/* n normally, small under valgrind. */
static inline unsigned testutil_scale(unsigned n, unsigned small)
{
    return testutil_valgrind() ? small : n;
}

#endif
