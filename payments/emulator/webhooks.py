"""Signed webhook delivery: a background queue with retries, plus manual sends for tests.

Every event is signed as Stripe signs it: header ``Stripe-Signature: t=<unix>,v1=<hex>``, where
``<hex>`` is the HMAC-SHA256 of ``"<t>.<body>"`` under the endpoint's ``whsec_...`` secret, so
``stripe.Webhook.construct_event(body, header, secret)`` accepts it.

Automatic deliveries run on one background thread, never inside the API request that caused
the event (the application may still be inside its own transaction then). A failed attempt
(non-2xx, a redirect, or no connection) is retried after each of ``retry_delays`` seconds and
then given up, which is Stripe's behaviour squeezed from three days into a few seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .errors import StripeError

logger = logging.getLogger("payments.emulator")

_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
_KEPT_RESPONSE_CHARS = 500


def signature_header(body: str, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` value for ``body`` signed at ``timestamp``."""
    signed = f"{timestamp}.{body}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Stripe treats a redirect as a failed delivery instead of following it.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxy: the receiver is on loopback, and an HTTP(S)_PROXY from the environment must not
# capture the traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of an event to the webhook URL, and how the receiver answered."""

    event_id: str
    event_type: str
    attempt: int  # 1 for a first try; automatic retries count up from there
    manual: bool  # sent by a test control rather than by the automatic queue
    signed_at: int  # the ``t=`` in the Stripe-Signature header
    status: int | None  # the receiver's HTTP status; None if it could not be reached
    error: str | None
    response_body: str  # the start of the receiver's answer, to see why it refused
    finished_at: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class _Job:
    event_id: str
    due: float  # time.monotonic() value
    automatic: bool  # automatic jobs wait while paused and are retried; manual ones are not
    attempt: int = 1
    signed_at: int | None = None


