"""GitLab: the API gateway (platform token), webhook parsing, provisioning.

Only frozen dataclasses leave this package; python-gitlab's objects and errors stay inside the gateway.
"""

from __future__ import annotations

from greenhack.gitlab.gateway import GitLabGateway, make_gitlab_client
from greenhack.gitlab.models import (
    ArtifactFile,
    CiJob,
    CiPipeline,
    GroupInfo,
    HookInfo,
    JobTrace,
    ProjectInfo,
    ProjectRef,
    RunnerInfo,
    UserInfo,
    parse_gitlab_time,
)
from greenhack.gitlab.webhooks import EVALUATED_STATUSES, HookJob, JobHook, PipelineHook, parse_webhook

__all__ = [
    "EVALUATED_STATUSES",
    "ArtifactFile",
    "CiJob",
    "CiPipeline",
    "GitLabGateway",
    "GroupInfo",
    "HookInfo",
    "HookJob",
    "JobHook",
    "JobTrace",
    "PipelineHook",
    "ProjectInfo",
    "ProjectRef",
    "RunnerInfo",
    "UserInfo",
    "make_gitlab_client",
    "parse_gitlab_time",
    "parse_webhook",
]
