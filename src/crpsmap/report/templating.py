"""The Jinja2 environment of the report and the trial page (autoescaped), and the shared base layout.

Templates live in `report/templates/crpsmap/`: `base.html` is the one layout of every crpsmap page (the
cohort report, the virtual-trial page and, through the registry's `registry/base.html`, the registry). The
registry's Django Jinja2 backend has `TEMPLATE_DIR` in its DIRS, so `{% extends "crpsmap/base.html" %}`
works there too. Pages are rendered from view models (dataclasses of plain strings and numbers); every
value is escaped unless the code that built it marked it `Markup` (SVG drawn from numbers and known labels).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

#: the folder holding `crpsmap/base.html`, `crpsmap/report.html`, `crpsmap/trial.html`
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


@cache
def environment() -> Environment:
    """The report's Jinja2 environment: autoescape on, undefined names are errors."""
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    """Render `crpsmap/<template>` with the context."""
    return environment().get_template(f"crpsmap/{template}").render(**context)


def trusted(svg: str) -> Markup:
    """Mark markup that crpsmap's own code built (SVG from numbers and escaped labels) as safe."""
    return Markup(svg)  # nosec B704 # callers pass SVG/CSS made by crpsmap from numbers and escaped labels


__all__ = ["TEMPLATE_DIR", "Markup", "environment", "render", "trusted"]
