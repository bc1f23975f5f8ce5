"""Run every client on the same audio against the local server, and print the table.

The local Deepgram server runs in its own process (on its own CPU when there are
two), and each measurement in a fresh worker process (`benchmarks.harness`) on
the other CPU, so only the client side is measured. The SDK's worker runs in the
SDK's own venv.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
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
from .harness import Job, Utterance

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
    "sdk": "deepgram-sdk async live client",
    "batch": "batch: upload after the stream ends",
}
NULL = "null"
STREAMING = ("integration", "entity", "sdk")


@dataclass(frozen=True, slots=True)
class Plan:
    """What to measure."""

    lengths: tuple[float, ...]
    repeats: dict[float, int]
    concurrency: int
    stall_length: float
    import_runs: int
    smoke: bool


FULL = Plan(
    lengths=(2.0, 5.0, 15.0),
    repeats={2.0: 12, 5.0: 6, 15.0: 3},
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
        return self.outcomes.get(f"{client}/{kind}/{length:g}")


class Server:
    """The local Deepgram server in its own process."""

    def __init__(self, scripts: Path, cpu: int | None) -> None:
        command = [
            str(MAIN_PYTHON),
            *("-m", "tests.deepgram_server", "--port", "0", "--idle-timeout", "60"),
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
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if match is None:
            self.stop()
            msg = f"the local Deepgram server did not start (see {WORK / 'server.log'})"
            raise RuntimeError(msg)
        self.url = match.group(1)

    def stop(self) -> None:
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


def _import_seconds(
    python: Path, setup: str, statement: str, runs: int
) -> tuple[float, int] | str:
    """Median time of `statement` in fresh processes after `setup`, and the modules it added.

    Returns the error instead when the import fails.
    """
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
    for attempt in range(runs + 1):  # the first run compiles the bytecode; not counted
        done = subprocess.run(  # noqa: S603 - our own interpreters
            [str(python), "-c", code], cwd=REPO, capture_output=True, text=True, check=False
        )
        if done.returncode:
            return done.stderr.strip().splitlines()[-1]
        seconds, count = done.stdout.split()
        if attempt:
            samples.append(float(seconds))
            modules = int(count)
    return statistics.median(samples), modules


def measure_imports(plan: Plan) -> dict[str, tuple[float, int] | str]:
    """Time the imports that each client needs, in fresh processes."""
    ha_loaded = (
        "import homeassistant.components.stt, homeassistant.config_entries, "
        "homeassistant.helpers.aiohttp_client, homeassistant.helpers.selector"
    )
    runs = plan.import_runs
    return {
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
    for client in (NULL, *CLIENTS):
        if plan.smoke:
            # One job per client: a few concurrent streams with the ticker on.
            lanes = [[item] for item in sets[2.0][:n]]
            job = Job(client, server, lanes, warmup, stagger=1.0 / n, ticker=True)
            jobs.append((f"{client}/many/2", job))
            continue
        if client != NULL:
            for length in plan.lengths:
                lane = sets[length][: plan.repeats[length]]
                jobs.append((f"{client}/one/{length:g}", Job(client, server, [lane], warmup)))
        for length in plan.lengths:
            lanes = [[item] for item in sets[length][:n]]
            job = Job(client, server, lanes, warmup, stagger=1.0 / n)
            jobs.append((f"{client}/many/{length:g}", job))
        lanes = [[item] for item in sets[plan.stall_length][:n]]
        job = Job(client, server, lanes, warmup, stagger=1.0 / n, ticker=True)
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
    results.imports = measure_imports(plan)
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


def _latency(outcome: dict[str, Any] | None) -> str:
    if not outcome or not outcome.get("latencies"):
        return "–"
    values = outcome["latencies"]
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
    return "–" if value is None else f"{value:.{digits}f}"


def _labels(conditions: dict[str, Any]) -> dict[str, str]:
    versions = conditions["versions"]
    labels = dict(CLIENTS)
    if "deepgram-sdk" in versions:
        labels["sdk"] = f"deepgram-sdk {versions['deepgram-sdk']} async live client"
    return labels


def table(plan: Plan, results: Results, conditions: dict[str, Any]) -> str:  # noqa: C901, PLR0912, PLR0915
    """Return the results as Markdown."""
    labels = _labels(conditions)
    versions = conditions["versions"]
    n = plan.concurrency
    lengths = plan.lengths
    lines = [
        f"Measured {conditions['date']} on {conditions['machine']}; "
        f"Python {conditions['python']}, "
        + ", ".join(f"{name} {value}" for name, value in sorted(versions.items()))
        + f"; {conditions['pinning']}; load average before the run "
        f"{conditions['load'][0]:.2f}.",
        "",
        f"The local Deepgram server answers `CloseStream` {SERVER_DELAY * 1000:.0f} ms after it "
        f"arrives and `POST /v1/listen` after {SERVER_DELAY * 1000:.0f} ms + "
        f"{BATCH_DELAY_PER_SECOND * 1000:.0f} ms per second of audio. Every client gets the "
        "same espeak-ng speech (16 kHz mono linear16) at real time in 20 ms chunks; with "
        f"{n} streams each has different words, starts {1000 / n:.0f} ms after the previous "
        "one, and must get back exactly its own transcript.",
        "",
        "**Time from the last audio chunk to the transcript**, ms, p50 / p95",
        "",
        "| client | streams | "
        + " | ".join(f"{length:g} s" for length in lengths)
        + " | own transcript back |",
        "| --- | ---: | " + " | ".join("---:" for _ in lengths) + " | ---: |",
    ]
    kinds = ["many"] if plan.smoke else ["one", "many"]
    for client, label in labels.items():
        for kind in kinds:
            found = [results.get(client, kind, length) for length in lengths]
            cells = [_latency(outcome) for outcome in found]
            if all(cell == "–" for cell in cells):
                continue
            streams = 1 if kind == "one" else n
            matched = sum(outcome.get("matched", 0) for outcome in found if outcome)
            total = sum(outcome.get("streams", 0) for outcome in found if outcome)
            early = sum(outcome.get("early", 0) for outcome in found if outcome)
            note = f", {early} before the audio ended" if early else ""
            lines.append(
                f"| {label} | {streams} | "
                + " | ".join(cells)
                + f" | {matched} of {total}{note} |"
            )
    lines += [
        "",
        f"**Cost in the client's process**, {n} concurrent streams",
        "",
        "| client | CPU ms per audio second per stream, "
        + " / ".join(f"{length:g} s" for length in lengths)
        + " | vs the SDK | largest gap of a 1 ms ticker | memory per stream |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    stall = plan.stall_length
    memory_length = max(lengths)
    harness_cpu = {length: _cpu_ms(results.get(NULL, "many", length)) for length in lengths}
    harness_memory = _memory_kb(results.get(NULL, "many", memory_length))
    cpu: dict[str, dict[float, float | None]] = {}
    memory: dict[str, float | None] = {}
    gaps: dict[str, float | None] = {}
    for client in labels:
        cpu[client] = {
            length: _net(_cpu_ms(results.get(client, "many", length)), harness_cpu[length])
            for length in lengths
        }
        memory[client] = _net(_memory_kb(results.get(client, "many", memory_length)), harness_memory)
        gap_outcome = results.get(client, "many" if plan.smoke else "stall", stall)
        gap = gap_outcome.get("max_gap") if gap_outcome else None
        gaps[client] = None if gap is None else gap * 1000
    sdk_cpu = cpu.get("sdk", {})
    for client, label in labels.items():
        ratios = [
            (value / sdk) if value is not None and (sdk := sdk_cpu.get(length)) else None
            for length, value in cpu[client].items()
        ]
        ratio = " / ".join(_fmt(value) for value in ratios) if client != "sdk" else "1"
        lines.append(
            f"| {label} | "
            + " / ".join(_fmt(value) for value in cpu[client].values())
            + f" | {ratio} | {_fmt(gaps[client], 1)} ms | {_fmt(memory[client], 0)} KB |"
        )
    null_gap = results.get(NULL, "many" if plan.smoke else "stall", stall)
    null_gap_ms = (null_gap or {}).get("max_gap")
    lines.append(
        "| the harness alone (feeding the audio, no client; subtracted above) | "
        + " / ".join(_fmt(harness_cpu[length]) for length in lengths)
        + " | | "
        + (_fmt(null_gap_ms * 1000, 1) + " ms" if null_gap_ms is not None else "–")
        + f" | {_fmt(harness_memory, 0)} KB |"
    )
    lines += [
        "",
        "CPU is `time.process_time()` of the client's process over the run, divided by the "
        "seconds of audio streamed, less what the harness alone costs. Memory is the growth of "
        f"the resident set from before the streams to its peak, per stream ({memory_length:g} s "
        "utterances), less the harness's. The ticker ran in a separate run of "
        f"{n} × {stall:g} s streams.",
        "",
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
    lines += ["", "**Targets** (this integration)", ""]
    limit = SERVER_DELAY + LATENCY_MARGIN
    for client in ("integration", "entity"):
        label = labels[client]
        p95s = [
            _quantile(outcome["latencies"], 0.95)
            for kind in kinds
            for length in lengths
            if (outcome := results.get(client, kind, length)) and outcome.get("latencies")
        ]
        if p95s:
            worst = max(p95s)
            lines.append(
                f"- {_mark(worst <= limit)} {label}: latency p95 ≤ {limit * 1000:.0f} ms at 1 and "
                f"{n} streams: worst p95 {worst * 1000:.0f} ms"
            )
        values = [value for value in cpu[client].values() if value is not None]
        sdk_values = [value for value in sdk_cpu.values() if value is not None]
        if values:
            worse = sdk_values and any(
                value > sdk for value, sdk in zip(values, sdk_values, strict=False)
            )
            lines.append(
                f"- {_mark(max(values) <= CPU_TARGET_MS and not worse)} {label}: CPU ≤ "
                f"{CPU_TARGET_MS} ms per audio second per stream and no worse than the SDK: "
                f"worst {max(values):.2f} ms"
            )
        if gaps[client] is not None:
            lines.append(
                f"- {_mark(gaps[client] <= STALL_TARGET_MS)} {label}: event-loop stall ≤ "
                f"{STALL_TARGET_MS:g} ms with {n} streams: {gaps[client]:.1f} ms"
            )
        if memory[client] is not None:
            lines.append(
                f"- {_mark(memory[client] <= MEMORY_TARGET_KB)} {label}: memory ≤ "
                f"{MEMORY_TARGET_KB:g} KB per stream: {memory[client]:.0f} KB"
            )
    return "\n".join(lines)


def _mark(ok: bool) -> str:  # noqa: FBT001
    return "met" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if any client failed to return its own transcript."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Measure this integration beside the Deepgram SDK and a batch client.",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="a reduced run of a few seconds (CI)"
    )
    parser.add_argument(
        "--clients",
        default=",".join(CLIENTS),
        help="comma-separated subset of: " + ", ".join(CLIENTS) + " (default: all)",
    )
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    clients = {NULL, *args.clients.split(",")}
    if unknown := clients - {NULL, *CLIENTS}:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")
    plan = SMOKE if args.smoke else FULL
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
