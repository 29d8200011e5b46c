#!/bin/sh
# disk-space — the minimal plugin: is there enough free space on PATH?
#
# Nagios plugin API: one summary line, perfdata after `|`, exit 0 ok,
# 1 warning, 2 critical, 3 unknown.
#
#   [[plugin]]
#   name = "disk-space"
#   command = ["../checks/disk-space.sh", "--warn", "20", "--min", "10", "/var/lib/labwatch"]
#
# --warn and --min are percentages of free space (defaults 20 and 10).
set -u
warn=20 min=10 path=/
while [ $# -gt 0 ]; do
    case $1 in
        --warn) warn=${2%\%}; shift 2 ;;
        --min) min=${2%\%}; shift 2 ;;
        *) path=$1; shift ;;
    esac
done
# POSIX df: 1024-byte blocks; line 2 holds total ($2) and available ($4).
set -- $(df -Pk "$path" 2>/dev/null | awk 'NR == 2 { print $2, $4 }')
if [ $# -ne 2 ] || [ "$1" -eq 0 ]; then
    echo "UNKNOWN - cannot read the free space of $path"
    exit 3
fi
total=$1 free=$2
pct=$(( free * 100 / total ))
perf="free=${free}KB;;;0;${total} free_share=${pct}%;${warn}:;${min}:;0;100"
if [ "$pct" -lt "$min" ]; then
    echo "CRITICAL - only ${pct}% free on $path (below ${min}%) | $perf"
    echo "Free space on $path: remove old files, or grow the file system."
    exit 2
elif [ "$pct" -lt "$warn" ]; then
    echo "WARNING - ${pct}% free on $path (below ${warn}%) | $perf"
    exit 1
fi
echo "OK - ${pct}% free on $path | $perf"
exit 0
