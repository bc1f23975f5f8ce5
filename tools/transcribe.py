"""Stream a WAV file to Deepgram through the integration's client; print results with timings.

What a developer uses to check an API key, a model or a language from the terminal:

    DEEPGRAM_API_KEY=... scripts/transcribe speech.wav --model nova-3 --language de
    scripts/transcribe --local --say "turn on the kitchen lights"
    scripts/transcribe --local --speak "The lights are on." --out answer.wav

The audio goes through `custom_components.deepgram.protocol.DeepgramClient`, the code the
Home Assistant entity uses, at real-time pace by default (as a microphone would send it).
`--speak` goes the other way: text to Deepgram's `/v1/speak` websocket, a WAV file back
(see `tools.speak`).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
import os
from pathlib import Path
import sys
import time
from typing import TextIO
import wave

import aiohttp
from yarl import URL

from custom_components.deepgram.protocol import (
    DEFAULT_MODEL,
    DEFAULT_SERVER,
    SPEECH_MODELS,
    DeepgramClient,
    DeepgramError,
    LiveOptions,
    Metadata,
    Results,
    SpeechStarted,
    TranscriptBuilder,
    UtteranceEnd,
    normalize_server,
)

from .speak import SpeakError, speak, wav_bytes

API_KEY_VARIABLE = "DEEPGRAM_API_KEY"
DEEPGRAM_CLOUD_HOSTS = frozenset({"api.deepgram.com", "api.eu.deepgram.com"})
DEFAULT_VOICE = "aura-2-thalia-en"
LOCAL_API_KEY = "local"  # The local server accepts any non-empty key.
SAMPLE_WIDTH = 2
# The development instance's configuration, whose names --local expects to hear.
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """The command line cannot work as given."""


@dataclass(frozen=True, slots=True)
class Audio:
    """16-bit PCM and its format."""

    pcm: bytes
    sample_rate: int
    channels: int
    name: str

    @property
    def seconds(self) -> float:
        """Return the duration of the audio."""
        return len(self.pcm) / (SAMPLE_WIDTH * self.channels * self.sample_rate)


def read_wav(path: Path) -> Audio:
    """Read a 16-bit PCM WAV file, or explain how to make one."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != SAMPLE_WIDTH:
                msg = (
                    f"{path} has {wav.getsampwidth() * 8}-bit samples; Home Assistant sends "
                    f"16-bit PCM. Convert it: sox {path} -b 16 -e signed-integer out.wav"
                )
                raise UsageError(msg)
            return Audio(
                wav.readframes(wav.getnframes()),
                wav.getframerate(),
                wav.getnchannels(),
                str(path),
            )
    except (OSError, EOFError, wave.Error) as err:
        msg = f"cannot read {path} as a PCM WAV file: {err}"
        raise UsageError(msg) from err


def spoken(text: str, sample_rate: int) -> Audio:
    """Speak `text` with espeak-ng (as the tests do)."""
    from local_deepgram_server.speech import synthesize  # noqa: PLC0415 - only --say needs espeak-ng and sox

    try:
        pcm = synthesize(text, sample_rate=sample_rate, channels=1)
    except (RuntimeError, OSError) as err:
        raise UsageError(str(err)) from err
    return Audio(pcm, sample_rate, 1, f'"{text}" (espeak-ng)')


@dataclass(slots=True)
class Timeline:
    """When things happened, in seconds since the stream started."""

    start: float = field(default_factory=time.monotonic)
    connected: float | None = None
    first_result: float | None = None
    audio_sent: float | None = None
    last_final: float | None = None

    def now(self) -> float:
        """Return the seconds since the start."""
        return time.monotonic() - self.start


def live_options(args: argparse.Namespace, audio: Audio) -> LiveOptions:
    """Ask Deepgram what the Home Assistant entity asks, plus interim results."""
    return LiveOptions(
        model=args.model,
        language=args.language,
        punctuate=True,
        encoding="linear16",
        sample_rate=audio.sample_rate,
        channels=audio.channels,
        interim_results=args.interim,
        endpointing=args.endpointing,
        keyterm=tuple(args.keyterm),
    )


class Printer:
    """Print each message on one line, with its time."""

    def __init__(self, out: TextIO, timeline: Timeline) -> None:
        """Write to `out`."""
        self.out = out
        self.timeline = timeline

    def line(self, what: str, detail: str = "") -> None:
        """Print one timed line."""
        print(
            f"{self.timeline.now():8.3f} s  {what:<9} {detail}".rstrip(), file=self.out, flush=True
        )

    def message(self, message: object) -> None:
        """Print one Deepgram message."""
        if isinstance(message, Results):
            flags = [
                name
                for name, value in (
                    ("speech_final", message.speech_final),
                    ("from_finalize", message.from_finalize),
                )
                if value
            ]
            span = f"[{message.start:.2f}-{message.start + message.duration:.2f} s]"
            suffix = f" ({', '.join(flags)})" if flags else ""
            kind = "final" if message.is_final else "interim"
            self.line(kind, f"{message.transcript!r} {span}{suffix}")
        elif isinstance(message, Metadata):
            self.line(
                "metadata", f"request {message.request_id}, {message.duration:.2f} s of audio"
            )
        elif isinstance(message, SpeechStarted):
            self.line("speech", f"started at {message.timestamp:.2f} s")
        elif isinstance(message, UtteranceEnd):
            self.line("utterance", f"ended, last word at {message.last_word_end:.2f} s")
        else:
            self.line("message", repr(message))


