"""Helpers every sandbox route uses: errors, parameters, paging, access.

Errors come in GitLab's shapes: ``{"message": ...}`` (``api_error``) and
Grape's ``{"error": ...}`` (``grape_error``). Parameters merge the query
string, a JSON body and a form body, as Grape does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping

from bot.sandbox.records import GUEST, OWNER, Group, Project, User

MAX_PER_PAGE, DEFAULT_PER_PAGE = 100, 20
NO_TOTAL_ABOVE = 10_000
STATE_KEY: web.AppKey[Any] = web.AppKey("sandbox_state")
USER_KEY: web.RequestKey[User | None] = web.RequestKey("sandbox_user")
TOKEN_KIND_KEY: web.RequestKey[str] = web.RequestKey("sandbox_token_kind")
PARAMS_KEY: web.RequestKey[dict[str, Any]] = web.RequestKey("sandbox_params")


def _json_error(status: int, body: dict[str, Any]) -> web.HTTPException:
    error = web.HTTPException(text=json.dumps(body), content_type="application/json")
    error.set_status(status)
    return error


def api_error(status: int, message: Any) -> web.HTTPException:
    """Return GitLab's ``{"message": ...}`` error (string, list or dict)."""
    return _json_error(status, {"message": message})


def grape_error(status: int, error: str) -> web.HTTPException:
    """Return Grape's ``{"error": ...}`` error (missing params, unknown routes)."""
    return _json_error(status, {"error": error})


def bad_request(reason: str) -> web.HTTPException:
    """Return ``400 Bad request - <reason>``."""
    return api_error(400, f"400 Bad request - {reason}")


def not_found(thing: str) -> web.HTTPException:
    """Return ``404 <Thing> Not Found``."""
    return api_error(404, f"404 {thing} Not Found")


def forbidden(reason: str | None = None) -> web.HTTPException:
    """Return ``403 Forbidden`` or ``403 Forbidden - <reason>``."""
    return api_error(403, f"403 Forbidden - {reason}" if reason else "403 Forbidden")


