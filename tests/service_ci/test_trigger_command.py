"""`gitops-bot trigger` against a scripted bot on loopback.

The stub answers each request with the next scripted answer and records
what it received. Sleeps between retries are recorded instead of slept
(``time.sleep`` is replaced), so the tests see every wait and take none.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot import trigger
from bot.cli import main
from tests.service_ci.conftest import (
    AUDIENCE,
    World,
    claims_for,
    sandbox_signed,
    wait_for_mr,
)

MR_URL = "http://gitlab.example/platform/gitops/-/merge_requests/7"
CREATED = (
    201,
    {},
    {"status": "opened", "merge_request": {"iid": 7, "web_url": MR_URL}},
)
CI_ENV = {
    "GITOPS_BOT_ID_TOKEN": "header.payload.signature",
    "CI_JOB_TOKEN": "glcbt-job-token",
    "CI_PROJECT_PATH": "shop/web",
    "CI_COMMIT_SHA": "a" * 40,
    "CI_COMMIT_REF_NAME": "v1.2.0",
    "CI_PIPELINE_URL": "http://gitlab.example/shop/web/-/pipelines/5",
}

# (status, headers, body): a JSON object, or bytes sent as they are.
Scripted = tuple[int, dict[str, str], dict[str, Any] | bytes]


def _lower(headers: Any) -> dict[str, str]:
    """Header names in lower case (urllib sends ``Job-token``)."""
    return {name.lower(): value for name, value in headers.items()}


class StubBot:
    """Answers requests from a script; records (method, path, headers, body).

    Header names are recorded in lower case.
    """

    def __init__(self, answers: list[Scripted]) -> None:
        self.answers = list(answers)
        self.received: list[tuple[str, str, dict[str, str], Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                self.answer()

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                self.answer()

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"null")
                stub.received.append(
                    (self.command, self.path, _lower(self.headers), body)
                )
                status, headers, payload = stub.answers.pop(0)
                raw = isinstance(payload, bytes)
                data = payload if raw else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Length": len(data)}.items():
                    self.send_header(name, str(value))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                """Stay quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        ).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every sleep of the command, recorded and skipped."""
    recorded: list[float] = []
    monkeypatch.setattr("time.sleep", recorded.append)
    return recorded


@pytest.fixture
def ci_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables GitLab gives a tag job with an ID token."""
    for name, value in CI_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def stub() -> Iterator[Any]:
    """Factory: a stub bot with scripted answers, closed after the test."""
    made: list[StubBot] = []

    def make(*answers: Scripted) -> StubBot:
        made.append(StubBot(list(answers)))
        return made[-1]

    yield make
    for bot in made:
        bot.close()


def run(url: str, *extra: str) -> int:
    """`gitops-bot trigger` for web/staging v1.2.0 against ``url``."""
    argv = ["trigger", "--url", url, "--app", "web", "--env", "staging"]
    return main([*argv, "--tag", "v1.2.0", "--timeout", "30", *extra])


