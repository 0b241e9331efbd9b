# eks-node-diag node script, run as root by SSM (aws:runShellScript) on every node of a dispatch.
# It fetches the agent built for this node's architecture through a presigned GET URL, checks its sha256 and the
# node's glibc, collects at low priority, uploads the bundle through a presigned POST form (no change to the node's
# IAM role), prints ONE JSON result line on stdout, and cleans up unless asked to keep things.
# stdout carries only that line: SSM keeps the first 2,500 characters of the output in ListCommandInvocations, and
# the dispatcher reads the line from there. Everything else goes to stderr.
# Do not write SSM parameter syntax (double braces) in comments: SSM substitutes it everywhere in the script.
# Exit codes: 0 uploaded, 42 glibc too old, 43 architecture without agent, 44 download failed, 45 checksum mismatch,
# 46 upload form unavailable, 47 collection failed, 48 upload failed, 49 any other failure.
set -u
umask 077
eksdiag_url_x64='{{ AgentUrlX64 }}'
eksdiag_sha256_x64='{{ AgentSha256X64 }}'
eksdiag_url_arm64='{{ AgentUrlArm64 }}'
eksdiag_sha256_arm64='{{ AgentSha256Arm64 }}'
eksdiag_form_url='{{ UploadFormUrl }}'
eksdiag_since='{{ Since }}'
eksdiag_deadline='{{ Deadline }}'
eksdiag_keep='{{ KeepOnNode }}'

eksdiag_started=$(date +%s)
eksdiag_instance=${AWS_SSM_INSTANCE_ID:-}
eksdiag_arch=''
eksdiag_status='failed'
eksdiag_code=49
eksdiag_error=''
eksdiag_key=''
eksdiag_bytes=''
eksdiag_kept=''
eksdiag_work=''

eksdiag_log() {
  printf 'eks-node-diag: %s\n' "$*" >&2
}

# The text of a JSON string: at most 500 bytes, control characters as spaces, backslash and quote escaped.
eksdiag_json_text() {
  printf '%s' "$1" | tr '\t\r\n' '   ' | tr -d '\000-\037' | cut -c1-500 | sed 's/\\/\\\\/g; s/"/\\"/g'
}

eksdiag_finish() {
  eksdiag_rc=$?
  trap - EXIT
  if [ "$eksdiag_status" = 'failed' ] && [ -z "$eksdiag_error" ]; then
    eksdiag_error="the node script stopped unexpectedly (exit $eksdiag_rc)"
  fi
  if [ -n "$eksdiag_work" ] && [ -d "$eksdiag_work" ]; then
    if [ "$eksdiag_keep" = 'true' ]; then
      eksdiag_kept="$eksdiag_kept${eksdiag_kept:+ }$eksdiag_work"
    else
      rm -rf "$eksdiag_work"
    fi
  fi
  eksdiag_line='{"eksNodeDiag":"node-result@1"'
  eksdiag_line="$eksdiag_line,\"instanceId\":\"$(eksdiag_json_text "$eksdiag_instance")\""
  eksdiag_line="$eksdiag_line,\"arch\":\"$(eksdiag_json_text "$eksdiag_arch")\""
  eksdiag_line="$eksdiag_line,\"status\":\"$eksdiag_status\",\"exitCode\":$eksdiag_code"
  eksdiag_line="$eksdiag_line,\"seconds\":$(($(date +%s) - eksdiag_started))"
  [ -n "$eksdiag_key" ] && eksdiag_line="$eksdiag_line,\"key\":\"$(eksdiag_json_text "$eksdiag_key")\""
  [ -n "$eksdiag_bytes" ] && eksdiag_line="$eksdiag_line,\"bytes\":$eksdiag_bytes"
  [ -n "$eksdiag_kept" ] && eksdiag_line="$eksdiag_line,\"kept\":\"$(eksdiag_json_text "$eksdiag_kept")\""
  [ -n "$eksdiag_error" ] && eksdiag_line="$eksdiag_line,\"error\":\"$(eksdiag_json_text "$eksdiag_error")\""
  printf '%s}\n' "$eksdiag_line"
  exit "$eksdiag_code"
}
trap eksdiag_finish EXIT
# Without these, a shell killed by a signal would skip the EXIT trap: no result line and nothing cleaned up.
trap 'eksdiag_error="stopped by SIGTERM"; eksdiag_code=143; exit 143' TERM
trap 'eksdiag_error="stopped by SIGINT"; eksdiag_code=130; exit 130' INT

# eksdiag_stop STATUS CODE MESSAGE: record the outcome and end the script (the EXIT trap reports it).
eksdiag_stop() {
  eksdiag_status=$1
  eksdiag_code=$2
  eksdiag_error=$3
  eksdiag_log "$3"
  exit "$2"
}

# The launch check of agent/launch/check-glibc.sh, run in a subshell so that its exit only ends the check.
eksdiag_check_glibc() {
# @include check-glibc.sh
}

