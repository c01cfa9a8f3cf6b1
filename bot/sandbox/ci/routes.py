"""The CI part's entry point: tables, engine, job tokens, listeners, routes.

``app.py`` lists this module after the merge-request part, so that branch
listeners see merge requests already moved to their new head.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox import http
from bot.sandbox.ci import (
    context,
    identity_routes,
    job_routes,
    listeners,
    pipeline_routes,
    settings_routes,
)
from bot.sandbox.ci.engine import Engine
from bot.sandbox.ci.model import JOBS, RECORDS
from bot.sandbox.records import User


def job_token_resolver(state: Any) -> Any:
    """Authenticate ``JOB-TOKEN`` as the user who runs the job."""

    def resolve(kind: str, token: str) -> User | None:
        if kind != "job":
            return None
        job_id = state.ci.tokens.job_for(token)
        if job_id is None:
            return None
        return state.store.get("users", state.store.get(JOBS, job_id).user_id)

    return resolve


def setup(app: web.Application) -> None:
    """Wire the CI part into the sandbox application."""
    state = app[http.STATE_KEY]
    for table, cls in RECORDS.items():
        state.store.register(table, cls)
    state.ci = Engine(state)
    state.token_resolvers.append(job_token_resolver(state))
    listeners.listen(state)
    app.middlewares.append(context.acting_user_middleware)

    for module in (pipeline_routes, job_routes, settings_routes, identity_routes):
        module.setup(app)

    async def stop_jobs(_: web.Application) -> None:
        await state.ci.close()

    app.on_cleanup.append(stop_jobs)
