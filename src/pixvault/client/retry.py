"""When and how long to wait before sending a request again: 429 and 5xx answers and broken
connections are retried with exponential backoff and jitter, honouring `Retry-After`."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from pixvault.client.errors import ApiError, ConnectionLost

OnRetry = Callable[[BaseException, float], None]  # the error, and the seconds until the retry


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` counts the first try; waits grow from `backoff` seconds, doubling, to at
    most `max_wait` (a longer `Retry-After` is capped there too)."""

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 30.0

    def retrying(self, on_retry: OnRetry | None) -> Retrying:
        return Retrying(**self._options(on_retry))

    def async_retrying(self, on_retry: OnRetry | None) -> AsyncRetrying:
        return AsyncRetrying(**self._options(on_retry))

    def _options(self, on_retry: OnRetry | None) -> dict[str, Any]:
        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None and state.next_action:
                on_retry(state.outcome.exception(), state.next_action.sleep)

        return {
            "stop": stop_after_attempt(max(1, self.attempts)),
            "wait": self.wait,
            "retry": retry_if_exception(should_retry),
            "before_sleep": before_sleep,
            "reraise": True,
        }

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, ApiError) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        backoff = self.backoff * 2 ** (state.attempt_number - 1)
        return min(backoff, self.max_wait) * random.uniform(0.5, 1.0)  # jitter spreads clients


def should_retry(error: BaseException) -> bool:
    return isinstance(error, ConnectionLost) or (isinstance(error, ApiError) and error.retryable)


def retry_after(header: str | None) -> float | None:
    """`Retry-After` as seconds from now: a number of seconds or an HTTP date."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
