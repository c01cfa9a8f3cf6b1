"""`gitops-bot trigger`: service CI asks a running bot to deploy.

The job proves who it is with its GitLab CI/CD ID token (the variable named
by ``--id-token-env``, GITOPS_BOT_ID_TOKEN by default) or, failing that, its
CI_JOB_TOKEN. The bot's answer is printed as it came: the merge request URL
on success (``unchanged: <tag> is already on <branch>`` when there is no
merge request), the bot's own message on a refusal. 5xx, 429 and connection
failures are retried until ``--timeout`` (a 429's Retry-After is obeyed);
a 4xx is final. An answer that is not in the bot's shape (a JSON object;
for a refusal, ``{"error", "message"}``) is refused saying so: ``--url``
most likely points at something else, GitLab itself for instance.
``--wait merged`` polls the deployment until the target branch runs the
tag, and fails as soon as it never will: the open merge request proposes
another tag or digest (superseded), or none is open and the target runs
something else (closed). Out of time, it names the merge request and what
it last saw of it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_delay,
    wait_random_exponential,
)

from bot.errors import GitLabError, InvalidInput, Refused

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
POLL_SECONDS = 5.0
# One request waits at most this long for its answer, and never past --timeout;
# the last try before the deadline still gets MIN_TRY_SECONDS.
REQUEST_SECONDS = 30.0
MIN_TRY_SECONDS = 0.1
EXCERPT_CHARS = 200


class BotUnavailable(GitLabError):
    """The bot answered 5xx/429 or not at all until the deadline."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """``retry_after``: the seconds the bot asked us to wait, if it did."""
        super().__init__(message)
        self.retry_after = retry_after


class NotMerged(GitLabError):
    """``--wait merged`` ended without the tag on the target branch."""


@dataclass(frozen=True)
class Answer:
    """One answer: HTTP status, the body if a JSON object (else empty), and
    the start of the body as received (one line), for messages."""

    status: int
    body: dict
    excerpt: str = ""

    @property
    def is_bots_refusal(self) -> bool:
        """Whether the body is the bot's error shape ``{"error", "message"}``."""
        return isinstance(self.body.get("error"), str) and isinstance(
            self.body.get("message"), str
        )


