"""gitops-bot: a GitLab merge-request bot for GitOps image promotion."""

__version__ = "0.1.0"
