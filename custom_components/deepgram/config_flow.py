"""Config flow: a Deepgram account (an API key and a server), checked against Deepgram.

The first set-up also asks for a model and a language and brings one
speech-to-text setting and one voice, the account's subentries; more of each
are added, and each is changed, by its own subentry flow (`stt_flow.py`,
`tts_flow.py`). Re-authentication and reconfiguration (key and server) happen
once, for the account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    ACCOUNT_TITLE,
    CONF_ADVANCED,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_PROJECT_ID,
    CONF_SERVER,
    DEFAULT_REGION,
    DOMAIN,
    LOGGER,
    REGION_SERVERS,
    SUBENTRY_STT,
    SUBENTRY_VOICE,
)
from .model_list import async_model_list
from .protocol import (
    DEFAULT_MODEL,
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramError,
    normalize_server,
)
from .protocol.model_list import BUILT_IN_MODELS, ModelList
from .stt_flow import (
    SpeechToTextSettingFlow,
    default_language,
    language_selector,
    model_selector,
    stt_subentry,
)
from .tts_flow import DeepgramVoiceFlow
from .voice_catalogue import voice_subentry

API_KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
# A region by its key (translated), or a self-hosted server's URL typed in.
SERVER_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=list(REGION_SERVERS),
        custom_value=True,
        mode=SelectSelectorMode.DROPDOWN,
        translation_key="server",
    )
)
SERVER_SECTION = section(
    vol.Schema({vol.Required(CONF_SERVER, default=DEFAULT_REGION): SERVER_SELECTOR}),
    {"collapsed": True},
)

STEP_REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_API_KEY): API_KEY_SELECTOR})
STEP_RECONFIGURE_SCHEMA = vol.Schema(
    {vol.Required(CONF_API_KEY): API_KEY_SELECTOR, vol.Required(CONF_SERVER): SERVER_SELECTOR}
)

# Example server URLs: Home Assistant's translation rules keep URLs out of the strings.
SERVER_PLACEHOLDERS = {
    "self_hosted_url": "http://192.168.1.20:8080",
}


def server_choice(server: str) -> str:
    """Return the region whose server this is, else the server's URL."""
    return next((key for key, url in REGION_SERVERS.items() if url == server), server)


def user_schema(models: ModelList) -> vol.Schema:
    """Return the set-up form: key, model (of `models`) and the folded server."""
    return vol.Schema(
        {
            vol.Required(CONF_API_KEY): API_KEY_SELECTOR,
            vol.Required(CONF_MODEL, default=DEFAULT_MODEL): model_selector(models, typed=True),
            vol.Required(CONF_ADVANCED): SERVER_SECTION,
        }
    )


def account_unique_id(data: Mapping[str, Any]) -> str:
    """Identify an account by its Deepgram project and server (self-hosted: no project)."""
    project = data.get(CONF_PROJECT_ID)
    return f"{project}_{data[CONF_SERVER]}" if project else str(data[CONF_SERVER])


async def validate_key(
    hass: HomeAssistant, api_key: str, server: str
) -> tuple[str | None, dict[str, str]]:
    """Check the key on the server; return its project id and any form errors."""
    client = DeepgramClient(api_key, session=async_get_clientsession(hass), server=server)
    try:
        return await client.validate(), {}
    except DeepgramAuthenticationError as err:
        LOGGER.debug("Deepgram rejected the key: %s", err)
        return None, {"base": "invalid_auth"}
    except DeepgramError as err:
        LOGGER.debug("Cannot check the key with Deepgram: %s", err)
        return None, {"base": "cannot_connect"}
    except Exception:  # noqa: BLE001 - shown as "unknown" with the traceback logged
        LOGGER.exception("Unexpected error checking the Deepgram key")
        return None, {"base": "unknown"}