# eksdiag_fetch URL FILE ATTEMPTS [wait-for-404]: GET with retries on connection errors, 408, 429 and 5xx. A 404 is
# retried only when asked (the upload form appears moments after the dispatch); other 4xx answers are final.
eksdiag_fetch() {
  eksdiag_attempt=1
  while :; do
    if command -v curl >/dev/null 2>&1; then
      eksdiag_http=$(curl -sS --connect-timeout 10 --max-time 900 -o "$2" -w '%{http_code}' "$1" 2>>"$eksdiag_work/fetch.log") ||
        eksdiag_http=000
    elif command -v wget >/dev/null 2>&1; then
      if wget -q -T 60 -O "$2" "$1" 2>>"$eksdiag_work/fetch.log"; then eksdiag_http=200; else eksdiag_http=000; fi
    else
      eksdiag_fetch_error='neither curl nor wget is installed'
      return 1
    fi
    eksdiag_fetch_error="HTTP $eksdiag_http after $eksdiag_attempt attempt(s)"
    case "$eksdiag_http" in
      2??) return 0 ;;
      404) [ "${4:-}" = 'wait-for-404' ] || return 1 ;;
      000 | 408 | 429 | 5??) ;;
      *) return 1 ;;
    esac
    [ "$eksdiag_attempt" -ge "$3" ] && return 1
    eksdiag_pause=$((eksdiag_attempt * 2))
    [ "$eksdiag_pause" -gt 10 ] && eksdiag_pause=10
    sleep "$eksdiag_pause"
    eksdiag_attempt=$((eksdiag_attempt + 1))
  done
}

[ -n "$eksdiag_instance" ] || eksdiag_instance=$(hostname 2>/dev/null || echo unknown)
case "$eksdiag_instance" in
  *[!A-Za-z0-9._-]* | '') eksdiag_stop failed 49 "unusable instance id '$eksdiag_instance'" ;;
esac

case "$(uname -m)" in
  x86_64 | amd64)
    eksdiag_arch=x64
    eksdiag_url=$eksdiag_url_x64
    eksdiag_sha256=$eksdiag_sha256_x64
    ;;
  aarch64 | arm64)
    eksdiag_arch=arm64
    eksdiag_url=$eksdiag_url_arm64
    eksdiag_sha256=$eksdiag_sha256_arm64
    ;;
  *)
    eksdiag_arch=$(uname -m)
    eksdiag_stop agent-unsupported 43 "no agent is built for the architecture $eksdiag_arch"
    ;;
esac
[ -n "$eksdiag_url" ] || eksdiag_stop agent-unsupported 43 "this dispatch carries no agent for $eksdiag_arch"

if eksdiag_glibc_said=$(eksdiag_check_glibc 2>&1); then
  [ -n "$eksdiag_glibc_said" ] && printf '%s\n' "$eksdiag_glibc_said" >&2
else
  eksdiag_glibc_rc=$?
  if [ "$eksdiag_glibc_rc" -eq 42 ]; then
    eksdiag_stop agent-unsupported 42 "${eksdiag_glibc_said#eks-node-diag: }"
  fi
  eksdiag_stop failed 49 "the glibc check failed (exit $eksdiag_glibc_rc): $eksdiag_glibc_said"
fi

# A run that SSM killed at its execution timeout (SIGKILL) could not clean up; no run lives past 48 hours.
find /var/tmp /tmp -maxdepth 1 -type d -name 'eks-node-diag.??????' -mmin +2880 -exec rm -rf {} + 2>/dev/null
for eksdiag_parent in /var/tmp /tmp; do
  eksdiag_work=$(mktemp -d "$eksdiag_parent/eks-node-diag.XXXXXX" 2>/dev/null) && break
  eksdiag_work=''
done
[ -n "$eksdiag_work" ] || eksdiag_stop failed 49 'cannot create a work directory in /var/tmp or /tmp'
eksdiag_bin="$eksdiag_work/eks-node-diag-agent-linux-$eksdiag_arch"

eksdiag_log "downloading the $eksdiag_arch agent"
if ! eksdiag_fetch "$eksdiag_url" "$eksdiag_bin" 5; then
  eksdiag_curl_said=$(tail -n 1 "$eksdiag_work/fetch.log" 2>/dev/null)
  eksdiag_stop download-failed 44 "could not download the agent: $eksdiag_fetch_error${eksdiag_curl_said:+ ($eksdiag_curl_said)}"
fi
eksdiag_actual=$(sha256sum "$eksdiag_bin" | cut -d' ' -f1)
[ "$eksdiag_actual" = "$eksdiag_sha256" ] ||
  eksdiag_stop checksum-mismatch 45 "the downloaded agent has sha256 $eksdiag_actual, expected $eksdiag_sha256"
chmod 700 "$eksdiag_bin"

eksdiag_form="$eksdiag_work/upload-form.json"
eksdiag_fetch "$eksdiag_form_url" "$eksdiag_form.in" 40 wait-for-404 ||
  eksdiag_stop form-unavailable 46 "could not fetch the upload form: $eksdiag_fetch_error"
