# clock_common.bash - a moved wall clock for one command, the same way in
# every test that needs one (sourced by daemon_common.bash, verify_cli.sh):
# libfaketime preloaded as faketime(1) does, but after a sanitizer build's
# runtime, which must come first (faketime(1) puts its own library first,
# and an ASan build then stops at start). CLOCK_MONOTONIC is never moved.
#
#   FAKETIME_LIB                     libfaketime for single-threaded commands
#   faketime_preload BIN [VARIANT]   the LD_PRELOAD value for BIN (VARIANT MT: libfaketimeMT,
#                                    for multi-threaded programs such as traild)
#   at_offset OFFSET CMD...          CMD with its clock moved by OFFSET (-10800, +2h)

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

faketime_preload() {
    local asan lib=${FAKETIME_LIB%.so.1}${2:-}.so.1
    asan=$(ldd "$(command -v "$1")" 2>/dev/null | awk '/libasan/ {print $3; exit}')
    echo "${asan:+$asan:}$lib"
}

at_offset() {
    local off=$1
    shift
    LD_PRELOAD=$(faketime_preload "$1") FAKETIME=$off FAKETIME_DONT_FAKE_MONOTONIC=1 "$@"
}