async def validate_connection(
    hass: HomeAssistant, api_key: str, server: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the server (a region or a URL) and the key; return the entry data or form errors."""
    try:
        server = normalize_server(REGION_SERVERS.get(server, server))
    except ValueError:
        return {}, {"base": "invalid_server_url"}
    project_id, errors = await validate_key(hass, api_key, server)
    return {CONF_API_KEY: api_key, CONF_SERVER: server, CONF_PROJECT_ID: project_id}, errors


class DeepgramConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Deepgram account from the UI."""

    VERSION = 2
    # 2.1: one entry per Deepgram account, with speech-to-text settings and
    # voices as its subentries (see `migration.py`).
    MINOR_VERSION = 1

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls,
        config_entry: ConfigEntry,  # noqa: ARG003 - every account offers both
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the flows of a speech-to-text setting and of a voice."""
        return {SUBENTRY_STT: SpeechToTextSettingFlow, SUBENTRY_VOICE: DeepgramVoiceFlow}

    def __init__(self) -> None:
        """Start with nothing validated."""
        self._data: dict[str, Any] = {}
        self._model = DEFAULT_MODEL
        # The models of the server being set up, once it is known.
        self._models = BUILT_IN_MODELS

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the key, the model and (folded away) the server."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._data, errors = await validate_connection(
                self.hass, user_input[CONF_API_KEY], user_input[CONF_ADVANCED][CONF_SERVER]
            )
            if not errors:
                await self.async_set_unique_id(account_unique_id(self._data))
                self._abort_if_unique_id_configured()
                self._models = await async_model_list(
                    self.hass,
                    async_get_clientsession(self.hass),
                    self._data[CONF_SERVER],
                    self._data[CONF_API_KEY],
                )
                if self._models.offers(user_input[CONF_MODEL]):
                    self._model = user_input[CONF_MODEL]
                    return await self.async_step_language()
                # The form again, with the models this server offers.
                errors[CONF_MODEL] = "model_not_offered"
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(user_schema(self._models), user_input),
            errors=errors,
            description_placeholders=SERVER_PLACEHOLDERS,
        )

    async def async_step_language(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for one of the chosen model's languages; create the account with both subentries."""
        model = self._models.describe(self._model)
        if user_input is not None:
            setting = stt_subentry(
                {CONF_MODEL: self._model, CONF_LANGUAGE: user_input[CONF_LANGUAGE]}, self._models
            )
            return self.async_create_entry(
                title=ACCOUNT_TITLE,
                data=self._data,
                subentries=[setting, voice_subentry(self.hass)],
            )
        schema = vol.Schema(
            {
                vol.Required(CONF_LANGUAGE, default=default_language(model)): language_selector(
                    model, self._models.language_names
                )
            }
        )
        return self.async_show_form(
            step_id="language",
            data_schema=schema,
            description_placeholders={"model": model.label},
        )

    async def async_step_reauth(
        self,
        entry_data: Mapping[str, Any],  # noqa: ARG002 - the entry is read in the next step
    ) -> ConfigFlowResult:
        """Deepgram refused the key: ask for a new one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Check the new key, then reload the account with it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = await validate_connection(
                self.hass, user_input[CONF_API_KEY], entry.data[CONF_SERVER]
            )
            if not errors:
                if data[CONF_PROJECT_ID] != entry.data.get(CONF_PROJECT_ID):
                    return self.async_abort(reason="wrong_project")
                return self.async_update_reload_and_abort(entry, data_updates=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=STEP_REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={"title": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the key or the server, checked like at set-up."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = await validate_connection(
                self.hass, user_input[CONF_API_KEY], user_input[CONF_SERVER]
            )
            if not errors:
                if data[CONF_PROJECT_ID] != entry.data.get(CONF_PROJECT_ID):
                    return self.async_abort(reason="wrong_project")
                await self.async_set_unique_id(account_unique_id(data))
                if entry.unique_id != self.unique_id:
                    self._abort_if_unique_id_configured()
                return self.async_update_reload_and_abort(
                    entry, unique_id=self.unique_id, data_updates=data
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                STEP_RECONFIGURE_SCHEMA,
                user_input or {**entry.data, CONF_SERVER: server_choice(entry.data[CONF_SERVER])},
            ),
            errors=errors,
            description_placeholders=SERVER_PLACEHOLDERS,
        )
