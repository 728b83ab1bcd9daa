"""Side by side: two naftiko-gen installations on the run after a spec edit, interleaved with
openapi-python-client in every round, so that a noisy machine slows both sides alike.

    python bench/edit_ab.py --before /path/to/venv-main/bin/naftiko-gen \\
        --after /path/to/venv/bin/naftiko-gen [--rounds 15]

Each round (after one untimed round) runs openapi-python-client once on the Track OpenAPI (as
gen_bench.py does), then, in an order that alternates between rounds, for each side: a new
one-line edit of the description of a copy of specs/track-batch.yaml and a run on it (caches
kept, as a user has them), a run on the unchanged spec into an empty folder (reused), and
`--help`. It prints medians of wall time and of CPU time (user + system of the process tree),
and each side's ratio to openapi-python-client.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import venvs
from common import BENCH, REPO, child_env, run_process
from gen_bench import opc_command

SPEC = REPO / "specs" / "track-batch.yaml"
OPENAPI = BENCH / "data" / "customer-io-track-openapi.reconstructed.json"
MARKER = "business surface."


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one command, which must succeed."""
    result = run_process(argv, env=env, cwd=REPO)
    if not result.ok:
        raise SystemExit(f"{argv[0]} exited {result.returncode}: {result.stderr[-800:]!r}")
    return result.wall_s, result.cpu_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="naftiko-gen executable, before")
    parser.add_argument("--after", required=True, help="naftiko-gen executable, after")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    original = SPEC.read_text("utf-8")
    assert MARKER in original, "the edit below no longer applies to specs/track-batch.yaml"
    opc = venvs.ensure("openapi-python-client")
    if not opc.ok:
        raise SystemExit(f"openapi-python-client could not be installed: {opc.error[-800:]}")
    env = child_env()
    opc_env = child_env({"PATH": f"{opc.bin}:{env.get('PATH', '')}"})
    work = Path(tempfile.mkdtemp(prefix="bench-edit-ab-"))
    (work / "config.yaml").write_text("literal_enums: true\n")
    sides = {"before": args.before, "after": args.after}
    samples: dict[str, list[tuple[float, float]]] = {}
    loads = []
    try:
        for round_ in range(args.rounds + 1):
            loads.append(os.getloadavg()[0])
            opc_run = timed(opc_command(opc.bin, OPENAPI, work / "opc", work / "config.yaml"), opc_env)
            runs = [("openapi-python-client", opc_run)]
            for side in (["before", "after"] if round_ % 2 == 0 else ["after", "before"]):
                exe, folder = sides[side], work / side
                spec = folder / "specs" / "track-batch.yaml"
                spec.parent.mkdir(parents=True, exist_ok=True)
                spec.write_text(original.replace(MARKER, f"business surface (edit {round_}).", 1))
                shutil.rmtree(folder / "out", ignore_errors=True)
                shutil.rmtree(folder / "reused", ignore_errors=True)
                runs += [
                    (f"{side}: after a description edit", timed([exe, str(spec), "--out", str(folder / "out")], env)),
                    (f"{side}: unchanged spec, reused", timed([exe, str(SPEC), "--out", str(folder / "reused")], env)),
                    (f"{side}: --help", timed([exe, "--help"], env)),
                ]
            if round_:  # the first round warms the caches
                for label, sample in runs:
                    samples.setdefault(label, []).append(sample)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    opc_wall = statistics.median(w for w, _ in samples["openapi-python-client"])
    opc_cpu = statistics.median(c for _, c in samples["openapi-python-client"])
    print(f"{args.rounds} rounds, load average {min(loads):.2f} to {max(loads):.2f}")
    for label, values in sorted(samples.items()):
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(f"  {label:45s} wall {wall * 1000:6.0f} ms ({wall / opc_wall:.3f}), "
              f"cpu {cpu * 1000:6.0f} ms (min {min(c for _, c in values) * 1000:.0f}; {cpu / opc_cpu:.3f})")


if __name__ == "__main__":
    main()
