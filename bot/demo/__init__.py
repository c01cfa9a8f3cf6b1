"""`gitops-bot demo`: a scripted walk-through on the offline GitLab."""

from bot.demo.walkthrough import run

__all__ = ["run"]
