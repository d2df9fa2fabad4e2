"""URLs of the API (`/api/…`, every view audited) and of the admins' token pages (`/users/tokens/`).

Included from the registry's `urls.py` with `path("", include("crpsmap.registry.api.urls"))`.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from crpsmap.registry.api import api
from crpsmap.registry.api.audit import audited_patterns
from crpsmap.registry.views import tokens


def unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under /api/: a JSON 404 (audited like every API call), not the HTML page."""
    return api.create_response(request, {"detail": "no such API path; see /api/openapi.json"}, status=404)


_patterns, _app, _namespace = api.urls
urlpatterns = [
    path(
        "api/",
        include((audited_patterns([*_patterns, path("<path:rest>", unknown)]), _app), namespace=_namespace),
    ),
    path("users/tokens/", tokens.token_list, name="token_list"),
    path("users/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
]