def ensure_bot_url(url: str) -> str:
    """Return the bot's base URL without a trailing slash; refuse a non-URL.

    An empty one is most often an unset GITOPS_BOT_URL in the CI job.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        valid = valid and (parts.port is None or parts.port > 0)
    except ValueError:  # "http://[::1", "http://host:99999"
        valid = False
    if not valid:
        hint = " (is GITOPS_BOT_URL set in the CI job?)" if not url.strip() else ""
        raise InvalidInput(f"--url must be an http(s) URL, got {url!r}{hint}")
    return url.rstrip("/")


def caller_headers(environ: dict[str, str], id_token_env: str) -> dict[str, str]:
    """Return the authentication headers for this CI job, ID token first."""
    id_token = environ.get(id_token_env)
    if id_token:
        return {"Authorization": f"Bearer {id_token}"}
    job_token = environ.get("CI_JOB_TOKEN")
    if job_token:
        return {"JOB-TOKEN": job_token}
    raise InvalidInput(
        f"no credentials: set {id_token_env} (an id_tokens: entry for the bot's "
        "audience) or run inside a GitLab CI job (CI_JOB_TOKEN)"
    )


def deployment_body(args: argparse.Namespace, environ: dict[str, str]) -> dict:
    """Build the deploy request, with the pipeline as its source when known."""
    if not args.tag and not args.digest:
        raise InvalidInput("give --tag, --digest or both")
    body: dict = {"app": args.app, "environment": args.env, "force": args.force}
    if args.tag:
        body["tag"] = args.tag
    if args.digest:
        body["digest"] = args.digest
    source = {
        "project": environ.get("CI_PROJECT_PATH"),
        "sha": environ.get("CI_COMMIT_SHA"),
        "ref": environ.get("CI_COMMIT_REF_NAME"),
        "pipeline_url": environ.get("CI_PIPELINE_URL"),
    }
    if any(source.values()):
        body["source"] = {key: value for key, value in source.items() if value}
    return body


def _request(
    url: str, headers: dict[str, str], body: dict | None, seconds: float
) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json", **headers},
    )
    retry_after = None
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            answer = _answer(response.status, response.read())
    except urllib.error.HTTPError as error:
        answer = _answer(error.code, error.read())
        retry_after = _seconds(error.headers.get("Retry-After"))
    except (urllib.error.URLError, OSError) as error:
        raise BotUnavailable(f"{url}: {getattr(error, 'reason', error)}") from error
    if answer.status in RETRYABLE_STATUSES:
        raise BotUnavailable(
            f"{url}: HTTP {answer.status}: {_message(answer)}", retry_after
        )
    return answer


def _seconds(header: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is treated as absent)."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None


def _answer(status: int, raw: bytes) -> Answer:
    """The answer for ``raw``; a body that is no JSON object is kept as text."""
    try:
        decoded = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8
        decoded = None
    excerpt = " ".join(raw.decode(errors="replace").split())[:EXCERPT_CHARS]
    return Answer(status, decoded if isinstance(decoded, dict) else {}, excerpt)


def is_bots_answer(answer: Answer, key: str) -> bool:
    """Whether ``answer`` is a success in the bot's shape: an object with ``key``
    (``status`` for a deploy, ``app`` for a deployment's status)."""
    return answer.status < 400 and key in answer.body


def refusal_text(url: str, answer: Answer) -> str:
    """Why ``answer`` (an error, or no answer of the bot's) ends the command:
    the bot's own message, or that the answer is not the bot's at all."""
    if answer.is_bots_refusal:
        return f"the bot refused (HTTP {answer.status}): {answer.body['message']}"
    text = (
        f"{url} answered HTTP {answer.status} with a body that is not the bot's "
        "(is --url the bot's address?)"
    )
    return f"{text}: {answer.excerpt}" if answer.excerpt else text


def _message(answer: Answer) -> str:
    body = answer.body
    return str(body.get("message") or body.get("error") or answer.excerpt)


def _backoff(state: RetryCallState) -> float:
    """The bot's Retry-After when it gave one, else jittered exponential."""
    jitter = wait_random_exponential(
        multiplier=BACKOFF_SECONDS, max=BACKOFF_MAX_SECONDS
    )(state)
    error = state.outcome.exception() if state.outcome else None
    asked = getattr(error, "retry_after", None)
    return jitter if asked is None else min(asked, BACKOFF_MAX_SECONDS)


def call_bot(
    url: str, headers: dict[str, str], body: dict | None, timeout: float
) -> Answer:
    """Send one request, retrying 5xx, 429 and connection failures until timeout.

    Neither a slow answer nor a pause between tries runs past the timeout
    (give or take a last short try).
    """
    deadline = time.monotonic() + timeout

    def left(most: float) -> float:
        return max(min(most, deadline - time.monotonic()), MIN_TRY_SECONDS)

    def attempt() -> Answer:
        return _request(url, headers, body, left(REQUEST_SECONDS))

    send = retry(
        retry=retry_if_exception_type(BotUnavailable),
        wait=lambda state: min(_backoff(state), left(BACKOFF_MAX_SECONDS)),
        stop=stop_after_delay(timeout),
        reraise=True,
    )(attempt)
    return send()


def wait_for_merge(
    base: str, headers: dict[str, str], args: argparse.Namespace, request: dict
) -> None:
    """Poll the deployment until the target runs our tag; raise ``NotMerged``.

    ``request`` is the merge request the deploy answered with; the timeout
    message names it and what the last poll saw of it.
    """
    deadline = time.monotonic() + args.timeout
    status_url = f"{base}/api/v1/deployments/{args.app}/{args.env}"
    while True:
        left = max(deadline - time.monotonic(), 1.0)
        answer = call_bot(status_url, headers, None, left)
        if not is_bots_answer(answer, "app"):
            raise NotMerged(f"wait merged: {refusal_text(status_url, answer)}")
        if is_merged(answer.body, args.tag, args.digest):
            print("merged", file=sys.stderr)
            return
        request = answer.body.get("merge_request") or request
        left = deadline - time.monotonic()
        if left <= 0:
            raise NotMerged(not_merged_in_time(request, args.timeout))
        # The last poll falls on the deadline, not up to a poll early.
        time.sleep(min(POLL_SECONDS, left))


def not_merged_in_time(request: dict, timeout: float) -> str:
    """The timeout message: the merge request, its URL and what was last seen
    of it (state, draft, GitLab's merge status, the bot's labels)."""
    where = f" ({request['web_url']})" if request.get("web_url") else ""
    seen = [str(request.get("state") or "opened")]
    if request.get("draft"):
        seen.append("draft")
    if merge_status := request.get("detailed_merge_status"):
        seen.append(f"merge status {merge_status}")
    labels = [str(label) for label in request.get("labels") or ()]
    seen += [f"label {label}" for label in labels if label.startswith("gitops::")]
    return (
        f"wait merged: !{request.get('iid')}{where} not merged within "
        f"{timeout:g}s; last seen: {', '.join(seen)}; comment /gitops status "
        "on it for what blocks it"
    )


def is_merged(status: dict, tag: str | None, digest: str | None) -> bool:
    """Whether the deployment status shows ours merged; raise if it never will.

    Merged means the target branch runs our tag (or, without one, digest).
    Otherwise we keep waiting only while the open merge request proposes
    ours: one for another tag or digest superseded ours, and none at all
    means ours was closed or replaced on the target.
    """
    if _matches(status, tag, digest):
        return True
    request = status.get("merge_request")
    if request and _matches(request, tag, digest):
        return False
    wanted = _describe(tag, digest)
    if request:
        proposed = _describe(request.get("tag"), request.get("digest"))
        raise NotMerged(
            f"wait merged: superseded: the open merge request !{request.get('iid')} "
            f"now proposes {proposed}, not {wanted}"
        )
    running = _describe(status.get("tag"), status.get("digest"))
    raise NotMerged(
        f"wait merged: no open merge request and the target runs {running}, "
        f"not {wanted}: the merge request was closed or superseded"
    )


def _matches(found: dict, tag: str | None, digest: str | None) -> bool:
    """Whether ``found`` (a status or its merge request) names our tag and
    digest (each only when we gave it)."""
    return (tag is None or found.get("tag") == tag) and (
        digest is None or found.get("digest") == digest
    )


def _describe(tag: str | None, digest: str | None) -> str:
    """``v1.2.0``, ``sha256:...`` or ``v1.2.0@sha256:...``; ``nothing``."""
    return "@".join(part for part in (tag, digest) if part) or "nothing"


def outcome_line(body: dict) -> str:
    """What trigger prints: the merge request's URL, else why there is none
    (``unchanged: v1.2.0 is already on main``)."""
    request = body.get("merge_request") or {}
    if request.get("web_url"):
        return str(request["web_url"])
    image = body.get("tag") or body.get("digest") or "the image"
    branch = body.get("target_branch") or "the target branch"
    return f"{body.get('status', 'unchanged')}: {image} is already on {branch}"


def run_trigger(args: argparse.Namespace) -> int:
    """Run `gitops-bot trigger`; see the module docstring."""
    base = ensure_bot_url(args.url)
    environ = dict(os.environ)
    headers = caller_headers(environ, args.id_token_env)
    deploy_url = f"{base}/api/v1/deployments"
    body = deployment_body(args, environ)
    answer = call_bot(deploy_url, headers, body, args.timeout)
    if not is_bots_answer(answer, "status"):
        # The bot's own 403/409 say policy; the rest is about our input.
        policy = answer.is_bots_refusal and answer.status not in {400, 404, 413, 415}
        error = Refused if policy else InvalidInput
        raise error(refusal_text(deploy_url, answer))

    request = answer.body.get("merge_request") or {}
    # Flushed: with --wait the job log shows the URL while the job waits.
    print(outcome_line(answer.body), flush=True)
    if args.wait == "merged" and request:
        wait_for_merge(base, headers, args, request)
    return 0
