"""Who ends a voice command, and when: pauses kept whole vs. answers that come fast.

The pause corpus (`tests.speech.PAUSED_COMMANDS`: English and German commands
spoken by espeak-ng, each once in one go and once with a pause of 0.3, 0.5, 0.7
and 1.0 s inside, then 1.5 s of silence) goes through an Assist pipeline into
Deepgram entries set up each way below, against the local Deepgram server,
which ends a segment (`speech_final`) wherever `endpointing` ms of silence
follow speech, with the words spoken so far, and sends `UtteranceEnd` as
Deepgram does. Every way gets the same audio in the same run.

Measured: whether the command came back whole (a "cut" is a command that came
back without its words after the pause, for pauses up to 0.7 s: Home
Assistant's own bound); how many 1.0 s pauses ended the command there, as Home
Assistant's detection would; and, for the commands spoken in one go, the time
from the last speech sample to the pipeline's `stt-end` (fed at real time, in
20 ms chunks; the paused ones are fed at twice real time, which changes no
outcome: every decision is taken in audio time).

    .venv/bin/python -m benchmarks.end_of_speech [--commands 11]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
import itertools
import platform
import statistics
import time
from typing import Any
from unittest.mock import patch

from custom_components.deepgram import stt as deepgram_stt
from custom_components.deepgram.const import (
    CONF_END_OF_COMMAND,
    CONF_ENDPOINTING,
    CONF_LANGUAGE,
    CONF_MODEL,
    END_BY_DEEPGRAM,
    END_BY_HOME_ASSISTANT,
    LANGUAGE_FOLLOW_PIPELINE,
)
from homeassistant.components import tts
from homeassistant.components.assist_pipeline import (
    PipelineEvent,
    PipelineEventType,
    PipelineStage,
    async_create_default_pipeline,
    async_pipeline_from_audio_stream,
)
from homeassistant.components.assist_pipeline.pipeline import AudioSettings
from homeassistant.const import __version__ as ha_version
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from tests.deepgram_server import DeepgramTestServer
from tests.speech import (
    PAUSED_COMMANDS,
    PAUSES,
    PausedCommand,
    chunked,
    last_speech_seconds,
    spoken_with_pauses,
)

from .home_assistant import PCM_16K_MONO, add_deepgram, running_home_assistant

SAMPLE_RATE = 16000
CHUNK_SECONDS = 0.02
CHUNK_BYTES = int(SAMPLE_RATE * CHUNK_SECONDS) * 2
ENDPOINTING_MS = 300
# Home Assistant's own bound on a pause: shorter pauses must never cut a command.
KEPT_PAUSES = tuple(pause for pause in PAUSES if pause <= 0.7)  # noqa: PLR2004
LONG_PAUSE = max(PAUSES)
PAUSED_SPEED = 2.0
LANGUAGES = ("en", "de")


@dataclass(frozen=True, slots=True)
class Strategy:
    """One way of ending a command: an entry's options, per language."""

    name: str
    options: dict[str, Any]
    # Answer at the first speech_final, as the entity did before it read the words.
    first_speech_final: bool = False
    models: dict[str, str] = field(default_factory=dict)


STRATEGIES = (
    Strategy(
        "Home Assistant's voice detection alone", {CONF_END_OF_COMMAND: END_BY_HOME_ASSISTANT}
    ),
    Strategy(
        "Endpointing 700 ms, answer at the first speech_final",
        {CONF_ENDPOINTING: 700},
        first_speech_final=True,
    ),
    Strategy("Before: answer at the first speech_final", {}, first_speech_final=True),
    Strategy("Now: answer when the command is complete (default)", {}),
    Strategy("Now, Only Deepgram", {CONF_END_OF_COMMAND: END_BY_DEEPGRAM}),
    Strategy(
        "Flux (its default: Only Deepgram)",
        {},
        models={"en": "flux-general-en", "de": "flux-general-multi"},
    ),
)


@dataclass(slots=True)
class Outcome:
    """What one way of ending a command did with the corpus."""

    kept: int = 0
    cut: list[str] = field(default_factory=list)
    long_pause_ended: int = 0
    long_pause_runs: int = 0
    latencies: list[float] = field(default_factory=list)


