"""Run the local Deepgram server: `python -m tests.deepgram_server --port 8080`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
from pathlib import Path
import sys

from .grammar import DEMO_NAMES, names_in_config
from .network import PIECES, SEGMENT_GAP, WHOLE_WRITES, LocalCertificate, Network
from .recogniser import SpeechRecogniser
from .server import DEFAULT_PROJECT_ID, HOST, DeepgramTestServer


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.deepgram_server",
        description=(
            "A local Deepgram live speech-to-text server that transcribes by a script: "
            "Nova on /v1/listen (Results, Metadata) and Flux on /v2/listen (Connected, "
            "TurnInfo turns, Configure, ForceEndTurn); it also speaks with espeak-ng on "
            "/v1/speak (REST and websocket)."
        ),
    )
    parser.add_argument("--host", default=HOST, help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: %(default)s)")
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help="accept this key (repeatable); without it any non-empty key is accepted",
    )
    parser.add_argument(
        "--project-id", default=DEFAULT_PROJECT_ID, help="project id that /v1/projects returns"
    )
    parser.add_argument(
        "--self-hosted", action="store_true", help="act as a self-hosted server (no auth)"
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=10.0,
        help="seconds without audio or text before a /v1/listen stream closes (default: 10)",
    )
    parser.add_argument(
        "--flux-idle-timeout",
        type=float,
        default=60.0,
        help="seconds without audio, text or ping before a Flux stream closes (default: 60)",
    )
    parser.add_argument(
        "--utterance",
        action="append",
        default=[],
        metavar="TEXT",
        help="scripted transcript of the next utterance, or Flux turn (repeatable); "
        "without it each one is described",
    )
    parser.add_argument(
        "--finalize-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="processing delay before answering Finalize, ForceEndTurn, CloseStream and "
        "uploads (default: 0)",
    )
    parser.add_argument(
        "--prerecorded-delay-per-second",
        type=float,
        default=None,
        metavar="SECONDS",
        help="extra delay of a POST /v1/listen per second of its audio (default: 0.01)",
    )
    parser.add_argument(
        "--scripts-by-key",
        type=Path,
        metavar="FILE",
        help="JSON object {api key: transcript}: each request with that key gets that transcript",
    )
    parser.add_argument(
        "--recognise",
        action="store_true",
        help="hear the speech of /v1/listen streams offline (PocketSphinx): Assist's "
        "commands over the request's key terms, else the names in --config",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="DIR",
        help="Home Assistant configuration directory whose area and entity names "
        "--recognise expects when a request sends no key terms",
    )
    parser.add_argument(
        "--speak-first-byte-delay",
        type=float,
        default=0.05,
        metavar="SECONDS",
        help="least time from a /v1/speak Flush (or request) to its first audio (default: 0.05)",
    )
    parser.add_argument(
        "--whole-writes",
        action="store_true",
        help="send each write whole, as loopback does (default: in 1.4 KB pieces "
        "a few milliseconds apart, as over a real network)",
    )
    parser.add_argument(
        "--segment-gap",
        type=float,
        default=SEGMENT_GAP,
        metavar="SECONDS",
        help="time between two pieces of one write (default: %(default)s)",
    )
    parser.add_argument(
        "--tls",
        type=Path,
        metavar="DIR",
        help="serve https and wss with a certificate made at start; its authority's "
        "certificate is written to DIR/deepgram-local-ca.pem for the client to trust",
    )
    parser.add_argument("--verbose", action="store_true", help="log at debug level")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    recogniser = SpeechRecogniser() if args.recognise else None
    network = WHOLE_WRITES if args.whole_writes else Network(PIECES.segment_bytes, args.segment_gap)
    certificate = None
    if args.tls is not None:
        certificate = LocalCertificate()
        args.tls.mkdir(parents=True, exist_ok=True)
        trusted = certificate.write(args.tls)
        print(f"TLS: trust {trusted}", flush=True)  # noqa: T201
    server = DeepgramTestServer(
        args.api_keys,
        project_id=args.project_id,
        self_hosted=args.self_hosted,
        idle_timeout=args.idle_timeout,
        flux_idle_timeout=args.flux_idle_timeout,
        host=args.host,
        port=args.port,
        recogniser=recogniser,
        network=network,
        tls=certificate,
    )
    if args.config is not None:
        config_dir: Path = args.config
        server.home_names = lambda: names_in_config(config_dir) or DEMO_NAMES
    server.utterances.extend(args.utterance)
    server.finalize_delay = args.finalize_delay
    server.speak.first_byte_delay = args.speak_first_byte_delay
    if args.prerecorded_delay_per_second is not None:
        server.prerecorded_delay_per_second = args.prerecorded_delay_per_second
    if args.scripts_by_key is not None:
        server.scripts_by_key = json.loads(args.scripts_by_key.read_text(encoding="utf-8"))
    await server.start()
    hears = "recognising speech" if recogniser else "scripted transcripts"
    print(f"Local Deepgram server on {server.url}, {hears} (Ctrl-C to stop)", flush=True)  # noqa: T201
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
        if recogniser is not None:
            recogniser.close()


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    args = _arguments(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
