"""Deepgram's HTTP refusals: status, `err_code`, `err_msg` (listen's here, speak's derive)."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import ClassVar, Final

from aiohttp import web

# status -> (err_code, err_msg) where listening and speaking answer alike.
COMMON_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: ("Bad Request", "Bad Request: the request was invalid."),
    401: ("INVALID_AUTH", "Invalid credentials."),
    402: (
        "ASR_PAYMENT_REQUIRED",
        (
            "Project does not have enough credits for an ASR request and does not have an "
            "overage agreement."
        ),
    ),
    403: ("INSUFFICIENT_PERMISSIONS", "Project does not have access to the requested model."),
}
_LISTEN_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    **COMMON_ERRORS,
    404: ("NOT_FOUND", "Not Found"),
    429: ("TOO_MANY_REQUESTS", "Too many requests. Please try again later"),
    500: ("INTERNAL_SERVER_ERROR", "The service is temporarily unavailable. Please try again."),
    503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Please try again."),
}


class DeepgramHTTPError(Exception):
    """A refusal in Deepgram's shape: status, `err_code` and `err_msg`."""

    errors: ClassVar[Mapping[int, tuple[str, str]]] = _LISTEN_ERRORS
    """Deepgram's usual (err_code, err_msg) by status."""

    def __init__(
        self, status: int, err_msg: str | None = None, err_code: str | None = None
    ) -> None:
        """Fill in Deepgram's usual code and message for the status."""
        default_code, default_msg = self.errors.get(status) or self.unlisted(status)
        self.status = status
        self.err_code = err_code or default_code
        self.err_msg = err_msg or default_msg
        super().__init__(f"{status} {self.err_code}: {self.err_msg}")

    @staticmethod
    def unlisted(status: int) -> tuple[str, str]:
        """Return (err_code, err_msg) for a status `errors` does not list."""
        return (
            "SERVICE_UNAVAILABLE" if status >= HTTPStatus.INTERNAL_SERVER_ERROR else "Bad Request",
            phrase(status),
        )

    def response(self, request_id: str) -> web.Response:
        """Return the HTTP answer, with the message in `dg-error` and the body."""
        body = {"err_code": self.err_code, "err_msg": self.err_msg, "request_id": request_id}
        return web.json_response(body, status=self.status, headers={"dg-error": self.err_msg})


class FluxHTTPError(DeepgramHTTPError):
    """A refusal of a `/v2/listen` query, in Flux's shape: `{"code", "description"}`."""

    def response(self, request_id: str) -> web.Response:
        """Return the HTTP answer, with the description in `dg-error` and the body."""
        del request_id  # In the `dg-request-id` header only, as Deepgram's docs show it.
        body = {"code": self.err_code, "description": self.err_msg}
        return web.json_response(body, status=self.status, headers={"dg-error": self.err_msg})


def phrase(status: int) -> str:
    """Return the status's reason phrase, e.g. "Not Found"."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"
