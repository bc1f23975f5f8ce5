"""Run every client on the same audio against the local server, and print the table.

The local Deepgram server runs in its own process (on its own CPU when there are
two), and each measurement in a fresh worker process (`benchmarks.harness`) on
the other CPU, so only the client side is measured. The SDK's worker runs in the
SDK's own venv.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
import json
import os
from pathlib import Path
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from .audio import utterances
from .harness import DEFAULT_CHUNK_MS, Job, Utterance

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".bench"
MAIN_PYTHON = REPO / ".venv" / "bin" / "python"
SDK_PYTHON = REPO / ".venv-sdk" / "bin" / "python"

SERVER_DELAY = 0.1
BATCH_DELAY_PER_SECOND = 0.01
LATENCY_MARGIN = 0.015
CPU_TARGET_MS = 0.5
STALL_TARGET_MS = 5.0
MEMORY_TARGET_KB = 150.0
WORKER_TIMEOUT = 600.0

CLIENTS: dict[str, str] = {
    "integration": "this integration: DeepgramClient",
    "entity": "this integration: the stt entity in Home Assistant",
    "entity_full": "the stt entity, end-of-speech answer off (streams to the end)",
    "sdk": "deepgram-sdk async live client",
    "batch": "batch: upload after the stream ends",
}
NULL = "null"


@dataclass(frozen=True, slots=True)
class Plan:
    """What to measure."""

    lengths: tuple[float, ...]
    repeats: dict[float, int]
    concurrency: int
    stall_length: float
    import_runs: int
    smoke: bool
    chunk_ms: int = DEFAULT_CHUNK_MS


FULL = Plan(
    lengths=(2.0, 5.0, 15.0),
    repeats={2.0: 10, 5.0: 5, 15.0: 3},
    concurrency=50,
    stall_length=5.0,
    import_runs=7,
    smoke=False,
)
SMOKE = Plan(
    lengths=(2.0,),
    repeats={},
    concurrency=3,
    stall_length=2.0,
    import_runs=1,
    smoke=True,
)


@dataclass(slots=True)
class Results:
    """Every worker's outcome, by (client, kind, length)."""

    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    imports: dict[str, tuple[float, int] | str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def get(self, client: str, kind: str, length: float) -> dict[str, Any] | None:
        """Return one worker's outcome, if it ran."""
        return self.outcomes.get(f"{client}/{kind}/{length:g}")


class Server:
    """The local Deepgram server in its own process."""

    def __init__(self, scripts: Path, cpu: int | None) -> None:
        """Start it; return once it listens."""
        command = [
            str(MAIN_PYTHON),
            *("-m", "local_deepgram_server", "--port", "0", "--idle-timeout", "60"),
            *("--finalize-delay", str(SERVER_DELAY)),
            *("--prerecorded-delay-per-second", str(BATCH_DELAY_PER_SECOND)),
            *("--scripts-by-key", str(scripts)),
        ]
        self.log = (WORK / "server.log").open("w", encoding="utf-8")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            _pinned(command, cpu),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        match = re.search(r"(http://[^\s,]+)", line)  # the line goes on after a comma
        if match is None:
            self.stop()
            msg = f"the local Deepgram server did not start (see {WORK / 'server.log'})"
            raise RuntimeError(msg)
        self.url = match.group(1)

    def stop(self) -> None:
        """Stop it and wait until it has."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _pinned(command: list[str], cpu: int | None) -> list[str]:
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]


def _cpus() -> tuple[int | None, int | None]:
    """Return (server CPU, client CPU), or (None, None) when they cannot be separated."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or shutil.which("taskset") is None:  # noqa: PLR2004
        return None, None
    return cpus[-1], cpus[0]


def _run_worker(job: Job, cpu: int | None) -> dict[str, Any]:
    python = SDK_PYTHON if job.client == "sdk" else MAIN_PYTHON
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=WORK, delete=False) as handle:
        json.dump(job.to_json(), handle)
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            _pinned([str(python), "-m", "benchmarks.harness", handle.name], cpu),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    finally:
        Path(handle.name).unlink()
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"errors": [f"worker exited {done.returncode}: {done.stderr.strip()[-2000:]}"]}
    outcome: dict[str, Any] = json.loads(lines[-1])
    return outcome


