"""Generation benchmarks: naftiko-gen as a whole process, and the peers on the Track OpenAPI."""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import profile_summary
import venvs
from common import (
    BENCH,
    REPO,
    Json,
    ProcResult,
    child_env,
    fmt_s,
    run_process,
    shown_path,
    summary,
)

TRACK_BATCH_SPEC = REPO / "specs" / "track-batch.yaml"
DIAGNOSTIC_ERROR = re.compile(r"^(?P<path>.+?):\d+:\d+: error\[(?P<code>[A-Z0-9]+)\]", re.MULTILINE)
INTERNAL_ERROR_EXIT = 70
# The whole pipeline on every run: earlier runs are not reused (the formatting cache stays on;
# the first version had none). Versions without reuse ignore the variable.
NO_REUSE = {"NAFTIKO_GEN_REUSE": "off"}


def _timed(
    label: str,
    make_argv: Callable[[Path], list[str]],
    runs: int,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 300.0,
    fresh_out: bool = True,
    out_dir: Path | None = None,
    warmup: bool = True,
    keep_output: int = 200_000,
) -> tuple[Json, list[ProcResult]]:
    """Run a command `runs` times (after one untimed warm-up run) and summarise wall and RSS.

    `make_argv(out)` gets the output folder; with `fresh_out` it is emptied before every run.
    """
    owned = out_dir is None
    base = Path(tempfile.mkdtemp(prefix="bench-gen-")) if owned else out_dir
    assert base is not None
    out = base / "out" if owned else base
    results: list[ProcResult] = []
    try:
        for i in range(runs + (1 if warmup else 0)):
            if fresh_out and out.exists():
                shutil.rmtree(out)
            result = run_process(
                make_argv(out), env=env, timeout_s=timeout_s, keep_output=keep_output
            )
            if warmup and i == 0:
                continue
            results.append(result)
            print(
                f"    {label}: {fmt_s(result.wall_s)}, {result.maxrss_kb / 1024:.0f} MB, "
                f"exit {result.returncode}",
                flush=True,
            )
    finally:
        if owned:
            shutil.rmtree(base, ignore_errors=True)
    walls = [r.wall_s for r in results]
    return {
        "label": label,
        "wall_s": summary(walls),
        "maxrss_mb": summary([r.maxrss_kb / 1024 for r in results]),
        "exit_codes": sorted({r.returncode for r in results}),
        "timed_out": any(r.timed_out for r in results),
        "stderr_tail": results[-1].stderr[-600:] if results and not results[-1].ok else "",
    }, results


