#!/bin/sh
# git-clone-probe — can Git clone a repository with the workspace's token?
#
# Runs the real `git ls-remote` (the first step of every clone and fetch)
# against GROUP/PROJECT on the workspace's instance ($LABWATCH_INSTANCE_URL).
# labwatch writes the workspace token to stdin (`token = true`); it reaches
# git only through a credential helper that reads it from a file descriptor,
# and only for the instance's own host: never in a URL, an argv or an
# environment variable of any process.
#
#   [[plugin]]
#   name = "clone-backend"
#   command = ["../checks/git-clone-probe.sh", "acme/backend"]
#   token = true
#
# Options: --ca-file PEM  trust this CA for the instance (like ca_file).
# Exit codes (Nagios): 0 clonable, 2 refused, not found or unreachable,
# 3 misconfigured (no token, no git, bad arguments).
set -u

usage() {
    echo "UNKNOWN - usage: git-clone-probe.sh [--ca-file PEM] GROUP/PROJECT"
    echo "Give the repository path as the plugin's argument in its [[plugin]] command."
    exit 3
}

repo=""
ca=""
while [ $# -gt 0 ]; do
    case $1 in
        --ca-file) [ $# -ge 2 ] || usage; ca=$2; shift 2 ;;
        -h | --help) usage ;;
        -*) usage ;;
        *) [ -z "$repo" ] || usage; repo=$1; shift ;;
    esac
done
[ -n "$repo" ] || usage
base=${LABWATCH_INSTANCE_URL:-}
if [ -z "$base" ]; then
    echo "UNKNOWN - LABWATCH_INSTANCE_URL is not set"
    echo "Run this probe from labwatch (or set LABWATCH_INSTANCE_URL and pipe a token to it)."
    exit 3
fi
repo=${repo%.git}
url="${base%/}/${repo#/}.git"
host=${base#*://}
host=${host%%/*}

IFS= read -r token || true
if [ -z "$token" ]; then
    echo "UNKNOWN - no token on stdin"
    echo "Set token = true in this plugin's [[plugin]] table: the probe clones with the workspace token."
    exit 3
fi
if ! command -v git >/dev/null 2>&1; then
    echo "UNKNOWN - git is not installed (or not on labwatch's PATH)"
    echo "Install git on the machine labwatch runs on."
    exit 3
fi

tmp=$(mktemp -d) || { echo "UNKNOWN - cannot create a temporary directory"; exit 3; }
trap 'rm -rf "$tmp"' EXIT

# The helper answers `get` for the instance's host only: it drains git's
# request, checks its host= line, and prints the token it reads from fd 3.
helper='!f() { test "$1" = get || exit 0; h=; while IFS= read -r l && [ -n "$l" ]; do case $l in host=*) h=${l#host=} ;; esac; done; [ "$h" = "$PROBE_HOST" ] || exit 0; IFS= read -r t <&3 || exit 0; printf "username=oauth2\npassword=%s\n" "$t"; }; f'

set -- -c credential.helper= -c "credential.helper=$helper" -c http.followRedirects=false
[ -z "$ca" ] || set -- "$@" -c "http.sslCAInfo=$ca"

start=$(date +%s%N)
# printf is a shell builtin: the token is in no process's argv. The pipe
# becomes fd 3 of git (and so of its helper); git's own stdin is /dev/null.
printf '%s\n' "$token" |
    GIT_TERMINAL_PROMPT=0 LC_ALL=C PROBE_HOST=$host git "$@" ls-remote "$url" \
        3<&0 0</dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
end=$(date +%s%N)
case $start$end in
    *N*) perf="" ;;
    *) perf=" time=$(( (end - start) / 1000000 ))ms" ;;
esac

if [ $rc -eq 0 ]; then
    refs=$(grep -c . "$tmp/out")
    head=$(awk '$2 == "HEAD" { print substr($1, 1, 12) }' "$tmp/out")
    if [ "$refs" -eq 0 ]; then
        echo "OK - Git can clone $repo; the repository is empty | refs=0$perf"
    else
        echo "OK - Git can clone $repo: $refs refs, HEAD ${head:-none} | refs=$refs$perf"
    fi
    exit 0
fi

if grep -q "Authentication failed" "$tmp/err"; then
    status=2
    echo "CRITICAL - Git rejected the workspace token for $repo (HTTP 401) | refs=0$perf"
    echo "The token is wrong, expired or revoked: give the workspace a new one (labwatch renew --workspace ${LABWATCH_WORKSPACE:-W})."
elif grep -q "not found" "$tmp/err"; then
    status=2
    echo "CRITICAL - Git finds no repository $repo, or the token's user may not see it (HTTP 404) | refs=0$perf"
    echo "Check the path against the project's URL, and that the token's user is a member (Reporter or more for a private project)."
elif grep -qi "returned error: 403\|not allowed to download" "$tmp/err"; then
    status=2
    echo "CRITICAL - Git refuses to let the token's user download $repo (HTTP 403) | refs=0$perf"
    echo "The token needs the read_repository (or api) scope, and its user at least the Reporter role on the project."
elif grep -q "unable to access" "$tmp/err"; then
    status=2
    echo "CRITICAL - Git cannot reach $host | refs=0$perf"
    echo "Check DNS, the network path and TLS trust from this machine to $host (pass --ca-file for an internal CA)."
else
    status=3
    echo "UNKNOWN - git ls-remote failed with exit code $rc | refs=0$perf"
    echo "Run git ls-remote $url by hand on this machine to see why."
fi
sed -n 's/^/git: /p' "$tmp/err" | head -n 5
exit $status