def _import_seconds(python: Path, setup: str, statement: str, runs: int) -> tuple[float, int] | str:
    """Median time of `statement` in fresh processes after `setup`, and the modules it added.

    Returns the error instead when the import fails or the interpreter is missing.
    """
    if not python.exists():
        return f"{python.parent.parent.name} is not set up"
    code = (
        "import sys, time\n"
        f"{setup}\n"
        "before = len(sys.modules)\n"
        "start = time.perf_counter()\n"
        f"{statement}\n"
        "print(time.perf_counter() - start, len(sys.modules) - before)\n"
    )
    samples: list[float] = []
    modules = 0
    # The first run compiles the bytecode and is not counted (unless it is the only one).
    for attempt in range(runs + 1 if runs > 1 else 1):
        done = subprocess.run(  # noqa: S603 - our own interpreters
            [str(python), "-c", code], cwd=REPO, capture_output=True, text=True, check=False
        )
        if done.returncode:
            return done.stderr.strip().splitlines()[-1]
        seconds, count = done.stdout.split()
        if attempt or runs == 1:
            samples.append(float(seconds))
            modules = int(count)
    return statistics.median(samples), modules


def measure_imports(plan: Plan, clients: set[str]) -> dict[str, tuple[float, int] | str]:
    """Time the imports that each client needs, in fresh processes (the SDK's if it runs)."""
    ha_loaded = (
        "import homeassistant.components.stt, homeassistant.config_entries, "
        "homeassistant.helpers.aiohttp_client, homeassistant.helpers.selector"
    )
    runs = plan.import_runs
    imports = {
        # The protocol package on its own: its parent package imports Home Assistant.
        "this integration's protocol client (cold, includes aiohttp)": _import_seconds(
            MAIN_PYTHON,
            "sys.path.insert(0, 'custom_components/deepgram')",
            "import protocol",
            runs,
        ),
        "this integration's modules, in a running Home Assistant": _import_seconds(
            MAIN_PYTHON,
            ha_loaded,
            "import custom_components.deepgram.stt, custom_components.deepgram.config_flow",
            runs,
        ),
    }
    if "sdk" not in clients:
        return imports
    return imports | {
        "`import deepgram` (the SDK, cold)": _import_seconds(
            SDK_PYTHON, "", "import deepgram", runs
        ),
        "the SDK's async live client (cold: `AsyncDeepgramClient` + listen v1 socket)": (
            _import_seconds(
                SDK_PYTHON,
                "",
                "from deepgram import AsyncDeepgramClient\n"
                "import deepgram.listen.v1.raw_client, deepgram.listen.v1.socket_client",
                runs,
            )
        ),
    }


def _jobs(plan: Plan, server: str, sets: dict[float, list[Utterance]]) -> list[tuple[str, Job]]:
    """Return (name, job) for every measurement, client after client."""
    warmup = sets[2.0][-1]
    jobs: list[tuple[str, Job]] = []
    n = plan.concurrency
    if plan.smoke:
        # One job per client, no warm-up, no harness baseline: a few concurrent
        # streams with the ticker on, to show that each client still works.
        lanes = [[item] for item in sets[2.0][:n]]
        return [
            (
                f"{client}/many/2",
                Job(client, server, lanes, None, stagger=0.02, ticker=True, chunk_ms=plan.chunk_ms),
            )
            for client in CLIENTS
        ]
    for client in (NULL, *CLIENTS):
        if client != NULL:
            for length in plan.lengths:
                lane = sets[length][: plan.repeats[length]]
                job = Job(client, server, [lane], warmup, chunk_ms=plan.chunk_ms)
                jobs.append((f"{client}/one/{length:g}", job))
        for length in plan.lengths:
            lanes = [[item] for item in sets[length][:n]]
            job = Job(client, server, lanes, warmup, stagger=1.0 / n, chunk_ms=plan.chunk_ms)
            jobs.append((f"{client}/many/{length:g}", job))
        lanes = [[item] for item in sets[plan.stall_length][:n]]
        job = Job(
            client, server, lanes, warmup, stagger=1.0 / n, ticker=True, chunk_ms=plan.chunk_ms
        )
        jobs.append((f"{client}/stall/{plan.stall_length:g}", job))
    return jobs