@contextmanager
def answering_at_first_speech_final(strategy: Strategy) -> Iterator[None]:
    """Make the entity answer at the first speech_final, whatever the words (the old way)."""
    if not strategy.first_speech_final:
        yield
        return
    with patch.object(deepgram_stt, "is_unfinished", lambda _text, _language: False):
        yield


async def microphone(pcm: bytes, started: float, speed: float) -> AsyncIterator[bytes]:
    """Deliver each 20 ms chunk when its last sample has been 'recorded' (at `speed`)."""
    loop = asyncio.get_running_loop()
    for index, chunk in enumerate(chunked(pcm, CHUNK_BYTES)):
        due = started + (index + 1) * CHUNK_SECONDS / speed
        await asyncio.sleep(max(0.0, due - loop.time()))
        yield chunk


async def confirm_http_config(hass: HomeAssistant) -> None:
    """Confirm the http configuration, as its user would on Home Assistant 2026.11+.

    Those versions try a configuration taken from YAML and restart after five
    minutes unless it is confirmed; a benchmark runs longer than that.
    """
    try:
        from homeassistant.components.http.config import (  # noqa: PLC0415 - 2026.11+
            async_get_and_load_store,
        )
    except ImportError:
        return
    store = await async_get_and_load_store(hass)
    if store.pending is not None:
        await store.async_promote_pending()


async def set_up_pipelines(hass: HomeAssistant, server: str) -> dict[tuple[str, str], str]:
    """Add one entry per strategy, and a pipeline per strategy and language."""
    for component in ("homeassistant", "assist_pipeline"):
        if not await async_setup_component(hass, component, {}):
            msg = f"{component} did not set up"
            raise RuntimeError(msg)
    pipelines: dict[tuple[str, str], str] = {}
    home_language = hass.config.language
    for index, strategy in enumerate(STRATEGIES):
        models = strategy.models or dict.fromkeys(LANGUAGES, "nova-3")
        entities = {}
        for model in dict.fromkeys(models.values()):
            _, entities[model] = await add_deepgram(
                hass,
                server,
                api_key=f"end-of-speech-{index}-{model}",
                **{CONF_MODEL: model, CONF_LANGUAGE: LANGUAGE_FOLLOW_PIPELINE, **strategy.options},
            )
        for language in LANGUAGES:
            # The default pipeline takes Home Assistant's language.
            hass.config.language = language
            try:
                pipeline = await async_create_default_pipeline(
                    hass,
                    stt_engine_id=entities[models[language]].entity_id,
                    tts_engine_id=tts.async_default_engine(hass),
                    pipeline_name=f"{strategy.name} ({language})",
                )
            finally:
                hass.config.language = home_language
            if pipeline is None:
                msg = f"no {language} pipeline could be created for {strategy.name}"
                raise RuntimeError(msg)
            pipelines[strategy.name, language] = pipeline.id
    await hass.async_block_till_done()
    return pipelines


async def one_run(  # noqa: PLR0913 - one run's whole description
    hass: HomeAssistant,
    server: DeepgramTestServer,
    pipeline_id: str,
    command: PausedCommand,
    *,
    pause: float | None,
    speed: float,
) -> tuple[float, str]:
    """Return seconds from the last speech sample to stt-end, and the transcript."""
    loop = asyncio.get_running_loop()
    pcm = spoken_with_pauses(command, pause)
    server.utterances[:] = [command.text if pause is None else command.script]
    done: dict[str, float | str] = {}

    def on_event(event: PipelineEvent) -> None:
        if event.type is PipelineEventType.STT_END:
            done["at"] = loop.time()
            done["text"] = (event.data or {})["stt_output"]["text"]

    started = loop.time()
    await async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=on_event,
        stt_metadata=replace(PCM_16K_MONO, language=command.language),
        stt_stream=microphone(pcm, started, speed),
        pipeline_id=pipeline_id,
        start_stage=PipelineStage.STT,
        end_stage=PipelineStage.STT,
        audio_settings=AudioSettings(is_vad_enabled=True),
    )
    if "at" not in done:
        msg = "the pipeline ended without stt-end"
        raise RuntimeError(msg)
    latency = float(done["at"]) - (started + last_speech_seconds(pcm) / speed)
    return latency, str(done["text"])


