"""One GitLab HTTP call: in a thread, bounded, retried once, counted.

python-gitlab is synchronous; each call runs in a worker thread under a
semaphore (``max_concurrent_calls``). Its own retrying is switched off on
every request (``obey_rate_limit=False``, ``max_retries=0``,
``retry_transient_errors=False``) so that tenacity is the only retry layer:

- 429 waits for ``Retry-After`` (seconds), else jittered exponential backoff;
- 5xx except 501, timeouts and connection resets back off the same way;
- everything stops at the overall deadline and raises ``GitLabUnavailable``;
- any other answer is definite: mapped once by ``errors.error_for``;
- a caller's ``recover`` check runs before each retry that follows a 5xx or
  a lost answer (the request may have been carried out): when it finds the
  result, that is the answer and nothing is sent again.

Every attempt is counted per route and status in a ``CallCounter``, and
every retry (at the point where tenacity decides to try again) by the
route and the status that caused it. The request id bound in structlog's
context vars (``request_id``) goes to GitLab as ``X-Request-Id``, so one
deploy request can be followed in GitLab's logs too.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import gitlab
import requests
import structlog
from requests.adapters import HTTPAdapter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_random_exponential,
)

from bot.gitlab.errors import GitLabUnavailable, error_for

log = structlog.get_logger(__name__)

NO_ANSWER = "no-answer"
REQUEST_ID_HEADER = "X-Request-Id"
_NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class CallCounter:
    """Thread-safe counts of GitLab calls, and of their retries, by (route, status)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._retries: Counter[tuple[str, str]] = Counter()

    def add(self, route: str, status: str) -> None:
        """Count one attempt of ``route`` that ended with ``status``."""
        with self._lock:
            self._counts[(route, status)] += 1

    def add_retry(self, route: str, status: str) -> None:
        """Count one retry of ``route`` after an attempt that ended with ``status``."""
        with self._lock:
            self._retries[(route, status)] += 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        """Return a copy of the counts, safe to read while calls go on."""
        with self._lock:
            return dict(self._counts)

    def retry_snapshot(self) -> dict[tuple[str, str], int]:
        """Return a copy of the retry counts, by route and the status retried."""
        with self._lock:
            return dict(self._retries)

    def total(self) -> int:
        """Return the number of attempts counted so far."""
        with self._lock:
            return sum(self._counts.values())


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how fast transient faults are retried."""

    deadline_seconds: float = 60.0
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 10.0


@dataclass(frozen=True)
class Answer:
    """A successful answer: decoded JSON (or None) and the response headers."""

    body: Any
    headers: dict[str, str]


Recover = Callable[[], Awaitable[Any]]


class _Request(NamedTuple):
    """One request as ``Transport._attempt`` sends it."""

    step: str
    route: str
    path: str
    query: dict[str, Any] | None
    body: dict[str, Any] | None


class _Transient(Exception):
    """An attempt that may succeed if repeated; internal to this module."""

    def __init__(self, status: int, detail: str, retry_after: float | None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


class Transport:
    """Run python-gitlab requests off the event loop, with one retry layer."""

    def __init__(
        self,
        client: gitlab.Gitlab,
        *,
        max_concurrent_calls: int,
        policy: RetryPolicy,
        counter: CallCounter | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._semaphore = asyncio.Semaphore(max_concurrent_calls)
        self.counter = counter or CallCounter()
        self._last = threading.local()
        _size_pool(client.session, max_concurrent_calls)
        client.session.hooks["response"].append(self._remember)

    async def request(
        self,
        step: str,
        route: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        deadline_seconds: float | None = None,
        recover: Recover | None = None,
    ) -> Answer:
        """Send ``route`` (``"VERB /template"``) to ``path``; retry what is transient.

        Raises ``GitLabUnavailable`` past the deadline (the policy's, or a
        shorter ``deadline_seconds``), and the error that ``error_for`` names
        for any other failure. ``recover`` (for a write that is not
        idempotent) returns the body of the write found done, or None; it
        runs before a retry after a 5xx or no answer, and its own errors
        propagate.
        """
        deadline = min(self._policy.deadline_seconds, deadline_seconds or math.inf)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Transient),
            wait=self._wait,
            stop=stop_after_delay(deadline)
            | (lambda state: _stops_early(state, deadline)),
            before_sleep=lambda state: self._count_retry(route, state),
            reraise=True,
            sleep=self._sleep,
        )
        request = _Request(step, route, path, query, body)
        faults: list[_Transient] = []
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt_unless_done(request, recover, faults)
        except _Transient as fault:
            raise GitLabUnavailable(step, fault.status, _gave_up(fault)) from fault
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _attempt_unless_done(
        self, request: _Request, recover: Recover | None, faults: list[_Transient]
    ) -> Answer:
        """Attempt ``request``, unless ``recover`` finds it was done by an
        attempt whose answer was a 5xx or lost; add a transient fault to
        ``faults``."""
        if recover is not None and faults and _may_have_applied(faults[-1]):
            found = await recover()
            if found is not None:
                log.info("gitlab call found done", step=request.step)
                return Answer(body=found, headers={})
        try:
            return await self._attempt(*request)
        except _Transient as fault:
            faults.append(fault)
            raise

    async def _attempt(
        self,
        step: str,
        route: str,
        path: str,
        query: dict[str, Any] | None,
        body: dict[str, Any] | None,
    ) -> Answer:
        """Make one HTTP request in a worker thread under the semaphore."""
        verb = route.split(" ", 1)[0].lower()
        async with self._semaphore:
            return await asyncio.to_thread(
                self._send, step, route, verb, path, query, body
            )

    def _send(
        self,
        step: str,
        route: str,
        verb: str,
        path: str,
        query: dict[str, Any] | None,
        body: dict[str, Any] | None,
    ) -> Answer:
        """Send one request (worker thread); classify and count its outcome."""
        self._last.response = None
        try:
            response = self._client.http_request(
                verb,
                path,
                query_data=query or {},
                post_data=body,
                obey_rate_limit=False,
                retry_transient_errors=False,
                max_retries=0,
                extra_headers=_request_id_header(),
            )
        except _NETWORK_ERRORS as error:
            self.counter.add(route, NO_ANSWER)
            detail = _network_detail(error)
            # One info line per attempt, like a refused one; the caller
            # reports the failure once retrying stops.
            log.info(
                "gitlab call failed",
                step=step,
                route=route,
                status=NO_ANSWER,
                error=detail,
            )
            raise _Transient(0, detail, None) from error
        except (gitlab.GitlabHttpError, gitlab.GitlabAuthenticationError) as error:
            raise self._failure(step, route, error) from error

        self.counter.add(route, str(response.status_code))
        return Answer(body=_json_or_none(response), headers=dict(response.headers))

    def _failure(self, step: str, route: str, error: gitlab.GitlabError) -> Exception:
        """Return the exception for a non-2xx answer: transient or definite."""
        status = error.response_code or 0
        self.counter.add(route, str(status))
        detail = _detail(error.error_message)
        log.info("gitlab call refused", step=step, route=route, status=status)
        if status == 429 or (status >= 500 and status != 501):
            return _Transient(status, detail, self._retry_after())
        return error_for(step, status, detail)

    def _remember(self, response: requests.Response, *args: Any, **kw: Any) -> None:
        """Keep the worker thread's last raw response (for ``Retry-After``)."""
        self._last.response = response

    def _retry_after(self) -> float | None:
        """Read ``Retry-After`` (seconds) from this thread's last response."""
        response = getattr(self._last, "response", None)
        value = None if response is None else response.headers.get("Retry-After")
        try:
            return max(0.0, float(value)) if value is not None else None
        except ValueError:  # an HTTP date: fall back to our own backoff
            return None

    def _wait(self, state: RetryCallState) -> float:
        """Wait what GitLab asked for, else jittered exponential backoff."""
        fault = _fault_of(state)
        if fault is not None and fault.retry_after is not None:
            return fault.retry_after
        backoff = wait_random_exponential(
            multiplier=self._policy.backoff_base_seconds,
            max=self._policy.backoff_max_seconds,
        )
        return backoff(state)

    def _count_retry(self, route: str, state: RetryCallState) -> None:
        """Count the retry tenacity is about to make, by the status retried."""
        fault = _fault_of(state)
        status = NO_ANSWER if fault is None or not fault.status else str(fault.status)
        self.counter.add_retry(route, status)


