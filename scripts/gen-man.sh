#!/bin/sh
# gen-man.sh - write a man page trail-COMMAND.1 for every command of trail,
# from the command's own --help text, so that the pages cannot drift from the
# program. docs/man/trail.1 is the overview; these pages carry the details.
#
# Usage: scripts/gen-man.sh TRAIL_BINARY OUTDIR
set -eu
trail=$1
out=$2
mkdir -p "$out"
version=$("$trail" --version | awk '{print $2}')
"$trail" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}' |
while read -r cmd; do
    summary=$("$trail" --help | awk -v c="$cmd" '$1 == c {sub(/^  [^ ]+ +/, ""); print; exit}')
    page="$out/trail-$cmd.1"
    {
        echo ".TH TRAIL-$(echo "$cmd" | tr a-z A-Z) 1 \"\" \"trail $version\" \"trail manual\""
        echo ".SH NAME"
        printf '%s\n' "trail-$cmd \\- $summary"
        echo ".SH DESCRIPTION"
        printf '%s\n' "The text of \\fBtrail $cmd --help\\fR:"
        echo ".PP"
        echo ".nf"
        # escape backslashes and leading dots for roff
        "$trail" "$cmd" --help | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"
        echo ".fi"
        echo ".SH SEE ALSO"
        printf '%s\n' "\\fBtrail\\fR(1), \\fBtraild\\fR(8)"
    } > "$page"
done