# The form's key ends in S3's file-name placeholder; this node's bundle is named after its instance id.
sed "s/\\\${filename}/$eksdiag_instance.tar.gz/g" "$eksdiag_form.in" >"$eksdiag_form"
eksdiag_key=$(sed -n 's/^ *"key": *"\([^"]*\)",\{0,1\}$/\1/p' "$eksdiag_form" | head -n 1)
eksdiag_form_target=$(sed -n 's/^ *"url": *"\([^"]*\)",\{0,1\}$/\1/p' "$eksdiag_form" | head -n 1)

set -- "$eksdiag_bin" collect --since "$eksdiag_since" --deadline "$eksdiag_deadline"
# A node whose host filesystem is mounted elsewhere (Bottlerocket's admin container: /.bottlerocket/rootfs).
[ -n "${EKS_NODE_DIAG_ROOT:-}" ] && set -- "$@" --root "$EKS_NODE_DIAG_ROOT"
if [ "$eksdiag_keep" = 'true' ]; then
  eksdiag_keep_dir=${EKS_NODE_DIAG_KEEP_DIR:-/var/log/eks-node-diag}
  mkdir -p "$eksdiag_keep_dir" || eksdiag_stop failed 49 "cannot create $eksdiag_keep_dir"
  eksdiag_bundle="$eksdiag_keep_dir/eks_${eksdiag_instance}_$(date -u +%Y-%m-%d_%H%M%S-UTC).tar.gz"
  set -- "$@" --out "$eksdiag_bundle"
else
  set -- "$@" --upload-form "$eksdiag_form"
  # The agent takes http only on loopback, and only when told: presigned S3 URLs are https.
  case "$eksdiag_form_target" in
    http://*) set -- "$@" --allow-http-upload ;;
  esac
fi
set -- nice -n 19 "$@"
command -v ionice >/dev/null 2>&1 && set -- ionice -c 2 -n 7 "$@"

eksdiag_log "collecting (since $eksdiag_since, deadline $eksdiag_deadline)"
"$@" >"$eksdiag_work/agent.out" 2>"$eksdiag_work/agent.log"
eksdiag_agent_rc=$?
eksdiag_said=$(tail -n 3 "$eksdiag_work/agent.log" 2>/dev/null)
cat "$eksdiag_work/agent.log" >&2

if [ "$eksdiag_keep" = 'true' ]; then
  [ "$eksdiag_agent_rc" -eq 0 ] && [ -s "$eksdiag_bundle" ] ||
    eksdiag_stop collect-failed 47 "the agent exited $eksdiag_agent_rc: $eksdiag_said"
  eksdiag_kept=$eksdiag_bundle
  eksdiag_bytes=$(wc -c <"$eksdiag_bundle" | tr -d ' ')
  # The agent cannot both keep a bundle and upload it, so the kept file goes up with curl and the same form.
  command -v curl >/dev/null 2>&1 || eksdiag_stop upload-failed 48 'curl is needed to upload a kept bundle'
  set --
  while IFS= read -r eksdiag_field; do
    set -- "$@" --form-string "$eksdiag_field"
  done <<EOF
$(sed -n '/"fields"/,/}/s/^ *"\([^"]*\)": *"\([^"]*\)",\{0,1\}$/\1=\2/p' "$eksdiag_form")
EOF
  eksdiag_attempt=1
  while :; do
    eksdiag_http=$(curl -sS --connect-timeout 10 --max-time 1800 -o "$eksdiag_work/upload.response" -w '%{http_code}' \
      "$@" -F "file=@$eksdiag_bundle;type=application/gzip" "$eksdiag_form_target" 2>>"$eksdiag_work/fetch.log") ||
      eksdiag_http=000
    case "$eksdiag_http" in
      2??) break ;;
      4??) eksdiag_attempt=5 ;;
    esac
    if [ "$eksdiag_attempt" -ge 5 ]; then
      eksdiag_stop upload-failed 48 "S3 answered the upload with HTTP $eksdiag_http: $(tr -d '\n' <"$eksdiag_work/upload.response" 2>/dev/null | cut -c1-300)"
    fi
    sleep $((eksdiag_attempt * 2))
    eksdiag_attempt=$((eksdiag_attempt + 1))
  done
else
  if [ "$eksdiag_agent_rc" -ne 0 ]; then
    # The agent exits 5 when the bundle was collected but its upload failed (after its own retries).
    [ "$eksdiag_agent_rc" -eq 5 ] && eksdiag_stop upload-failed 48 "the upload failed: $eksdiag_said"
    eksdiag_stop collect-failed 47 "the agent exited $eksdiag_agent_rc: $eksdiag_said"
  fi
  eksdiag_bytes=$(sed -n 's/.*uploaded \([0-9][0-9]*\) bytes to .*/\1/p' "$eksdiag_work/agent.log" | tail -n 1)
fi

eksdiag_status=uploaded
eksdiag_code=0
eksdiag_log "uploaded to $eksdiag_key"
exit 0