class WebhookDispatcher:
    """Queues, signs and POSTs events; records every attempt.

    Lock order: callers may hold the emulator state's lock when they call :meth:`publish`;
    this class never calls back into the state while holding its own condition.
    """

    def __init__(
        self,
        *,
        url: str | None,
        secret: str,
        retry_delays: Sequence[float],
        on_delivered: Callable[[str], None],
        timeout: float = 10.0,
    ) -> None:
        self._cond = threading.Condition()
        self.url = _checked_url(url)
        self.secret = secret
        self._retry_delays = list(retry_delays)
        self._on_delivered = on_delivered
        self._timeout = timeout
        self._payloads: dict[str, tuple[str, str]] = {}  # event id -> (type, JSON body)
        self._jobs: list[_Job] = []
        self._attempts: list[DeliveryAttempt] = []
        self._dropped: set[str] = set()
        self._paused = False
        self._in_flight = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="stripe-emulator-webhooks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout + 1)
            self._thread = None

    def configure(self, url: str | None, secret: str) -> None:
        with self._cond:
            self.url = _checked_url(url)
            self.secret = secret

    def reset(self) -> None:
        with self._cond:
            self._payloads.clear()
            self._jobs.clear()
            self._attempts.clear()
            self._dropped.clear()
            self._paused = False
            self._cond.notify_all()

    # -- the automatic queue ---------------------------------------------------------------

    def publish(self, event_id: str, event_type: str, body: str) -> None:
        """Remember an event's payload and, if a webhook URL is set, queue its delivery."""
        with self._cond:
            self._payloads[event_id] = (event_type, body)
            if self.url:
                self._jobs.append(_Job(event_id, due=time.monotonic(), automatic=True))
                self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def drop(self, event_id: str) -> None:
        """Never deliver ``event_id`` automatically (queued, or retried later)."""
        with self._cond:
            self._require_payload(event_id)
            self._dropped.add(event_id)
            self._jobs = [job for job in self._jobs if job.event_id != event_id]
            self._cond.notify_all()

    def queued(self) -> list[str]:
        """Ids of events waiting for delivery (held by a pause, or due for a retry)."""
        with self._cond:
            return [job.event_id for job in sorted(self._jobs, key=lambda job: job.due)]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is being sent or is due to be; False if ``timeout`` ran out.

        Events held back by :meth:`pause` don't count: they would wait forever.
        """
        with self._cond:
            return self._cond.wait_for(self._idle, timeout)

    def _idle(self) -> bool:
        return self._in_flight == 0 and not any(self._eligible(job) for job in self._jobs)

    def _eligible(self, job: _Job) -> bool:
        return not (job.automatic and self._paused)

    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._wait_for_due_job()
                if job is None:
                    return
                self._in_flight += 1
            attempt = None
            try:
                attempt = self._post(
                    job.event_id,
                    attempt=job.attempt,
                    manual=not job.automatic,
                    signed_at=job.signed_at,
                )
            except StripeError as problem:  # the URL was unset, or state reset, meanwhile
                logger.warning("Not delivering %s: %s", job.event_id, problem.message)
            except Exception:  # keep the delivery thread alive whatever one job does
                logger.exception("Delivering %s failed", job.event_id)
            with self._cond:
                self._in_flight -= 1
                if attempt is not None and not attempt.ok:
                    self._schedule_retry(job)
                self._cond.notify_all()

    def _wait_for_due_job(self) -> _Job | None:
        """Take the next due job off the queue, waiting for one; None once stopping."""
        while not self._stopping:
            eligible = [job for job in self._jobs if self._eligible(job)]
            if not eligible:
                self._cond.wait()
                continue
            job = min(eligible, key=lambda job: job.due)  # min() keeps FIFO among equal dues
            wait = job.due - time.monotonic()
            if wait <= 0:
                self._jobs.remove(job)
                return job
            self._cond.wait(wait)
        return None

    def _schedule_retry(self, job: _Job) -> None:
        if not job.automatic or job.event_id in self._dropped:
            return
        if job.attempt > len(self._retry_delays):
            logger.warning("Giving up on %s after %d attempts", job.event_id, job.attempt)
            return
        delay = self._retry_delays[job.attempt - 1]
        self._jobs.append(
            _Job(
                job.event_id, due=time.monotonic() + delay, automatic=True, attempt=job.attempt + 1
            )
        )

    # -- manual deliveries (test controls) -------------------------------------------------

    def send(self, event_id: str, *, signed_at: int | None = None) -> DeliveryAttempt:
        """POST the event once, now, in the calling thread; no retry."""
        return self._post(event_id, attempt=1, manual=True, signed_at=signed_at)

    def send_concurrently(
        self, event_id: str, times: int, *, signed_at: int | None = None
    ) -> list[DeliveryAttempt]:
        """POST the event ``times`` times at once from as many threads."""
        with self._cond:
            self._require_payload(event_id)
            self._require_url()
        barrier = threading.Barrier(times)
        results: list[DeliveryAttempt] = []
        results_lock = threading.Lock()

        def send_one() -> None:
            barrier.wait()
            attempt = self.send(event_id, signed_at=signed_at)
            with results_lock:
                results.append(attempt)

        threads = [threading.Thread(target=send_one) for _ in range(times)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def send_later(self, event_id: str, delay: float, *, signed_at: int | None = None) -> None:
        """Queue one manual POST ``delay`` seconds from now (it ignores pause; no retry)."""
        with self._cond:
            self._require_payload(event_id)
            self._jobs.append(
                _Job(event_id, time.monotonic() + delay, automatic=False, signed_at=signed_at)
            )
            self._cond.notify_all()

    def attempts(self, event_id: str | None = None) -> list[DeliveryAttempt]:
        with self._cond:
            return [a for a in self._attempts if event_id is None or a.event_id == event_id]

    # -- one POST --------------------------------------------------------------------------

    def _require_payload(self, event_id: str) -> tuple[str, str]:
        payload = self._payloads.get(event_id)
        if payload is None:
            raise StripeError(
                f"No such event: '{event_id}'", status=404, code="resource_missing", param="id"
            )
        return payload

    def _require_url(self) -> str:
        if not self.url:
            raise StripeError("No webhook URL is configured on the emulator.", status=409)
        return self.url

    def _post(
        self, event_id: str, *, attempt: int, manual: bool, signed_at: int | None
    ) -> DeliveryAttempt:
        with self._cond:
            event_type, body = self._require_payload(event_id)
            url, secret = self._require_url(), self.secret
        timestamp = int(time.time()) if signed_at is None else signed_at
        status, error, answer = _post_json(
            url, body, signature_header(body, secret, timestamp), self._timeout
        )
        record = DeliveryAttempt(
            event_id=event_id,
            event_type=event_type,
            attempt=attempt,
            manual=manual,
            signed_at=timestamp,
            status=status,
            error=error,
            response_body=answer,
            finished_at=time.time(),
        )
        with self._cond:
            self._attempts.append(record)
        logger.info(
            "Webhook %s %s (attempt %d%s) -> %s",
            event_type,
            event_id,
            attempt,
            ", manual" if manual else "",
            status or error,
        )
        if record.ok:
            self._on_delivered(event_id)
        return record


def _checked_url(url: str | None) -> str | None:
    """Only http(s) URLs: urllib would also open file: and ftp: ones."""
    if url and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"The webhook URL must be http or https, not {url!r}")
    return url or None


def _post_json(
    url: str, body: str, signature: str, timeout: float
) -> tuple[int | None, str | None, str]:
    """POST ``body``; return (HTTP status or None, connection error or None, start of answer)."""
    request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked on configuration
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": _USER_AGENT,
            "Stripe-Signature": signature,
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            answer = response.read(_KEPT_RESPONSE_CHARS).decode(errors="replace")
            return response.status, None, answer
    except urllib.error.HTTPError as failure:
        with failure:
            answer = failure.read(_KEPT_RESPONSE_CHARS).decode(errors="replace")
        return failure.code, None, answer
    except (OSError, http.client.HTTPException) as failure:
        return None, f"{type(failure).__name__}: {failure}", ""
