"""The configuration schema: frozen pydantic models, one per YAML section.

Keys follow DESIGN.md "Configuration" (add keys, rename none). References
to environments are checked against the names found in the file, passed in
the validation context as ``{"environments": [...]}``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.config.fields import (
    DAYS,
    Approvals,
    BodyBytes,
    Bool,
    Concurrency,
    Day,
    DottedKey,
    EndTime,
    EnvVarName,
    FluxPolicy,
    GroupPath,
    HttpUrl,
    ImageName,
    Label,
    Level,
    ManifestPath,
    Name,
    ProjectPath,
    QueueLength,
    Regex,
    Seconds,
    StartTime,
    Text,
    Timezone,
    Username,
    WebhookBytes,
    expected,
)
from bot.config.templates import (
    BranchTemplate,
    CommandPrefix,
    TitleTemplate,
    render_title,
)
from bot.errors import InvalidInput
from bot.policy import AccessLevel

KINDS = ("auto", "kustomize", "helm", "manifest", "argocd", "flux")
MERGE_METHODS = ("bot", "gitlab_auto_merge")
TierName = Literal["auto", "free", "premium"]
TIERS: tuple[str, ...] = get_args(TierName)
COMMANDS = (
    "help", "status", "merge", "hold", "unhold", "recreate", "retry",
    "pin", "unpin", "close", "promote",
)  # fmt: skip
READ_ONLY_COMMANDS = ("help", "status")
# Raised to maintainer by default where an environment requires approvals:
# these move a reviewed environment past its usual path.
PROTECTED_COMMANDS = ("merge", "pin", "unpin")


T = TypeVar("T")


class UnknownName(InvalidInput):
    """An app or environment name that the configuration does not define."""

    http_status = 404


def _one_of(choices: tuple[str, ...]) -> PlainValidator:
    def check(value: Any) -> str:
        if value not in choices:
            raise expected("one of " + ", ".join(choices))
        return value

    return PlainValidator(check)


def _known_environment(value: Any, info: ValidationInfo) -> str:
    known = (info.context or {}).get("environments")
    if known is not None and value not in known:
        names = ", ".join(known) or "none"
        raise expected(f"an environment defined under environments ({names})")
    return value


Kind = Annotated[str, _one_of(KINDS)]
MergeMethod = Annotated[str, _one_of(MERGE_METHODS)]
Tier = Annotated[TierName, _one_of(TIERS)]
CommandName = Annotated[str, _one_of(COMMANDS)]
EnvRef = Annotated[Name, PlainValidator(_known_environment)]


class Frozen(BaseModel):
    """Base of every section: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class GitLabConfig(Frozen):
    """Where the GitOps repository lives and how to talk to GitLab.

    ``tier``: ``auto`` (default) finds out whether merge request approval
    rules exist from GitLab's first answer (a 404 means Free); ``free``
    never calls the route; ``premium`` always does, and a 404 is an error.
    ``changelog`` (default true): list the titles of the source project's
    merge requests merged between the deployed and the new tag in the
    description, one compare call when the bot may read that project.
    """

    url: HttpUrl
    token_env: EnvVarName = "GITLAB_TOKEN"
    project: ProjectPath
    target_branch: Text = "main"
    timeout_seconds: Seconds = 30
    retry_deadline_seconds: Seconds = 120
    max_concurrent_calls: Concurrency = 8
    tier: Tier = "auto"
    changelog: Bool = True


class StaticToken(Frozen):
    """A fallback deploy token for ``project``, held in ``token_env``."""

    project: ProjectPath
    token_env: EnvVarName


class ServerConfig(Frozen):
    """The HTTP server: webhook secret, caller authentication, limits."""

    webhook_secret_env: EnvVarName = "GITOPS_BOT_WEBHOOK_SECRET"
    public_url: HttpUrl | None = None
    id_token_audience: Text | None = None
    static_tokens: tuple[StaticToken, ...] = ()
    sweep_interval_seconds: Seconds = 60
    max_body_bytes: BodyBytes = 65536
    max_webhook_bytes: WebhookBytes = 2 * 1024 * 1024
    max_pending_events: QueueLength = 1000
    command_prefix: CommandPrefix = "/gitops"


