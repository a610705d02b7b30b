"""Deployment artefacts generated from the event YAML: Prometheus scrape configuration and alert rules."""

from __future__ import annotations

from greenhack.deploy.locate import key_lines, locate_problems
from greenhack.deploy.plan import ExporterTarget, ScrapeJob, ScrapePlan, plan_scrapes
from greenhack.deploy.prometheus import DEFAULT_RULES_FILE, POWER_METRICS, alert_rules, prometheus_config
from greenhack.deploy.selectors import LabelMatcher, TargetSpec, parse_matchers, target_from_selector

__all__ = [
    "DEFAULT_RULES_FILE",
    "POWER_METRICS",
    "ExporterTarget",
    "LabelMatcher",
    "ScrapeJob",
    "ScrapePlan",
    "TargetSpec",
    "alert_rules",
    "key_lines",
    "locate_problems",
    "parse_matchers",
    "plan_scrapes",
    "prometheus_config",
    "target_from_selector",
]
