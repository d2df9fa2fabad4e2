"""The Jinja2 environment of the registry's templates (autoescaped)."""

from __future__ import annotations

from typing import Any

from django.templatetags.static import static
from django.urls import reverse
from jinja2 import Environment

from crpsmap.registry.roles import Action, actions_of, allowed, role_of


def url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def environment(**options: Any) -> Environment:
    options.setdefault("autoescape", True)
    # B701: autoescape is on: set by settings.TEMPLATES and defaulted here
    env = Environment(**options)  # nosec B701 # reason above
    env.globals.update(
        url=url, static=static, allowed=allowed, actions_of=actions_of, role_of=role_of, Action=Action
    )
    return env
