#!/bin/bash
# cloud-init user data for one instance of the fleet (Amazon Linux 2023, Ubuntu 22.04 or 24.04).
# Installs Docker with Compose, the AWS CLI, curl and the SSM agent, and prepares APP_DIR with the
# compose file and an .env for the service. When the action's release-parameter already names a
# release, it logs in to ECR and starts that release (a new instance of an Auto Scaling group);
# otherwise the first deploy of the action pulls the image, writes IMAGE and APP_VERSION into .env
# (keeping every other line) and starts it.
#
# Before launching: fill in DATABASE_URL and API_TOKEN below (or, better, fetch them from SSM
# Parameter Store / Secrets Manager here), give the instance the role with
# examples/iam/instance-role-policy.json + AmazonSSMManagedInstanceCore, and the tag App=challenge-app
# that the deploy role's ssm:SendCommand condition requires.
set -euo pipefail

APP_DIR="${APP_DIR:-/opt/challenge-app}"
# The shared store: every instance behind the load balancer must use the same PostgreSQL.
DATABASE_URL='postgres://USER:PASSWORD@DB_HOST:5432/DB_NAME'
# One token, or several separated by commas while rotating.
API_TOKEN='CHANGE_ME'
# Seconds the old container keeps serving after /ready turns 503 on a deploy, so the load balancer
# stops routing to it first: above the target group's interval x unhealthy threshold (10 s x 2).
SHUTDOWN_DELAY='25'
# Compose v2 for distributions that do not package it (Amazon Linux 2023).
COMPOSE_VERSION='v2.29.7'
COMPOSE_PLUGIN_DIR="${COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}"
OS_RELEASE="${OS_RELEASE:-/etc/os-release}"
# The action's release-parameter and env-from-ssm (empty: none); new instances start from them.
RELEASE_PARAMETER="${RELEASE_PARAMETER-/APP_RELEASE_PARAMETER}"
ENV_FROM_SSM="${ENV_FROM_SSM-/APP_PARAMETER_PATH/}"

log() { echo "[user-data] $*"; }

# shellcheck source=/dev/null
. "$OS_RELEASE"
log "installing Docker, Compose, the AWS CLI and the SSM agent on ${PRETTY_NAME:-$ID}"
case "$ID" in
  amzn)
    # Amazon Linux 2023 ships curl (curl-minimal), the AWS CLI v2 and the SSM agent; make sure.
    dnf install -y docker awscli-2 amazon-ssm-agent
    systemctl enable --now amazon-ssm-agent
    ;;
  ubuntu)
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q docker.io docker-compose-v2 curl
    # Ubuntu AMIs ship the SSM agent as a snap; install it where it is missing.
    snap list amazon-ssm-agent >/dev/null 2>&1 || snap install amazon-ssm-agent --classic
    systemctl enable --now snap.amazon-ssm-agent.amazon-ssm-agent.service
    snap list aws-cli >/dev/null 2>&1 || snap install aws-cli --classic
    ;;
  *)
    log "unsupported distribution: $ID (use Amazon Linux 2023 or Ubuntu)"
    exit 1
    ;;
esac
systemctl enable --now docker

if ! docker compose version >/dev/null 2>&1; then
  log "installing the Compose v2 plugin $COMPOSE_VERSION"
  url="https://github.com/docker/compose/releases/download/$COMPOSE_VERSION/docker-compose-linux-$(uname -m)"
  tmp="$(mktemp -d)"
  curl -fsSL -o "$tmp/docker-compose" "$url"
  curl -fsSL -o "$tmp/docker-compose.sha256" "$url.sha256"
  (cd "$tmp" && echo "$(cut -d' ' -f1 docker-compose.sha256)  docker-compose" | sha256sum -c -)
  install -D -m 0755 "$tmp/docker-compose" "$COMPOSE_PLUGIN_DIR/docker-compose"
  rm -rf "$tmp"
fi
docker compose version

# The instance id, so /health's "instance" names the EC2 instance rather than the container.
imds_token="$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')"
instance_id="$(curl -fsS -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/instance-id)"