async def paced(
    audio: Audio, *, speed: float, chunk_ms: int, printer: Printer
) -> AsyncIterator[bytes]:
    """Yield the audio in chunks, `speed` times real time (0: as fast as possible)."""
    timeline = printer.timeline
    frame_bytes = SAMPLE_WIDTH * audio.channels
    chunk = max(audio.sample_rate * chunk_ms // 1000, 1) * frame_bytes
    sent = 0
    while sent < len(audio.pcm):
        piece = audio.pcm[sent : sent + chunk]
        sent += len(piece)
        yield piece
        if speed > 0:
            due = sent / frame_bytes / audio.sample_rate / speed
            if (wait := due - timeline.now()) > 0:
                await asyncio.sleep(wait)
    timeline.audio_sent = timeline.now()
    printer.line("audio", f"all {audio.seconds:.2f} s sent")


def _milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def _after_audio(moment: float | None, audio_sent: float | None) -> str:
    """Say when something happened relative to the end of the audio."""
    if moment is None or audio_sent is None:
        return "-"
    if moment < audio_sent:
        return f"{(audio_sent - moment) * 1000:.0f} ms before the audio ended"
    return f"{(moment - audio_sent) * 1000:.0f} ms after the audio ended"


async def stream(
    args: argparse.Namespace, audio: Audio, server: str, api_key: str, out: TextIO
) -> int:
    """Stream the audio once; print every message and a summary."""
    timeline = Timeline()
    printer = Printer(out, timeline)

    async def on_request_end(*_: object) -> None:
        if timeline.connected is None:
            timeline.connected = timeline.now()
            printer.line("connected")

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    options = live_options(args, audio)
    pace = "as fast as possible" if args.speed <= 0 else f"at {args.speed:g}x real time"
    layout = {1: "mono", 2: "stereo"}.get(audio.channels, f"{audio.channels} channels")
    print(
        f"Streaming {audio.name} ({audio.seconds:.2f} s, {audio.sample_rate} Hz {layout}) "
        f"to {server} with {args.model}/{args.language} {pace}",
        file=out,
        flush=True,
    )
    transcript = TranscriptBuilder()
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = DeepgramClient(api_key, session=session, server=server)
        timeline.start = time.monotonic()
        chunks = paced(audio, speed=args.speed, chunk_ms=args.chunk_ms, printer=printer)
        try:
            async for message in client.stream(chunks, options):
                if isinstance(message, Results) and timeline.first_result is None:
                    timeline.first_result = timeline.now()
                if isinstance(message, Results) and message.is_final and message.transcript:
                    timeline.last_final = timeline.now()
                transcript.add(message)
                printer.message(message)
        except DeepgramError as err:
            printer.line("error", str(err))
            return EXIT_FAILED
        finally:
            await client.close()
        printer.line("closed")
    closed = timeline.now()
    print(f"Transcript: {transcript.text or '(no words recognised)'}", file=out)
    print(
        f"Timings: connected after {_milliseconds(timeline.connected)}; "
        f"first result after {_milliseconds(timeline.first_result)}; "
        f"last final {_after_audio(timeline.last_final, timeline.audio_sent)}; "
        f"closed {_after_audio(closed, timeline.audio_sent)}",
        file=out,
    )
    print(f"Request id: {transcript.request_id or '-'}", file=out, flush=True)
    return EXIT_OK


def api_key_for(server: str, environ: dict[str, str] | os._Environ[str]) -> str:
    """Return the key from the environment; Deepgram's cloud needs one, others need none."""
    if key := environ.get(API_KEY_VARIABLE, "").strip():
        return key
    if URL(server).host in DEEPGRAM_CLOUD_HOSTS:
        msg = (
            f"set {API_KEY_VARIABLE} to a Deepgram API key (console.deepgram.com), "
            "or use --local to try the project's local server"
        )
        raise UsageError(msg)
    return LOCAL_API_KEY


async def start_local_server(stack: AsyncExitStack) -> str:
    """Start the local server, recognising speech over the names in config/; return its URL."""
    from local_deepgram_server import DeepgramTestServer  # noqa: PLC0415
    from local_deepgram_server.grammar import DEMO_NAMES, names_in_config  # noqa: PLC0415
    from local_deepgram_server.recogniser import SpeechRecogniser  # noqa: PLC0415

    recogniser = SpeechRecogniser()
    stack.callback(recogniser.close, wait=True)
    server = await stack.enter_async_context(DeepgramTestServer(recogniser=recogniser))
    names = names_in_config(CONFIG_DIR) or DEMO_NAMES
    server.home_names = lambda: names
    return server.url


async def speak_to_file(args: argparse.Namespace, server: str, api_key: str, out: TextIO) -> int:
    """Have the text spoken over `/v1/speak`; write the WAV file and print timings."""
    rate = args.sample_rate
    print(
        f"Speaking {len(args.speak)} characters with {args.voice} ({rate} Hz) via {server}",
        file=out,
        flush=True,
    )
    async with aiohttp.ClientSession() as session:
        try:
            answer = await speak(
                session, server, api_key, args.speak, voice=args.voice, sample_rate=rate
            )
        except SpeakError as err:
            print(f"Error: {err}", file=out, flush=True)
            return EXIT_FAILED
    args.out.write_bytes(wav_bytes(bytes(answer.pcm), rate))
    print(
        f"Wrote {args.out}: {answer.seconds(rate):.2f} s of audio in {answer.frames} frames",
        file=out,
    )
    print(
        f"Timings: connected after {_milliseconds(answer.connected)}; "
        f"first audio after {_milliseconds(answer.first_audio)}; "
        f"Flushed after {_milliseconds(answer.flushed)}; "
        f"closed ({answer.close_code}) after {_milliseconds(answer.closed)}",
        file=out,
    )
    print(f"Request id: {answer.request_id or '-'}", file=out, flush=True)
    return EXIT_OK


async def run(args: argparse.Namespace, out: TextIO) -> int:
    """Load the audio, start the local server if asked, and stream (or speak)."""
    audio = None
    if args.speak is None:
        audio = spoken(args.say, args.sample_rate) if args.say else read_wav(args.wav)
    async with AsyncExitStack() as stack:
        if args.local:
            if audio is None:
                # Speaking needs no recogniser: the local server's voices are espeak-ng.
                from local_deepgram_server import DeepgramTestServer  # noqa: PLC0415

                url = (await stack.enter_async_context(DeepgramTestServer())).url
                print(f"Local Deepgram-compatible server on {url}: speech is espeak-ng", file=out)
            else:
                url = await start_local_server(stack)
                print(
                    f"Local Deepgram-compatible server on {url}: it recognises Assist's commands",
                    file=out,
                )
        else:
            try:
                url = normalize_server(args.server)
            except ValueError as err:
                raise UsageError(str(err)) from err
        api_key = LOCAL_API_KEY if args.local else api_key_for(url, os.environ)
        if audio is None:
            return await speak_to_file(args, url, api_key, out)
        return await stream(args, audio, url, api_key, out)


def parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    cli = argparse.ArgumentParser(
        prog="scripts/transcribe",
        description=(
            "Stream a 16-bit PCM WAV file to Deepgram's live API through the integration's "
            "client, as Home Assistant would, and print interim and final results with "
            "timings; or, with --speak, have text spoken over /v1/speak into a WAV file. "
            f"The API key comes from ${API_KEY_VARIABLE}."
        ),
    )
    source = cli.add_mutually_exclusive_group(required=True)
    source.add_argument("wav", nargs="?", type=Path, help="a 16-bit PCM WAV file")
    source.add_argument("--say", metavar="TEXT", help="speak TEXT with espeak-ng instead")
    source.add_argument(
        "--speak", metavar="TEXT", help="have Deepgram speak TEXT (/v1/speak) into --out"
    )
    target = cli.add_mutually_exclusive_group()
    target.add_argument(
        "--server",
        default=os.environ.get("DEEPGRAM_SERVER", DEFAULT_SERVER),
        help="Deepgram or a self-hosted/local server (default: $DEEPGRAM_SERVER or %(default)s)",
    )
    target.add_argument(
        "--local",
        action="store_true",
        help="start the project's local Deepgram-compatible server for this run (no key)",
    )
    cli.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"model (default: %(default)s; known: {', '.join(SPEECH_MODELS)})",
    )
    cli.add_argument("--language", default="en", help="language code (default: %(default)s)")
    cli.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="pace relative to real time; 0 sends as fast as possible (default: %(default)s)",
    )
    cli.add_argument(
        "--chunk-ms", type=int, default=20, help="audio per message (default: %(default)s)"
    )
    cli.add_argument(
        "--no-interim",
        dest="interim",
        action="store_false",
        help="ask for final results only",
    )
    cli.add_argument("--endpointing", type=int, metavar="MS", help="silence that ends an utterance")
    cli.add_argument(
        "--keyterm", action="append", default=[], help="boost a term (Nova-3; repeatable)"
    )
    cli.add_argument(
        "--sample-rate",
        type=int,
        default=16000,
        help="sample rate of --say audio and --speak output (default: %(default)s)",
    )
    cli.add_argument(
        "--voice",
        default=DEFAULT_VOICE,
        help="Aura voice of --speak (default: %(default)s)",
    )
    cli.add_argument(
        "--out",
        type=Path,
        default=Path("answer.wav"),
        help="WAV file that --speak writes (default: %(default)s)",
    )
    return cli


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run the command line; return the exit code."""
    cli = parser()
    args = cli.parse_args(argv)
    if args.speed < 0 or args.chunk_ms <= 0:
        cli.error("--speed must be >= 0 and --chunk-ms > 0")
    try:
        return asyncio.run(run(args, out))
    except UsageError as err:
        sys.stderr.write(f"{cli.prog}: {err}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
