#!/usr/bin/env bash
# Register this GPU server's runner with a legacy registration token (GitLab < 16 or when enabled):
#   sudo runners/register.sh https://gitlab.example.org REGISTRATION-TOKEN green-ai-gpu-1
# With GitLab 16+ runner authentication tokens, create the runner in the GitLab UI instead (see runners/README.md)
# and put its glrt- token into /etc/gitlab-runner/config.toml.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: $0 GITLAB_URL REGISTRATION_TOKEN RUNNER_TAG" >&2
    exit 2
fi
url=$1
token=$2
tag=$3

gitlab-runner register --non-interactive \
    --url "$url" \
    --registration-token "$token" \
    --name "$tag" \
    --tag-list "$tag" \
    --run-untagged=false \
    --locked=true \
    --executor docker \
    --docker-image python:3.12-slim \
    --docker-gpus all \
    --limit 1 \
    --request-concurrency 1
# gitlab-runner writes concurrent = 1 only if config.toml has no value; enforce it
sed -i 's/^concurrent = .*/concurrent = 1/' /etc/gitlab-runner/config.toml
echo "registered runner $tag; now run runners/setup.sh"
