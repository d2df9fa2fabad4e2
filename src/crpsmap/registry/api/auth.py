"""Who may call what: a bearer token, checked against the one permission table (`roles.PERMISSIONS`).

Tokens only, no session cookies: an API call carries `Authorization: Bearer TOKEN` and nothing else
authenticates it. A browser that is logged in to the registry therefore cannot be made to call the API
by another site (no cookie is honoured, so there is nothing for cross-site request forgery to ride on,
and the API needs no CSRF token), a script never holds a user's password, and each token can be
revoked, expires, and is named in the audit trail.

Each operation names its action (`access(Action.x)`); the check runs before the request is read, so a
caller without the role gets 401 (no valid token) or 403 (the role does not allow it) whatever they
sent, and never a 404 or 422 that would tell them something about the data.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Schema
from ninja.errors import AuthorizationError, ValidationError
from ninja.security import HttpBearer

from crpsmap.registry.api.tokens import find_token, prefix_of, touch
from crpsmap.registry.models import ApiToken
from crpsmap.registry.roles import PERMISSIONS, Action, Role, role_of

#: what the request learnt about its caller, for the audit line (set on the request by TokenAuth)
CALLER = "_crpsmap_api_caller"


class TokenAuth(HttpBearer):
    """`Authorization: Bearer crpsmap_…`: a token that is not revoked, not expired, of an active user
    whose role may do `action`."""

    openapi_bearerFormat = "crpsmap_ followed by 43 characters"
    openapi_description = "a per-user API token (docs/registry-api.md); it acts with its user's role"

    def __init__(self, action: Action, query: frozenset[str] = frozenset()) -> None:
        self.action = action
        self.query = query
        super().__init__()

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        # B105: an empty token in an audit line (no token given), not a password
        caller: dict[str, Any] = {"token": "", "refused": "no token"}  # nosec B105 # reason above
        setattr(request, CALLER, caller)
        scheme, _, text = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not text.strip():
            if scheme:
                caller["refused"] = "not a bearer token"
            return None
        return self.authenticate(request, text.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        caller: dict[str, Any] = getattr(request, CALLER)
        caller["token"] = prefix_of(token)
        found = find_token(token)
        if found is None:
            caller["refused"] = "unknown token"
            return None
        caller["user"] = found.user
        now = timezone.now()
        state = found.state(now)
        if state != "active":
            caller["refused"] = f"token {state}"
            return None
        caller["refused"] = ""
        request.user = found.user  # row history names the token's user
        touch(found, now)
        role = role_of(found.user)
        if role is None or role not in PERMISSIONS[self.action]:
            caller["refused"] = f"role {role.value if role else 'none'} may not {self.action.value}"
            raise AuthorizationError(message=f"your role does not allow this ({self.action.value})")
        unknown = sorted(set(request.GET) - self.query)
        if unknown:  # a misspelt filter must not be ignored silently (checked once the caller may call)
            raise ValidationError(
                [{"loc": ("query", k), "msg": "unknown query parameter", "type": "unknown"} for k in unknown]
            )
        return found


def roles_for(action: Action) -> list[Role]:
    """The roles allowed to do `action`, in the table's order."""
    return [r for r in Role if r in PERMISSIONS[action]]


def access(
    action: Action, query: type[Schema] | None = None, openapi_extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Keyword arguments of an operation that needs `action` and takes the query parameters of `query`
    (no other): its auth, and the action and roles written into the OpenAPI document
    (`x-required-action`, `x-roles`), from which the tests take the matrix."""
    roles = [r.value for r in roles_for(action)]
    names = frozenset() if query is None else frozenset(query.model_fields)
    return {
        "auth": TokenAuth(action, names),
        "openapi_extra": {"x-required-action": action.value, "x-roles": roles, **(openapi_extra or {})},
    }
