"""`crpsmap registry token create | revoke | list`: API tokens from the command line (docs/registry-api.md).

`create` prints the token alone on stdout (so `TOKEN=$(crpsmap registry token create alice)` works) and
what it is on stderr; the token is not stored, only its SHA-256, and cannot be shown again. Making and
revoking are audited ("create_api_token", "revoke_api_token", by the command line).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crpsmap.cli.console import err_console, fail, say
from crpsmap.cli.registry import DatabaseOption, _registry
from crpsmap.summary import literal

token_app = typer.Typer(
    help="API tokens: make one for a user (printed once), revoke one, list a user's.",
    no_args_is_help=True,
)


def _user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        fail(f"no user {username!r}")
    return user


@token_app.command("create")
def token_create(
    username: Annotated[str, typer.Argument(metavar="USER", help="the user the token acts for")],
    days: Annotated[
        int | None, typer.Option(help="days the token is valid (default 90, at most 365)")
    ] = None,
    name: Annotated[str, typer.Option(help="what the token is for (shown in lists)")] = "",
    database: DatabaseOption = None,
) -> None:
    """Make an API token for USER (it acts with USER's role) and print it once on stdout."""
    if len(name) > 100 or not name.isprintable():
        fail("--name: at most 100 characters, no control characters")
    _registry(database)
    from crpsmap.registry.api.tokens import issue_token
    from crpsmap.registry.models import API_TOKEN_DEFAULT_DAYS, API_TOKEN_MAX_DAYS
    from crpsmap.registry.roles import role_of

    lifetime = API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= lifetime <= API_TOKEN_MAX_DAYS:
        fail(f"--days {lifetime}: a token lives from 1 to {API_TOKEN_MAX_DAYS} days")

    user = _user(username)
    try:
        text, token = issue_token(user, name=name, days=lifetime)
    except ValueError as exc:
        fail(str(exc))
    role = role_of(user)
    print(text, flush=True)  # the token alone on stdout: nothing else goes there
    err_console.print(
        literal(
            f"token {token.prefix}… for {username} (role {role.value if role else 'none'}), valid until "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC; it is shown once and cannot be shown again"
        ),
        soft_wrap=True,
    )


@token_app.command("revoke")
def token_revoke(
    which: Annotated[
        str, typer.Argument(metavar="PREFIX_OR_ID", help="the token's prefix (crpsmap_XXXXXXXX) or id")
    ],
    database: DatabaseOption = None,
) -> None:
    """Revoke a token: it stops working at once."""
    _registry(database)
    from crpsmap.registry.api.tokens import PREFIX_CHARS, find_token, prefix_of, revoke_token
    from crpsmap.registry.models import ApiToken

    if which.isdigit():
        matches = list(ApiToken.objects.select_related("user").filter(pk=int(which)))
    elif len(which) > PREFIX_CHARS:  # the whole token, pasted
        found = find_token(which)
        matches = [found] if found is not None else []
    elif prefix_of(which):
        matches = list(ApiToken.objects.select_related("user").filter(prefix=which))
    else:
        fail(f"{which!r}: give a token's id or its prefix (crpsmap_ and 8 characters)")
    if not matches:
        fail(f"no token {which!r}")
    if len(matches) > 1:
        ids = ", ".join(str(t.pk) for t in matches)
        fail(f"{len(matches)} tokens start with {which!r}: give the id ({ids})")
    token = matches[0]
    if revoke_token(token):
        say(f"revoked token {token.prefix}… (id {token.pk}) of {token.user.get_username()}")
    else:
        say(f"token {token.prefix}… (id {token.pk}) was revoked already")


@token_app.command("list")
def token_list(
    username: Annotated[str, typer.Argument(metavar="USER", help="whose tokens")],
    database: DatabaseOption = None,
) -> None:
    """A user's tokens: id, prefix, name, made, expires, last used, state (never the token)."""
    _registry(database)
    from django.utils import timezone

    from crpsmap.registry.models import ApiToken

    user = _user(username)
    now = timezone.now()
    rows = ApiToken.objects.select_related("user").filter(user=user).order_by("created_at", "id")
    table = [["id", "prefix", "name", "created", "expires", "last used", "state"]]
    for t in rows:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        made, ends = f"{t.created_at:%Y-%m-%d}", f"{t.expires_at:%Y-%m-%d}"
        table.append([str(t.pk), t.prefix, t.name or "-", made, ends, used, t.state(now)])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        say("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
