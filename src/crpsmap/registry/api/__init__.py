"""The registry's JSON API (django-ninja): `/api/`, its OpenAPI document at `/api/openapi.json` and the
interactive documentation at `/api/docs` (docs/registry-api.md).

Every operation needs a bearer token (`auth.py`) whose user's role may do the operation's action (the
one table in `roles.py`), and every call is audited (`audit.py`). Errors are JSON with a `detail`
sentence: 400 (a body that is not JSON), 401 (no valid token), 403 (the role does not allow it), 404
(no such patient), 409 (the code is taken), 422 (invalid input, each field named), 503 (a research
export without a key); never a traceback.
"""

from __future__ import annotations

import json
import logging
from typing import Any, cast

from csp.decorators import csp_update
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import DocsBase
from ninja.parser import Parser

from crpsmap.registry.api.auth import CALLER
from crpsmap.registry.api.endpoints import cohort, patients

logger = logging.getLogger("crpsmap.registry.api")
API_VERSION = "1"


class LocalSwagger(DocsBase):
    """Swagger UI from the files django-ninja ships (served by the registry: no CDN, and the
    Content-Security-Policy's script-src 'self' holds), in a Jinja2 page."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout", "deepLinking": True}
        # JSON inside <script type="application/json">: "<" escaped, so no "</script>" can close it
        text = json.dumps(settings).replace("<", "\\u003c")
        return render(request, "registry/api_docs.html", {"title": api.title, "swagger_settings": text})


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a field is given twice")
    return dict(pairs)


class StrictParser(Parser):
    """Requests say one thing once: a JSON body without NaN or Infinity (not JSON) and without a field
    given twice (400), a query without a single-valued parameter given twice (422)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        value = json.loads(request.body, parse_constant=_refuse_constant, object_pairs_hook=_no_repeats)
        return cast(dict[str, Any], value)

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        repeated = [k for k in data if k not in list_fields and len(data.getlist(k)) > 1]
        if repeated:
            raise NinjaValidationError(
                [{"loc": ("query", k), "msg": "given more than once", "type": "repeated"} for k in repeated]
            )
        return super().parse_querydict(data, list_fields, request)


class RegistryAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        """The operation's function name (`list_patients`), not its module path."""
        return str(operation.view_func.__name__)


api = RegistryAPI(
    title="crpsmap registry API",
    version=API_VERSION,
    description=(
        "Pseudonymous access to the crpsmap clinic registry: patients, their visits, events and spread, "
        "the cohort statistics and the CSV export. Send `Authorization: Bearer TOKEN` (a per-user token "
        "an admin makes on /users/tokens/ or with `crpsmap registry token create`); the token acts with "
        "its user's role. Each operation's `x-required-action` and `x-roles` say who may call it. Every "
        "call is in the registry's audit trail."
    ),
    urls_namespace="api",
    parser=StrictParser(),
    openapi_url="/openapi.json",
    docs=LocalSwagger(),
    docs_url="/docs",
    # Swagger UI sets inline styles from its script; nothing else on these two pages is inline
    docs_decorator=csp_update({"style-src": ["'unsafe-inline'"]}),
)
api.add_router("/", patients.router)
api.add_router("/", cohort.router)


def _error(request: HttpRequest, status: int, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, **extra}, status=status)


def _where(loc: list[Any]) -> list[Any]:
    """A location without the operation's parameter name: ["body", "payload", "regions", 0] ->
    ["body", "regions", 0] (where the client put it)."""
    return loc[:1] + loc[2:] if loc[:1] == ["body"] else loc


def _invalid(request: HttpRequest, errors: list[dict[str, Any]]) -> HttpResponse:
    first = errors[0] if errors else {"field": "", "msg": "invalid input"}
    summary = f"{first['field']}: {first['msg']}" if first["field"] else first["msg"]
    return _error(request, 422, f"invalid input ({summary})", errors=errors)


@api.exception_handler(NinjaValidationError)
def _on_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for e in exc.errors:
        loc = _where([x if isinstance(x, int) else str(x) for x in e.get("loc", ())])
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append({"field": ".".join(str(x) for x in loc[1:]), "loc": loc, "msg": msg})
    return _invalid(request, errors)


@api.exception_handler(DjangoValidationError)
def _on_model_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """The models' own checks (validators, clean()) refused the row: 422, as the web form would."""
    by_field = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    errors = [
        {"field": "" if f == "__all__" else f, "loc": ["body"] + ([] if f == "__all__" else [f]), "msg": m}
        for f, msgs in by_field.items()
        for m in msgs
    ]
    return _invalid(request, errors)


@api.exception_handler(AuthenticationError)
def _on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    refused = (getattr(request, CALLER, None) or {}).get("refused") or "no token"
    response = _error(request, 401, f"a valid API token is needed ({refused}): Authorization: Bearer TOKEN")
    response["WWW-Authenticate"] = 'Bearer realm="crpsmap"'
    return response


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(Http404)
def _on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not found")


@api.exception_handler(Exception)
def _on_failure(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API call failed: %s %s", request.method, request.path, exc_info=exc)
    return _error(request, 500, "internal error; the call is in the audit trail")