class TemplatesConfig(Frozen):
    """Branch and merge request title of each (app, environment)."""

    branch: BranchTemplate = "gitops/{env}/{app}"
    title: TitleTemplate = "Deploy {app} {tag} to {env}"


class ApprovalsConfig(Frozen):
    """Who must approve before a merge, and how many of them."""

    required: Approvals = 0
    groups: tuple[GroupPath, ...] = ()
    users: tuple[Username, ...] = ()
    min_access_level: Level = AccessLevel.DEVELOPER
    count_requester: Bool = False

    @model_validator(mode="after")
    def _reachable(self) -> ApprovalsConfig:
        if self.users and not self.groups and self.required > len(set(self.users)):
            raise expected(
                f"required ({self.required}) <= the number of users "
                f"({len(set(self.users))}) when no groups are listed"
            )
        return self


class Window(Frozen):
    """A weekly time window: ``days`` from ``start`` to ``end`` in ``timezone``.

    ``end`` before ``start`` crosses midnight into the next day; ``24:00``
    ends at midnight.
    """

    days: Annotated[tuple[Day, ...], Field(min_length=1)] = DAYS
    start: StartTime
    end: EndTime
    timezone: Timezone = "UTC"

    @model_validator(mode="after")
    def _not_empty(self) -> Window:
        if self.start == self.end:
            raise expected("end to differ from start (00:00 to 24:00 is a day)")
        return self

    @cached_property
    def zone(self) -> ZoneInfo:
        """The window's time zone."""
        return ZoneInfo(self.timezone)

    @cached_property
    def weekdays(self) -> frozenset[int]:
        """Days the window opens on, Monday = 0 as in ``date.weekday()``."""
        return frozenset(DAYS.index(day) for day in self.days)

    @property
    def start_minute(self) -> int:
        """Minutes after midnight when the window opens."""
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        """Minutes after midnight when the window closes (1440 for 24:00)."""
        return _minutes(self.end)

    def describe(self) -> str:
        """Short text such as ``sat,sun 18:00-06:00 Europe/Berlin``."""
        return f"{','.join(self.days)} {self.start}-{self.end} {self.timezone}"


class EnvironmentConfig(Frozen):
    """Policy of one environment: approvals, labels, merging, windows."""

    labels: tuple[Label, ...] = ()
    approvals: ApprovalsConfig = ApprovalsConfig()
    required_jobs: tuple[Text, ...] = ()
    auto_merge: Bool = True
    merge_method: MergeMethod = "bot"
    promote_to: EnvRef | None = None
    auto_promote: Bool = False
    reviewers: tuple[Username, ...] = ()
    tag_pattern: Regex | None = None
    freeze_windows: tuple[Window, ...] = ()
    merge_windows: tuple[Window, ...] = ()
    commands: dict[CommandName, Level] = Field(
        default_factory=dict, validate_default=True
    )
    override_access_level: Level = AccessLevel.MAINTAINER
    _name: str = PrivateAttr(default="")

    @field_validator("commands", mode="after")
    @classmethod
    def _with_defaults(
        cls, given: dict[str, AccessLevel], info: ValidationInfo
    ) -> dict[str, AccessLevel]:
        approvals = info.data.get("approvals")
        protected = approvals is not None and approvals.required > 0
        return {**default_command_levels(protected=protected), **given}

    @model_validator(mode="after")
    def _promotion_target(self) -> EnvironmentConfig:
        if self.auto_promote and self.promote_to is None:
            raise expected("promote_to to name an environment when auto_promote")
        return self

    @property
    def name(self) -> str:
        """The environment's name (its key under ``environments``)."""
        return self._name


