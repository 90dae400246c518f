#!/usr/bin/env bash
# Returns instances to an existing version by hand, through SSM Run Command, without GitHub.
# Prefer re-running the deploy workflow with `source-tag: vN` (health-gated, batched, reported);
# use this when that is not possible.
#
#   AWS_REGION=eu-west-1 ECR_REPOSITORY=challenge-app examples/manual-rollback.sh v6 i-0abc… i-0def…
#
# Optional: TAG_PREFIX (default v, as the action's `tag-prefix`: set it to the same value),
# APP_DIR (default /opt/challenge-app), HEALTH_URL (default http://localhost/health),
# HEALTH_TIMEOUT seconds (default 120). Needs the AWS CLI with the deploy role's permissions.
set -euo pipefail

die() {
  echo "manual-rollback: $*" >&2
  exit 2
}

tag_prefix="${TAG_PREFIX:-v}"
# The action's own rule for tag-prefix (action/inputs.ts): no trailing digit, so v1 + 2 ≠ v12.
[[ "$tag_prefix" =~ ^[A-Za-z_]([A-Za-z0-9_.-]{0,62}[A-Za-z_.-])?$ ]] ||
  die "TAG_PREFIX must start with a letter or _, hold only letters, digits, . _ -, and not end with a digit; got '$tag_prefix'"
[ $# -ge 2 ] || die "usage: $0 ${tag_prefix}N INSTANCE_ID [INSTANCE_ID…]"
version="$1"
shift
{ [[ "${version:0:${#tag_prefix}}" == "$tag_prefix" ]] && [[ "${version:${#tag_prefix}}" =~ ^[0-9]+$ ]]; } ||
  die "version must look like ${tag_prefix}6 (TAG_PREFIX=$tag_prefix), got '$version'"
for id in "$@"; do
  # SSM's own instance-id pattern, as the action uses it (action/inputs.ts).
  [[ "$id" =~ ^(i-([A-Za-z0-9_]{8}|[A-Za-z0-9_]{17})|mi-[A-Za-z0-9_]{17})$ ]] || die "not an instance id: '$id'"
done
region="${AWS_REGION:?set AWS_REGION}"
repository="${ECR_REPOSITORY:?set ECR_REPOSITORY}"
app_dir="${APP_DIR:-/opt/challenge-app}"
health_url="${HEALTH_URL:-http://localhost/health}"
health_timeout="${HEALTH_TIMEOUT:-120}"
[[ "$app_dir" =~ ^/[A-Za-z0-9/._-]+$ ]] || die "APP_DIR must be an absolute path of [A-Za-z0-9/._-]"
[[ "$health_url" =~ ^https?://[A-Za-z0-9.:/_-]+$ ]] || die "HEALTH_URL has unexpected characters"
[[ "$health_timeout" =~ ^[0-9]+$ ]] || die "HEALTH_TIMEOUT must be a number of seconds"

uri="$(aws ecr describe-repositories --region "$region" --repository-names "$repository" \
  --query 'repositories[0].repositoryUri' --output text)"
registry="${uri%%/*}"
# Fails here, before anything changes, when the tag does not exist.
aws ecr describe-images --region "$region" --repository-name "$repository" \
  --image-ids "imageTag=$version" --query 'imageDetails[0].imageDigest' --output text >/dev/null
image="$uri:$version"
echo "Rolling $* back to $image"

# The commands run on each instance (AWS-RunShellScript runs them with sh, without -e).
commands=(
  "set -eu"
  "cd $app_dir"
  "aws ecr get-login-password --region $region | docker login --username AWS --password-stdin $registry"
  "if docker compose version >/dev/null 2>&1; then compose='docker compose'; else compose=docker-compose; fi"
  "cp .env .env.before-manual-rollback"
  "grep -v -E '^(IMAGE|APP_VERSION)=' .env.before-manual-rollback > .env.next || true"
  "printf 'IMAGE=%s\\nAPP_VERSION=%s\\n' $image $version >> .env.next"
  "cat .env.next > .env && rm -f .env.next"
  "\$compose pull && \$compose up -d"
  "end=\$((\$(date +%s) + $health_timeout))"
  "until curl -fsS --max-time 5 $health_url | tr -d '[:space:]' | grep -q '\"version\":\"$version\"'; do [ \$(date +%s) -lt \$end ] || { echo 'not healthy on $version'; exit 1; }; sleep 3; done"
  "echo 'healthy on $version'"
)
json_escape() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }
parameters='{"commands":['
for command in "${commands[@]}"; do
  parameters+="\"$(printf '%s' "$command" | json_escape)\","
done
parameters="${parameters%,}],\"executionTimeout\":[\"$((health_timeout + 300))\"]}"

command_id="$(aws ssm send-command --region "$region" --document-name AWS-RunShellScript \
  --comment "manual rollback to $version" --instance-ids "$@" --parameters "$parameters" \
  --query 'Command.CommandId' --output text)"
echo "SSM command $command_id sent; waiting for every instance"

status=0
for id in "$@"; do
  aws ssm wait command-executed --region "$region" --command-id "$command_id" --instance-id "$id" || true
  result="$(aws ssm get-command-invocation --region "$region" --command-id "$command_id" \
    --instance-id "$id" --query '[Status,StandardOutputContent,StandardErrorContent]' --output text)"
  echo "== $id"
  echo "$result"
  [[ "$result" == Success* ]] || status=1
done
exit "$status"
