"""A speech-to-text setting of a Deepgram account: a model, a language, how commands are recognised.

Adding one and reconfiguring one are the same two steps: the model, then the
language and every setting that model has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import voluptuous as vol

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentry,
    ConfigSubentryData,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY
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
)

from .const import (
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
    CONF_PUNCTUATE,
    CONF_SERVER,
    CONF_SMART_FORMAT,
    CONF_STRIP_PUNCTUATION,
    END_OF_COMMAND_CHOICES,
    EOT_THRESHOLD_RANGE,
    EOT_TIMEOUT_MS_RANGE,
    LANGUAGE_FOLLOW_PIPELINE,
    SUBENTRY_STT,
)
from .model_list import async_model_list
from .protocol import DEFAULT_MODEL, MULTILINGUAL
from .protocol.model_list import BUILT_IN_MODELS, ModelList
from .protocol.models import (
    ModelRef,
    SpeechModel,
    language_name,
    language_tags,
    multilingual_languages,
)
from .settings import StreamSettings

END_OF_COMMAND_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=list(END_OF_COMMAND_CHOICES),
        mode=SelectSelectorMode.LIST,
        translation_key="end_of_command",
    )
)


def _number(minimum: float, maximum: float, step: float, unit: str | None = None) -> Any:
    """Return a number box; a whole-number step stores an int."""
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
MODEL_SCHEMA = vol.Schema({vol.Required(CONF_MODEL): model_selector(BUILT_IN_MODELS)})


def _described(model: ModelRef) -> SpeechModel:
    """Return a model's description; a name the built-in table lacks is described from itself."""
    return model if isinstance(model, SpeechModel) else BUILT_IN_MODELS.describe(model)


def setting_title(model: ModelRef, language: str, names: Mapping[str, str] | None = None) -> str:
    """Name a speech-to-text setting after what it does, e.g. "Deepgram Nova-3 (English)"."""
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


def recognition_schema(
    model: SpeechModel, models: ModelList, current: StreamSettings
) -> vol.Schema:
    """Build the form for the chosen model: Flux and Nova take different settings."""
    defaults = StreamSettings()
    model_defaults = StreamSettings(model=model.name, listed_model=model)
    fields: dict[Any, Any] = {
        vol.Required(
            CONF_LANGUAGE, default=default_language(model, current.language)
        ): language_selector(model, models.language_names),
    }
    if model.takes_language_hints:
        fields[vol.Optional(CONF_OTHER_LANGUAGES, default=[])] = other_languages_selector(
            model, models.language_names
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


def setting_unique_id(model: str, language: str) -> str:
    """Identify a speech-to-text setting within its account by model and language."""
    return f"{model}_{language}"


def stt_subentry(
    options: Mapping[str, Any], models: ModelList = BUILT_IN_MODELS
) -> ConfigSubentryData:
    """Return a new speech-to-text setting with these options, titled as `models` name them."""
    model, language = str(options[CONF_MODEL]), str(options[CONF_LANGUAGE])
    return ConfigSubentryData(
        data=dict(options),
        subentry_type=SUBENTRY_STT,
        title=setting_title(models.describe(model), language, models.language_names),
        unique_id=setting_unique_id(model, language),
    )


def renamed_setting(
    subentry: ConfigSubentry,
    options: Mapping[str, Any],
    others: Mapping[str, ConfigSubentry],
    models: ModelList = BUILT_IN_MODELS,
) -> dict[str, Any] | None:
    """Return the unique id, and title, of the model and language in `options`.

    The title changes only if it is still the one the integration gave. Returns
    None when another setting of the account already has that model and language.
    """
    current = StreamSettings.from_options(subentry.data)
    model, language = str(options[CONF_MODEL]), str(options[CONF_LANGUAGE])
    unique_id = setting_unique_id(model, language)
    if any(
        other.unique_id == unique_id and other.subentry_id != subentry.subentry_id
        for other in others.values()
    ):
        return None
    updates: dict[str, Any] = {"unique_id": unique_id}
    names = models.language_names
    if subentry.title in {
        setting_title(current.model, current.language),
        setting_title(models.describe(current.model), current.language, names),
    }:
        updates["title"] = setting_title(models.describe(model), language, names)
    return updates


class SpeechToTextSettingFlow(ConfigSubentryFlow):
    """Add a speech-to-text setting to the account, or change one."""

    def __init__(self) -> None:
        """Start with the model not chosen yet."""
        self._model = DEFAULT_MODEL
        # The models the account's server lists, once asked.
        self._models = BUILT_IN_MODELS

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask for the model of a new setting; the next step asks for the rest."""
        return await self._model_step("user", StreamSettings(), user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the model first: the other settings depend on it."""
        # A model no longer offered is shown as the one in use instead.
        current = StreamSettings.from_options(self._get_reconfigure_subentry().data)
        return await self._model_step("reconfigure", current, user_input)

    async def _model_step(
        self, step_id: str, current: StreamSettings, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show the model form, or go on to the recognition settings of the chosen model."""
        if user_input is not None:
            self._model = user_input[CONF_MODEL]
            return await self.async_step_recognition()
        data = self._get_entry().data
        # The list the account's set-up fetched, unless it is old by now.
        self._models = await async_model_list(
            self.hass, async_get_clientsession(self.hass), data[CONF_SERVER], data[CONF_API_KEY]
        )
        current = current.on_offered_model(self._models)
        schema = vol.Schema(
            {vol.Required(CONF_MODEL): model_selector(self._models, also=current.model)}
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, {CONF_MODEL: current.model}),
        )

    async def async_step_recognition(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the language and every setting the chosen model has."""
        reconfiguring = self.source == SOURCE_RECONFIGURE
        stored: Mapping[str, Any] = self._get_reconfigure_subentry().data if reconfiguring else {}
        current = StreamSettings.from_options(stored)
        errors: dict[str, str] = {}
        if user_input is not None:
            options = {**stored, **user_input, CONF_MODEL: self._model}
            result = self._save(options)
            if result is not None:
                return result
            errors["base"] = "already_configured"
        suggested = dict(user_input or stored)
        if user_input is None and self._model != current.model:
            # Who ends a command defaults by model: show the new model's default.
            suggested.pop(CONF_END_OF_COMMAND, None)
        model = self._models.describe(self._model)
        # Only the languages this model's `multi` recognises can be shown as chosen.
        served = multilingual_languages(model)
        suggested[CONF_OTHER_LANGUAGES] = [
            code for code in suggested.get(CONF_OTHER_LANGUAGES, ()) if code in served
        ]
        return self.async_show_form(
            step_id="recognition",
            data_schema=self.add_suggested_values_to_schema(
                recognition_schema(model, self._models, current), suggested
            ),
            errors=errors,
            description_placeholders={"model": model.label},
        )

    def _save(self, options: dict[str, Any]) -> SubentryFlowResult | None:
        """Add or update the setting; None if the account has its model and language already."""
        entry = self._get_entry()
        if self.source != SOURCE_RECONFIGURE:
            new = stt_subentry(options, self._models)
            if any(sub.unique_id == new["unique_id"] for sub in entry.subentries.values()):
                return None
            return self.async_create_entry(
                title=new["title"], data=new["data"], unique_id=new["unique_id"]
            )
        subentry = self._get_reconfigure_subentry()
        updates = renamed_setting(subentry, options, entry.subentries, self._models)
        if updates is None:
            return None
        # The account reloads itself when one of its settings changes (see __init__.py).
        return self.async_update_and_abort(entry, subentry, data=options, **updates)
