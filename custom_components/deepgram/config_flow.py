"""Config flow: an API key, a model and a language, checked against Deepgram.

Also re-authentication, reconfiguration (key and server) and the options flow
that changes how commands are recognised.
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
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback
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
    CONF_CUSTOM_KEYTERMS,
    CONF_END_OF_COMMAND,
    CONF_ENDPOINTING,
    CONF_EOT_THRESHOLD,
    CONF_EOT_TIMEOUT_MS,
    CONF_FILLER_WORDS,
    CONF_HOME_KEYTERMS,
    CONF_LANGUAGE,
    CONF_MAX_UTTERANCE,
    CONF_MODEL,
    CONF_NO_SPEECH_TIMEOUT,
    CONF_NUMERALS,
    CONF_OTHER_LANGUAGES,
    CONF_PROFANITY_FILTER,
    CONF_PROJECT_ID,
    CONF_PUNCTUATE,
    CONF_SERVER,
    CONF_SMART_FORMAT,
    CONF_STRIP_PUNCTUATION,
    DEFAULT_REGION,
    DOMAIN,
    END_OF_COMMAND_CHOICES,
    EOT_THRESHOLD_RANGE,
    EOT_TIMEOUT_MS_RANGE,
    LANGUAGE_FOLLOW_PIPELINE,
    LOGGER,
    REGION_SERVERS,
    SUBENTRY_VOICE,
)
from .model_list import async_model_list
from .protocol import (
    DEFAULT_MODEL,
    MULTILINGUAL,
    DeepgramAuthenticationError,
    DeepgramClient,
    DeepgramError,
    normalize_server,
)
from .protocol.model_list import BUILT_IN_MODELS, ModelList
from .protocol.models import (
    ModelRef,
    SpeechModel,
    language_name,
    language_tags,
    multilingual_languages,
)
from .settings import StreamSettings
from .voice import account_has_voice, voice_subentry
from .voice_flow import DeepgramVoiceFlow

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
END_OF_COMMAND_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=list(END_OF_COMMAND_CHOICES),
        mode=SelectSelectorMode.LIST,
        translation_key="end_of_command",
    )
)
# Example server URLs: Home Assistant's translation rules keep URLs out of the strings.
SERVER_PLACEHOLDERS = {
    "self_hosted_url": "http://192.168.1.20:8080",
}


def _number(minimum: float, maximum: float, step: float, unit: str | None = None) -> Any:
    config = NumberSelectorConfig(min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    selector = NumberSelector(config)
    return vol.All(selector, vol.Coerce(int)) if float(step).is_integer() else selector


def model_selector(models: ModelList, *, also: str | None = None, typed: bool = False) -> Any:
    """Offer the server's streaming models by label; `also` keeps a stored model shown.

    With `typed`, a model the list does not show yet can be typed in (set-up,
    before the server's list is known); it is checked against that list.
    """
    offered = list(models.models.values())
    if also is not None and not models.offers(also):
        offered.append(models.describe(also))
    return SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=model.name, label=model.label) for model in offered],
            custom_value=typed,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


# The repair of a model no longer offered chooses among the built-in models.
OPTIONS_MODEL_SCHEMA = vol.Schema({vol.Required(CONF_MODEL): model_selector(BUILT_IN_MODELS)})


def user_schema(models: ModelList) -> vol.Schema:
    """Return the set-up form: key, model (of `models`) and the folded server."""
    return vol.Schema(
        {
            vol.Required(CONF_API_KEY): API_KEY_SELECTOR,
            vol.Required(CONF_MODEL, default=DEFAULT_MODEL): model_selector(models, typed=True),
            vol.Required(CONF_ADVANCED): SERVER_SECTION,
        }
    )


def _described(model: ModelRef) -> SpeechModel:
    """Return a model's description; a name the built-in table lacks is described from itself."""
    return model if isinstance(model, SpeechModel) else BUILT_IN_MODELS.describe(model)


def entry_title(model: ModelRef, language: str, names: Mapping[str, str] | None = None) -> str:
    """Name an entry after what it does, e.g. "Deepgram Nova-3 (English)"."""
    label = _described(model).label
    if language == LANGUAGE_FOLLOW_PIPELINE:
        return f"Deepgram {label}"
    return f"Deepgram {label} ({language_name(language, names)})"


def _language_choices(
    codes: tuple[str, ...], names: Mapping[str, str] | None
) -> list[SelectOptionDict]:
    """Return the languages as choices, in the order of their names."""
    return sorted(
        (SelectOptionDict(value=code, label=language_name(code, names)) for code in codes),
        key=lambda choice: choice["label"],
    )


def language_selector(model: SpeechModel, names: Mapping[str, str] | None = None) -> SelectSelector:
    """Offer the voice assistant's language, multilingual, then the model's languages.

    The languages include those the model recognises only through `multi`.
    """
    choices = _language_choices(language_tags(model), names)
    # These labels are translated by the frontend from the selector's key.
    first = [SelectOptionDict(value=LANGUAGE_FOLLOW_PIPELINE, label="pipeline")]
    if MULTILINGUAL in model.languages:
        first.append(SelectOptionDict(value=MULTILINGUAL, label="multi"))
    return SelectSelector(
        SelectSelectorConfig(
            options=[*first, *choices],
            mode=SelectSelectorMode.DROPDOWN,
            translation_key="language",
        )
    )


def other_languages_selector(
    model: SpeechModel, names: Mapping[str, str] | None = None
) -> SelectSelector:
    """Offer every language the model's `multi` recognises, several at once."""
    return SelectSelector(
        SelectSelectorConfig(
            options=_language_choices(multilingual_languages(model), names),
            multiple=True,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def default_language(model: ModelRef, current: str | None = None) -> str:
    """Keep the current language if the model has it, else follow the voice assistant."""
    model = _described(model)
    if current is not None and (current in language_tags(model) or current in model.languages):
        return current
    return LANGUAGE_FOLLOW_PIPELINE


def server_choice(server: str) -> str:
    """Return the region whose server this is, else the server's URL."""
    return next((key for key, url in REGION_SERVERS.items() if url == server), server)


def entry_unique_id(data: Mapping[str, Any], model: str, language: str) -> str:
    """Identify an entry by project (or self-hosted server), model and language."""
    return f"{data.get(CONF_PROJECT_ID) or data[CONF_SERVER]}_{model}_{language}"


@callback
def rename_for_options(hass: HomeAssistant, entry: ConfigEntry, options: Mapping[str, Any]) -> bool:
    """Give the entry the unique id, and title, of the model and language in `options`.

    The title changes only if it is still the one the integration gave. Returns
    False, changing nothing, when another entry already has that project, model
    and language.
    """
    current = StreamSettings.from_options(entry.options)
    model, language = options[CONF_MODEL], options[CONF_LANGUAGE]
    unique_id = entry_unique_id(entry.data, model, language)
    if any(
        other.unique_id == unique_id and other.entry_id != entry.entry_id
        for other in hass.config_entries.async_entries(DOMAIN)
    ):
        return False
    updates: dict[str, Any] = {"unique_id": unique_id}
    if entry.title == entry_title(current.model, current.language):
        updates["title"] = entry_title(model, language)
    hass.config_entries.async_update_entry(entry, **updates)
    return True


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
    """Set up Deepgram from the UI."""

    VERSION = 1
    # 1.2: "who ends a command" replaces the end-of-speech switch; 1.3: each
    # Deepgram account has a voice, a subentry of one of its entries (see __init__.py).
    MINOR_VERSION = 3

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls,
        config_entry: ConfigEntry,  # noqa: ARG003 - one voice flow for every entry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the voice's flow."""
        return {SUBENTRY_VOICE: DeepgramVoiceFlow}

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
        """Ask for one of the chosen model's languages."""
        model = self._models.describe(self._model)
        if user_input is not None:
            language = user_input[CONF_LANGUAGE]
            await self.async_set_unique_id(entry_unique_id(self._data, self._model, language))
            self._abort_if_unique_id_configured()
            return self.async_create_entry(
                title=entry_title(model, language, self._models.language_names),
                data=self._data,
                options={CONF_MODEL: self._model, CONF_LANGUAGE: language},
                # The account's first entry brings its voice.
                subentries=[]
                if account_has_voice(self.hass, self._data)
                else [voice_subentry(self.hass)],
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
        """Check the new key, then reload the entry with it."""
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
                settings = StreamSettings.from_options(entry.options)
                await self.async_set_unique_id(
                    entry_unique_id(data, settings.model, settings.language)
                )
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


class DeepgramOptionsFlow(OptionsFlowWithReload):
    """Change how commands are recognised; the entry reloads to apply it."""

    def __init__(self) -> None:
        """Start with the model not chosen yet."""
        self._model = DEFAULT_MODEL
        self._models = BUILT_IN_MODELS

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the model first: the other settings depend on it."""
        if user_input is not None:
            self._model = user_input[CONF_MODEL]
            return await self.async_step_recognition()
        data = self.config_entry.data
        # The list the entry's set-up fetched, unless it is old by now.
        self._models = await async_model_list(
            self.hass, async_get_clientsession(self.hass), data[CONF_SERVER], data[CONF_API_KEY]
        )
        # A model no longer offered is shown as the one in use instead.
        current = StreamSettings.from_options(self.config_entry.options).on_offered_model(
            self._models
        )
        schema = vol.Schema(
            {vol.Required(CONF_MODEL): model_selector(self._models, also=current.model)}
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, {CONF_MODEL: current.model}),
        )

    async def async_step_recognition(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the language and every setting the chosen model has."""
        entry = self.config_entry
        current = StreamSettings.from_options(entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            options = {**entry.options, **user_input, CONF_MODEL: self._model}
            if rename_for_options(self.hass, entry, options):
                return self.async_create_entry(data=options)
            errors["base"] = "already_configured"
        schema = self._recognition_schema(current)
        suggested = dict(user_input or entry.options)
        if user_input is None and self._model != current.model:
            # Who ends a command defaults by model: show the new model's default.
            suggested.pop(CONF_END_OF_COMMAND, None)
        # Only the languages this model's `multi` recognises can be shown as chosen.
        served = multilingual_languages(self._models.describe(self._model))
        suggested[CONF_OTHER_LANGUAGES] = [
            code for code in suggested.get(CONF_OTHER_LANGUAGES, ()) if code in served
        ]
        return self.async_show_form(
            step_id="recognition",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"model": self._models.describe(self._model).label},
        )

    def _recognition_schema(self, current: StreamSettings) -> vol.Schema:
        """Build the form for the chosen model: Flux and Nova take different settings."""
        defaults = StreamSettings()
        model = self._models.describe(self._model)
        model_defaults = StreamSettings(model=self._model, listed_model=model)
        fields: dict[Any, Any] = {
            vol.Required(
                CONF_LANGUAGE, default=default_language(model, current.language)
            ): language_selector(model, self._models.language_names),
        }
        if model.takes_language_hints:
            fields[vol.Optional(CONF_OTHER_LANGUAGES, default=[])] = other_languages_selector(
                model, self._models.language_names
            )
        flags = [CONF_NUMERALS, CONF_PROFANITY_FILTER, CONF_STRIP_PUNCTUATION]
        if not model.flux:
            flags = [CONF_PUNCTUATE, CONF_SMART_FORMAT, CONF_FILLER_WORDS, *flags]
        for flag in flags:
            fields[vol.Required(flag, default=getattr(defaults, flag))] = BooleanSelector()
        fields[vol.Required(CONF_HOME_KEYTERMS, default=defaults.home_keyterms)] = BooleanSelector()
        fields[vol.Optional(CONF_CUSTOM_KEYTERMS, default=[])] = TextSelector(
            TextSelectorConfig(multiple=True)
        )
        fields[vol.Required(CONF_END_OF_COMMAND, default=model_defaults.ends_command)] = (
            END_OF_COMMAND_SELECTOR
        )
        if model.flux:
            fields[vol.Required(CONF_EOT_THRESHOLD, default=defaults.eot_threshold)] = _number(
                *EOT_THRESHOLD_RANGE, 0.05
            )
            fields[vol.Required(CONF_EOT_TIMEOUT_MS, default=defaults.eot_timeout_ms)] = _number(
                *EOT_TIMEOUT_MS_RANGE, 100, "ms"
            )
        else:
            fields[vol.Required(CONF_ENDPOINTING, default=defaults.endpointing)] = _number(
                10, 5000, 10, "ms"
            )
        fields[vol.Required(CONF_NO_SPEECH_TIMEOUT, default=defaults.no_speech_timeout)] = _number(
            1, 60, 0.5, "s"
        )
        fields[vol.Required(CONF_MAX_UTTERANCE, default=defaults.max_utterance)] = _number(
            5, 300, 1, "s"
        )
        return vol.Schema(fields)
