"""Entries of earlier versions become one entry per Deepgram account, losing nothing.

Before 2.1 each entry held a model and a language, with its own copy of the
account's key, and the account's voice was a subentry of one of them. From 2.1
an entry is the account (key and server); each earlier entry becomes one of its
speech-to-text settings and each voice stays a voice. Entity ids and unique ids
do not change: a setting's subentry id is the id of the entry it was, which the
entity's unique id and its device's identifier already are, and a voice keeps
its subentry id.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.typing import UNDEFINED, UndefinedType

from .config_flow import DeepgramConfigFlow, account_unique_id
from .const import (
    ACCOUNT_TITLE,
    CONF_END_OF_COMMAND,
    CONF_END_OF_SPEECH,
    CONF_LANGUAGE,
    CONF_MODEL,
    DOMAIN,
    END_BY_HOME_ASSISTANT,
    LANGUAGE_FOLLOW_PIPELINE,
    LOGGER,
    SUBENTRY_STT,
    SUBENTRY_VOICE,
)
from .health import delete_issues
from .protocol import DEFAULT_MODEL
from .stt_flow import setting_unique_id
from .voice_catalogue import voice_subentry

# The version whose entries are accounts.
ACCOUNT_VERSION = 2


def options_of_version_1_2(entry: ConfigEntry) -> dict[str, Any]:
    """Return the entry's options as version 1.2 stores them.

    1.1 → 1.2: the end-of-speech switch becomes "who ends a command". Switched
    off, Home Assistant's voice detection alone ended commands, and still does;
    switched on (the old default), the model's default now applies, which for
    Nova keeps Home Assistant's detection as a bounded fallback. The language
    is kept as it was, so a fixed-language entry stays fixed.
    """
    options = dict(entry.options)
    if entry.minor_version < 2 and options.pop(CONF_END_OF_SPEECH, True) is False:  # noqa: PLR2004
        options[CONF_END_OF_COMMAND] = END_BY_HOME_ASSISTANT
    options.pop(CONF_END_OF_SPEECH, None)
    return options


def _setting_of(entry: ConfigEntry, taken: Mapping[str, ConfigSubentry]) -> ConfigSubentry:
    """Return the speech-to-text setting an earlier entry becomes, with the entry's id."""
    options = options_of_version_1_2(entry)
    options.setdefault(CONF_MODEL, DEFAULT_MODEL)
    options.setdefault(CONF_LANGUAGE, LANGUAGE_FOLLOW_PIPELINE)
    unique_id: str | None = setting_unique_id(options[CONF_MODEL], options[CONF_LANGUAGE])
    if any(subentry.unique_id == unique_id for subentry in taken.values()):
        unique_id = None  # two entries of one model and language: keep both settings
    return ConfigSubentry(
        data=MappingProxyType(options),
        subentry_id=entry.entry_id,
        subentry_type=SUBENTRY_STT,
        title=entry.title,
        unique_id=unique_id,
    )


async def async_migrate_integration(hass: HomeAssistant) -> None:
    """Merge the entries of each account into one; each becomes a setting of it.

    Entries of one Deepgram project and server are one account; the first
    enabled one becomes the account's entry and the others are removed once
    their settings, voices, entities and devices have moved to it.
    """
    entries = sorted(
        hass.config_entries.async_entries(DOMAIN), key=lambda e: e.disabled_by is not None
    )
    earlier = [entry for entry in entries if entry.version < ACCOUNT_VERSION]
    if not earlier:
        return
    accounts: dict[str, tuple[ConfigEntry, bool]] = {
        account_unique_id(entry.data): (entry, entry.disabled_by is not None)
        for entry in entries
        if entry.version == ACCOUNT_VERSION
    }
    for entry in earlier:
        account = account_unique_id(entry.data)
        if account not in accounts:
            all_disabled = all(
                other.disabled_by is not None
                for other in earlier
                if account_unique_id(other.data) == account
            )
            accounts[account] = (entry, all_disabled)
        parent, all_disabled = accounts[account]
        _merge(hass, entry, parent, all_disabled=all_disabled)
        delete_issues(hass, entry.entry_id, [entry.entry_id, *entry.subentries])
        if entry is not parent:
            await hass.config_entries.async_remove(entry.entry_id)
        LOGGER.debug("Migrated %s into the Deepgram account %s", entry.title, account)
    for account, (parent, _) in accounts.items():
        if parent.version == ACCOUNT_VERSION:
            continue
        # 1.3: each account has a voice.
        if not any(sub.subentry_type == SUBENTRY_VOICE for sub in parent.subentries.values()):
            voice = voice_subentry(hass)
            hass.config_entries.async_add_subentry(
                parent,
                ConfigSubentry(
                    data=MappingProxyType(voice["data"]),
                    subentry_type=voice["subentry_type"],
                    title=voice["title"],
                    unique_id=voice["unique_id"],
                ),
            )
        hass.config_entries.async_update_entry(
            parent,
            title=ACCOUNT_TITLE,
            unique_id=account,
            options={},
            version=DeepgramConfigFlow.VERSION,
            minor_version=DeepgramConfigFlow.MINOR_VERSION,
        )


