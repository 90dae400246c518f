#!/usr/bin/env bash
# shellcheck disable=SC2317 # the step functions are called through run_step "$@"
# challenge-deploy instance script: replaces the app's container image on one instance, health-gated.
#
# Contract (the action, its tests and the end-to-end suite rely on it; keep it exact):
#  1. The action renders this template (action/instance-script.ts sets every value below through one
#     function that shell-quotes it and validates the patterned ones) and sends the whole rendered
#     script as the single element of the `commands` parameter of AWS-RunShellScript, with the
#     `executionTimeout` parameter set to the action's `command-timeout`. The values appear in the
#     rendered script as `readonly NAME='value'` lines, one per name: MODE
#     (deploy|rollback|check|hook|restore), DEPLOY_ID (the rollout's id; may be empty), REGION,
#     REGISTRY, IMAGE, VERSION, APP_DIR, HEALTH_URL, HEALTH_TIMEOUT, HEALTH_INTERVAL, ROLLBACK,
#     VERSION_SOURCE (json|header|none, from the action's `health-version`) and VERSION_FIELD (the
#     JSON dot path or the header name; empty for none), COMPOSE_CONTENT (the action's
#     `compose-file`; empty: the compose file is left as it is) and ENV_ENTRIES (the action's `env`:
#     `KEY='value'` lines; keys validated, values free of quotes and control characters) and
#     ENV_FROM_SSM (the action's `env-from-ssm`, a Parameter Store path; empty: none); for
#     MODE=hook also HOOK_PHASE (pre-deploy|post-deploy), HOOK_SERVICE (compose-service; empty: the
#     first service of the compose file) and the array HOOK_ARGS (`readonly -a`, the command's argv).
#  2. On the instance it runs, in APP_DIR:
#       aws ecr get-login-password --region REGION | docker login --username AWS --password-stdin REGISTRY
#     then writes APP_DIR/.env with IMAGE and APP_VERSION (every other line already in .env, such as
#     DATABASE_URL or API_TOKEN, is kept as it was) and the ENV_ENTRIES (replacing lines with the
#     same keys; before them, with MODE=deploy and ENV_FROM_SSM set, every parameter under that
#     path, read on the instance with its own role by
#       aws ssm get-parameters-by-path --path ENV_FROM_SSM --recursive --with-decryption
#     as KEY='value' with KEY the last segment of the parameter's name; a name that is not a
#     variable name or a value with a quote or control character fails the step, naming the
#     parameter, never the value), writes COMPOSE_CONTENT as APP_DIR/docker-compose.yml when it is set, then `pull`
#     and `up -d` with `docker compose` (v2) when available, else `docker-compose` (v1).
#     A deploy keeps the .env and compose file it replaced in APP_DIR/.challenge-deploy/ as
#     before-<VERSION>.env and before-<VERSION>.compose.yml (only the latest pair, with
#     before-<VERSION>.id holding DEPLOY_ID); MODE=rollback from that VERSION restores both exactly
#     instead of rewriting IMAGE and APP_VERSION.
#  3. Health check: `curl` on HEALTH_URL until it answers HTTP 200 and reports VERSION, or
#     HEALTH_TIMEOUT seconds pass. How the version is reported depends on VERSION_SOURCE:
#       json    the value at the dot path VERSION_FIELD of the JSON body (`version`: {"version":"v8"};
#               `build.version`: {"build":{"version":"v8"}}; a numeric segment indexes an array),
#               a string (escapes other than \uXXXX decoded) or a bare number, read by the awk
#               below (no jq or python on the instance). Limits: only the first 64 KiB of the body
#               is read; a key holding "." or a character outside [A-Za-z0-9_-] cannot be
#               addressed; of duplicate keys the last wins (as JSON.parse); nesting deeper than 64
#               or a body that is not JSON reports no version.
#       header  the value of the response header VERSION_FIELD (name case-insensitive, surrounding
#               blanks trimmed; of repeated headers the last wins).
#       none    no version: HTTP 200 is enough (an old container still answering passes too).
#     On failure it restores the previous .env and compose file exactly, brings the previous image
#     up and health-checks it
#     (HTTP 200 and, when the previous .env named one, the previous APP_VERSION, reported the same
#     way).
#  4. Output. SSM keeps only the first 24,000 characters of stdout, so the log stays short (noisy
#     commands write to a file; only a failing step's tail is printed) and the state is reported
#     three ways:
#       - early, before anything changes:  CHALLENGE_DEPLOY_PREVIOUS {"image":"…","version":"…"}
#       - the last line of output:         CHALLENGE_DEPLOY_RESULT {"outcome":"…", …}
#         fields: outcome, mode, version, image, previousVersion, previousImage, failedStep
#                 (app-dir|lock|compose|ecr-login|env-from-ssm|backup|pull|up|health), httpStatus ("000": no answer),
#                 reportedVersion, healthSeconds (a number), rollbackHttpStatus, compose (v1|v2),
#                 hookExitCode (MODE=hook), restored (MODE=restore: "true" when files were put back)
#       - the exit code, and the outcome on the result line:
#           0  deployed             VERSION is up and healthy
#           10 rolled-back          failed; the previous version is up again and healthy
#           11 rollback-failed      failed; the previous version did not become healthy either
#           12 first-deploy-failed  failed; .env named no previous IMAGE, nothing to roll back to
#           13 failed-unchanged     failed before changing anything (no app dir, no bash, lock busy,
#                                   no compose, ECR login, env-from-ssm, backup)
#           14 failed               failed; left on VERSION because ROLLBACK=false
#           15 unhealthy            MODE=check only: VERSION is not healthy (nothing was changed)
#           16 hook-failed          MODE=hook only: the command exited non-zero (nothing switched)
#           17 untouched            MODE=restore only: no backup of this deploy, nothing done
#         Any other code is an unexpected error of the script itself.
#  The action's own rollback (returning an already updated instance to its previous version) runs
#  this same script with MODE=rollback and the previous image and version.
#  MODE=hook (pre-/post-deploy-command) switches nothing: with the lock, the ECR login and
#  env-from-ssm as for a deploy, it builds the .env the deploy of VERSION would write (in a private
#  temporary file, never APP_DIR/.env) and the compose file it would write, pulls IMAGE for the
#  service and runs HOOK_ARGS as the command of a one-off container of it:
#       compose -f <compose file> --project-directory APP_DIR --env-file <new .env> \
#         run -d --no-deps -T --name <name> challenge-deploy-hook "${HOOK_ARGS[@]}"
#  then `docker wait <name>` for its exit code, `docker logs <name>` for its output and
#  `docker rm -f <name>` (also when the script ends early or is stopped: the EXIT trap). Not an
#  attached `run --rm`: compose v1 on podman's Docker API stays attached after the container
#  has exited and never returns. (A failed `run -d` reports compose's own exit code and output;
#  a failed `docker wait` reports 125.)
#  where <compose file> is the compose file with the service's block repeated as the service
#  challenge-deploy-hook (see with_service_copy: compose links a one-off container to the running
#  one, which host networking refuses).
#  It prints the command's last 40 lines between `----- <phase> output` and `----- end` and
#  reports hook-succeeded (exit 0) or hook-failed (16, hookExitCode: the command's exit code);
#  failed-unchanged (13) when a step before the command failed (failedStep names it: service when
#  no service could be named, pull, ...).
#  MODE=restore (the post step after a cancelled job) returns the instance to what the deploy of
#  VERSION with this DEPLOY_ID replaced, from its backup: untouched (17) when no backup of that
#  deploy exists (it never got as far as changing anything here; nothing is done), first-deploy-
#  failed (12) when the backup holds no .env, else it restores .env and the compose file when they
#  differ, runs `up -d` (a no-op when the containers already match) and health-checks the version
#  of the backup: restored (0) or rollback-failed (11).
#  MODE=check (the bake's re-check) changes nothing: no lock, no login, no file written in APP_DIR.
#  It runs the health check of 3. for VERSION (HEALTH_TIMEOUT: how long it retries) and reports
#  `deployed` (exit 0) when healthy, else `unhealthy` (exit 15) with failedStep `health`, the last
#  httpStatus and reportedVersion. Values it does not use (REGION, REGISTRY, IMAGE, …) are empty.
if [ -z "${BASH_VERSION:-}" ]; then
  # Started by sh (dash): run the script file again with bash.
  if [ -f "$0" ]; then exec bash "$0" "$@"; fi
  echo 'challenge-deploy: this script needs bash' >&2
  exit 13
