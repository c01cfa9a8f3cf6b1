"""An offline GitLab: REST API v4 over real git repositories, with webhooks
and injectable faults. See ``server.Sandbox`` and ``server.SandboxThread``."""

from bot.sandbox.server import Sandbox, SandboxThread

__all__ = ["Sandbox", "SandboxThread"]
