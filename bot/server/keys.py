"""Typed application keys: what one server instance holds.

Set by ``create_app`` (or its cleanup contexts, for what needs the running
loop) and read by handlers as ``request.app[keys.CONFIG]``.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.config import Config
from bot.deploy import KeyedLocks
from bot.gitlab import GitLab
from bot.server.auth import Authenticator
from bot.server.metrics import Metrics
from bot.server.readiness import Readiness
from bot.server.router import Router
from bot.server.webhooks import WebhookIntake

CONFIG = web.AppKey("config", Config)
GITLAB = web.AppKey("gitlab", GitLab)
METRICS = web.AppKey("metrics", Metrics)
ROUTER = web.AppKey("router", Router)
LOCKS = web.AppKey("locks", KeyedLocks)
INTAKE = web.AppKey("webhook_intake", WebhookIntake)
# Created in a cleanup context: an aiohttp session needs the running loop.
HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
READINESS = web.AppKey("readiness", Readiness)