log "preparing $APP_DIR"
install -d -m 0755 "$APP_DIR"
# The same file as service/docker-compose.yml in the repository (a test keeps them equal).
cat >"$APP_DIR/docker-compose.yml" <<'COMPOSE'
# The service on an instance, and for local use. The deploy writes IMAGE and APP_VERSION to the
# .env file beside this file; API_TOKEN (and DATABASE_URL for the shared PostgreSQL store) come
# from that .env or the environment. Without DATABASE_URL documents live in SQLite on the volume.
#
#   docker build -f service/Dockerfile -t challenge-app:dev .
#   IMAGE=challenge-app:dev APP_VERSION=dev API_TOKEN=secret docker compose -f service/docker-compose.yml up -d
services:
  app:
    image: ${IMAGE}
    init: true
    restart: unless-stopped
    ports:
      - '80:8080'
    environment:
      APP_VERSION: ${APP_VERSION}
      API_TOKEN: ${API_TOKEN}
      DATABASE_URL: ${DATABASE_URL:-}
      INSTANCE_ID: ${INSTANCE_ID:-}
      WEB_CONCURRENCY: ${WEB_CONCURRENCY:-1}
      LOG_LEVEL: ${LOG_LEVEL:-info}
      # Seconds the old container keeps serving after /ready turns 503 (see README: zero downtime).
      SHUTDOWN_DELAY: ${SHUTDOWN_DELAY:-0}
      NODE_ENV: production
    volumes:
      - documents:/app/data
    # Above SHUTDOWN_DELAY (at most 30 s) plus the service's own 25 s drain timeout, so SIGTERM
    # ends it before SIGKILL would.
    stop_grace_period: 60s
    logging:
      driver: json-file
      options:
        max-size: 10m
        max-file: '3'

volumes:
  documents:
COMPOSE

# .env holds the secrets: readable by root only. The deploy rewrites IMAGE and APP_VERSION and
# keeps every other line.
(
  umask 077
  cat >"$APP_DIR/.env" <<ENV
INSTANCE_ID=$instance_id
DATABASE_URL=$DATABASE_URL
API_TOKEN=$API_TOKEN
SHUTDOWN_DELAY=$SHUTDOWN_DELAY
ENV
)

# An instance launched after the first deploy (Auto Scaling, a replacement) starts the current
# release: the action's release-parameter holds {"version","image","digest","commit","run"}.
if [ -n "$RELEASE_PARAMETER" ]; then
  region="$(curl -fsS -H "X-aws-ec2-metadata-token: $imds_token" http://169.254.169.254/latest/meta-data/placement/region)"
  release="$(aws ssm get-parameter --region "$region" --name "$RELEASE_PARAMETER" --query Parameter.Value --output text 2>/dev/null || true)"
  # The action writes this JSON itself (JSON.stringify of validated tags and image references: no
  # quotes or backslashes inside), so sed reads it; jq need not be installed.
  image="$(printf '%s' "$release" | sed -n 's/.*"image":"\([^"]*\)".*/\1/p')"
  version="$(printf '%s' "$release" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')"
  if [ -n "$image" ] && [ -n "$version" ]; then
    if [ -n "$ENV_FROM_SSM" ]; then
      # As the deploy does (env-from-ssm): every parameter under the path, NAME='value'.
      aws ssm get-parameters-by-path --region "$region" --path "$ENV_FROM_SSM" --recursive \
        --with-decryption --query 'Parameters[].[Name,Value]' --output text |
        while IFS=$'\t' read -r name value; do
          case "$value" in *"'"*) log "env-from-ssm: skipping $name (a single quote)"; continue ;; esac
          printf "%s='%s'\n" "${name##*/}" "$value"
        done >>"$APP_DIR/.env"
    fi
    printf 'IMAGE=%s\nAPP_VERSION=%s\n' "$image" "$version" >>"$APP_DIR/.env"
    log "starting the current release $version"
    aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "${image%%/*}"
    (cd "$APP_DIR" && docker compose pull && docker compose up -d)
    log "ready: $version runs in $APP_DIR (instance $instance_id)"
    exit 0
  fi
  log "no release in $RELEASE_PARAMETER yet"
fi
log "ready for the first deploy: $APP_DIR (instance $instance_id)"
