"""Every error greenhack raises on purpose, in one tree.

GreenhackError
  x ConfigError            the event YAML is not valid (carries every problem with its file and line)
  x SettingsError          an environment variable is not valid
  x TelemetryError         Prometheus could not give the energy of a window
  |  x PrometheusUnavailable   the server did not answer (connection, timeout, 5xx)
  |  x NoSamplesError          a query returned no sample where one was needed
  |  x TelemetryNotReady       Prometheus has not yet scraped past the end of a window; retry later
  x ImpactsError           BoaviztAPI could not turn energy and hardware into impacts
  |  x BoaviztaUnavailable     the server did not answer or answered an error; retry later
  |  x HardwareNameError       a CPU/GPU name or location BoaviztAPI does not know
  x ScoringError           predictions could not be scored or ranked
  |  x PredictionsError        the team's file is bad; carries every problem with its place
  |  x ExpressionError         a ranking expression does not parse or evaluate; carries the column
  x GitLabError            the GitLab API refused or failed
  |  x GitLabUnavailable       GitLab did not answer (connection, timeout, 429, 5xx); retry later
  |  x ArtifactTooLarge        a job's artifact file is over the size limit
  |  x WebhookPayloadError     a webhook body is not what GitLab sends
  |  |  x WebhookBodyTooLarge    it is larger than any body GitLab sends
  |  x JobNotFinished          GitLab says the job has not finished yet; retry later
  |  x JobNotMeasurable        the job cannot be tied to one measured server and window
  |  x JobTokenError           a CI job token is unknown or expired (401), or its job may not do this (403)
  x StoreError             the database refused or failed
  |  x NotFoundError           the event, team or submission asked for does not exist
  x ServiceError           a local helper service (Prometheus, BoaviztAPI, ...) could not be started
  x MeasureError           a command to measure could not be started (greenhack measure, the demo)

Errors from libraries underneath (httpx, python-gitlab, SQLAlchemy) are translated into these at the
adapter that calls them, with ``raise ... from exc``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ArtifactTooLarge",
    "BoaviztaUnavailable",
    "ConfigError",
    "ConfigProblem",
    "ExpressionError",
    "GitLabError",
    "GitLabUnavailable",
    "GreenhackError",
    "HardwareNameError",
    "JobNotFinished",
    "JobNotMeasurable",
    "JobTokenError",
    "MeasureError",
    "ImpactsError",
    "NoSamplesError",
    "NotFoundError",
    "PredictionsError",
    "PrometheusUnavailable",
    "ScoringError",
    "ServiceError",
    "SettingsError",
    "StoreError",
    "TelemetryError",
    "TelemetryNotReady",
    "WebhookBodyTooLarge",
    "WebhookPayloadError",
]


class GreenhackError(Exception):
    """Base of every error greenhack raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in an event YAML file, with its place."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        key = f" {self.path}:" if self.path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(GreenhackError):
    """The event YAML is not valid; ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SettingsError(GreenhackError):
    """An environment setting is missing or not valid."""


class TelemetryError(GreenhackError):
    """The energy of a window could not be obtained from Prometheus."""


class PrometheusUnavailable(TelemetryError):
    """Prometheus did not answer, or answered with a server error."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class NoSamplesError(TelemetryError):
    """A query returned no sample where one was needed."""

    def __init__(self, message: str, *, query: str) -> None:
        super().__init__(message)
        self.query = query


class TelemetryNotReady(TelemetryError):
    """Prometheus has not yet scraped the server past the end of the window; the evaluation retries later."""


class ImpactsError(GreenhackError):
    """Impacts could not be computed."""


class BoaviztaUnavailable(ImpactsError):
    """BoaviztAPI is unreachable or answered an error; the evaluation should retry later."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class HardwareNameError(ImpactsError):
    """A hardware name or location that BoaviztAPI does not know; ``key`` names the YAML key."""

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class ScoringError(GreenhackError):
    """Predictions could not be scored, or submissions could not be ranked."""


class PredictionsError(ScoringError):
    """The predictions file is bad; ``problems`` are messages for the team, each with its place."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class ExpressionError(ScoringError):
    """A ranking expression is not valid; ``column`` is 1-based in the formula."""

    def __init__(self, message: str, *, expression: str, column: int) -> None:
        self.expression = expression
        self.column = column
        super().__init__(f"column {column}: {message}\n  {expression}\n  {' ' * (column - 1)}^")


class GitLabError(GreenhackError):
    """The GitLab API refused or failed."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class GitLabUnavailable(GitLabError):
    """GitLab did not answer, timed out, or answered 429/5xx; the operation may succeed later."""


class ArtifactTooLarge(GitLabError):
    """A job's artifact file is larger than the platform accepts."""

    def __init__(self, message: str, *, max_bytes: int) -> None:
        super().__init__(message)
        self.max_bytes = max_bytes


class WebhookPayloadError(GitLabError):
    """A webhook body is not a GitLab Job Hook or Pipeline Hook payload as documented."""


class WebhookBodyTooLarge(WebhookPayloadError):
    """A webhook body is larger than GitLab ever sends; it was not read to its end."""

    def __init__(self, message: str, *, max_bytes: int) -> None:
        super().__init__(message)
        self.max_bytes = max_bytes


class JobNotFinished(GitLabError):
    """The GitLab API says the job is still running (a webhook arrived early or out of order)."""


class JobNotMeasurable(GitLabError):
    """The job cannot be tied to one measured server and window (no runner, unknown tags, no start/finish)."""


class JobTokenError(GitLabError):
    """A CI job token was refused: GitLab does not know it or its job has finished (``status_code`` 401), or its
    job may not use this route (403: not a job of the event, not running, not on a measured server)."""


class StoreError(GreenhackError):
    """The database refused or failed."""


class NotFoundError(StoreError):
    """The event, team or submission asked for does not exist."""


class ServiceError(GreenhackError):
    """A local service (Prometheus, BoaviztAPI, a database) could not be started or reached."""


class MeasureError(GreenhackError):
    """A command to measure could not be started (not found, not executable)."""
