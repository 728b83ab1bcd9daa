"""Run every benchmark: `python bench/run.py [--quick] [--only generation|services]`.

Run it with the project's environment (the Python that has naftiko-gen, FastAPI, uvicorn, httpx
and mcp installed). Peers are installed once into `bench/.venvs/`. Results go to
`bench/results/latest.json` and `bench/results/latest.md`; `bench/baseline.json` holds the numbers
of naftiko-gen's first version, printed next to the new ones. Targets are reported as PASS/FAIL
lines; the exit code is 0 whatever they say (1 only if the harness itself failed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen_bench
import service_bench
from common import BENCH, REPO, Json, dump_json, machine_info, run_process, source_state

BASELINE = BENCH / "baseline.json"
RESULTS = BENCH / "results"
DEFAULT_OPENAPI = BENCH / "data" / "customer-io-track-openapi.reconstructed.json"
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"


def _get(data: Json, *path: str) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def metrics(results: Json) -> dict[str, Any]:
    """The flat list of numbers the baseline keeps and the report compares."""
    g = results.get("generation", {})
    s = _get(results, "services", "summary") or {}
    peers = g.get("peers", {})
    corpus = g.get("corpus", {})
    opc = peers.get("openapi-python-client", {})
    fcg = peers.get("fastapi-code-generator", {})
    memory = _get(results, "services", "memory") or {}
    identity = _get(results, "services", "identity", "rest") or {}
    return {
        "help_s": _get(g, "startup", "help", "wall_s", "median"),
        "interpreter_s": _get(g, "startup", "interpreter", "wall_s", "median"),
        "track_batch_s": _get(g, "track_batch", "wall_s", "median"),
        "track_batch_rss_mb": _get(g, "track_batch", "maxrss_mb", "median"),
        "track_batch_reused_s": _get(g, "track_batch", "reused", "wall_s", "median"),
        "track_batch_edited_s": _get(g, "track_batch", "edited", "wall_s", "median"),
        "track_batch_cold_s": _get(g, "track_batch", "cold", "wall_s", "median"),
        "opc_s": _get(opc, "wall_s", "median"),
        "fcg_s": _get(fcg, "wall_s", "median"),
        "corpus_files": corpus.get("files_used"),
        "corpus_generated": corpus.get("generated"),
        "corpus_refused": corpus.get("refused"),
        "corpus_crashed": corpus.get("crashed"),
        "corpus_all_s": _get(corpus, "all", "wall_s", "median"),
        "corpus_all_exit": (_get(corpus, "all", "exit_codes") or [None])[-1],
        "corpus_all_rss_mb": _get(corpus, "all", "maxrss_mb", "median"),
        "corpus_generate_s": _get(corpus, "generate_accepted", "wall_s", "median"),
        "corpus_check_s": _get(corpus, "check_accepted", "wall_s", "median"),
        "corpus_check_exit": (_get(corpus, "check_accepted", "exit_codes") or [None])[-1],
        "direct_rps": _get(s, "direct", "throughput_rps"),
        "rest_rps": _get(s, "rest", "throughput_rps"),
        "naive_rps": _get(s, "naive", "throughput_rps"),
        "direct_p50_ms": _get(s, "direct", "latency_p50_ms"),
        "rest_p50_ms": _get(s, "rest", "latency_p50_ms"),
        "naive_p50_ms": _get(s, "naive", "latency_p50_ms"),
        "rest_p50_overhead_ms": s.get("rest_p50_overhead_ms"),
        "rest_throughput_vs_direct": s.get("rest_throughput_vs_direct"),
        "floor_rps": _get(s, "floor", "throughput_rps"),
        "floor_p50_ms": _get(s, "floor", "latency_p50_ms"),
        "floor_p50_overhead_ms": s.get("floor_p50_overhead_ms"),
        "floor_throughput_vs_direct": s.get("floor_throughput_vs_direct"),
        "rest_throughput_vs_floor": s.get("rest_throughput_vs_floor"),
        "mcp_p50_ms": _get(s, "mcp", "p50_ms"),
        "fastmcp_p50_ms": _get(s, "fastmcp", "p50_ms"),
        "mcp_p50_vs_fastmcp": s.get("mcp_p50_vs_fastmcp"),
        "rest_memory_x_body": _get(memory, "rest", "per_request_x_body"),
        "naive_memory_x_body": _get(memory, "naive", "per_request_x_body"),
        "rest_bytes_identical": identity.get("bytes_identical"),
    }


Target = tuple[str, Callable[[dict[str, Any]], tuple[float | None, str]], Callable[[float], bool]]


def _ratio(a: Any, b: Any) -> float | None:
    if a is None or b in (None, 0):
        return None
    return float(a) / float(b)


TARGETS: list[Target] = [
    (
        "track-batch generated in under 1/3 of openapi-python-client's time",
        lambda m: (
            (r := _ratio(m["track_batch_s"], m["opc_s"])),
            f"{r:.2f} of its time" if r is not None else "n/a",
        ),
        lambda v: v < 1 / 3,
    ),
    (
        "the same, an unchanged spec generated again (earlier run reused)",
        lambda m: (
            (r := _ratio(m["track_batch_reused_s"], m["opc_s"])),
            f"{r:.2f} of its time" if r is not None else "n/a",
        ),
        lambda v: v < 1 / 3,
    ),
    (
        "the same, the first run after a one-line edit of the spec's description",
        lambda m: (
            (r := _ratio(m["track_batch_edited_s"], m["opc_s"])),
            f"{r:.2f} of its time" if r is not None else "n/a",
        ),
        lambda v: v < 1 / 3,
    ),
    (
        "the same, cold (no cache: NAFTIKO_GEN_CACHE=off)",
        lambda m: (
            (r := _ratio(m["track_batch_cold_s"], m["opc_s"])),
            f"{r:.2f} of its time" if r is not None else "n/a",
        ),
        lambda v: v < 1 / 3,
    ),
    (
        "--check on the corpus at least 5x faster than a full generation",
        lambda m: (
            (r := _ratio(m["corpus_generate_s"], m["corpus_check_s"])),
            f"{r:.2f}x faster" if r is not None else "n/a",
        ),
        lambda v: v >= 5,
    ),
    (
        "naftiko-gen --help under 150 ms",
        lambda m: (m["help_s"], f"{m['help_s'] * 1000:.0f} ms" if m["help_s"] else "n/a"),
        lambda v: v < 0.150,
    ),
    (
        "REST p50 overhead over direct at most 1 ms (concurrency 1)",
        lambda m: (
            m["rest_p50_overhead_ms"],
            f"{m['rest_p50_overhead_ms']:.2f} ms"
            if m["rest_p50_overhead_ms"] is not None
            else "n/a",
        ),
        lambda v: v <= 1.0,
    ),
    (
        "REST throughput at least 60% of direct",
        lambda m: (
            m["rest_throughput_vs_direct"],
            f"{m['rest_throughput_vs_direct'] * 100:.1f}%"
            if m["rest_throughput_vs_direct"] is not None
            else "n/a",
        ),
        lambda v: v >= 0.60,
    ),
    (
        "MCP tool-call p50 at most half of FastMCP's",
        lambda m: (
            m["mcp_p50_vs_fastmcp"],
            f"{m['mcp_p50_vs_fastmcp']:.2f} of FastMCP's"
            if m["mcp_p50_vs_fastmcp"] is not None
            else "n/a",
        ),
        lambda v: v <= 0.5,
    ),
    (
        "REST memory per in-flight 500 KB batch at most 2x the body",
        lambda m: (
            m["rest_memory_x_body"],
            f"{m['rest_memory_x_body']:.2f}x the body"
            if m["rest_memory_x_body"] is not None
            else "n/a",
        ),
        lambda v: v <= 2.0,
    ),
]


def evaluate(m: dict[str, Any]) -> list[Json]:
    rows = []
    for name, measure, passes in TARGETS:
        try:
            value, shown = measure(m)
        except (TypeError, KeyError, ValueError):
            value, shown = None, "n/a"
        verdict = "n/a" if value is None else ("PASS" if passes(float(value)) else "FAIL")
        rows.append({"target": name, "measured": shown, "verdict": verdict})
    return rows


LABELS: dict[str, str] = {
    "help_s": "naftiko-gen --help (s)",
    "interpreter_s": "python -c pass (s)",
    "track_batch_s": "generate track-batch (s)",
    "track_batch_reused_s": "generate track-batch again, unchanged (s)",
    "track_batch_edited_s": "generate track-batch after a description edit (s)",
    "track_batch_cold_s": "generate track-batch cold, no cache (s)",
    "track_batch_rss_mb": "generate track-batch max RSS (MB)",
    "opc_s": "openapi-python-client on Track OpenAPI (s)",
    "fcg_s": "fastapi-code-generator on Track OpenAPI (s)",
    "corpus_files": "corpus specs used",
    "corpus_generated": "corpus specs generated",
    "corpus_refused": "corpus specs refused",
    "corpus_crashed": "corpus specs crashing the generator",
    "corpus_all_s": "all corpus specs in one run (s)",
    "corpus_all_exit": "exit code of that run",
    "corpus_all_rss_mb": "all corpus specs max RSS (MB)",
    "corpus_generate_s": "generate the accepted specs (s)",
    "corpus_check_s": "--check the accepted specs (s)",
    "corpus_check_exit": "exit code of --check with nothing changed",
    "direct_rps": "direct upstream (req/s, c=16)",
    "rest_rps": "generated REST (req/s, c=16)",
    "naive_rps": "naive proxy (req/s, c=16)",
    "direct_p50_ms": "direct p50 (ms, c=1)",
    "rest_p50_ms": "generated REST p50 (ms, c=1)",
    "naive_p50_ms": "naive proxy p50 (ms, c=1)",
    "rest_p50_overhead_ms": "REST p50 overhead over direct (ms)",
    "rest_throughput_vs_direct": "REST throughput / direct",
    "floor_rps": "floor proxy (req/s, c=16)",
    "floor_p50_ms": "floor proxy p50 (ms, c=1)",
    "floor_p50_overhead_ms": "floor proxy p50 overhead over direct (ms)",
    "floor_throughput_vs_direct": "floor proxy throughput / direct",
    "rest_throughput_vs_floor": "REST throughput / floor proxy",
    "mcp_p50_ms": "generated MCP tool call p50 (ms)",
    "fastmcp_p50_ms": "FastMCP tool call p50 (ms)",
    "mcp_p50_vs_fastmcp": "generated MCP p50 / FastMCP p50",
    "rest_memory_x_body": "REST memory per in-flight batch (x body)",
    "naive_memory_x_body": "naive memory per in-flight batch (x body)",
    "rest_bytes_identical": "REST forwards the request bytes unchanged",
}


def _show(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def comparison_table(now: dict[str, Any], base: dict[str, Any] | None) -> list[list[str]]:
    rows = []
    for key, label in LABELS.items():
        if now.get(key) is None and (base is None or base.get(key) is None):
            continue
        old = None if base is None else base.get(key)
        change = ""
        if (
            isinstance(old, int | float)
            and isinstance(now.get(key), int | float)
            and old
            and not isinstance(old, bool)
        ):
            change = f"{(float(now[key]) / float(old) - 1) * 100:+.0f}%"
        rows.append([label, _show(old), _show(now.get(key)), change])
    return rows


def markdown(results: Json, rows: list[list[str]], verdicts: list[Json]) -> str:
    machine = results["machine"]
    lines = [
        f"Run: `{results['command']}` ({results['mode']} mode), {machine['date']}",
        "",
        (
            f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
            f"{machine['os']}, Python {machine['python']}; load average at start "
            f"{machine['loadavg_at_start']}"
        ),
        "",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()),
        "",
        f"Measured: {results['naftiko_gen']['version']} ({results['naftiko_gen']['executable']}),"
        f" {results['naftiko_gen']['label'] or 'the working tree'}; repository at "
        f"{results['source']['commit']}"
        + (
            f", changed: {', '.join(results['source']['changed_files'])}"
            if results["source"]["changed_files"]
            else ""
        ),
        "",
        "| metric | baseline | now | change |",
        "| --- | --- | --- | --- |",
        *(f"| {' | '.join(r)} |" for r in rows),
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        *(f"| {v['target']} | {v['measured']} | {v['verdict']} |" for v in verdicts),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="naftiko-gen benchmarks")
    parser.add_argument(
        "--quick", action="store_true", help="short runs and a corpus sample (about 2 minutes)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=("generation", "services"),
        help="run only this part (repeatable)",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help="folder of capability specs (default: ../shared/corpus)",
    )
    parser.add_argument(
        "--openapi", type=Path, default=DEFAULT_OPENAPI, help="Track OpenAPI document for the peers"
    )
    parser.add_argument("--naftiko-gen", dest="exe", help="naftiko-gen executable to measure")
    parser.add_argument(
        "--generated",
        type=Path,
        default=REPO / "generated",
        help="folder holding the generated track_batch package to serve",
    )
    parser.add_argument(
        "--label", default="", help="what is measured, when not the working tree (e.g. a commit)"
    )
    parser.add_argument("--runs", type=int, help="timed runs per generation command")
    parser.add_argument(
        "--corpus-every",
        type=int,
        help="use every K-th corpus spec (default: 4, or 32 with --quick; 1 for "
        "the whole corpus: three passes of about 4 minutes each today)",
    )
    parser.add_argument("--no-peers", action="store_true", help="skip the peer generators")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help=f"store this run's numbers in {BASELINE.relative_to(REPO)}",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    parts = set(args.only or ("generation", "services"))
    mode = "quick" if args.quick else "full"
    corpus_every = args.corpus_every or (32 if args.quick else 4)
    # Baselines are kept per mode and corpus sample, so that like is compared with like.
    baseline_key = f"{mode}/corpus-every-{corpus_every}"
    started = time.monotonic()
    results: Json = {
        "mode": mode,
        "command": "python bench/run.py"
        + (" --quick" if args.quick else "")
        + "".join(f" --only {p}" for p in sorted(args.only or []))
        + (f" --corpus-every {args.corpus_every}" if args.corpus_every else ""),
        "baseline_key": baseline_key,
        "machine": machine_info(),
        "source": source_state(),
    }
    exe = gen_bench.naftiko_gen_exe(args.exe)
    version = run_process([*exe, "--version"], timeout_s=60)
    results["naftiko_gen"] = {
        "executable": exe[0],
        "version": version.stdout.strip(),
        "generated": str(args.generated),
        "label": args.label,
    }
    print(
        f"naftiko-gen benchmarks ({baseline_key}); machine: {results['machine']['cpu']}, "
        f"{results['machine']['cores']} cores, Python {results['machine']['python']}, "
        f"load {results['machine']['loadavg_at_start']}",
        flush=True,
    )
    harness_failed = False
    if "generation" in parts:
        try:
            runs = args.runs or (2 if args.quick else 5)
            results["generation"] = gen_bench.run(
                exe,
                corpus=args.corpus,
                openapi=args.openapi,
                runs=runs,
                corpus_runs=args.runs or 1,
                corpus_all_runs=args.runs or 1,
                sample_every=corpus_every,
                peers=not args.no_peers,
                profile=not args.no_profile,
            )
        except Exception:  # noqa: BLE001 - report and carry on with the other part
            harness_failed = True
            results["generation_error"] = traceback.format_exc()
            print(results["generation_error"], file=sys.stderr)
    if "services" in parts:
        try:
            results["services"] = service_bench.run(
                generated=args.generated.resolve(),
                rounds=1 if args.quick else 3,
                duration=1.5 if args.quick else 3.0,
                warmup=0.5 if args.quick else 1.0,
                concurrency=16,
                mcp_calls=60 if args.quick else 300,
                memory_in_flight=8 if args.quick else 16,
                memory_delay=2.0 if args.quick else 3.0,
                openapi=args.openapi,
                fastmcp=not args.no_peers,
                profile_seconds=0 if args.no_profile else (2 if args.quick else 8),
                flamegraph=not args.quick,
                results_dir=RESULTS,
            )
        except Exception:  # noqa: BLE001
            harness_failed = True
            results["services_error"] = traceback.format_exc()
            print(results["services_error"], file=sys.stderr)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    now = metrics(results)
    results["metrics"] = now
    verdicts = evaluate(now)
    results["targets"] = verdicts
    stored: Json = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    base = _get(stored, baseline_key, "metrics")
    rows = comparison_table(now, base)
    width = max(len(r[0]) for r in rows) if rows else 10
    print(f"\n{'metric':{width}}  {'baseline':>10}  {'now':>10}  change")
    for label, old, new, change in rows:
        print(f"{label:{width}}  {old:>10}  {new:>10}  {change}")
    print()
    for v in verdicts:
        print(f"{v['verdict']:4}  {v['target']}: {v['measured']}")
    identity = now.get("rest_bytes_identical")
    if identity is not None:
        print(
            f"INFO  identity mapping forwards the exact request bytes: "
            f"{'yes' if identity else 'no'}"
        )
    dump_json(results, args.output)
    args.output.with_suffix(".md").write_text(markdown(results, rows, verdicts), encoding="utf-8")
    shown = args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output
    print(f"\nresults: {shown} (+ .md); {results['elapsed_s']} s")
    if args.update_baseline:
        stored[baseline_key] = {
            "date": results["machine"]["date"],
            "machine": results["machine"],
            "source": results["source"],
            "naftiko_gen": results["naftiko_gen"],
            "metrics": now,
        }
        dump_json(stored, BASELINE)
        print(f"baseline updated: {BASELINE.relative_to(REPO)} [{baseline_key}]")
    return 1 if harness_failed else 0


if __name__ == "__main__":
    sys.exit(main())