def run(plan: Plan, clients: set[str]) -> tuple[Results, dict[str, Any]]:
    """Measure; return the results and the conditions they were taken in."""
    WORK.mkdir(exist_ok=True)
    sets = {
        length: utterances(length, max(plan.concurrency, *plan.repeats.values(), 2), WORK / "audio")
        for length in sorted({*plan.lengths, plan.stall_length, 2.0})
    }
    scripts = WORK / "scripts.json"
    scripts.write_text(
        json.dumps({item.key: item.text for group in sets.values() for item in group}),
        encoding="utf-8",
    )
    server_cpu, client_cpu = _cpus()
    results = Results()
    versions: dict[str, str] = {}
    server = Server(scripts, server_cpu)
    try:
        for name, job in _jobs(plan, server.url, sets):
            if job.client not in clients:
                continue
            started = time.perf_counter()
            outcome = _run_worker(job, client_cpu)
            results.outcomes[name] = outcome
            versions.update(outcome.get("versions", {}))
            problems = [*outcome.get("errors", []), *outcome.get("mismatched", [])]
            status = "ok" if not problems else f"FAILED: {problems[0]}"
            print(  # noqa: T201 - progress
                f"  {name}: {time.perf_counter() - started:.1f} s, {status}",
                file=sys.stderr,
                flush=True,
            )
            results.failures.extend(f"{name}: {problem}" for problem in problems)
    finally:
        server.stop()
    results.imports = measure_imports(plan, clients)
    conditions = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "pinning": (
            f"server pinned to CPU {server_cpu}, clients to CPU {client_cpu} (taskset)"
            if server_cpu is not None
            else "no CPU pinning (fewer than 2 CPUs or no taskset)"
        ),
        "python": platform.python_version(),
        "versions": versions,
        "load": os.getloadavg(),
    }
    return results, conditions