def test_prints_the_mr_url_and_sends_the_id_token_and_source(
    stub: Any, ci_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """201: exit 0, stdout is the MR URL; the body names the pipeline as source."""
    bot = stub(CREATED)

    assert run(bot.url) == 0

    assert capsys.readouterr().out == MR_URL + "\n"
    [(method, path, headers, body)] = bot.received
    assert (method, path) == ("POST", "/api/v1/deployments")
    assert headers["authorization"] == "Bearer header.payload.signature"
    assert "job-token" not in headers
    assert body == {
        "app": "web",
        "environment": "staging",
        "tag": "v1.2.0",
        "force": False,
        "source": {
            "project": "shop/web",
            "sha": "a" * 40,
            "ref": "v1.2.0",
            "pipeline_url": CI_ENV["CI_PIPELINE_URL"],
        },
    }


def test_without_an_id_token_the_job_token_is_sent(
    stub: Any, ci_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GITOPS_BOT_ID_TOKEN: the request carries JOB-TOKEN and no bearer."""
    monkeypatch.delenv("GITOPS_BOT_ID_TOKEN")
    bot = stub(CREATED)

    assert run(bot.url) == 0

    [(_, _, headers, _)] = bot.received
    assert headers["job-token"] == "glcbt-job-token"
    assert "authorization" not in headers


def test_5xx_and_429_are_retried_obeying_retry_after(
    stub: Any, ci_env: None, sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    """503, 429 (Retry-After: 7), 502, then 201: four tries, one MR URL printed."""
    bot = stub(
        (503, {}, {"message": "GitLab unavailable"}),
        (429, {"Retry-After": "7"}, {"message": "slow down"}),
        (502, {}, {}),
        CREATED,
    )

    assert run(bot.url) == 0

    assert len(bot.received) == 4
    assert len({json.dumps(body) for *_, body in bot.received}) == 1, "same request"
    assert sleeps[1] == 7.0, "the 429's Retry-After is obeyed"
    for jittered in (sleeps[0], sleeps[2]):
        assert 0 <= jittered <= trigger.BACKOFF_MAX_SECONDS
    assert capsys.readouterr().out == MR_URL + "\n"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "project shop/web may not deploy app web; allowed sources: shop/api"),
        (409, "tag v1.2.0 is older than v1.3.0 deployed; pass force to roll back"),
        (400, "tag: 'v 1' is not a valid image tag"),
        (401, "ID token has expired"),
    ],
)
def test_4xx_fails_at_once_with_the_bots_message(
    stub: Any,
    ci_env: None,
    sleeps: list[float],
    capsys: pytest.CaptureFixture[str],
    status: int,
    message: str,
) -> None:
    """A 4xx is final: one request, exit 2, the bot's message on stderr, no URL."""
    bot = stub((status, {}, {"error": HTTPStatus(status).phrase, "message": message}))

    assert run(bot.url) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert f"the bot refused (HTTP {status}): {message}" in err
    assert (len(bot.received), sleeps) == (1, [])


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (401, {"message": "401 Unauthorized"}, ': {"message": "401 Unauthorized"}'),
        (404, {"error": "404 Not Found"}, ': {"error": "404 Not Found"}'),
        (403, b"", ""),
        (200, b"<html>\n  <title>Sign in</title>\n</html>",
         ": <html> <title>Sign in</title> </html>"),
        (201, b"[]", ": []"),
        (200, {"id": 1, "name": "web"}, ': {"id": 1, "name": "web"}'),
    ],
)  # fmt: skip
def test_an_answer_that_is_not_the_bots_says_so(
    stub: Any,
    ci_env: None,
    sleeps: list[float],
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: Any,
    shown: str,
) -> None:
    """--url pointing at GitLab or a web page: the answer is not the bot's
    shape, so exit 2 saying that and asking about --url; no retry."""
    bot = stub((status, {}, body))

    assert run(bot.url) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"gitops-bot trigger: {bot.url}/api/v1/deployments answered HTTP {status} "
        f"with a body that is not the bot's (is --url the bot's address?){shown}\n"
    )
    assert (len(bot.received), sleeps) == (1, [])


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (
            "",
            "--url must be an http(s) URL, got '' "
            "(is GITOPS_BOT_URL set in the CI job?)",
        ),
        ("notaurl", "--url must be an http(s) URL, got 'notaurl'"),
        ("ftp://bot.example", "--url must be an http(s) URL, got 'ftp://bot.example'"),
        ("https://", "--url must be an http(s) URL, got 'https://'"),
        ("http://bot:99999", "--url must be an http(s) URL, got 'http://bot:99999'"),
        ("http://[::1", "--url must be an http(s) URL, got 'http://[::1'"),
    ],
)
def test_a_bad_url_exits_2_with_one_line(
    ci_env: None,
    sleeps: list[float],
    capsys: pytest.CaptureFixture[str],
    url: str,
    line: str,
) -> None:
    """Not an http(s) URL (GITOPS_BOT_URL unset): exit 2, one line, no retry."""
    assert run(url) == 2

    out, err = capsys.readouterr()
    assert (out, err) == ("", f"gitops-bot trigger: {line}\n")
    assert sleeps == []


@pytest.mark.parametrize(
    ("merge_request", "printed"),
    [
        (None, "unchanged: v1.2.0 is already on main"),
        ({"iid": 7, "web_url": MR_URL}, MR_URL),
    ],
)
def test_unchanged_prints_the_open_mr_or_where_the_tag_is(
    stub: Any,
    ci_env: None,
    capsys: pytest.CaptureFixture[str],
    merge_request: dict[str, Any] | None,
    printed: str,
) -> None:
    """Nothing to change: the open MR's URL if there is one, else the tag and
    the branch that already runs it."""
    answer = {
        "status": "unchanged",
        "merge_request": merge_request,
        "tag": "v1.2.0",
        "target_branch": "main",
    }
    bot = stub((200, {}, answer))

    assert run(bot.url) == 0

    assert capsys.readouterr().out == printed + "\n"
    assert len(bot.received) == 1