def words(text: str) -> str:
    """Return a transcript as compared: lower case, no punctuation."""
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def bench(commands: tuple[PausedCommand, ...]) -> dict[str, Outcome]:
    """Run every command, in one go and with each pause, through every strategy."""
    server = DeepgramTestServer(api_keys=None)
    await server.start()
    outcomes = {strategy.name: Outcome() for strategy in STRATEGIES}
    try:
        async with running_home_assistant() as hass:
            await confirm_http_config(hass)
            pipelines = await set_up_pipelines(hass, server.url)
            for command in commands:
                await asyncio.to_thread(spoken_with_pauses, command, None)  # off the loop
                for pause in (None, *PAUSES):
                    await asyncio.to_thread(spoken_with_pauses, command, pause)
                    for strategy in STRATEGIES:
                        outcome = outcomes[strategy.name]
                        pipeline = pipelines[strategy.name, command.language]
                        speed = 1.0 if pause is None else PAUSED_SPEED
                        with answering_at_first_speech_final(strategy):
                            latency, text = await one_run(
                                hass, server, pipeline, command, pause=pause, speed=speed
                            )
                        whole = words(text) == words(command.text)
                        if pause is None:
                            if not whole:
                                msg = f"{strategy.name}: {command.text!r} came back as {text!r}"
                                raise RuntimeError(msg)
                            outcome.latencies.append(latency)
                        elif pause in KEPT_PAUSES:
                            if whole:
                                outcome.kept += 1
                            else:
                                outcome.cut.append(f"{command.text!r} @{pause}s -> {text!r}")
                        else:
                            outcome.long_pause_runs += 1
                            outcome.long_pause_ended += not whole
    finally:
        await server.stop()
    return outcomes


def report(outcomes: dict[str, Outcome], commands: int) -> None:
    """Print the table the README shows."""
    print(  # noqa: T201
        f"End of a command, {commands} commands (en, de), {time.strftime('%Y-%m-%d %H:%M')} UTC; "
        f"{platform.machine()}, Python {platform.python_version()}, "
        f"Home Assistant {ha_version}; endpointing {ENDPOINTING_MS} ms unless named"
    )
    pauses = ", ".join(f"{pause}" for pause in KEPT_PAUSES)
    print(  # noqa: T201
        f"| Who ends a command | cut by a pause of {pauses} s | ended at a {LONG_PAUSE} s pause "
        "| last word to transcript, p50 / p95 |"
    )
    print("| --- | ---: | ---: | ---: |")  # noqa: T201
    for name, outcome in outcomes.items():
        runs = outcome.kept + len(outcome.cut)
        cut = f"{len(outcome.cut)} of {runs} ({len(outcome.cut) / max(runs, 1):.0%})"
        ended = f"{outcome.long_pause_ended} of {outcome.long_pause_runs}"
        p50 = statistics.median(outcome.latencies) * 1000
        p95 = percentile(outcome.latencies, 0.95) * 1000
        print(f"| {name} | {cut} | {ended} | {p50:.0f} / {p95:.0f} ms |")  # noqa: T201
    for name, outcome in outcomes.items():
        for cut in outcome.cut:
            print(f"cut: {name}: {cut}")  # noqa: T201


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--commands",
        type=int,
        default=len(PAUSED_COMMANDS),
        help=f"commands of the corpus to use (default all {len(PAUSED_COMMANDS)})",
    )
    count = parser.parse_args().commands
    # Alternate the languages, so a short run has both.
    english = [command for command in PAUSED_COMMANDS if command.language == "en"]
    german = [command for command in PAUSED_COMMANDS if command.language != "en"]
    ordered = [c for pair in itertools.zip_longest(english, german) for c in pair if c]
    commands = tuple(ordered[:count])
    report(asyncio.run(bench(commands)), len(commands))


if __name__ == "__main__":
    main()
