"""Rendering the server-side pages: one helper that adds what every page shows (user, CSRF token, notice)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup, escape

from medcurate.users import Role
from medcurate.web.deps import Principal
from medcurate.web.options import WebContext


def render(
    request: Request,
    context: WebContext,
    template: str,
    *,
    principal: Principal | None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """The page ``template`` rendered with ``values`` and the shared page context."""
    user = principal.user if principal else None
    token = principal.csrf_token if principal and principal.csrf_token else ""
    html = context.templates.get_template(template).render(
        user=user,
        csrf_token=token,
        csrf_field=Markup('<input type="hidden" name="csrf_token" value="{}">').format(token),
        can=lambda role: bool(user and user.role.allows(Role(role))),
        path=request.url.path,
        notice=request.query_params.get("notice"),
        **values,
    )
    return HTMLResponse(html, status_code=status)


def redirect(url: str, *, notice: str | None = None) -> RedirectResponse:
    """A 303 to ``url`` (a local path), with an optional notice for the next page."""
    if not url.startswith("/") or url.startswith("//"):
        url = "/"
    if notice:
        url, hash_mark, fragment = url.partition("#")  # the query goes before a #fragment
        url += ("&" if "?" in url else "?") + urlencode({"notice": notice}) + hash_mark + fragment
    return RedirectResponse(url, status_code=303)


def site_links(text: str, base_url: str) -> Markup:
    """``text`` escaped, with the published site's own addresses in it made links (a notice's live page).

    Only addresses under the configured base URL become links: a notice comes from the query string,
    so no other address in it is trusted.
    """
    escaped = str(escape(text))
    prefix = re.escape(str(escape(base_url.rstrip("/") + "/")))
    return Markup(
        re.sub(
            rf"{prefix}[^\s<>\"']*",
            lambda m: f'<a href="{m.group(0)}" target="_blank" rel="noopener">{m.group(0)}</a>',
            escaped,
        )
    )