def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_an_unreachable_bot_fails_after_the_timeout(
    ci_env: None, sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens: retried until --timeout, then exit 1 naming the URL."""
    url = closed_port_url()

    status = main(
        ["trigger", "--url", url, "--app", "web", "--env", "staging"]
        + ["--tag", "v1.2.0", "--timeout", "0.3"]
    )

    assert status == 1
    assert url in capsys.readouterr().err
    assert sleeps, "it retried"


def status(merge_request: dict[str, Any] | None, tag: str) -> Scripted:
    """A GET /api/v1/deployments/web/staging answer."""
    return (200, {}, {"app": "web", "tag": tag, "merge_request": merge_request})


OPEN = {"iid": 7, "web_url": MR_URL, "state": "opened", "tag": "v1.2.0"}


def test_wait_merged_polls_until_the_target_runs_the_tag(
    stub: Any, ci_env: None, sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    """--wait merged: polls while the MR is open; exit 0 once the target has it."""
    bot = stub(CREATED, status(OPEN, "v1.0.0"), status(None, "v1.2.0"))

    assert run(bot.url, "--wait", "merged") == 0

    paths = [(method, path) for method, path, *_ in bot.received]
    poll = ("GET", "/api/v1/deployments/web/staging")
    assert paths == [("POST", "/api/v1/deployments"), poll, poll]
    assert sleeps == [trigger.POLL_SECONDS]
    out, err = capsys.readouterr()
    assert (out, err) == (MR_URL + "\n", "merged\n")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A monotonic clock that moves only when the command sleeps; the sleeps."""
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr("time.monotonic", lambda: now[0])
    monkeypatch.setattr("time.sleep", sleep)
    return slept


def test_wait_merged_out_of_time_names_the_mr_and_what_it_last_saw(
    stub: Any, ci_env: None, clock: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    """--timeout 8 with the MR still open: exit 1 naming !7, its URL, its
    last state, merge status and the bot's labels, and how to ask why."""
    waiting = {
        **OPEN,
        "draft": True,
        "detailed_merge_status": "not_approved",
        "labels": ["team::web", "gitops::hold"],
    }
    bot = stub(
        CREATED,
        status(OPEN, "v1.0.0"),
        status(OPEN, "v1.0.0"),
        status(waiting, "v1.0.0"),
    )

    assert run(bot.url, "--wait", "merged", "--timeout", "8") == 1

    # Polls at 0, 5 and 8 s: the last one falls on the deadline, not a poll early.
    assert len(bot.received) == 4
    assert clock == [trigger.POLL_SECONDS, 8 - trigger.POLL_SECONDS]
    assert capsys.readouterr().err == (
        f"gitops-bot trigger: wait merged: !7 ({MR_URL}) not merged within 8s; "
        "last seen: opened, draft, merge status not_approved, label gitops::hold; "
        "comment /gitops status on it for what blocks it\n"
    )


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ((403, {}, {"error": "Forbidden", "message": "project shop/web may not "
                    "deploy app web"}),
         "the bot refused (HTTP 403): project shop/web may not deploy app web"),
        ((200, {}, b"ok"),
         "{url}/api/v1/deployments/web/staging answered HTTP 200 with a body "
         "that is not the bot's (is --url the bot's address?): ok"),
    ],
)  # fmt: skip
def test_wait_merged_ends_on_a_refused_poll(
    stub: Any,
    ci_env: None,
    sleeps: list[float],
    capsys: pytest.CaptureFixture[str],
    answer: Scripted,
    shown: str,
) -> None:
    """A poll refused by the bot, or answered by something else: exit 1 at
    once with the bot's message, or saying the answer is not the bot's."""
    bot = stub(CREATED, answer)

    assert run(bot.url, "--wait", "merged") == 1

    assert sleeps == []
    expected = shown.format(url=bot.url)
    assert capsys.readouterr().err.endswith(f"wait merged: {expected}\n")