fi
set -euo pipefail
exec 2>&1
umask 077

# ---- values rendered by the action ----
#@VALUES@#
# ---------------------------------------

readonly RESULT_PREFIX='CHALLENGE_DEPLOY_RESULT'
readonly PREVIOUS_PREFIX='CHALLENGE_DEPLOY_PREVIOUS'
WORK_DIR="$(mktemp -d)"
readonly WORK_DIR
# MODE=hook: the one-off container's name, set before it is created, so that it is removed
# however the script ends (command failed, start failed, SSM's timeout stopping the script).
HOOK_CONTAINER=''
remove_hook_container() {
  if [ -n "$HOOK_CONTAINER" ]; then docker rm -f "$HOOK_CONTAINER" >/dev/null 2>&1 9<&- </dev/null || true; fi
  HOOK_CONTAINER=''
}
trap 'remove_hook_container; rm -rf "$WORK_DIR"' EXIT
readonly ENV_FILE="$APP_DIR/.env"
readonly COMPOSE_FILE="$APP_DIR/docker-compose.yml"
readonly BACKUP_DIR="$APP_DIR/.challenge-deploy"

COMPOSE_KIND=''
PREVIOUS_IMAGE=''
PREVIOUS_VERSION=''
FAILED_STEP=''
HTTP_STATUS=''
REPORTED_VERSION=''
HEALTH_SECONDS=0
ROLLBACK_HTTP_STATUS=''
HOOK_EXIT_CODE=''
RESTORED=''

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