def _stops_early(state: RetryCallState, deadline: float) -> bool:
    """Stop now when ``Retry-After`` would end past the deadline."""
    fault = _fault_of(state)
    if fault is None or fault.retry_after is None:
        return False
    elapsed = time.monotonic() - state.start_time
    return elapsed + fault.retry_after > deadline


def _may_have_applied(fault: _Transient) -> bool:
    """Whether GitLab may have carried out a request that ended with ``fault``:
    a 5xx or no answer may come after the work; a 429 comes before it."""
    return fault.status != 429


def _fault_of(state: RetryCallState) -> _Transient | None:
    """Return the transient fault of the last attempt, if that is how it ended."""
    error = state.outcome.exception() if state.outcome else None
    return error if isinstance(error, _Transient) else None


def _request_id_header() -> dict[str, str]:
    """``X-Request-Id`` for GitLab, from the request id bound to this context.

    ``asyncio.to_thread`` copies the context vars into the worker thread.
    """
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return {REQUEST_ID_HEADER: str(request_id)} if request_id else {}


def _gave_up(fault: _Transient) -> str:
    """Describe the last transient fault once retrying has stopped."""
    if fault.retry_after is not None:
        return f"{fault.detail} (retry after {fault.retry_after:g}s; gave up)"
    return f"{fault.detail} (still failing at the retry deadline)"


def _network_detail(error: Exception) -> str:
    """The network failure in a few words: urllib3's reason without the
    request's URL, which requests' message carries (twice, with the query)."""
    reason = error.args[0] if error.args else error
    reason = getattr(reason, "reason", None) or reason  # MaxRetryError's cause
    return f"{type(error).__name__}: {reason}"


def _detail(message: Any) -> str:
    """Flatten GitLab's ``message``/``error`` (string, list or object) to text."""
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace").strip() or "(empty body)"
    if isinstance(message, list):
        return "; ".join(map(str, message))
    if isinstance(message, dict):
        return "; ".join(f"{key}: {value}" for key, value in message.items())
    return str(message)


def _json_or_none(response: requests.Response) -> Any:
    """Decode a JSON body; None for an empty or non-JSON one (e.g. 204)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _size_pool(session: requests.Session, size: int) -> None:
    """Let the HTTP session keep as many connections as calls may run at once."""
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(size, 1))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
