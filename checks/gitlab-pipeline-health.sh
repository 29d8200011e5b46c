#!/bin/sh
# gitlab-pipeline-health — did the newest finished pipeline of a branch pass?
#
# Asks GitLab's API for the newest finished pipeline of REF in GROUP/PROJECT
# and answers with a labwatch JSON outcome: its own reason codes
# (pipeline-failed, pipeline-canceled, no-finished-pipeline, …), a remediation
# that links the pipeline, and measurements (age, duration, id).
#
#   [[plugin]]
#   name = "backend-pipeline"
#   command = ["../checks/gitlab-pipeline-health.sh", "acme/backend", "--ref", "main"]
#   token = true
#
# Needs curl and jq. The token (stdin, `token = true`; read_api is enough)
# goes to curl as a header read from its stdin: never in argv or the
# environment. Exit code 0 always when a JSON outcome was printed; the
# outcome carries the status.
set -u

outcome() { # status reason summary [remediation…]
    s=$1 r=$2 m=$3
    shift 3
    jq -cn --arg s "$s" --arg r "$r" --arg m "$m" --argjson x "${measurements:-{\}}" \
        '{labwatch: 1, status: $s, reason: $r, summary: $m, remediation: $ARGS.positional, measurements: $x}' \
        --args "$@"
    exit 0
}

repo="" ref="main"
while [ $# -gt 0 ]; do
    case $1 in
        --ref) [ $# -ge 2 ] || repo=""; ref=${2:-}; shift 2 ;;
        -*) repo=""; break ;;
        *) repo=$1; shift ;;
    esac
done
if ! command -v jq >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1; then
    echo "UNKNOWN - this plugin needs curl and jq on labwatch's PATH"
    exit 3
fi
[ -n "$repo" ] && [ -n "$ref" ] ||
    outcome unknown plugin-usage "usage: gitlab-pipeline-health.sh GROUP/PROJECT [--ref BRANCH]" \
        "Give the project path (and optionally --ref) in the plugin's command."
base=${LABWATCH_INSTANCE_URL:?run me from labwatch, or set LABWATCH_INSTANCE_URL}
IFS= read -r token || true
[ -n "$token" ] ||
    outcome unknown plugin-usage "No token on stdin." "Set token = true in this plugin's [[plugin]] table."

tmp=$(mktemp -d) || outcome unknown plugin-usage "Cannot create a temporary directory."
trap 'rm -rf "$tmp"' EXIT
project=$(printf '%s' "$repo" | jq -sRr @uri)
branch=$(printf '%s' "$ref" | jq -sRr @uri)
url="${base%/}/api/v4/projects/$project/pipelines?ref=$branch&scope=finished&order_by=id&sort=desc&per_page=1"

# printf is a shell builtin; `-H @-` makes curl read the header from stdin.
code=$(printf 'PRIVATE-TOKEN: %s\n' "$token" |
    curl -sS --connect-timeout 10 -H @- -o "$tmp/body" -w '%{http_code}' "$url" 2>"$tmp/err")
rc=$?
if [ $rc -ne 0 ]; then
    outcome critical request-failed "Cannot reach GitLab: $(head -n 1 "$tmp/err")" \
        "Check that $base is reachable from this machine."
fi
case $code in
    200) ;;
    401) outcome critical token-invalid "GitLab rejected the token (401) while listing pipelines of $repo." \
        "Give workspace ${LABWATCH_WORKSPACE:-W} a valid token (labwatch renew)." ;;
    403) outcome critical access-forbidden "GitLab forbids listing pipelines of $repo (403)." \
        "The token needs read_api, and its user at least the Reporter role on $repo." ;;
    404) outcome critical repo-not-found-or-no-access "GitLab finds no project $repo, or the token's user may not see it (404)." \
        "Check the project path, and that the token's user is a member of $repo." ;;
    *) outcome unknown gitlab-answer-invalid "GitLab answered $code while listing pipelines of $repo." \
        "Retry later; if it persists, open $url in a browser." ;;
esac

pipeline=$(jq -c '.[0] // empty' "$tmp/body" 2>/dev/null) ||
    outcome unknown gitlab-answer-invalid "GitLab's pipeline list for $repo is not JSON."
[ -n "$pipeline" ] ||
    outcome warning no-finished-pipeline "$repo has no finished pipeline on $ref." \
        "Run a pipeline on $ref, or point --ref at the branch CI runs on."

measurements=$(printf '%s' "$pipeline" | jq -c '{
    pipeline_id: .id,
    pipeline_age_seconds: (now - ((.updated_at // .created_at) | sub("\\.[0-9]+"; "") | fromdateiso8601) | floor),
    pipeline_duration_seconds: (.duration // empty)
  } | with_entries(select(.value != null))' 2>/dev/null) || measurements='{}'
status=$(printf '%s' "$pipeline" | jq -r '.status')
id=$(printf '%s' "$pipeline" | jq -r '.id')
web=$(printf '%s' "$pipeline" | jq -r '.web_url // empty')
case $status in
    success) outcome ok ok "The newest finished pipeline of $repo on $ref (#$id) passed." ;;
    failed) outcome critical pipeline-failed "The newest finished pipeline of $repo on $ref (#$id) failed." \
        "Open ${web:-the pipeline} and look at the failed jobs." \
        "Fix the cause and push, or retry the failed jobs if they were flaky." ;;
    canceled) outcome warning pipeline-canceled "The newest finished pipeline of $repo on $ref (#$id) was canceled." \
        "Open ${web:-the pipeline} and run it again." ;;
    skipped) outcome warning pipeline-skipped "The newest finished pipeline of $repo on $ref (#$id) was skipped." \
        "Check the workflow rules in .gitlab-ci.yml." ;;
    *) outcome unknown pipeline-status-unknown "The newest finished pipeline of $repo on $ref (#$id) is '$status'." \
        "Open ${web:-the pipeline} to see what it means." ;;
esac