json_string() {
  # Escapes backslashes and quotes and drops control characters, so that values read from the
  # instance (.env, the health body) cannot break the result line.
  local value
  value="$(printf '%s' "$1" | tr -d '\000-\037')"
  value="${value//\\/\\\\}"
  value="${value//\"/\\\"}"
  printf '"%s"' "$value"
}

report() {
  local outcome="$1" code="$2"
  printf '%s {"outcome":%s,"mode":%s,"version":%s,"image":%s,"previousVersion":%s,"previousImage":%s,"failedStep":%s,"httpStatus":%s,"reportedVersion":%s,"healthSeconds":%s,"rollbackHttpStatus":%s,"compose":%s,"hookExitCode":%s,"restored":%s}\n' \
    "$RESULT_PREFIX" "$(json_string "$outcome")" "$(json_string "$MODE")" "$(json_string "$VERSION")" \
    "$(json_string "$IMAGE")" "$(json_string "$PREVIOUS_VERSION")" "$(json_string "$PREVIOUS_IMAGE")" \
    "$(json_string "$FAILED_STEP")" "$(json_string "$HTTP_STATUS")" "$(json_string "$REPORTED_VERSION")" \
    "$HEALTH_SECONDS" "$(json_string "$ROLLBACK_HTTP_STATUS")" "$(json_string "$COMPOSE_KIND")" \
    "$(json_string "$HOOK_EXIT_CODE")" "$(json_string "$RESTORED")"
  exit "$code"
}

# Runs one step with its output in a file; prints only its tail when it fails.
run_step() {
  local name="$1"
  shift
  local started=$SECONDS status=0
  # 9<&-: the deploy lock stays with this script, not with anything a step leaves running.
  "$@" >"$WORK_DIR/$name.log" 2>&1 9<&- || status=$?
  if [ "$status" = 0 ]; then
    log "$name: ok ($((SECONDS - started)) s)"
    return 0
  fi
  log "$name: failed with exit $status after $((SECONDS - started)) s; last lines:"
  tail -n 20 "$WORK_DIR/$name.log" | cut -c1-300
  FAILED_STEP="$name"
  return "$status"
}

compose() {
  if [ "$COMPOSE_KIND" = 'v2' ]; then
    docker compose "$@"
  else
    docker-compose "$@"
  fi
}

detect_compose() {
  if docker compose version >/dev/null 2>&1; then
    COMPOSE_KIND='v2'
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE_KIND='v1'
  else
    return 1
  fi
}

