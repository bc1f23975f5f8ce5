"""Deepgram's health as the streams see it: Repairs issues and an "it's back" log line.

A user cannot fix an empty Deepgram balance or a too-small concurrency limit from
Home Assistant, but they should hear about it somewhere better than a log: both
become Repairs issues of the account (they are facts of the Deepgram project),
removed again by the next stream or answer that succeeds.

A stored model or voice that is no longer offered is a Repairs issue of its
speech-to-text setting or voice, one the user can fix there: its fix flow
(`repairs.py`) chooses another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from homeassistant.config_entries import ConfigSubentry
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
# A model the server's own list no longer has; it stays in use meanwhile.
MODEL_NOT_LISTED = "model_not_listed"
ACCOUNT_ISSUE_KINDS = ("out_of_credits", "rate_limited")
SETTING_ISSUE_KINDS = (MODEL_UNAVAILABLE, VOICE_UNAVAILABLE, MODEL_NOT_LISTED)


def issue_id(kind: str, owner_id: str) -> str:
    """Return the Repairs issue id of one kind of trouble of an account or of a subentry."""
    return f"{kind}_{owner_id}"


@callback
def delete_issues(hass: HomeAssistant, entry_id: str, subentry_ids: Iterable[str] = ()) -> None:
    """Delete every Repairs issue of an account and its subentries, e.g. when it is deleted."""
    for kind in ACCOUNT_ISSUE_KINDS:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry_id))
    for subentry_id in subentry_ids:
        for kind in SETTING_ISSUE_KINDS:
            ir.async_delete_issue(hass, DOMAIN, issue_id(kind, subentry_id))


class ServiceHealth:
    """Follow one account's streams and answers; raise and clear Repairs issues."""

    def __init__(self, hass: HomeAssistant, entry_id: str, title: str) -> None:
        """Start healthy."""
        self._hass = hass
        self._entry_id = entry_id
        self._title = title
        self._rate_limited = 0
        self._unreachable = False

    def issue_id(self, kind: str) -> str:
        """Return the Repairs issue id of one kind of trouble of this account."""
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
        self, kind: str, subentry: ConfigSubentry, placeholders: Mapping[str, str]
    ) -> None:
        """Raise the fixable issue that a setting's model or a voice is no longer offered."""
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id(kind, subentry.subentry_id),
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=kind,
            translation_placeholders={"title": subentry.title, **placeholders},
            data={"entry_id": self._entry_id, "subentry_id": subentry.subentry_id},
        )

    @callback
    def setting_available(self, kind: str, subentry_id: str) -> None:
        """Remove the issue of `kind` again: the stored setting is offered (again)."""
        ir.async_delete_issue(self._hass, DOMAIN, issue_id(kind, subentry_id))

    @callback
    def forget_settings_except(self, subentry_ids: set[str]) -> None:
        """Delete the issues of this account's settings and voices that were deleted."""
        registry = ir.async_get(self._hass)
        for issue in list(registry.issues.values()):
            data = issue.data or {}
            if (
                issue.domain == DOMAIN
                and data.get("entry_id") == self._entry_id
                and data.get("subentry_id") not in subentry_ids
            ):
                ir.async_delete_issue(self._hass, DOMAIN, issue.issue_id)

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
