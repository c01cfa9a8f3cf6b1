"""Who is acting: the user behind the request (or auto-merge) that moved a ref.

The core's branch events carry no user, but a pipeline belongs to the user
who pushed. A middleware (added by the CI part's ``setup``) remembers the
request's user in a context variable that the branch listeners, which run
inside the same request, read.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from bot.sandbox.http import USER_KEY
from bot.sandbox.records import User

_acting: contextvars.ContextVar[User | None] = contextvars.ContextVar(
    "sandbox_acting_user", default=None
)


def acting_user() -> User | None:
    """The user of the current request or auto-merge, if any."""
    return _acting.get()


@contextlib.contextmanager
def acting(user: User | None) -> Iterator[None]:
    """Run a block as ``user``."""
    marker = _acting.set(user)
    try:
        yield
    finally:
        _acting.reset(marker)


@web.middleware
async def acting_user_middleware(
    request: web.Request, handler: Any
) -> web.StreamResponse:
    """Expose the request's user to listeners that the request sets off."""
    with acting(request.get(USER_KEY)):
        return await handler(request)
