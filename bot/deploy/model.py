"""The values of the deploy flow: request, snapshot, plan, result, refusals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import policy
from bot.errors import Refused
from bot.gitlab import MergeRequest, RepositoryFile
from bot.manifests import EditResult
from bot.record import DeployRecord, Pin, Source, parse_marker


class ManifestMissing(policy.InvalidReference):
    """A configured manifest file does not exist on the target branch."""

    http_status = 422


class ManifestMismatch(policy.InvalidReference):
    """A configured key holds the image of another repository than the app's."""

    http_status = 422


class ManifestUnusable(policy.InvalidReference):
    """A configured manifest cannot take the edit: no such image, key or
    marker in it, or YAML that does not parse. The GitOps repository or
    the configuration is at fault, not the request."""

    http_status = 422


class TargetMoved(policy.OlderTag):
    """A rebuild's tag is older than the one the target branch now holds."""


class Pinned(Refused):
    """The key is pinned to another tag until someone runs ``unpin``.

    ``markdown`` is the message for a GitLab note, when it differs: the
    pinner and reason there are someone's free text, inert as Markdown.
    """

    http_status = 409

    def __init__(self, message: str, markdown: str | None = None) -> None:
        super().__init__(message)
        self.markdown = markdown


@dataclass(frozen=True)
class DeployRequest:
    """One "deploy this image to this environment" request."""

    app: str
    environment: str
    tag: str | None = None
    digest: str | None = None
    source: Source | None = None
    force: bool = False
    dry_run: bool = False
    requested_by: str | None = None
    pin: Pin | None = None
    unpin: bool = False
    rebuild_of: DeployRecord | None = None

    @classmethod
    def rebuilding(cls, record: DeployRecord) -> DeployRequest:
        """The request that rebuilds the bot MR carrying ``record`` on the
        target head (the gate's regeneration, ``recreate``).

        Not forced: the pin the MR proposes is passed on explicitly, and the
        tag order it was planned with stands only while the target still
        holds ``record.previous_tag``; a target moved to a newer tag since
        refuses the rebuild with ``TargetMoved``.
        """
        return cls.from_record(record, pin=record.pin, rebuild_of=record)

    @classmethod
    def from_record(
        cls,
        record: DeployRecord,
        *,
        environment: str | None = None,
        force: bool = False,
        requested_by: str | None = None,
        **changes: Any,
    ) -> DeployRequest:
        """The request that deploys ``record``'s image again.

        App, tag, digest and source come from the record; ``environment`` and
        ``requested_by`` default to the record's. The pin is not carried over:
        pass ``pin=`` to keep or set one. ``changes`` replaces any other field.
        """
        if environment is None:
            environment = record.environment
        if requested_by is None:
            requested_by = record.requested_by

        fields: dict[str, Any] = {
            "app": record.app,
            "environment": environment,
            "tag": record.tag,
            "digest": record.digest,
            "source": record.source,
            "force": force,
            "requested_by": requested_by,
        }
        return cls(**(fields | changes))


@dataclass(frozen=True)
class MergeRequestRef:
    """The merge request a deploy landed in."""

    iid: int
    web_url: str


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did: ``opened``, ``updated`` or ``unchanged``."""

    status: str
    merge_request: MergeRequestRef | None
    branch: str
    commit: str | None
    previous_tag: str | None
    tag: str | None
    digest: str | None = None
    diff: str = ""
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """The result object of the job's ``--json`` and the HTTP API."""
        mr = self.merge_request
        return {
            "status": self.status,
            "merge_request": None if mr is None else vars(mr).copy(),
            "branch": self.branch,
            "commit": self.commit,
            "previous_tag": self.previous_tag,
            "tag": self.tag,
            "digest": self.digest,
            "dry_run": self.dry_run,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class Snapshot:
    """What GitLab holds for one key: files at the target head, open MRs."""

    head_sha: str
    files: tuple[RepositoryFile, ...]
    merge_requests: tuple[MergeRequest, ...]


@dataclass(frozen=True)
class Plan:
    """Everything ``carry_out`` writes, decided without touching GitLab."""

    request: DeployRequest
    branch: str
    target_branch: str
    head_sha: str
    edits: tuple[EditResult, ...]
    keep: MergeRequest | None
    duplicates: tuple[MergeRequest, ...]
    record: DeployRecord
    title: str
    description: str
    labels: tuple[str, ...]
    snapshot: Snapshot

    @property
    def changed(self) -> bool:
        """True when the edit changes the target branch at all."""
        return any(result.changed for result in self.edits)

    @property
    def diff(self) -> str:
        """The unified diff of every file the commit changes."""
        return "".join(result.diff for result in self.edits if result.changed)

    @property
    def same_request(self) -> bool:
        """True when the surviving MR already proposes this tag, digest and
        pin (an ``unpin`` of a pin not yet merged keeps the tag but must
        still rewrite the branch)."""
        old = None if self.keep is None else parse_marker(self.keep.description)
        return old is not None and (old.tag, old.digest, old.pin) == (
            self.record.tag,
            self.record.digest,
            self.record.pin,
        )
