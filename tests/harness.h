/*
 * harness.h - trail's small test harness.
 *
 * A test file defines TEST(name) functions and ends with TEST_MAIN(list of
 * names). Assertions print both values and the line, mark the test failed and
 * return from it. The run ends with the line "N passed, N failed" and exits
 * non-zero if anything failed.
 *
 *     TEST(severity_names) { ASSERT_STREQ(trail_severity_name(6), "WARNING"); }
 *     TEST_MAIN(severity_names)
 */
#ifndef TRAIL_TEST_HARNESS_H
#define TRAIL_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int harness_failed_now;

#define TEST(name) static void test_##name(void)

#define FAIL_AT(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                                          \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        harness_failed_now = 1;                                                                    \
        return;                                                                                    \
    } while (0)

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            FAIL_AT("assertion failed: %s", #cond);                                                \
    } while (0)

#define ASSERT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_)                                                                            \
            FAIL_AT("%s == %s: %lld != %lld", #a, #b, va_, vb_);                                   \
    } while (0)

#define ASSERT_NE(a, b)                                                                            \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ == vb_)                                                                            \
            FAIL_AT("%s != %s: both %lld", #a, #b, va_);                                           \
    } while (0)

#define ASSERT_OK(expr)                                                                            \
    do {                                                                                           \
        long long r_ = (long long)(expr);                                                          \
        if (r_ != 0)                                                                               \
            FAIL_AT("%s returned %lld", #expr, r_);                                                \
    } while (0)

#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                                 \
            FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b, sa_ ? sa_ : "(null)",                    \
                    sb_ ? sb_ : "(null)");                                                         \
    } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                      \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0)                                                            \
            FAIL_AT("%s and %s differ in their first %zu bytes", #a, #b, (size_t)(n));             \
    } while (0)

/*
 * What a program writes to stderr (traild's log lines, log.h) between
 * capture_stderr_begin() and capture_stderr_end(), which returns it as a
 * malloc'd string that the caller frees (NULL if it could not be read).
 * The harness's own messages go to the capture too while it runs; end it
 * before asserting.
 */
static int harness_saved_stderr = -1;
static FILE *harness_capture;

static inline void capture_stderr_begin(void)
{
    fflush(stderr);
    harness_capture = tmpfile();
    harness_saved_stderr = dup(STDERR_FILENO);
    if (!harness_capture || harness_saved_stderr < 0 ||
        dup2(fileno(harness_capture), STDERR_FILENO) < 0)
        abort();
}

static inline char *capture_stderr_end(void)
{
    fflush(stderr);
    if (dup2(harness_saved_stderr, STDERR_FILENO) < 0)
        abort();
    close(harness_saved_stderr);
    harness_saved_stderr = -1;
    /* the writes went through the shared descriptor: its offset is the length */
    long n = lseek(fileno(harness_capture), 0, SEEK_END);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (text && pread(fileno(harness_capture), text, (size_t)n, 0) != n) {
        free(text);
        text = NULL;
    }
    if (text)
        text[n] = '\0';
    fclose(harness_capture);
    harness_capture = NULL;
    return text;
}

/*
 * test_rand - the next number of a test's own reproducible generator
 * (xorshift64*) whose state is *state (never 0): tests that draw random
 * data seed it from a fixed value or their seed variable, so that a
 * failure repeats.
 */
static inline uint64_t test_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* How many times needle occurs in text (0 for NULL text). */
static inline int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

typedef void (*harness_fn)(void);