def naftiko_gen_exe(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    script = Path(sys.executable).parent / "naftiko-gen"
    if script.exists():
        return [str(script)]
    found = shutil.which("naftiko-gen")
    if found is None:
        raise SystemExit("naftiko-gen is not installed next to this Python nor on PATH")
    return [found]


def bench_startup(exe: list[str], runs: int) -> Json:
    python = interpreter_of(exe)
    floor, _ = _timed("python -c pass", lambda out: [python, "-c", "pass"], runs)
    help_, _ = _timed("naftiko-gen --help", lambda out: [*exe, "--help"], runs)
    return {"interpreter": floor, "help": help_}


def import_times(exe: list[str], top: int = 12) -> Json:
    """`python -X importtime` of `naftiko-gen --help`: the slowest imports."""
    code = (
        "import sys; sys.argv = ['naftiko-gen', '--help']\n"
        "from naftiko_codegen.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
    )
    result = run_process(
        [interpreter_of(exe), "-I", "-X", "importtime", "-c", code],
        env=child_env(),
        cwd=Path(tempfile.gettempdir()),
    )
    rows: list[tuple[float, float, str]] = []
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        rows.append((int(parts[1]) / 1000, int(parts[0]) / 1000, parts[2].rstrip()))
    rows.sort(key=lambda r: -r[0])
    return {
        "top_cumulative": [
            {"module": name.strip(), "cumulative_ms": cum, "self_ms": own}
            for cum, own, name in rows[:top]
        ],
        "modules": len(rows),
    }


def profile_generation(exe: list[str], results_dir: Path) -> Json:
    """py-spy `record` of one whole `naftiko-gen specs/track-batch.yaml` process."""
    spy = venvs.ensure("py-spy")
    if not spy.ok:
        return {"error": f"py-spy could not be installed: {spy.error[-500:]}"}
    results_dir.mkdir(parents=True, exist_ok=True)
    raw = results_dir / "profile-generate.txt"
    with tempfile.TemporaryDirectory(prefix="bench-genprof-") as tmp:
        result = run_process(
            [
                str(spy.bin / "py-spy"),
                "record",
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(raw),
                "--",
                *exe,
                str(TRACK_BATCH_SPEC),
                "--out",
                str(Path(tmp) / "out"),
            ],
            env=child_env(NO_REUSE),  # the pipeline's work, not a reused run's
            timeout_s=120,
        )
    if not result.ok or not raw.exists():
        return {"error": f"py-spy exit {result.returncode}: {result.stderr[-800:]}"}
    return {
        "py_spy": spy.versions.get("py-spy"),
        "rate_hz": 250,
        "raw_file": shown_path(raw),
        "summary": profile_summary.summarise(
            raw.read_text("utf-8", "replace"),
            groups=profile_summary.GENERATOR_GROUPS,
            ours="naftiko_codegen/",
            focus=profile_summary.GENERATOR_FOCUS,
        ),
    }


def bench_track_batch(exe: list[str], runs: int) -> Json:
    """Into a fresh folder each time: through the whole pipeline (reuse off), and as a user's
    repeated run does it (reuse on: the warm-up run is recorded, then reused)."""
    pipeline, _ = _timed(
        "naftiko-gen specs/track-batch.yaml (reuse off)",
        lambda out: [*exe, str(TRACK_BATCH_SPEC), "--out", str(out)],
        runs,
        env=child_env(NO_REUSE),
    )
    reused, _ = _timed(
        "naftiko-gen specs/track-batch.yaml (unchanged spec, reused)",
        lambda out: [*exe, str(TRACK_BATCH_SPEC), "--out", str(out)],
        runs,
        env=child_env(),
    )
    pipeline["reused"] = reused
    pipeline["edited"] = _bench_after_edit(exe, runs)
    # no cache at all: black formats every file, as on a machine that never ran naftiko-gen
    pipeline["cold"], _ = _timed(
        "naftiko-gen specs/track-batch.yaml (cold: NAFTIKO_GEN_CACHE=off)",
        lambda out: [*exe, str(TRACK_BATCH_SPEC), "--out", str(out)],
        runs,
        env=child_env({"NAFTIKO_GEN_CACHE": "off"}),
    )
    return pipeline


def _bench_after_edit(exe: list[str], runs: int) -> Json:
    """The first run after a one-line edit of the spec's description (a new edit before every
    run, caches on as a user has them): the run a developer waits for after changing a spec."""
    with tempfile.TemporaryDirectory(prefix="bench-edit-") as tmp:
        spec = Path(tmp) / "specs" / "track-batch.yaml"
        spec.parent.mkdir()
        original = TRACK_BATCH_SPEC.read_text("utf-8")
        marker = "business surface."
        assert marker in original, "the edit below no longer applies to specs/track-batch.yaml"
        count = [0]

        def edit_then_argv(out: Path) -> list[str]:
            count[0] += 1
            spec.write_text(original.replace(marker, f"business surface (edit {count[0]}).", 1),
                            "utf-8")
            return [*exe, str(spec), "--out", str(out)]

        timed, _ = _timed("naftiko-gen specs/track-batch.yaml (after a description edit)",
                          edit_then_argv, runs, env=child_env())
    return timed


def _corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


CLASSIFY = """
import json, sys
from pathlib import Path
from naftiko_codegen.pipeline import generate
outcome = {}
for spec in sys.argv[2:]:
    try:
        result = generate(Path(spec), Path(sys.argv[1]), False)
        outcome[spec] = "ok" if result.ok else "refused"
    except Exception as exc:
        outcome[spec] = f"crashed: {type(exc).__name__}: {exc}"[:300]
print(json.dumps(outcome))
"""


def interpreter_of(exe: list[str]) -> str:
    """The Python behind a console script (its `#!` line), else this one."""
    try:
        with open(exe[0], "rb") as handle:
            first = handle.readline().decode("utf-8", "replace").strip()
    except OSError:
        return sys.executable
    return first[2:].strip() if first.startswith("#!") and "python" in first else sys.executable


def _classify_in_process(exe: list[str], files: Sequence[Path], root: Path) -> dict[str, str]:
    """Per spec: 'ok', 'refused' or 'crashed: ...', by calling the pipeline of the measured
    naftiko-gen spec by spec (used only when one command-line run cannot tell, e.g. when one
    spec makes the whole run fail)."""
    # -I: the measured installation's package, not a folder of that name in the current directory
    result = run_process(
        [interpreter_of(exe), "-I", "-c", CLASSIFY, str(root), *map(str, files)],
        env=child_env(),
        cwd=root,
        timeout_s=900,
    )
    if not result.ok:
        raise RuntimeError(f"classification failed ({result.returncode}): {result.stderr[-800:]}")
    outcome: dict[str, str] = json.loads(result.stdout)
    return outcome


def bench_corpus(exe: list[str], corpus: Path, runs: int, all_runs: int, sample_every: int) -> Json:
    """All specs in one run (`all_runs` times: counts of generated, refused and crashing specs),
    then the accepted ones generated into a fresh folder and checked (`runs` times each)."""
    files = _corpus_files(corpus)
    if not files:
        return {"skipped": f"no .yaml/.yml files in {corpus}"}
    total = len(files)
    if sample_every > 1:
        files = files[::sample_every]
    work = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    report: Json = {
        "corpus": str(corpus),
        "files_total": total,
        "files_used": len(files),
        "sample_every": sample_every,
    }
    try:
        all_out = work / "all"
        every, results = _timed(
            f"all {len(files)} specs",
            lambda out: [*exe, *map(str, files), "--out", str(out)],
            all_runs,
            env=child_env(NO_REUSE),
            out_dir=all_out,
            timeout_s=900,
            keep_output=50_000_000,
        )
        report["all"] = every
        last = results[-1]
        # Per spec, from the diagnostics: any error refuses it; E900 is the generator's own
        # failure (an internal error reported for that spec). Older versions stopped the whole
        # run at the first internal error (exit 70, no diagnostics): then ask the pipeline.
        codes: dict[Path, set[str]] = {}
        for m in DIAGNOSTIC_ERROR.finditer(last.stderr):
            codes.setdefault(Path(m.group("path")).resolve(), set()).add(m.group("code"))
        outcome: dict[str, str]
        if last.returncode == 0 or (codes and last.returncode in (2, INTERNAL_ERROR_EXIT)):
            outcome = {}
            for f in files:
                found = codes.get(f.resolve(), set())
                outcome[str(f)] = (
                    "crashed: E900" if "E900" in found else "refused" if found else "ok"
                )
            report["classified_by"] = "command-line diagnostics"
        else:
            print(
                "    the command line gave no per-spec outcome; classifying in-process", flush=True
            )
            try:
                outcome = _classify_in_process(exe, files, work)
                report["classified_by"] = "pipeline called in-process (the command line failed)"
            except Exception:  # noqa: BLE001
                report["classify_error"] = traceback.format_exc()[-800:]
                return report
        accepted = [f for f in files if outcome[str(f)] == "ok"]
        report["generated"] = len(accepted)
        report["refused"] = sum(1 for v in outcome.values() if v == "refused")
        crashed = {Path(k).name: v for k, v in outcome.items() if v.startswith("crashed")}
        report["crashed"] = len(crashed)
        report["crashed_examples"] = dict(sorted(crashed.items())[:10])
        if not accepted:
            return report
        gen_out = work / "accepted"
        generate_, gen_results = _timed(
            f"generate the {len(accepted)} accepted specs",
            lambda out: [*exe, *map(str, accepted), "--out", str(out)],
            runs,
            env=child_env(NO_REUSE),
            out_dir=gen_out,
            timeout_s=900,
            keep_output=50_000_000,
        )
        report["generate_accepted"] = generate_
        if gen_results and gen_results[-1].ok:
            report["packages_written"] = sum(1 for p in gen_out.iterdir() if p.is_dir())
            check, check_results = _timed(
                f"--check the {len(accepted)} accepted specs",
                lambda out: [*exe, "--check", *map(str, accepted), "--out", str(out)],
                runs,
                out_dir=gen_out,
                fresh_out=False,
                timeout_s=900,
            )
            report["check_accepted"] = check
            if check_results and check_results[-1].returncode == 1:
                # Nothing changed between the two commands: a difference means the output is
                # not reproducible from run to run.
                report["check_differences"] = check_results[-1].stdout[:3000]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _count_lines(paths: Sequence[Path]) -> int:
    return sum(len(p.read_text("utf-8", "replace").splitlines()) for p in paths)


def _opc_outcome(out: Path) -> Json:
    py = [p for p in out.rglob("*.py") if ".ruff_cache" not in p.parts]
    endpoints = [p for p in py if "api" in p.parts and p.name != "__init__.py"]
    batch = any("/api/v2/batch" in p.read_text("utf-8", "replace") for p in endpoints)
    return {
        "files": len(py),
        "py_lines": _count_lines(py),
        "operations": len(endpoints),
        "covers_batch": batch,
    }


def _fcg_outcome(out: Path) -> Json:
    py = list(out.rglob("*.py"))
    main = out / "main.py"
    text = main.read_text("utf-8", "replace") if main.exists() else ""
    routes = len(re.findall(r"^@app\.(get|post|put|delete|patch)\(", text, re.MULTILINE))
    return {
        "files": len(py),
        "py_lines": _count_lines(py),
        "operations": routes,
        "covers_batch": "'/api/v2/batch'" in text or '"/api/v2/batch"' in text,
    }


def _openapi_operations(doc: Path) -> int:
    data = json.loads(doc.read_text("utf-8"))
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sum(1 for item in data.get("paths", {}).values() for m in item if m in methods)


def opc_command(bin_dir: Path, openapi: Path, out: Path, config: Path) -> list[str]:
    """openapi-python-client generating a client for `openapi` into `out`, as measured."""
    return [
        str(bin_dir / "openapi-python-client"),
        "generate",
        "--path",
        str(openapi),
        "--output-path",
        str(out),
        "--meta",
        "uv",
        "--config",
        str(config),
        "--overwrite",
    ]


def bench_peers(openapi: Path, runs: int) -> Json:
    report: Json = {
        "openapi": str(openapi),
        "openapi_bytes": openapi.stat().st_size,
        "openapi_operations": _openapi_operations(openapi),
    }
    # openapi-python-client: `literal_enums: true` (its default config crashes on the published
    # document), ruff on PATH for its formatting post-hooks, as its README recommends.
    opc = venvs.ensure("openapi-python-client")
    entry: Json = {
        "installed": opc.ok,
        "version": opc.versions.get("openapi-python-client"),
        "error": opc.error[-1500:],
    }
    if opc.ok:
        work = Path(tempfile.mkdtemp(prefix="bench-opc-"))
        config = work / "config.yaml"
        config.write_text("literal_enums: true\n")
        env = child_env({"PATH": f"{opc.bin}:{child_env().get('PATH', '')}"})
        try:
            timing, results = _timed(
                "openapi-python-client generate",
                lambda out: opc_command(opc.bin, openapi, out, config),
                runs,
                env=env,
                out_dir=work / "out",
            )
            entry.update(timing)
            if (work / "out").exists():
                entry["output"] = _opc_outcome(work / "out")
            entry["skipped_warnings"] = results[-1].stderr.count("will not be generated") + results[
                -1
            ].stdout.count("will not be generated")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    report["openapi-python-client"] = entry

    fcg = venvs.ensure("fastapi-code-generator")
    entry = {
        "installed": fcg.ok,
        "version": fcg.versions.get("fastapi-code-generator"),
        "error": fcg.error[-1500:],
    }
    if fcg.ok:
        work = Path(tempfile.mkdtemp(prefix="bench-fcg-"))
        try:
            timing, _ = _timed(
                "fastapi-codegen --disable-timestamp",
                lambda out: [
                    str(fcg.bin / "fastapi-codegen"),
                    "--input",
                    str(openapi),
                    "--output",
                    str(out),
                    "--disable-timestamp",
                ],
                runs,
                env=child_env(),
                out_dir=work / "out",
            )
            entry.update(timing)
            if (work / "out").exists():
                entry["output"] = _fcg_outcome(work / "out")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    report["fastapi-code-generator"] = entry
    return report


def run(
    exe: list[str],
    *,
    corpus: Path | None,
    openapi: Path,
    runs: int,
    corpus_runs: int,
    corpus_all_runs: int,
    sample_every: int,
    peers: bool,
    profile: bool,
) -> Json:
    out: Json = {}
    print("generation: start-up", flush=True)
    out["startup"] = bench_startup(exe, max(runs, 5))
    out["startup"]["imports"] = import_times(exe)
    print("generation: specs/track-batch.yaml", flush=True)
    out["track_batch"] = bench_track_batch(exe, runs)
    if profile:
        print("generation: profiling one track-batch generation (py-spy)", flush=True)
        out["profile"] = profile_generation(exe, BENCH / "results")
    if peers:
        print("generation: peers on the Track OpenAPI", flush=True)
        out["peers"] = bench_peers(openapi, runs)
    if corpus is None:
        out["corpus"] = {"skipped": "no corpus folder"}
    elif not corpus.is_dir():
        out["corpus"] = {"skipped": f"corpus folder {corpus} not found"}
        print(f"generation: corpus skipped: {corpus} not found", flush=True)
    else:
        print(f"generation: corpus {corpus}", flush=True)
        out["corpus"] = bench_corpus(exe, corpus, corpus_runs, corpus_all_runs, sample_every)
    return out