def _merge(
    hass: HomeAssistant, entry: ConfigEntry, parent: ConfigEntry, *, all_disabled: bool
) -> None:
    """Make `entry` a setting of `parent`, its voices voices of it; move entities and devices."""
    setting = _setting_of(entry, parent.subentries)
    hass.config_entries.async_add_subentry(parent, setting)
    # Where each of the entry's own subentries goes: its entity and device follow it.
    target: dict[str | None, str] = {None: setting.subentry_id}
    for subentry in entry.subentries.values():
        target[subentry.subentry_id] = subentry.subentry_id
        if entry is not parent:
            hass.config_entries.async_add_subentry(
                parent,
                ConfigSubentry(
                    data=subentry.data,
                    subentry_id=subentry.subentry_id,
                    subentry_type=subentry.subentry_type,
                    title=subentry.title,
                    unique_id=subentry.unique_id,
                ),
            )
    _move_entities(hass, entry, parent, target, all_disabled=all_disabled)
    _move_devices(hass, entry, parent, target, all_disabled=all_disabled)


def _move_entities(
    hass: HomeAssistant,
    entry: ConfigEntry,
    parent: ConfigEntry,
    target: Mapping[str | None, str],
    *,
    all_disabled: bool,
) -> None:
    """Move the entry's entities to their subentries of `parent`, keeping who disabled them."""
    registry = er.async_get(hass)
    devices = dr.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        disabled_by = entity.disabled_by
        if disabled_by is er.RegistryEntryDisabler.CONFIG_ENTRY and not all_disabled:
            # Moved to an enabled entry the registry would enable it; the user disabled it.
            has_device = entity.device_id is not None and devices.async_get(entity.device_id)
            disabled_by = (
                er.RegistryEntryDisabler.DEVICE if has_device else er.RegistryEntryDisabler.USER
            )
        registry.async_update_entity(
            entity.entity_id,
            config_entry_id=parent.entry_id,
            config_subentry_id=target.get(entity.config_subentry_id, target[None]),
            disabled_by=disabled_by,
        )


def _move_devices(
    hass: HomeAssistant,
    entry: ConfigEntry,
    parent: ConfigEntry,
    target: Mapping[str | None, str],
    *,
    all_disabled: bool,
) -> None:
    """Move the entry's devices to their subentries of `parent`, keeping who disabled them."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        disabled_by: dr.DeviceEntryDisabler | UndefinedType = UNDEFINED
        if device.disabled_by is dr.DeviceEntryDisabler.CONFIG_ENTRY and not all_disabled:
            disabled_by = dr.DeviceEntryDisabler.USER
        if hasattr(device, "config_subentry_id"):
            # 2026.10+: a device belongs to one entry and subentry, and moves in one
            # call (whose arguments 2026.2 lacks, hence a mapping).
            subentry_id = getattr(device, "config_subentry_id", None)
            move: dict[str, Any] = {
                "new_config_entry_id": parent.entry_id,
                "new_config_subentry_id": target.get(subentry_id, target[None]),
            }
            registry.async_update_device(device.id, disabled_by=disabled_by, **move)
            continue
        for old_subentry_id in device.config_entries_subentries.get(entry.entry_id, set()):
            new_subentry_id = target.get(old_subentry_id, target[None])
            # Added and removed in two calls: one call would forget the addition.
            registry.async_update_device(
                device.id,
                add_config_entry_id=parent.entry_id,
                add_config_subentry_id=new_subentry_id,
                disabled_by=disabled_by,
            )
            if entry is not parent:
                registry.async_update_device(
                    device.id, remove_config_entry_id=entry.entry_id, disabled_by=disabled_by
                )
                break
            if old_subentry_id != new_subentry_id:
                registry.async_update_device(
                    device.id,
                    remove_config_entry_id=entry.entry_id,
                    remove_config_subentry_id=old_subentry_id,
                    disabled_by=disabled_by,
                )


def migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:  # noqa: ARG001
    """Bring an account entry up to date; refuse one a newer version wrote.

    Entries before 2.1 are merged into accounts when the integration starts
    (`async_migrate_integration`), before any entry is set up.
    """
    if entry.version != ACCOUNT_VERSION:
        # A newer version wrote it; or an earlier one it could not be merged from.
        LOGGER.error(
            "Cannot migrate the Deepgram entry %s from version %s.%s",
            entry.title,
            entry.version,
            entry.minor_version,
        )
        return False
    return True
