/*
 * replay.c - run a libFuzzer target over its corpus without libFuzzer.
 *
 * Linked with each tests/fuzz/fuzz_*.c in ordinary (gcc) builds, so that the
 * corpus the fuzzer found replays as a plain test under every build,
 * sanitizers included. Usage: fuzz_x DIR_OR_FILE...
 * Ends with "N passed, N failed": a file passes when the target returns
 * without a crash (a crash ends the run, which ctest reports).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            run_file(argv[i]) == 0 ? passed++ : failed++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            run_file(path) == 0 ? passed++ : failed++;
        }
        if (d)
            closedir(d);
    }
    if (passed + failed == 0)
        failed = 1; /* an empty corpus is a broken test, not a pass */
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
