"""Deepgram's health as the streams see it: Repairs issues and an "it's back" log line.

A user cannot fix an empty Deepgram balance or a too-small concurrency limit from
Home Assistant, but they should hear about it somewhere better than a log: both
become Repairs issues, removed again by the next stream that succeeds.

A stored model or voice that is no longer offered is a Repairs issue too, one the
user can fix there: its fix flow (`repairs.py`) chooses another.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, LOGGER
from .protocol import (
    DeepgramConnectionError,
    DeepgramError,
    DeepgramPaymentRequiredError,
    DeepgramRateLimitError,
    DeepgramServerError,
)

# One 429 is a burst; this many in a row is a limit the household keeps hitting.
RATE_LIMITED_STREAK = 3
BILLING_URL = "https://console.deepgram.com/billing"
LIMITS_URL = "https://developers.deepgram.com/reference/api-rate-limits"
# Issues about a stored setting Deepgram no longer offers; each has a fix flow.
MODEL_UNAVAILABLE = "model_unavailable"
VOICE_UNAVAILABLE = "voice_unavailable"
ISSUE_KINDS = ("out_of_credits", "rate_limited", MODEL_UNAVAILABLE, VOICE_UNAVAILABLE)


def issue_id(kind: str, entry_id: str) -> str:
    """Return the Repairs issue id of one kind of trouble for one entry."""
    return f"{kind}_{entry_id}"


@callback
def delete_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Delete every Repairs issue of an entry, e.g. when the entry is deleted."""
    for kind in ISSUE_KINDS:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))


class ServiceHealth:
    """Follow one entry's streams; raise and clear Repairs issues."""

    def __init__(self, hass: HomeAssistant, entry_id: str, title: str) -> None:
        """Start healthy."""
        self._hass = hass
        self._entry_id = entry_id
        self._title = title
        self._rate_limited = 0
        self._unreachable = False

    def issue_id(self, kind: str) -> str:
        """Return the Repairs issue id of one kind of trouble for this entry."""
        return issue_id(kind, self._entry_id)

    @callback
    def stream_failed(self, err: DeepgramError) -> None:
        """Note a failed stream; raise an issue where the user must act."""
        if isinstance(err, DeepgramPaymentRequiredError):
            self._raise("out_of_credits", BILLING_URL)
        if isinstance(err, DeepgramRateLimitError):
            self._rate_limited += 1
            if self._rate_limited >= RATE_LIMITED_STREAK:
                self._raise("rate_limited", LIMITS_URL)
        else:
            self._rate_limited = 0
        if isinstance(err, DeepgramConnectionError | DeepgramServerError):
            self._unreachable = True

    @callback
    def stream_succeeded(self) -> None:
        """Clear what the last failures raised, and say when Deepgram is back."""
        if self._unreachable:
            LOGGER.info("Deepgram is reachable again for %s", self._title)
            self._unreachable = False
        self._rate_limited = 0
        for kind in ("out_of_credits", "rate_limited"):
            ir.async_delete_issue(self._hass, DOMAIN, self.issue_id(kind))

    @callback
    def setting_unavailable(
        self, kind: str, placeholders: Mapping[str, str], data: Mapping[str, str]
    ) -> None:
        """Raise the fixable issue that a stored model or voice is no longer offered."""
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self.issue_id(kind),
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=kind,
            translation_placeholders={"title": self._title, **placeholders},
            data={"entry_id": self._entry_id, **data},
        )

    @callback
    def setting_available(self, kind: str) -> None:
        """Remove the issue of `kind` again: the stored setting is offered (again)."""
        ir.async_delete_issue(self._hass, DOMAIN, self.issue_id(kind))

    def _raise(self, kind: str, learn_more_url: str) -> None:
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self.issue_id(kind),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=kind,
            translation_placeholders={"title": self._title},
            learn_more_url=learn_more_url,
        )