def test_wait_merged_fails_when_the_mr_is_gone_without_the_tag(
    stub: Any, ci_env: None, sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    """The MR closed unmerged: exit 1 at once, saying what the target runs."""
    bot = stub(CREATED, status(None, "v1.0.0"))

    assert run(bot.url, "--wait", "merged") == 1

    assert len(bot.received) == 2
    assert sleeps == []
    assert (
        "no open merge request and the target runs v1.0.0, not v1.2.0: "
        "the merge request was closed or superseded"
    ) in capsys.readouterr().err


def test_wait_merged_fails_at_once_when_an_open_mr_supersedes_the_tag(
    stub: Any, ci_env: None, sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    """The open MR now proposes v1.3.0 (a newer deploy updated it): ours will
    never be merged; exit 1 at the first poll, naming both tags."""
    bot = stub(CREATED, status({**OPEN, "tag": "v1.3.0"}, "v1.0.0"))

    assert run(bot.url, "--wait", "merged") == 1

    assert len(bot.received) == 2
    assert sleeps == []
    assert (
        "superseded: the open merge request !7 now proposes v1.3.0, not v1.2.0"
    ) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("answer", "tag", "digest", "merged"),
    [
        ({"tag": "v1.2.0", "merge_request": None}, "v1.2.0", None, True),
        ({"tag": "v1.2.0", "merge_request": {"tag": "v1.3.0"}}, "v1.2.0", None, True),
        ({"tag": "v1.0.0", "merge_request": {"tag": "v1.2.0"}}, "v1.2.0", None, False),
        ({"digest": "sha256:b", "merge_request": {"digest": "sha256:a"}},
         None, "sha256:a", False),
        ({"digest": "sha256:a", "merge_request": None}, None, "sha256:a", True),
        ({"tag": "v1.0.0", "merge_request": {"tag": "v1.3.0"}}, "v1.2.0", None,
         "superseded"),
        ({"digest": "sha256:b", "merge_request": {"digest": "sha256:c"}},
         None, "sha256:a", "superseded"),
        ({"tag": "v1.2.0", "digest": "sha256:b", "merge_request": None},
         "v1.2.0", "sha256:a", "closed"),
        ({"tag": "v1.3.0", "merge_request": None}, "v1.2.0", None, "closed"),
    ],
)  # fmt: skip
def test_is_merged_needs_our_tag_on_the_target(
    answer: dict[str, Any], tag: str | None, digest: str | None, merged: Any
) -> None:
    """Merged only when the target runs our tag and digest; an open MR for
    ours waits; an open MR for another, or none, fails at once."""
    if isinstance(merged, bool):
        assert trigger.is_merged(answer, tag, digest) is merged
        return
    with pytest.raises(trigger.NotMerged, match=merged):
        trigger.is_merged(answer, tag, digest)


def test_wait_merged_against_the_real_bot_returns_after_a_human_merge(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the real server: trigger waits on the open MR, returns 0 once merged."""
    now = time.time()
    token = sandbox_signed(world, claims_for(world, "shop/web", AUDIENCE, now))
    monkeypatch.setenv("GITOPS_BOT_ID_TOKEN", token)
    monkeypatch.setattr(trigger, "POLL_SECONDS", 0.05)
    finished: list[int] = []
    waiting = threading.Thread(
        target=lambda: finished.append(run(world.bot_url, "--wait", "merged"))
    )

    waiting.start()
    mr = wait_for_mr(world, "web")
    assert waiting.is_alive(), "trigger waits while the MR is open"
    world.gitops.mergerequests.get(mr.iid).merge()
    waiting.join(timeout=30)

    assert finished == [0]
    assert world.bot_mrs("web")[0].state == "merged"


@pytest.mark.parametrize("timeout", ["-5", "0", "nan", "inf"])
def test_a_timeout_that_is_not_positive_is_refused_before_any_request(
    stub: Any, ci_env: None, capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    """--timeout must be a positive, finite number: exit 2, nothing is sent."""
    bot = stub(CREATED)

    with pytest.raises(SystemExit) as exit_info:
        run(bot.url, "--timeout", timeout)

    assert exit_info.value.code == 2
    assert (
        "gitops-bot trigger: error: argument --timeout: must be a positive number "
        f"of seconds, got {timeout}\n"
    ) in capsys.readouterr().err
    assert bot.received == []


@pytest.mark.parametrize("timeout", [8.0, 40.0, 95.0])
def test_a_bot_that_never_answers_is_given_up_at_the_timeout(
    ci_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    timeout: float,
) -> None:
    """Each try waits for its answer only as long as --timeout leaves, and so
    do the pauses between tries: on the command's clock all of them end by
    the timeout (the last try gets at least MIN_TRY_SECONDS)."""
    now = [1000.0]
    tries: list[float] = []
    pauses: list[float] = []

    def silent(request: Any, timeout: float) -> None:
        tries.append(timeout)
        now[0] += timeout
        raise TimeoutError("timed out")

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    monkeypatch.setattr("time.monotonic", lambda: now[0])
    monkeypatch.setattr("time.sleep", sleep)
    monkeypatch.setattr("urllib.request.urlopen", silent)

    status = main(
        ["trigger", "--url", "http://127.0.0.1:9", "--app", "web", "--env"]
        + ["staging", "--tag", "v1.2.0", "--timeout", f"{timeout:g}"]
    )

    assert status == 1
    assert capsys.readouterr().err.endswith("timed out\n")
    assert max(tries) <= min(timeout, trigger.REQUEST_SECONDS)
    spent = now[0] - 1000.0
    assert spent <= timeout + trigger.MIN_TRY_SECONDS, (tries, pauses)
