"""The HTML templates beside this package (``templates/``): the daily summary page and the alert email,
on one email-safe layout (inline styles, no scripts)."""

from __future__ import annotations

import functools

import jinja2

from recon_assets.domain.risk import RiskLevel

RISK_COLOURS = {
    RiskLevel.LOW: "#15803d",
    RiskLevel.MEDIUM: "#a16207",
    RiskLevel.HIGH: "#c2410c",
    RiskLevel.CRITICAL: "#b91c1c",
}


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("recon_assets.domain", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["badge_colour"] = lambda level: RISK_COLOURS[RiskLevel(level)]
    return environment


def render(template: str, **context) -> str:
    return _environment().get_template(template).render(**context)