def _machine() -> str:
    model = "unknown CPU"
    with Path("/proc/cpuinfo").open(encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    virtual = ""
    if Path("/sys/hypervisor/type").exists() or "hypervisor" in Path("/proc/cpuinfo").read_text(
        encoding="utf-8"
    ):
        virtual = ", virtual machine"
    return f"{model}, {os.cpu_count()} CPUs{virtual}, {memory:.0f} GiB RAM, {platform.system()}"


# --- The table ---------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _latency(outcome: dict[str, Any] | None, key: str = "latencies") -> str:
    if not outcome or not outcome.get(key):
        return "-"
    values = outcome[key]
    return f"{_ms(_quantile(values, 0.5))} / {_ms(_quantile(values, 0.95))}"


def _cpu_ms(outcome: dict[str, Any] | None) -> float | None:
    """CPU milliseconds per second of audio per stream."""
    if not outcome or not outcome.get("audio_seconds"):
        return None
    return float(outcome["cpu_seconds"]) / float(outcome["audio_seconds"]) * 1000


def _memory_kb(outcome: dict[str, Any] | None) -> float | None:
    if not outcome or not outcome.get("concurrency"):
        return None
    growth = float(outcome["rss_peak"]) - float(outcome["rss_before"])
    return growth / outcome["concurrency"] / 1024


def _net(value: float | None, baseline: float | None) -> float | None:
    return None if value is None else value - (baseline or 0.0)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _labels(conditions: dict[str, Any]) -> dict[str, str]:
    versions = conditions["versions"]
    labels = dict(CLIENTS)
    if "deepgram-sdk" in versions:
        labels["sdk"] = f"deepgram-sdk {versions['deepgram-sdk']} async live client"
    return labels


def table(plan: Plan, results: Results, conditions: dict[str, Any]) -> str:
    """Return the results as Markdown."""
    labels = _labels(conditions)
    lines = [*_preamble(plan, conditions), *_latency_table(plan, results, labels)]
    costs = _costs(plan, results, labels)
    lines += _cost_table(plan, costs, labels)
    lines += _import_table(results)
    if plan.smoke:
        lines.append(
            "A smoke run: a few streams with the ticker on and nothing subtracted, to show "
            "that every client still works; its figures are not measurements."
        )
    else:
        lines += _targets(plan, results, labels, costs)
    return "\n".join(lines)


def _preamble(plan: Plan, conditions: dict[str, Any]) -> list[str]:
    versions = conditions["versions"]
    n = plan.concurrency
    return [
        f"Measured {conditions['date']} on {conditions['machine']}; "
        f"Python {conditions['python']}, "
        + ", ".join(f"{name} {value}" for name, value in sorted(versions.items()))
        + f"; {conditions['pinning']}; load average before the run "
        f"{conditions['load'][0]:.2f}.",
        "",
        (
            "The local Deepgram server answers `CloseStream` "
            f"{SERVER_DELAY * 1000:.0f} ms after it arrives and `POST /v1/listen` after "
            f"{SERVER_DELAY * 1000:.0f} ms + "
            f"{BATCH_DELAY_PER_SECOND * 1000:.0f} ms per second of audio. Every client gets the "
            "same espeak-ng speech (16 kHz mono linear16) at real time in "
            f"{plan.chunk_ms} ms chunks; with "
            f"{n} streams each has different words, starts "
            f"{(20 if plan.smoke else 1000 / n):.0f} ms after the previous "
            "one, and must get back exactly its own transcript."
        ),
        "",
    ]


def _latency_table(plan: Plan, results: Results, labels: dict[str, str]) -> list[str]:
    n = plan.concurrency
    lengths = plan.lengths
    header = [
        "| client | streams | "
        + " | ".join(f"{length:g} s" for length in lengths)
        + " | own transcript back |",
        "| --- | ---: | " + " | ".join("---:" for _ in lengths) + " | ---: |",
    ]
    lines = [
        "**Time from the end of the audio (its last chunk) to the transcript**, ms, p50 / p95",
        "",
        *header,
    ]
    eos = [
        "",
        (
            f"**{labels['entity']}**, which by default answers at Deepgram's end of speech while "
            "the microphone is still open: time from the last spoken word to the transcript, ms, "
            "p50 / p95 (Deepgram's endpointing is set to 300 ms of silence)"
        ),
        "",
        *header,
    ]
    for client, label in labels.items():
        for kind in ["many"] if plan.smoke else ["one", "many"]:
            found = [results.get(client, kind, length) for length in lengths]
            key = "after_speech" if client == "entity" else "latencies"
            cells = [_latency(outcome, key) for outcome in found]
            if all(cell == "-" for cell in cells):
                continue
            matched = sum(outcome.get("matched", 0) for outcome in found if outcome)
            total = sum(outcome.get("streams", 0) for outcome in found if outcome)
            early = sum(outcome.get("early", 0) for outcome in found if outcome)
            note = f", {early} before the audio ended" if early else ""
            row = (
                f"| {label} | {1 if kind == 'one' else n} | "
                + " | ".join(cells)
                + f" | {matched} of {total}{note} |"
            )
            (eos if client == "entity" else lines).append(row)
    return [*lines, *(eos if len(eos) > len(header) + 3 else []), ""]


@dataclass(slots=True)
class _Costs:
    cpu: dict[str, dict[float, float | None]]
    memory: dict[str, float | None]
    gap: dict[str, float | None]
    busy: dict[str, float | None]


def _costs(plan: Plan, results: Results, labels: dict[str, str]) -> _Costs:
    """CPU and memory net of the harness; ticker figures as measured (ms)."""
    stall_kind = "many" if plan.smoke else "stall"
    memory_length = max(plan.lengths)
    costs = _Costs({}, {}, {}, {})
    for client in (NULL, *labels):
        cpu = {length: _cpu_ms(results.get(client, "many", length)) for length in plan.lengths}
        memory = _memory_kb(results.get(client, "many", memory_length))
        if client != NULL:
            cpu = {length: _net(value, costs.cpu[NULL][length]) for length, value in cpu.items()}
            memory = _net(memory, costs.memory[NULL])
        costs.cpu[client], costs.memory[client] = cpu, memory
        ticked = results.get(client, stall_kind, plan.stall_length) or {}
        for name, into in (("max_gap", costs.gap), ("max_busy", costs.busy)):
            value = ticked.get(name)
            into[client] = None if value is None else value * 1000
    return costs


def _cost_table(plan: Plan, costs: _Costs, labels: dict[str, str]) -> list[str]:
    n = plan.concurrency
    lengths = plan.lengths
    lines = [
        f"**Cost in the client's process**, {n} concurrent streams",
        "",
        "| client | CPU ms per audio second per stream, "
        + " / ".join(f"{length:g} s" for length in lengths)
        + " | CPU vs the SDK | largest gap of a 1 ms ticker (of it, CPU busy) "
        "| memory per stream |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    sdk_cpu = costs.cpu.get("sdk", {})
    for client, label in [*labels.items(), (NULL, "the harness alone (subtracted above)")]:
        ratios = [
            (value / sdk) if value is not None and (sdk := sdk_cpu.get(length)) else None
            for length, value in costs.cpu[client].items()
        ]
        ratio = {"sdk": "1", NULL: ""}.get(client, " / ".join(_fmt(value) for value in ratios))
        gap, busy = costs.gap[client], costs.busy[client]
        stall = "-" if gap is None else f"{gap:.1f} ms ({_fmt(busy, 1)} ms)"
        lines.append(
            f"| {label} | "
            + " / ".join(_fmt(value) for value in costs.cpu[client].values())
            + f" | {ratio} | {stall} | {_fmt(costs.memory[client], 0)} KB |"
        )
    lines += [
        "",
        (
            "CPU is `time.process_time()` of the client's process over the streams, per second of "
            "audio read, less what the harness alone (feeding the audio, no client) costs. Memory "
            "is the growth of the resident set from before the streams to its peak, per stream "
            f"({max(lengths):g} s utterances), less the harness's. The ticker ran in its own "
            f"run of {n} streams of {plan.stall_length:g} s; in brackets, the most CPU time the "
            "process used between two ticks (code holding the loop; the rest of a gap is the "
            "process waiting for the CPU)."
        ),
        "",
    ]
    return lines


def _import_table(results: Results) -> list[str]:
    lines = [
        "**Import cost**, fresh processes, median",
        "",
        "| import | time | modules loaded |",
        "| --- | ---: | ---: |",
    ]
    for name, measured in results.imports.items():
        if isinstance(measured, str):
            lines.append(f"| {name} | failed: {measured} | |")
            results.failures.append(f"import of {name}: {measured}")
        else:
            lines.append(f"| {name} | {measured[0] * 1000:.0f} ms | {measured[1]} |")
    return [*lines, ""]


def _targets(plan: Plan, results: Results, labels: dict[str, str], costs: _Costs) -> list[str]:
    n = plan.concurrency
    kinds = ["many"] if plan.smoke else ["one", "many"]
    limit = SERVER_DELAY + LATENCY_MARGIN
    lines = ["**Targets** (this integration)", ""]
    for client in ("integration", "entity_full"):
        p95s = [
            _quantile(outcome["latencies"], 0.95)
            for kind in kinds
            for length in plan.lengths
            if (outcome := results.get(client, kind, length)) and outcome.get("latencies")
        ]
        if p95s:
            worst = max(p95s)
            lines.append(
                f"- {_mark(worst <= limit)} {labels[client]}: time to the transcript p95 ≤ "
                f"{limit * 1000:.0f} ms at 1 and {n} streams: worst p95 {worst * 1000:.0f} ms"
            )
    sdk_cpu = costs.cpu.get("sdk", {})
    for client in ("integration", "entity", "entity_full"):
        label = labels[client]
        cpu = {length: value for length, value in costs.cpu[client].items() if value is not None}
        if cpu:
            worse = [
                length
                for length, value in cpu.items()
                if (sdk := sdk_cpu.get(length)) is not None and value > sdk
            ]
            worst = max(cpu.values())
            lines.append(
                f"- {_mark(worst <= CPU_TARGET_MS and not worse)} {label}: CPU ≤ {CPU_TARGET_MS} "
                f"ms per audio second per stream and no worse than the SDK: worst "
                f"{worst:.2f} ms"
                + (
                    f", worse than the SDK at {', '.join(f'{x:g} s' for x in worse)}"
                    if worse
                    else ""
                )
            )
        if (gap := costs.gap[client]) is not None:
            lines.append(
                f"- {_mark(gap <= STALL_TARGET_MS)} {label}: event-loop stall ≤ "
                f"{STALL_TARGET_MS:g} ms with {n} streams: {gap:.1f} ms "
                f"(CPU busy {_fmt(costs.busy[client], 1)} ms)"
            )
        if (memory := costs.memory[client]) is not None:
            lines.append(
                f"- {_mark(memory <= MEMORY_TARGET_KB)} {label}: memory ≤ "
                f"{MEMORY_TARGET_KB:g} KB per stream: {memory:.0f} KB"
            )
    return lines


def _mark(ok: bool) -> str:  # noqa: FBT001
    return "met" if ok else "MISSED"


def _plan(args: argparse.Namespace) -> Plan:
    """Return the full or smoke plan, with the sizes the command line asked for."""
    plan = SMOKE if args.smoke else FULL
    lengths = (
        tuple(float(length) for length in args.lengths.split(",")) if args.lengths else plan.lengths
    )
    repeats = {
        length: args.repeats or plan.repeats.get(length, 3) for length in lengths if not plan.smoke
    }
    return replace(
        plan,
        lengths=lengths,
        repeats=repeats,
        concurrency=args.concurrency or plan.concurrency,
        stall_length=plan.stall_length if plan.stall_length in lengths else min(lengths),
        chunk_ms=args.chunk_ms,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if any client failed to return its own transcript."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Measure this integration beside the Deepgram SDK and a batch client.",
    )
    parser.add_argument("--smoke", action="store_true", help="a reduced run of a few seconds (CI)")
    parser.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        help="comma-separated subset of: " + ", ".join(CLIENTS) + " (default: all)",
    )
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument(
        "--lengths", help="comma-separated utterance lengths in seconds (default: 2,5,15)"
    )
    parser.add_argument("--concurrency", type=int, help="concurrent streams (default: 50)")
    parser.add_argument(
        "--repeats", type=int, help="utterances of each length one at a time (default: 10/5/3)"
    )
    parser.add_argument(
        "--chunk-ms",
        type=int,
        default=DEFAULT_CHUNK_MS,
        help="milliseconds of audio per chunk fed to the clients (default: 20; Home Assistant's "
        "Assist pipeline hands over 10)",
    )
    args = parser.parse_args(argv)
    clients = {NULL, *args.clients.split(",")}
    if unknown := clients - {NULL, *CLIENTS}:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")
    plan = _plan(args)
    started = time.perf_counter()
    results, conditions = run(plan, clients)
    text = table(plan, results, conditions)
    print(text)  # noqa: T201 - the product of the script
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    raw = {"conditions": conditions, "outcomes": results.outcomes, "imports": results.imports}
    (WORK / f"results-{stamp}.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    (WORK / f"results-{stamp}.md").write_text(text + "\n", encoding="utf-8")
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")
    elapsed = time.perf_counter() - started
    print(f"\nbench: {elapsed:.0f} s", file=sys.stderr)  # noqa: T201
    for failure in results.failures:
        print(f"bench: FAILED {failure}", file=sys.stderr)  # noqa: T201
    return 1 if results.failures else 0
