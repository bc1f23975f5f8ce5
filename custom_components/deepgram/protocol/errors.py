"""Exceptions raised by the Deepgram client."""

from __future__ import annotations


class DeepgramError(Exception):
    """Base class: anything that stopped a Deepgram request."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        """Store Deepgram's request id, which support needs to trace the request."""
        super().__init__(message)
        self.request_id = request_id

    def __str__(self) -> str:
        """Append the request id so every log line carries it."""
        message = super().__str__()
        return f"{message} (request id {self.request_id})" if self.request_id else message


class DeepgramHTTPError(DeepgramError):
    """Deepgram answered the request or the websocket upgrade with an HTTP error."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        detail: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Keep the status and Deepgram's `dg-error` text."""
        full = f"{message}: HTTP {status}" + (f", {detail}" if detail else "")
        super().__init__(full, request_id=request_id)
        self.status = status
        self.detail = detail


class DeepgramAuthenticationError(DeepgramHTTPError):
    """The API key is invalid or lacks access (HTTP 401/403)."""


class DeepgramPaymentRequiredError(DeepgramHTTPError):
    """The Deepgram project has run out of credits (HTTP 402)."""


class DeepgramRateLimitError(DeepgramHTTPError):
    """Deepgram's concurrency or rate limit was reached (HTTP 429)."""


class DeepgramRequestRejectedError(DeepgramHTTPError):
    """Deepgram rejected the request's options, e.g. a language the model lacks (HTTP 400)."""


class DeepgramServerError(DeepgramHTTPError):
    """Deepgram is unavailable or failed (HTTP 5xx, or any other unexpected status)."""


class DeepgramConnectionError(DeepgramError):
    """Deepgram could not be reached: DNS, refused connection, TLS or a timeout."""


class DeepgramResponseTooLargeError(DeepgramError):
    """Deepgram's answer was larger than the client reads: no answer Deepgram gives is."""

    def __init__(self, limit: int, request_id: str | None = None) -> None:
        """Name the limit the body passed."""
        super().__init__(
            f"Deepgram's answer is larger than {limit // 1024} KB", request_id=request_id
        )
        self.limit = limit


class DeepgramConnectionClosedError(DeepgramError):
    """Deepgram closed the stream abnormally (e.g. 1008 or 1011), or after a fatal Error."""

    def __init__(
        self,
        code: int | None,
        reason: str,
        *,
        request_id: str | None = None,
        error_code: str | None = None,
        error_description: str | None = None,
    ) -> None:
        """Keep the close code, Deepgram's reason text, and the Error message before it."""
        close = f"code {code}: {reason or 'no reason given'}"
        message = f"Deepgram closed the stream with {close}"
        if error_code or error_description:
            said = ": ".join(part for part in (error_code, error_description) if part)
            message = f"Deepgram ended the stream with the Error {said} (close {close})"
        super().__init__(message, request_id=request_id)
        self.code = code
        self.reason = reason
        self.error_code = error_code
        self.error_description = error_description


def error_for_status(
    status: int, message: str, *, detail: str | None, request_id: str | None
) -> DeepgramHTTPError:
    """Return the exception that matches an HTTP status from Deepgram."""
    error_class: type[DeepgramHTTPError]
    if status in (401, 403):
        error_class = DeepgramAuthenticationError
    elif status == 402:  # noqa: PLR2004
        error_class = DeepgramPaymentRequiredError
    elif status == 429:  # noqa: PLR2004
        error_class = DeepgramRateLimitError
    elif 400 <= status < 500:  # noqa: PLR2004
        error_class = DeepgramRequestRejectedError
    else:
        error_class = DeepgramServerError
    return error_class(message, status=status, detail=detail, request_id=request_id)
