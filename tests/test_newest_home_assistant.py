"""Contract with the newest Home Assistant's speech-to-text entity (2026.11).

Home Assistant 2026.11 needs Python 3.14 and cannot be installed here, but its
`stt` entity base class, models and constants run on 3.13. This loads them from
the sources `scripts/setup` fetched and drives the Deepgram entity through
2026.11's own `internal_async_process_audio_stream(_with_progress)`.
"""

from __future__ import annotations
import __future__

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
import sys
from types import ModuleType
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.deepgram import stt as deepgram_stt
from custom_components.deepgram.const import CONF_END_OF_COMMAND, END_BY_HOME_ASSISTANT
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from local_deepgram_server import DeepgramTestServer
from local_deepgram_server.speech import chunked, synthesize

from . import setting_of, setup_integration

# On a Home Assistant that already has partial results (CI's newest job), its own
# sources; here, the 2026.11 sources that scripts/setup fetched.
NEWEST_STT = (
    Path(next(iter(stt.__path__)))
    if hasattr(stt, "PartialSpeechResult")
    else Path(__file__).parents[1] / ".venv/newest-ha/src/homeassistant/components/stt"
)
PACKAGE = "newest_home_assistant_stt"


@pytest.fixture(scope="module")
def newest() -> ModuleType:
    """Load 2026.11's stt const, models and entity modules under a package of their own."""
    if not (NEWEST_STT / "entity.py").is_file():
        pytest.fail(f"{NEWEST_STT} is missing: run scripts/setup")
    package = ModuleType(PACKAGE)
    package.__path__ = [str(NEWEST_STT)]
    sys.modules[PACKAGE] = package
    for name in ("const", "models", "entity"):
        module = ModuleType(f"{PACKAGE}.{name}")
        module.__package__ = PACKAGE
        sys.modules[module.__name__] = module
        path = NEWEST_STT / f"{name}.py"
        # Python 3.14 evaluates annotations lazily; on 3.13 the same is asked for.
        code = compile(
            path.read_text(encoding="utf-8"),
            str(path),
            "exec",
            flags=__future__.annotations.compiler_flag,
            dont_inherit=True,
        )
        exec(code, module.__dict__)  # noqa: S102 - Home Assistant's own source
        setattr(package, name, module)
    return package


@pytest.fixture
def contract_entity_class(newest: ModuleType, monkeypatch: pytest.MonkeyPatch) -> type[Any]:
    """Return the Deepgram entity rebuilt on 2026.11's base class and models."""
    for name in ("SpeechResult", "PartialSpeechResult", "SpeechAudioProcessing"):
        monkeypatch.setattr(deepgram_stt, name, getattr(newest.models, name))
    monkeypatch.setattr(deepgram_stt, "SpeechResultState", newest.const.SpeechResultState)
    # The entity's own methods and properties; Home Assistant's metaclass turns
    # `_attr_` class attributes into properties, so those are given afresh.
    own = {
        name: value
        for name, value in vars(deepgram_stt.DeepgramSpeechToTextEntity).items()
        if name not in ("__dict__", "__weakref__") and "_attr_" not in name
    }
    own |= {"_attr_has_entity_name": True, "_attr_name": None}
    return type("DeepgramOnNewest", (newest.entity.SpeechToTextEntity,), own)


def metadata(newest: ModuleType) -> Any:
    """Describe 16 kHz mono PCM with 2026.11's own types."""
    const = newest.const
    return newest.models.SpeechMetadata(
        language="en",
        format=const.AudioFormats.WAV,
        codec=const.AudioCodecs.PCM,
        bit_rate=const.AudioBitRates.BITRATE_16,
        sample_rate=const.AudioSampleRates.SAMPLERATE_16000,
        channel=const.AudioChannels.CHANNEL_MONO,
    )


async def make_entity(
    hass: HomeAssistant, entry: MockConfigEntry, entity_class: type[Any], **options: Any
) -> Any:
    """Set the entry up and return a detached entity of the contract class."""
    await setup_integration(hass, entry, **options)
    setting = setting_of(entry)
    entity = entity_class(entry, setting, entry.runtime_data.listening[setting.subentry_id])
    entity.hass = hass
    entity.entity_id = "stt.deepgram_contract"
    entity.async_write_ha_state = lambda: None  # Not added to a platform.
    return entity


async def two_commands() -> AsyncIterator[bytes]:
    """Speak two commands with a pause, then end."""
    audio = synthesize("turn on the light", trailing_silence=1.0) + synthesize("and the fan")
    for chunk in chunked(audio, 640):
        yield chunk


async def test_final_result_through_the_newest_base_class(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    newest: ModuleType,
    contract_entity_class: type[Any],
) -> None:
    """2026.11's final-only entry point gets exactly the final transcript."""
    entity = await make_entity(hass, mock_config_entry, contract_entity_class)
    deepgram_server.utterances.append("turn on the light")
    result = await entity.internal_async_process_audio_stream(metadata(newest), two_commands())
    assert result == newest.models.SpeechResult(
        "turn on the light", newest.const.SpeechResultState.SUCCESS
    )
    # A Nova entry answers at Deepgram's end of speech yet keeps HA's VAD as fallback.
    assert entity.audio_processing == newest.models.SpeechAudioProcessing(
        requires_external_vad=True,
        prefers_auto_gain_enabled=False,
        prefers_noise_reduction_enabled=False,
    )


async def test_partials_then_one_final_through_the_newest_base_class(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    newest: ModuleType,
    contract_entity_class: type[Any],
) -> None:
    """2026.11's progress entry point yields partials, then exactly one final, last."""
    entity = await make_entity(
        hass,
        mock_config_entry,
        contract_entity_class,
        **{CONF_END_OF_COMMAND: END_BY_HOME_ASSISTANT},
    )
    deepgram_server.utterances.extend(["turn on the light", "and the fan"])
    results = [
        result
        async for result in entity.internal_async_process_audio_stream_with_progress(
            metadata(newest), two_commands()
        )
    ]
    finals = [result for result in results if isinstance(result, newest.models.SpeechResult)]
    partials = results[:-1]
    assert finals == [results[-1]]
    assert results[-1].text == "turn on the light and the fan"
    assert len(partials) >= 2
    assert all(isinstance(result, newest.models.PartialSpeechResult) for result in partials)
    assert partials[-1].text == results[-1].text


async def test_early_close_of_the_newest_generator_closes_the_websocket(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    deepgram_server: DeepgramTestServer,
    newest: ModuleType,
    contract_entity_class: type[Any],
) -> None:
    """Closing 2026.11's generator after a partial closes the Deepgram stream cleanly."""
    entity = await make_entity(
        hass,
        mock_config_entry,
        contract_entity_class,
        **{CONF_END_OF_COMMAND: END_BY_HOME_ASSISTANT},
    )
    deepgram_server.utterances.append("turn on the light")

    async def endless() -> AsyncIterator[bytes]:
        async for chunk in two_commands():
            yield chunk
        while True:
            await asyncio.sleep(0.01)
            yield bytes(640)

    results = entity.internal_async_process_audio_stream_with_progress(metadata(newest), endless())
    first = await anext(results)
    assert isinstance(first, newest.models.PartialSpeechResult)
    await results.aclose()
    session = deepgram_server.sessions[-1]
    await asyncio.wait_for(session.closed.wait(), 3)
    assert session.control[-1] == "CloseStream"
    assert session.close_code == 1000