def iso(dt: datetime | None = None) -> str:
    """Return GitLab's timestamp format: ``2026-12-03T18:24:26.123Z`` (UTC)."""
    moment = (dt or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def git_time(dt: datetime) -> str:
    """Return the commit timestamp format: ``2026-12-03T18:24:26.000+00:00``."""
    moment = dt.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "000+00:00"


def state_of(request: web.Request) -> Any:
    """Return the SandboxState behind ``request``."""
    return request.app[STATE_KEY]


async def params(request: web.Request) -> dict[str, Any]:
    """Return query, JSON body and form fields merged (body wins), as Grape does."""
    if PARAMS_KEY in request:
        return request[PARAMS_KEY]
    merged = _fields(request.query)
    if request.can_read_body:
        merged.update(await _body(request))
    request[PARAMS_KEY] = merged
    return merged


def _fields(pairs: MultiMapping[Any]) -> dict[str, Any]:
    """Query or form fields: ``key[]=a&key[]=b`` is the list ``key``, as in Grape.

    Otherwise the last value of a repeated key wins. Nested hashes
    (``actions[][action]=...``) are not decoded: no route the bot uses
    takes them as a form.
    """
    fields: dict[str, Any] = {}
    for key in dict.fromkeys(pairs):
        values = pairs.getall(key)
        if key.endswith("[]"):
            fields[key[:-2]] = list(values)
        else:
            fields[key] = values[-1]
    return fields


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as error:
            raise api_error(400, "400 Bad request - invalid JSON body") from error
        return body if isinstance(body, dict) else {}
    if request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return _fields(await request.post())
    return {}


def to_bool(value: Any, name: str) -> bool:
    """Coerce a Grape Boolean parameter; refuse anything else."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "t"):
        return True
    if text in ("false", "0", "no", "f", ""):
        return False
    raise grape_error(400, f"{name} is invalid")


def to_int(value: Any, name: str) -> int:
    """Coerce a Grape Integer parameter; refuse anything else."""
    if isinstance(value, bool):
        raise grape_error(400, f"{name} is invalid")
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise grape_error(400, f"{name} is invalid") from error


def require(values: dict[str, Any], *names: str) -> None:
    """Refuse with Grape's ``<name> is missing`` when a parameter is absent."""
    for name in names:
        if values.get(name) in (None, ""):
            raise grape_error(400, f"{name} is missing")


def page_window(request: web.Request) -> tuple[int, int]:
    try:
        page = int(request.query.get("page", 1))
        per_page = int(request.query.get("per_page", DEFAULT_PER_PAGE))
    except ValueError as error:
        raise grape_error(400, "page is invalid") from error
    page = max(page, 1)
    per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
    return page, per_page


def _link(request: web.Request, page: int, per_page: int) -> str:
    query = [(k, v) for k, v in request.query.items() if k not in ("page", "per_page")]
    query += [("page", str(page)), ("per_page", str(per_page))]
    base = str(request.url.with_query(None))
    return f"{base}?{urlencode(query)}"


def _page_headers(
    request: web.Request, page: int, per_page: int, has_next: bool, total: int | None
) -> dict[str, str]:
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if has_next else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    links = []
    if page > 1:
        links.append(f'<{_link(request, page - 1, per_page)}>; rel="prev"')
    if has_next:
        links.append(f'<{_link(request, page + 1, per_page)}>; rel="next"')
    links.append(f'<{_link(request, 1, per_page)}>; rel="first"')
    if total is not None:
        pages = max(1, math.ceil(total / per_page))
        headers["X-Total"] = str(total)
        headers["X-Total-Pages"] = str(pages)
        links.append(f'<{_link(request, pages, per_page)}>; rel="last"')
    headers["Link"] = ", ".join(links)
    return headers


def paginate(
    request: web.Request,
    items: list[Any],
    render: Callable[[Any], Any],
    *,
    totals: bool = True,
) -> web.Response:
    """Answer one page of ``items`` with GitLab's X-* and Link headers."""
    page, per_page = page_window(request)
    total = len(items)
    chunk = items[(page - 1) * per_page : page * per_page]
    shown_total = total if totals and total <= NO_TOTAL_ABOVE else None
    headers = _page_headers(
        request, page, per_page, page * per_page < total, shown_total
    )
    return web.json_response([render(item) for item in chunk], headers=headers)


def paginate_window(
    request: web.Request,
    chunk: list[Any],
    *,
    has_next: bool,
    render: Callable[[Any], Any],
) -> web.Response:
    """Answer an already-cut page without totals (as GitLab's commit list)."""
    page, per_page = page_window(request)
    headers = _page_headers(request, page, per_page, has_next, None)
    return web.json_response([render(item) for item in chunk], headers=headers)


def current_user(request: web.Request) -> User:
    """Return the authenticated user, or answer 401."""
    user = request.get(USER_KEY)
    if user is None:
        raise api_error(401, "401 Unauthorized")
    return user


def optional_user(request: web.Request) -> User | None:
    """Return the authenticated user, or None for an anonymous request."""
    return request.get(USER_KEY)


def require_admin(request: web.Request) -> User:
    """Return the user when an administrator, else 403."""
    user = current_user(request)
    if not user.is_admin:
        raise forbidden()
    return user


def group_chain(state: Any, group_id: int | None) -> list[Group]:
    """Return the group ``group_id`` and its ancestors, nearest first."""
    chain = []
    while group_id is not None:
        group = state.store.get("groups", group_id)
        if group is None:
            break
        chain.append(group)
        group_id = group.parent_id
    return chain


def group_access(state: Any, user: User | None, group: Group) -> int:
    """Return ``user``'s access level in ``group``, inherited from its parents."""
    if user is None:
        return 0
    if user.is_admin:
        return OWNER
    levels = [0]
    for ancestor in group_chain(state, group.id):
        levels += [
            m.access_level
            for m in state.store.find(
                "members", source_kind="group", source_id=ancestor.id
            )
            if m.user_id == user.id
        ]
    return max(levels)


def access_level(state: Any, user: User | None, project: Project) -> int:
    """Return ``user``'s access level in ``project``: direct or from groups."""
    if user is None:
        return 0
    if user.is_admin:
        return OWNER
    if project.namespace_kind == "user":
        if project.namespace_id == user.namespace_id:
            return OWNER
        inherited = 0
    else:
        inherited = group_access(
            state, user, state.store.get("groups", project.namespace_id)
        )
    direct = [
        m.access_level
        for m in state.store.find(
            "members", source_kind="project", source_id=project.id
        )
        if m.user_id == user.id
    ]
    return max([inherited, *direct])


def can_see(state: Any, user: User | None, visibility: str, level: int) -> bool:
    """Tell whether ``user`` may see something of ``visibility`` at ``level``."""
    if visibility == "public":
        return True
    if visibility == "internal" and user is not None:
        return True
    return level >= GUEST


def project_path(state: Any, project: Project) -> str:
    """Return the project's full path, ``group/sub/project``."""
    space = namespace_path(state, project.namespace_kind, project.namespace_id)
    return f"{space}/{project.path}"


def namespace_path(state: Any, kind: str, namespace_id: int) -> str:
    """Return the full path of a user or group namespace."""
    if kind == "user":
        owner = next(
            u for u in state.store.rows("users") if u.namespace_id == namespace_id
        )
        return owner.username
    chain = group_chain(state, namespace_id)
    return "/".join(group.path for group in reversed(chain))


def find_project(request: web.Request, id_or_path: str) -> Project:
    """Return the project by id or full path; 404 when absent or invisible."""
    state = state_of(request)
    user = request.get(USER_KEY)
    project = None
    if id_or_path.isdigit():
        project = state.store.get("projects", int(id_or_path))
    else:
        wanted = id_or_path.strip("/").lower()
        project = next(
            (
                p
                for p in state.store.rows("projects")
                if project_path(state, p).lower() == wanted
            ),
            None,
        )
    if project is None or not can_see(
        state, user, project.visibility, access_level(state, user, project)
    ):
        raise not_found("Project")
    return project


def require_access(
    request: web.Request, project: Project, level: int, message: str = "403 Forbidden"
) -> None:
    """Answer 403 (with ``message``) unless the user has ``level`` in ``project``."""
    user = current_user(request)
    if access_level(state_of(request), user, project) < level:
        raise api_error(403, message)


def project_in_url(request: web.Request, level: int, key: str = "id") -> Project:
    """The project named in the URL; 404 when invisible, 403 below ``level``."""
    project = find_project(request, request.match_info[key])
    require_access(request, project, level)
    return project


def ids_sorted(items: Iterable[Any], reverse: bool = False) -> list[Any]:
    """Return ``items`` sorted by their ``id``."""
    return sorted(items, key=lambda item: item.id, reverse=reverse)