static int harness_run(const char *const *names, const harness_fn *fns, int n)
{
    int passed = 0, failed = 0;
    const char *only = getenv("TEST_ONLY");
    for (int i = 0; i < n; i++) {
        if (only && strcmp(only, names[i]) != 0)
            continue;
        harness_failed_now = 0;
        fns[i]();
        if (harness_failed_now) {
            printf("FAIL %s\n", names[i]);
            failed++;
        } else {
            printf("ok   %s\n", names[i]);
            passed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define HARNESS_NAME(x) #x,
#define HARNESS_FN(x)   test_##x,

/* TEST_MAIN(a, b, c): up to 64 tests, run in order. */
#define TEST_MAIN(...)                                                                             \
    int main(void)                                                                                 \
    {                                                                                              \
        static const char *const names_[] = {HARNESS_MAP(HARNESS_NAME, __VA_ARGS__)};              \
        static const harness_fn fns_[] = {HARNESS_MAP(HARNESS_FN, __VA_ARGS__)};                   \
        return harness_run(names_, fns_, (int)(sizeof(fns_) / sizeof(fns_[0])));                   \
    }

/* A small preprocessor map over up to 64 arguments. */
#define HARNESS_MAP(m, ...)      HARNESS_MAP_N(HARNESS_NARGS(__VA_ARGS__), m, __VA_ARGS__)
#define HARNESS_MAP_N(n, m, ...) HARNESS_CAT(HARNESS_MAP_, n)(m, __VA_ARGS__)
#define HARNESS_CAT(a, b)        HARNESS_CAT_(a, b)
#define HARNESS_CAT_(a, b)       a##b
#define HARNESS_NARGS(...)                                                                         \
    HARNESS_NARGS_(__VA_ARGS__, 64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49,    \
                   48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, \
                   28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,  \
                   8, 7, 6, 5, 4, 3, 2, 1)
#define HARNESS_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, \
                       _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32,  \
                       _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44, _45, _46, _47,  \
                       _48, _49, _50, _51, _52, _53, _54, _55, _56, _57, _58, _59, _60, _61, _62,  \
                       _63, _64, N, ...)                                                           \
    N
#define HARNESS_MAP_1(m, x)       m(x)
#define HARNESS_MAP_2(m, x, ...)  m(x) HARNESS_MAP_1(m, __VA_ARGS__)
#define HARNESS_MAP_3(m, x, ...)  m(x) HARNESS_MAP_2(m, __VA_ARGS__)
#define HARNESS_MAP_4(m, x, ...)  m(x) HARNESS_MAP_3(m, __VA_ARGS__)
#define HARNESS_MAP_5(m, x, ...)  m(x) HARNESS_MAP_4(m, __VA_ARGS__)
#define HARNESS_MAP_6(m, x, ...)  m(x) HARNESS_MAP_5(m, __VA_ARGS__)
#define HARNESS_MAP_7(m, x, ...)  m(x) HARNESS_MAP_6(m, __VA_ARGS__)
#define HARNESS_MAP_8(m, x, ...)  m(x) HARNESS_MAP_7(m, __VA_ARGS__)
#define HARNESS_MAP_9(m, x, ...)  m(x) HARNESS_MAP_8(m, __VA_ARGS__)
#define HARNESS_MAP_10(m, x, ...) m(x) HARNESS_MAP_9(m, __VA_ARGS__)
#define HARNESS_MAP_11(m, x, ...) m(x) HARNESS_MAP_10(m, __VA_ARGS__)
#define HARNESS_MAP_12(m, x, ...) m(x) HARNESS_MAP_11(m, __VA_ARGS__)
#define HARNESS_MAP_13(m, x, ...) m(x) HARNESS_MAP_12(m, __VA_ARGS__)
#define HARNESS_MAP_14(m, x, ...) m(x) HARNESS_MAP_13(m, __VA_ARGS__)
#define HARNESS_MAP_15(m, x, ...) m(x) HARNESS_MAP_14(m, __VA_ARGS__)
#define HARNESS_MAP_16(m, x, ...) m(x) HARNESS_MAP_15(m, __VA_ARGS__)
#define HARNESS_MAP_17(m, x, ...) m(x) HARNESS_MAP_16(m, __VA_ARGS__)
#define HARNESS_MAP_18(m, x, ...) m(x) HARNESS_MAP_17(m, __VA_ARGS__)
#define HARNESS_MAP_19(m, x, ...) m(x) HARNESS_MAP_18(m, __VA_ARGS__)
#define HARNESS_MAP_20(m, x, ...) m(x) HARNESS_MAP_19(m, __VA_ARGS__)
#define HARNESS_MAP_21(m, x, ...) m(x) HARNESS_MAP_20(m, __VA_ARGS__)
#define HARNESS_MAP_22(m, x, ...) m(x) HARNESS_MAP_21(m, __VA_ARGS__)
#define HARNESS_MAP_23(m, x, ...) m(x) HARNESS_MAP_22(m, __VA_ARGS__)
#define HARNESS_MAP_24(m, x, ...) m(x) HARNESS_MAP_23(m, __VA_ARGS__)
#define HARNESS_MAP_25(m, x, ...) m(x) HARNESS_MAP_24(m, __VA_ARGS__)
#define HARNESS_MAP_26(m, x, ...) m(x) HARNESS_MAP_25(m, __VA_ARGS__)
#define HARNESS_MAP_27(m, x, ...) m(x) HARNESS_MAP_26(m, __VA_ARGS__)
#define HARNESS_MAP_28(m, x, ...) m(x) HARNESS_MAP_27(m, __VA_ARGS__)
#define HARNESS_MAP_29(m, x, ...) m(x) HARNESS_MAP_28(m, __VA_ARGS__)
#define HARNESS_MAP_30(m, x, ...) m(x) HARNESS_MAP_29(m, __VA_ARGS__)
#define HARNESS_MAP_31(m, x, ...) m(x) HARNESS_MAP_30(m, __VA_ARGS__)
#define HARNESS_MAP_32(m, x, ...) m(x) HARNESS_MAP_31(m, __VA_ARGS__)
#define HARNESS_MAP_33(m, x, ...) m(x) HARNESS_MAP_32(m, __VA_ARGS__)
#define HARNESS_MAP_34(m, x, ...) m(x) HARNESS_MAP_33(m, __VA_ARGS__)
#define HARNESS_MAP_35(m, x, ...) m(x) HARNESS_MAP_34(m, __VA_ARGS__)
#define HARNESS_MAP_36(m, x, ...) m(x) HARNESS_MAP_35(m, __VA_ARGS__)
#define HARNESS_MAP_37(m, x, ...) m(x) HARNESS_MAP_36(m, __VA_ARGS__)
#define HARNESS_MAP_38(m, x, ...) m(x) HARNESS_MAP_37(m, __VA_ARGS__)
#define HARNESS_MAP_39(m, x, ...) m(x) HARNESS_MAP_38(m, __VA_ARGS__)
#define HARNESS_MAP_40(m, x, ...) m(x) HARNESS_MAP_39(m, __VA_ARGS__)
#define HARNESS_MAP_41(m, x, ...) m(x) HARNESS_MAP_40(m, __VA_ARGS__)
#define HARNESS_MAP_42(m, x, ...) m(x) HARNESS_MAP_41(m, __VA_ARGS__)
#define HARNESS_MAP_43(m, x, ...) m(x) HARNESS_MAP_42(m, __VA_ARGS__)
#define HARNESS_MAP_44(m, x, ...) m(x) HARNESS_MAP_43(m, __VA_ARGS__)
#define HARNESS_MAP_45(m, x, ...) m(x) HARNESS_MAP_44(m, __VA_ARGS__)
#define HARNESS_MAP_46(m, x, ...) m(x) HARNESS_MAP_45(m, __VA_ARGS__)
#define HARNESS_MAP_47(m, x, ...) m(x) HARNESS_MAP_46(m, __VA_ARGS__)
#define HARNESS_MAP_48(m, x, ...) m(x) HARNESS_MAP_47(m, __VA_ARGS__)
#define HARNESS_MAP_49(m, x, ...) m(x) HARNESS_MAP_48(m, __VA_ARGS__)
#define HARNESS_MAP_50(m, x, ...) m(x) HARNESS_MAP_49(m, __VA_ARGS__)
#define HARNESS_MAP_51(m, x, ...) m(x) HARNESS_MAP_50(m, __VA_ARGS__)
#define HARNESS_MAP_52(m, x, ...) m(x) HARNESS_MAP_51(m, __VA_ARGS__)
#define HARNESS_MAP_53(m, x, ...) m(x) HARNESS_MAP_52(m, __VA_ARGS__)
#define HARNESS_MAP_54(m, x, ...) m(x) HARNESS_MAP_53(m, __VA_ARGS__)
#define HARNESS_MAP_55(m, x, ...) m(x) HARNESS_MAP_54(m, __VA_ARGS__)
#define HARNESS_MAP_56(m, x, ...) m(x) HARNESS_MAP_55(m, __VA_ARGS__)
#define HARNESS_MAP_57(m, x, ...) m(x) HARNESS_MAP_56(m, __VA_ARGS__)
#define HARNESS_MAP_58(m, x, ...) m(x) HARNESS_MAP_57(m, __VA_ARGS__)
#define HARNESS_MAP_59(m, x, ...) m(x) HARNESS_MAP_58(m, __VA_ARGS__)
#define HARNESS_MAP_60(m, x, ...) m(x) HARNESS_MAP_59(m, __VA_ARGS__)
#define HARNESS_MAP_61(m, x, ...) m(x) HARNESS_MAP_60(m, __VA_ARGS__)
#define HARNESS_MAP_62(m, x, ...) m(x) HARNESS_MAP_61(m, __VA_ARGS__)
#define HARNESS_MAP_63(m, x, ...) m(x) HARNESS_MAP_62(m, __VA_ARGS__)
#define HARNESS_MAP_64(m, x, ...) m(x) HARNESS_MAP_63(m, __VA_ARGS__)

#endif /* TRAIL_TEST_HARNESS_H */