# Reads KEY=value from .env (or the file $2) without sourcing it (it holds the instance's secrets).
env_value() {
  local file="${2:-$ENV_FILE}"
  [ -f "$file" ] || return 0
  sed -n "s/^$1=//p" "$file" | tail -n 1 | tr -d '\r' | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

ecr_login() {
  aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "$REGISTRY"
}

# Builds in $WORK_DIR/env.next the .env a deploy of image $1 as version $2 writes.
next_env() {
  local image="$1" version="$2" keys='IMAGE|APP_VERSION' entries="$ENV_ENTRIES"
  if [ -s "$WORK_DIR/ssm.env" ]; then
    entries="$(cat "$WORK_DIR/ssm.env")${ENV_ENTRIES:+$'\n'$ENV_ENTRIES}"
  fi
  if [ -n "$entries" ]; then
    # One line per key, the last one (env over env-from-ssm).
    entries="$(printf '%s\n' "$entries" | awk -F= '{ key[NR] = $1; line[NR] = $0; last[$1] = NR }
      END { for (i = 1; i <= NR; i++) if (last[key[i]] == i) print line[i] }')"
    # The keys are validated names ([A-Za-z_][A-Za-z0-9_]*): safe inside the pattern.
    keys="$keys|$(printf '%s\n' "$entries" | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | tr '\n' '|')"
    keys="${keys%|}"
  fi
  {
    if [ -f "$WORK_DIR/env.before" ]; then
      grep -v -E "^($keys)=" "$WORK_DIR/env.before" || true
    fi
    if [ -n "$entries" ]; then printf '%s\n' "$entries"; fi
    printf 'IMAGE=%s\nAPP_VERSION=%s\n' "$image" "$version"
  } >"$WORK_DIR/env.next"
}

write_env() {
  next_env "$1" "$2"
  # cat into the existing file keeps its owner and mode (it holds secrets).
  cat "$WORK_DIR/env.next" >"$ENV_FILE"
}

# Reads every parameter under ENV_FROM_SSM with the instance's own role (SecureString decrypted
# here) into $WORK_DIR/ssm.env as KEY='value' lines: KEY is the parameter name's last segment.
# Nothing of a value is printed.
read_ssm_env() {
  local json="$WORK_DIR/ssm.json" i=0 name key value
  # Steps run under `||` (run_step), where set -e does not apply: every failure returns itself.
  aws ssm get-parameters-by-path --region "$REGION" --path "$ENV_FROM_SSM" --recursive \
    --with-decryption --output json >"$json" || return 1
  : >"$WORK_DIR/ssm.env"
  while :; do
    name="$(json_path_value "Parameters.$i.Name" <"$json")"
    [ -n "$name" ] || break
    value="$(json_path_value "Parameters.$i.Value" <"$json"; printf x)"
    value="${value%x}"
    key="${name##*/}"
    if ! [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ "$key" = IMAGE ] || [ "$key" = APP_VERSION ]; then
      echo "env-from-ssm: $name: the last part of the name is not a usable variable name"
      return 1
    fi
    if [[ "$value" == *"'"* ]] || [[ "$value" =~ [[:cntrl:]] ]]; then
      echo "env-from-ssm: $name: the value holds a single quote or a control character"
      return 1
    fi
    printf "%s='%s'\n" "$key" "$value" >>"$WORK_DIR/ssm.env" || return 1
    i=$((i + 1))
  done
  echo "env-from-ssm: $i parameter(s) under $ENV_FROM_SSM"
}

write_compose() {
  if [ -n "$COMPOSE_CONTENT" ]; then
    printf '%s' "$COMPOSE_CONTENT" >"$COMPOSE_FILE"
  fi
}

# Keeps what this deploy replaces, for the action's rollback from VERSION (MODE=rollback).
keep_backup() {
  mkdir -p "$BACKUP_DIR" && chmod 700 "$BACKUP_DIR" && rm -f "$BACKUP_DIR"/before-* || return 1
  if [ -f "$WORK_DIR/env.before" ]; then
    cp "$WORK_DIR/env.before" "$BACKUP_DIR/before-$VERSION.env" || return 1
  fi
  if [ -f "$WORK_DIR/compose.before" ]; then
    cp "$WORK_DIR/compose.before" "$BACKUP_DIR/before-$VERSION.compose.yml" || return 1
  fi
  # Written last: MODE=restore trusts a backup only when it carries this deploy's id.
  printf '%s\n' "$DEPLOY_ID" >"$BACKUP_DIR/before-$VERSION.id"
}

# MODE=rollback: when the running version's deploy kept what it replaced, and that is the version
# asked for, restores it exactly. Returns 1 when there is no such backup.
restore_backup() {
  local from="$PREVIOUS_VERSION"
  [[ "$from" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || return 1
  [ -f "$BACKUP_DIR/before-$from.env" ] || return 1
  grep -q -x "APP_VERSION=$VERSION" "$BACKUP_DIR/before-$from.env" || return 1
  cat "$BACKUP_DIR/before-$from.env" >"$ENV_FILE"
  if [ -f "$BACKUP_DIR/before-$from.compose.yml" ]; then
    cat "$BACKUP_DIR/before-$from.compose.yml" >"$COMPOSE_FILE"
  fi
  log "restored .env and the compose file as they were before $from"
}

restore_env() {
  if [ -f "$WORK_DIR/env.before" ]; then
    cat "$WORK_DIR/env.before" >"$ENV_FILE"
  fi
  if [ -f "$WORK_DIR/compose.before" ]; then
    cat "$WORK_DIR/compose.before" >"$COMPOSE_FILE"
  fi
}

# Prints the scalar at the dot path $1 of the JSON document on stdin (see the contract, 3.).
json_path_value() {
  awk -v path="$1" '
    function skip() { while (pos <= n && index(" \t\r\n", substr(doc, pos, 1)) > 0) pos++ }
    function str(   out, c, e) {
      pos++
      out = ""
      while (pos <= n) {
        c = substr(doc, pos, 1)
        if (c == "\"") { pos++; return out }
        if (c == "\\") {
          e = substr(doc, pos + 1, 1)
          pos += 2
          if (e == "u") { out = out "\\u" substr(doc, pos, 4); pos += 4 }
          else if (e == "n") out = out "\n"
          else if (e == "t") out = out "\t"
          else if (e == "r") out = out "\r"
          else if (e == "b" || e == "f") out = out " "
          else out = out e
          continue
        }
        out = out c
        pos++
      }
      bad = 1
      return out
    }
    # level: the path segment a key or index here must match; on: every enclosing one matched.
    function value(level, on,   c, key, idx, s) {
      if (bad) return
      if (level > 64) { bad = 1; return }
      skip()
      c = substr(doc, pos, 1)
      if (c == "{" || c == "[") {
        pos++
        skip()
        if (substr(doc, pos, 1) == (c == "{" ? "}" : "]")) { pos++; return }
        idx = 0
        while (!bad) {
          skip()
          if (c == "{") {
            if (substr(doc, pos, 1) != "\"") { bad = 1; return }
            key = str()
            skip()
            if (substr(doc, pos, 1) != ":") { bad = 1; return }
            pos++
          } else {
            key = idx ""
            idx++
          }
          value(level + 1, on && level <= segments && key == segment[level])
          skip()
          s = substr(doc, pos, 1)
          pos++
          if (s == (c == "{" ? "}" : "]")) return
          if (s != ",") { bad = 1; return }
        }
        return
      }
      if (c == "\"") {
        s = str()
      } else {
        s = ""
        while (pos <= n && index(",}] \t\r\n", c = substr(doc, pos, 1)) == 0) { s = s c; pos++ }
        if (s !~ /^(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|null)$/) { bad = 1; return }
        if (s == "null") return
      }
      if (on && level == segments + 1) { found = s; has = 1 }
    }
    BEGIN { segments = split(path, segment, ".") }
    { doc = doc $0 "\n" }
    END {
      n = length(doc)
      pos = 1
      value(1, 1)
      skip()
      if (pos <= n) bad = 1
      if (!bad && has) printf "%s", found
    }
  '
}

# Prints the value of the response header $1 in the curl -D file $2 (the last response's).
header_value() {
  awk -v name="$1" '
    BEGIN { name = tolower(name) }
    /^HTTP\// { has = 0; next }
    {
      line = $0
      sub(/\r$/, "", line)
      i = index(line, ":")
      if (i > 1 && tolower(substr(line, 1, i - 1)) == name) {
        v = substr(line, i + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", v)
        has = 1
      }
    }
    END { if (has) printf "%s", v }
  ' "$2"
}

# The version the last health answer reported, the way VERSION_SOURCE says (none: empty).
reported_version() {
  case "$VERSION_SOURCE" in
    json) head -c 65536 "$WORK_DIR/health.body" | json_path_value "$VERSION_FIELD" ;;
    header) header_value "$VERSION_FIELD" "$WORK_DIR/health.headers" ;;
  esac
}

compose_pull() { compose pull; }
compose_up() { compose up -d; }

# Polls HEALTH_URL until it answers 200 with the expected version (none: any version) or the
# timeout passes. Sets HTTP_STATUS, REPORTED_VERSION and HEALTH_SECONDS.
wait_healthy() {
  local expected="$1" started=$SECONDS attempts=0 body="$WORK_DIR/health.body"
  local max_attempts=$((HEALTH_TIMEOUT / HEALTH_INTERVAL + 1)) last_note=''
  if [ "$VERSION_SOURCE" = 'none' ]; then expected=''; fi
  while :; do
    attempts=$((attempts + 1))
    : >"$body"
    : >"$WORK_DIR/health.headers"
    HTTP_STATUS="$(curl -sS -o "$body" -D "$WORK_DIR/health.headers" -w '%{http_code}' --max-time 5 "$HEALTH_URL" 2>/dev/null)" || true
    HTTP_STATUS="${HTTP_STATUS:-000}"
    REPORTED_VERSION="$(reported_version 2>/dev/null | tr -d '\000-\037' | cut -c1-200)" || REPORTED_VERSION=''
    HEALTH_SECONDS=$((SECONDS - started))
    if [ "$HTTP_STATUS" = '200' ] && { [ -z "$expected" ] || [ "$REPORTED_VERSION" = "$expected" ]; }; then
      log "health: HTTP 200, version ${REPORTED_VERSION:-?} after $HEALTH_SECONDS s"
      return 0
    fi
    if [ "$HTTP_STATUS $REPORTED_VERSION" != "$last_note" ]; then
      last_note="$HTTP_STATUS $REPORTED_VERSION"
      log "health: HTTP $HTTP_STATUS, version ${REPORTED_VERSION:-none} (want ${expected:-any})"
    fi
    if [ "$HEALTH_SECONDS" -ge "$HEALTH_TIMEOUT" ] || [ "$attempts" -ge "$max_attempts" ]; then
      return 1
    fi
    sleep "$HEALTH_INTERVAL"
  done
}

deploy() {
  run_step pull compose_pull || return 1
  run_step up compose_up || return 1
  if ! wait_healthy "$VERSION"; then
    FAILED_STEP='health'
    log "health: $VERSION not healthy after $HEALTH_SECONDS s (last HTTP $HTTP_STATUS, version ${REPORTED_VERSION:-none})"
    return 1
  fi
}

restore_previous() {
  log "restoring the previous version ${PREVIOUS_VERSION:-?} ($PREVIOUS_IMAGE)"
  restore_env
  local status=$HTTP_STATUS version=$REPORTED_VERSION seconds=$HEALTH_SECONDS ok=0
  if run_step rollback-up compose_up && wait_healthy "$PREVIOUS_VERSION"; then
    ok=1
  fi
  ROLLBACK_HTTP_STATUS=$HTTP_STATUS
  HTTP_STATUS=$status
  REPORTED_VERSION=$version
  HEALTH_SECONDS=$seconds
  [ "$ok" = 1 ]
}

# Prints the first service of the compose file $1 (block-style YAML: the first key indented under
# a top-level `services:`). Flow style or a quoted name prints nothing: set compose-service.
first_service() {
  awk '
    /^services:[[:space:]]*$/ { on = 1; next }
    on && /^[^[:space:]#]/ { exit }
    on && /^[[:space:]]+[A-Za-z0-9._-]+:/ {
      name = $0
      sub(/^[[:space:]]+/, "", name)
      sub(/:.*/, "", name)
      print name
      exit
    }
  ' "$1"
}

# Prints the compose file $1 with the block of service $2 repeated right after it as service $3.
# A one-off container of a service that is running gets links to it from compose (v1 and v2),
# which host networking refuses ("link is not supported", "conflicting options"); a copy of the
# service under another name has no running container, so no links, and keeps everything else.
with_service_copy() {
  awk -v svc="$2" -v copy="$3" '
    BEGIN { gsub(/\./, "\\.", svc) }
    function flush(   i) { print ind copy ":"; for (i = 2; i <= n; i++) print blk[i]; grab = 0 }
    {
      line = $0
      if (grab) {
        match(line, /^[[:space:]]*/)
        if (line ~ /^[[:space:]]*(#.*)?$/ || RLENGTH > length(ind)) { blk[++n] = line; print line; next }
        flush()
      }
      if (line ~ /^services:[[:space:]]*(#.*)?$/) { on = 1; print line; next }
      if (on && line ~ /^[^[:space:]#]/) on = 0
      if (on && !done && match(line, /^[[:space:]]+/)) {
        pre = substr(line, 1, RLENGTH)
        if (substr(line, RLENGTH + 1) ~ ("^" svc ":[[:space:]]*(#.*)?$")) {
          ind = pre; grab = 1; done = 1; n = 1; blk[1] = line
        }
      }
      print line
    }
    END { if (grab) flush(); if (!done) exit 1 }
  ' "$1"
}

readonly HOOK_SERVICE_COPY='challenge-deploy-hook'

# compose on the project in APP_DIR, with the compose file and .env a deploy of VERSION writes.
HOOK_COMPOSE_FILE=''
hook_compose() {
  compose -f "$HOOK_COMPOSE_FILE" --project-directory "$APP_DIR" --env-file "$WORK_DIR/env.next" "$@"
}

hook_pull() { hook_compose pull "$1"; }

# MODE=hook: the command in a one-off container of the new image; nothing switches.
run_hook() {
  local service="$HOOK_SERVICE" status=0
  if [ "$MODE" = 'hook' ] && [ -n "$ENV_FROM_SSM" ]; then
    run_step env-from-ssm read_ssm_env || report failed-unchanged 13
  fi
  next_env "$IMAGE" "$VERSION"
  local source="$COMPOSE_FILE"
  if [ -n "$COMPOSE_CONTENT" ]; then
    source="$WORK_DIR/compose.next.yml"
    printf '%s' "$COMPOSE_CONTENT" >"$source"
  fi
  if [ -z "$service" ] && [ -f "$source" ]; then
    service="$(first_service "$source")"
  fi
  HOOK_COMPOSE_FILE="$WORK_DIR/compose.hook.yml"
  if [ -z "$service" ] || ! with_service_copy "$source" "$service" "$HOOK_SERVICE_COPY" >"$HOOK_COMPOSE_FILE"; then
    FAILED_STEP='service'
    log "service: no service ${service:-at all} found in the compose file; set the compose-service input"
    report failed-unchanged 13
  fi
  log "$HOOK_PHASE: service $service, image $IMAGE"
  run_step pull hook_pull "$service" || report failed-unchanged 13
  local started=$SECONDS
  # Detached, then waited for: an attached `run` (compose v1 on podman's Docker API) can stay
  # attached after the container has exited and never return.
  trap 'exit 143' TERM INT HUP # so that the EXIT trap removes the container
  HOOK_CONTAINER="challenge-deploy-hook-$$-$RANDOM$RANDOM"
  if hook_compose run -d --no-deps -T --name "$HOOK_CONTAINER" "$HOOK_SERVICE_COPY" "${HOOK_ARGS[@]}" >"$WORK_DIR/hook.log" 2>&1 9<&- </dev/null; then
    # In the background: a TERM (SSM's timeout) interrupts `wait`, so the EXIT trap runs at once.
    docker wait "$HOOK_CONTAINER" >"$WORK_DIR/hook.exit" 2>>"$WORK_DIR/hook.log" 9<&- </dev/null &
    if wait "$!" && status="$(cat "$WORK_DIR/hook.exit")" && [[ "$status" =~ ^[0-9]+$ ]]; then
      docker logs "$HOOK_CONTAINER" >"$WORK_DIR/hook.log" 2>&1 9<&- </dev/null || true
    else
      log "$HOOK_PHASE: docker wait $HOOK_CONTAINER failed: its exit code is unknown"
      status=125
    fi
  else
    status=$?
  fi
  remove_hook_container
  HOOK_EXIT_CODE="$status"
  log "$HOOK_PHASE: exit $status after $((SECONDS - started)) s"
  echo "----- $HOOK_PHASE output (last 40 lines) -----"
  tail -n 40 "$WORK_DIR/hook.log" | cut -c1-300
  echo '----- end -----'
  if [ "$status" = 0 ]; then
    report hook-succeeded 0
  fi
  FAILED_STEP="$HOOK_PHASE"
  report hook-failed 16
}

# MODE=restore: back to what the deploy of VERSION with DEPLOY_ID replaced, from its backup.
restore_interrupted() {
  local backup="$BACKUP_DIR/before-$VERSION"
  if [ -z "$DEPLOY_ID" ] || [ ! -f "$backup.id" ] || [ "$(cat "$backup.id")" != "$DEPLOY_ID" ]; then
    log "restore: no backup of deploy $DEPLOY_ID here: it changed nothing on this instance"
    report untouched 17
  fi
  if [ ! -f "$backup.env" ]; then
    log "restore: there was no .env before $VERSION: nothing to return to"
    report first-deploy-failed 12
  fi
  PREVIOUS_IMAGE="$(env_value IMAGE "$backup.env")"
  PREVIOUS_VERSION="$(env_value APP_VERSION "$backup.env")"
  RESTORED='false'
  if ! cmp -s "$backup.env" "$ENV_FILE"; then
    cat "$backup.env" >"$ENV_FILE"
    RESTORED='true'
  fi
  if [ -f "$backup.compose.yml" ] && ! cmp -s "$backup.compose.yml" "$COMPOSE_FILE"; then
    cat "$backup.compose.yml" >"$COMPOSE_FILE"
    RESTORED='true'
  fi
  log "restore: ${PREVIOUS_VERSION:-?} ($PREVIOUS_IMAGE); files $([ "$RESTORED" = true ] && echo 'put back' || echo 'already in place')"
  # The previous image is normally still on the instance; up pulls it (with the login) if not.
  run_step ecr-login ecr_login || FAILED_STEP=''
  if run_step up compose_up && wait_healthy "$PREVIOUS_VERSION"; then
    report restored 0
  fi
  FAILED_STEP="${FAILED_STEP:-health}"
  report rollback-failed 11
}

# MODE=check: the same health check as a deploy's, and nothing else.
check_health() {
  log "check: is $VERSION healthy at $HEALTH_URL?"
  if wait_healthy "$VERSION"; then
    report deployed 0
  fi
  FAILED_STEP='health'
  log "health: $VERSION not healthy after $HEALTH_SECONDS s (last HTTP $HTTP_STATUS, version ${REPORTED_VERSION:-none})"
  report unhealthy 15
}

main() {
  if [ "$MODE" = 'check' ]; then
    check_health
  fi
  log "$MODE: $IMAGE as $VERSION in $APP_DIR"
  if [ ! -d "$APP_DIR" ]; then
    FAILED_STEP='app-dir'
    log "app-dir: $APP_DIR does not exist"
    report failed-unchanged 13
  fi
  cd "$APP_DIR"
  if command -v flock >/dev/null 2>&1; then
    # Two runs on one instance would interleave their .env writes; the second waits its turn.
    exec 9<"$APP_DIR"
    if ! flock -w 60 9; then
      FAILED_STEP='lock'
      log 'lock: another deploy is still running on this instance'
      report failed-unchanged 13
    fi
  fi
  if [ -f "$ENV_FILE" ]; then
    cp "$ENV_FILE" "$WORK_DIR/env.before"
  fi
  if [ -f "$COMPOSE_FILE" ]; then
    cp "$COMPOSE_FILE" "$WORK_DIR/compose.before"
  fi
  PREVIOUS_IMAGE="$(env_value IMAGE)"
  PREVIOUS_VERSION="$(env_value APP_VERSION)"
  printf '%s {"image":%s,"version":%s}\n' "$PREVIOUS_PREFIX" "$(json_string "$PREVIOUS_IMAGE")" "$(json_string "$PREVIOUS_VERSION")"
  if ! detect_compose; then
    FAILED_STEP='compose'
    log 'compose: neither "docker compose" (v2) nor docker-compose (v1) is installed'
    report failed-unchanged 13
  fi
  log "compose: $COMPOSE_KIND"
  if [ "$MODE" = 'restore' ]; then
    restore_interrupted
  fi
  if ! run_step ecr-login ecr_login; then
    report failed-unchanged 13
  fi
  if [ "$MODE" = 'hook' ]; then
    run_hook
  fi
  if [ "$MODE" = 'deploy' ] && [ -n "$ENV_FROM_SSM" ]; then
    if ! run_step env-from-ssm read_ssm_env; then
      report failed-unchanged 13
    fi
  fi
  if [ "$MODE" = 'deploy' ]; then
    if ! run_step backup keep_backup; then
      report failed-unchanged 13
    fi
    write_env "$IMAGE" "$VERSION"
    write_compose
  elif ! restore_backup; then
    write_env "$IMAGE" "$VERSION"
    write_compose
  fi
  if deploy; then
    report deployed 0
  fi
  if [ "$ROLLBACK" != 'true' ]; then
    log 'rollback is disabled: leaving the instance as it is'
    report failed 14
  fi
  if [ -z "$PREVIOUS_IMAGE" ]; then
    log '.env named no previous IMAGE: nothing to roll back to'
    report first-deploy-failed 12
  fi
  if restore_previous; then
    report rolled-back 10
  fi
  report rollback-failed 11
}

main
