"""Config flow: an API key, a model and a language, checked against Deepgram."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    CONF_ADVANCED,
    CONF_END_OF_SPEECH,
    CONF_ENDPOINTING,
    CONF_LANGUAGE,
    CONF_MAX_UTTERANCE,
    CONF_MODEL,
    CONF_NO_SPEECH_TIMEOUT,
    CONF_PROJECT_ID,
    CONF_SERVER,
    DEFAULT_END_OF_SPEECH,
    DEFAULT_ENDPOINTING_MS,
    DEFAULT_MAX_UTTERANCE,
    DEFAULT_NO_SPEECH_TIMEOUT,
    DOMAIN,
    EU_SERVER,
    LOGGER,
)
from .protocol import (
    DEFAULT_MODEL,
    DEFAULT_SERVER,
    SPEECH_MODELS,
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramError,
    normalize_server,
)
from .protocol.models import closest_language, language_name

API_KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
MODEL_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=[
            SelectOptionDict(value=model.name, label=model.label)
            for model in SPEECH_MODELS.values()
        ],
        mode=SelectSelectorMode.DROPDOWN,
    )
)
SERVER_SELECTOR = SelectSelector(
    SelectSelectorConfig(options=[DEFAULT_SERVER, EU_SERVER], custom_value=True)
)

STEP_USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_API_KEY): API_KEY_SELECTOR,
        vol.Required(CONF_MODEL, default=DEFAULT_MODEL): MODEL_SELECTOR,
        vol.Required(CONF_ADVANCED): section(
            vol.Schema({vol.Required(CONF_SERVER, default=DEFAULT_SERVER): SERVER_SELECTOR}),
            {"collapsed": True},
        ),
    }
)
STEP_REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_API_KEY): API_KEY_SELECTOR})


def _number(minimum: float, maximum: float, step: float, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=step,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_END_OF_SPEECH, default=DEFAULT_END_OF_SPEECH): BooleanSelector(),
        vol.Required(CONF_ENDPOINTING, default=DEFAULT_ENDPOINTING_MS): vol.All(
            _number(10, 5000, 10, "ms"), vol.Coerce(int)
        ),
        vol.Required(CONF_NO_SPEECH_TIMEOUT, default=DEFAULT_NO_SPEECH_TIMEOUT): _number(
            1, 60, 0.5, "s"
        ),
        vol.Required(CONF_MAX_UTTERANCE, default=DEFAULT_MAX_UTTERANCE): _number(5, 300, 1, "s"),
    }
)


def entry_title(model: str, language: str) -> str:
    """Name an entry after what it does, e.g. "Deepgram Nova-3 (English)"."""
    return f"Deepgram {SPEECH_MODELS[model].label} ({language_name(language)})"


class DeepgramConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up Deepgram from the UI."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(
        config_entry: ConfigEntry,  # noqa: ARG004 - the flow reads self.config_entry
    ) -> DeepgramOptionsFlow:
        """Return the flow that changes how commands are recognised."""
        return DeepgramOptionsFlow()

    def __init__(self) -> None:
        """Start with nothing validated."""
        self._data: dict[str, Any] = {}
        self._model = DEFAULT_MODEL

    async def _validate(self, api_key: str, server: str) -> tuple[str | None, dict[str, str]]:
        """Check the key on the server; return its project id and any form errors."""
        client = DeepgramClient(api_key, session=async_get_clientsession(self.hass), server=server)
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

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the key, the model and (folded away) the server."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                server = normalize_server(user_input[CONF_ADVANCED][CONF_SERVER])
            except ValueError:
                errors["base"] = "invalid_server_url"
            else:
                project_id, errors = await self._validate(user_input[CONF_API_KEY], server)
                if not errors:
                    self._data = {
                        CONF_API_KEY: user_input[CONF_API_KEY],
                        CONF_SERVER: server,
                        CONF_PROJECT_ID: project_id,
                    }
                    self._model = user_input[CONF_MODEL]
                    return await self.async_step_language()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(STEP_USER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_language(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for one of the chosen model's languages."""
        languages = SPEECH_MODELS[self._model].languages
        if user_input is not None:
            language = user_input[CONF_LANGUAGE]
            identity = self._data[CONF_PROJECT_ID] or self._data[CONF_SERVER]
            await self.async_set_unique_id(f"{identity}_{self._model}_{language}")
            self._abort_if_unique_id_configured()
            return self.async_create_entry(
                title=entry_title(self._model, language),
                data=self._data,
                options={CONF_MODEL: self._model, CONF_LANGUAGE: language},
            )
        default = closest_language(self.hass.config.language, self._model) or languages[0]
        choices = sorted(
            (SelectOptionDict(value=code, label=language_name(code)) for code in languages),
            key=lambda choice: choice["label"],
        )
        schema = vol.Schema(
            {
                vol.Required(CONF_LANGUAGE, default=default): SelectSelector(
                    SelectSelectorConfig(options=choices, mode=SelectSelectorMode.DROPDOWN)
                )
            }
        )
        return self.async_show_form(
            step_id="language",
            data_schema=schema,
            description_placeholders={"model": SPEECH_MODELS[self._model].label},
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
        """Check the new key, then reload the entry with it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            project_id, errors = await self._validate(
                user_input[CONF_API_KEY], entry.data[CONF_SERVER]
            )
            if not errors:
                if project_id != entry.data.get(CONF_PROJECT_ID):
                    return self.async_abort(reason="wrong_project")
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_API_KEY: user_input[CONF_API_KEY]}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=STEP_REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={"title": entry.title},
        )


class DeepgramOptionsFlow(OptionsFlowWithReload):
    """Change recognition settings; the entry reloads to apply them."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the settings with their current values."""
        if user_input is not None:
            return self.async_create_entry(data={**self.config_entry.options, **user_input})
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, self.config_entry.options
            ),
        )