class ManifestConfig(Frozen):
    """One file that holds the app's image reference in an environment.

    Which of ``key`` and ``policy`` a kind needs or refuses is a rule of
    :mod:`bot.config.rules`, checked on the plain mapping so that it shows
    beside any fault of ``path``.
    """

    path: ManifestPath
    kind: Kind = "auto"
    key: DottedKey | None = None
    image: ImageName | None = None
    policy: FluxPolicy | None = None

    def render(self, app: str, env: str) -> str:
        """The file path for ``app`` in ``env``."""
        return self.path.format(app=app, env=env)


class AppConfig(Frozen):
    """An app: its image, who may deploy it, where, and which files."""

    image: ImageName
    sources: Annotated[tuple[ProjectPath, ...], Field(min_length=1)]
    environments: Annotated[tuple[EnvRef, ...], Field(min_length=1)]
    manifests: Annotated[tuple[ManifestConfig, ...], Field(min_length=1)]
    _name: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _one_file_per_environment(self) -> AppConfig:
        if len(set(self.environments)) > 1:
            shared = [m.path for m in self.manifests if "{env}" not in m.path]
            if shared:
                raise expected(
                    "every manifest path to contain {env} when the app has "
                    f"several environments; shared: {', '.join(shared)}"
                )
        return self

    @property
    def name(self) -> str:
        """The app's name (its key under ``apps``)."""
        return self._name

    def manifests_for(self, env: str) -> tuple[ManifestConfig, ...]:
        """The manifests with paths rendered and the image filled in."""
        return tuple(
            manifest.model_copy(
                update={
                    "path": manifest.render(self.name, env),
                    "image": manifest.image or self.image,
                }
            )
            for manifest in self.manifests
        )

    def manifest_paths(self, env: str) -> tuple[str, ...]:
        """The files to edit for this app in ``env``."""
        return tuple(manifest.render(self.name, env) for manifest in self.manifests)


class Config(Frozen):
    """The whole configuration; pass it explicitly, never as a global."""

    gitlab: GitLabConfig
    server: ServerConfig = ServerConfig()
    templates: TemplatesConfig = TemplatesConfig()
    environments: Annotated[dict[Name, EnvironmentConfig], Field(min_length=1)]
    apps: Annotated[dict[Name, AppConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _name_sections(self) -> Config:
        for name, environment in self.environments.items():
            environment._name = name
        for name, app in self.apps.items():
            app._name = name
        return self

    def app(self, name: str) -> AppConfig:
        """Return the app called ``name``; raise ``UnknownName`` if none."""
        return _lookup("app", self.apps, name)

    def environment(self, name: str) -> EnvironmentConfig:
        """Return the environment called ``name``; raise ``UnknownName``."""
        return _lookup("environment", self.environments, name)

    def branch_name(self, app: str, env: str) -> str:
        """The merge request branch of (``app``, ``env``)."""
        return self.templates.branch.format(app=app, env=env)

    def title(
        self, app: str, env: str, *, tag: str | None = None, digest: str | None = None
    ) -> str:
        """The merge request title for deploying ``tag``/``digest``."""
        image = self.app(app).image
        return render_title(self.templates.title, app, env, image, tag, digest)

    def labels(self, app: str, env: str) -> tuple[str, ...]:
        """Labels of the merge request: the bot's, then the environment's."""
        own = ("gitops-bot", f"app::{app}", f"env::{env}")
        return tuple(dict.fromkeys(own + self.environment(env).labels))


def default_command_levels(*, protected: bool) -> dict[str, AccessLevel]:
    """Minimum access level of each command before the environment's own."""
    levels = {command: AccessLevel.DEVELOPER for command in COMMANDS}
    levels.update({command: AccessLevel.REPORTER for command in READ_ONLY_COMMANDS})
    if protected:
        levels.update(
            {command: AccessLevel.MAINTAINER for command in PROTECTED_COMMANDS}
        )
    return levels


def _lookup(kind: str, items: dict[str, T], name: str) -> T:
    try:
        return items[name]
    except KeyError:
        known = ", ".join(sorted(items)) or "none"
        raise UnknownName(f"unknown {kind} {name!r}; known: {known}") from None


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
