"""Command line: thin glue between the pipeline and the terminal.

    naftiko-gen SPEC... [--out DIR] [--check]     generate (or check) packages
    naftiko-gen validate SPEC...                  only load and validate

Exit codes: 0 ok (warnings allowed), 1 `--check` found a difference, 2 invalid spec,
3 bad usage or an I/O error. Heavy modules are imported inside the commands, so `--help`
starts fast.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .diagnostics import ExitCode

SPEC_SUFFIXES = (".yaml", ".yml")


class _Cli(click.Group):
    """`naftiko-gen SPEC...` means `naftiko-gen generate SPEC...`; usage errors exit 3."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["generate", *args]
        return super().parse_args(ctx, args)

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        try:
            return super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.UsageError as exc:
            exc.show()
            sys.exit(ExitCode.USAGE_OR_IO)
        except click.ClickException as exc:
            exc.show()
            sys.exit(ExitCode.USAGE_OR_IO)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(ExitCode.USAGE_OR_IO)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as exc:  # a generator bug: say so plainly; NAFTIKO_GEN_DEBUG=1 shows the trace
            if os.environ.get("NAFTIKO_GEN_DEBUG"):
                raise
            click.echo(f"naftiko-gen: internal error ({type(exc).__name__}: {exc}); please report it "
                       "with the spec that caused it (NAFTIKO_GEN_DEBUG=1 shows the details)", err=True)
            sys.exit(ExitCode.INTERNAL)


def expand(arguments: Iterable[str]) -> list[Path]:
    """Files as given; folders searched recursively for .yaml/.yml; globs expanded (quoted
    globs work too, for shells that do not expand them). Duplicates are kept once."""
    found: list[Path] = []
    for arg in arguments:
        path = Path(arg)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
        elif not path.exists() and glob.has_magic(arg):
            matches = sorted(Path(m) for m in glob.glob(arg, recursive=True))
            if not matches:
                raise click.UsageError(f"no file matches {arg!r}")
            found += [m for m in matches if m.is_file()]
        else:
            found.append(path)
    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    if not unique:
        raise click.UsageError("no spec files found in " + ", ".join(arguments))
    return list(unique.values())


def _report(results: Sequence[Any], fmt: str) -> None:
    from .diagnostics import render_github, render_json, render_text

    diagnostics = [d for r in results for d in r.diagnostics]
    if fmt == "json":
        click.echo(render_json(diagnostics), nl=False)
    elif fmt == "github":
        click.echo(render_github(diagnostics), nl=False)
    else:
        click.echo(render_text(diagnostics, {r.shown: r.source for r in results}), err=True, nl=False)


def _exit_for(results: Sequence[Any], action: str) -> None:
    failed = [r for r in results if not r.ok]
    if not failed:
        return
    click.echo(f"naftiko-gen: {len(failed)} of {len(results)} spec(s) invalid; {action}", err=True)
    if any(d.code == "E900" for r in failed for d in r.diagnostics):
        sys.exit(ExitCode.INTERNAL)
    io_only = all(r.unreadable for r in failed)
    sys.exit(ExitCode.USAGE_OR_IO if io_only else ExitCode.INVALID_SPEC)


def _run_all(function: Any, specs: list[Path], jobs: int, label: str, *args: Any) -> list[Any]:
    """`function(spec, *args)` for every spec, in order; in worker processes with --jobs.
    A progress bar is shown on a terminal when there are many specs."""
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    show_bar = sys.stderr.isatty() and len(specs) > 5
    if jobs > 1 and len(specs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(jobs, len(specs))) as pool:
            futures = [pool.submit(function, spec, *args) for spec in specs]
            iterator: Iterable[Any] = (f.result() for f in futures)
            if show_bar:
                with click.progressbar(iterator, length=len(specs), label=label, file=sys.stderr) as bar:
                    return list(bar)
            return list(iterator)
    if show_bar:
        with click.progressbar(specs, label=label, file=sys.stderr) as bar:
            return [function(spec, *args) for spec in bar]
    return [function(spec, *args) for spec in specs]


_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text",
                       show_default=True,
                       help="Diagnostics as text with source lines (stderr), JSON or GitHub annotations (stdout).")
_STRICT = click.option("--strict", "--warnings-as-errors", "strict", is_flag=True,
                       help="Warnings fail the run, and the official alpha2 schema's rules apply too.")
_JOBS = click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=0),
                     help="Specs processed in parallel (0: one per CPU); output is identical.")


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="naftiko-gen")
def main() -> None:
    """Generate standalone Python adapters (FastAPI service, MCP server, HTTP client) from
    Naftiko capability specs. SPEC may be a file, a folder or a glob."""


@main.command()
@click.argument("specs", nargs=-1, required=True)
@click.option("--out", "out_dir", default="generated", show_default=True, type=click.Path(path_type=Path),
              help="Folder that receives one package per spec.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if the output on disk differs.")
@_FORMAT
@_STRICT
@_JOBS
def generate(specs: tuple[str, ...], out_dir: Path, check: bool, fmt: str, strict: bool, jobs: int) -> None:
    """Generate a package for each SPEC. All or nothing: if any spec is invalid, nothing is written."""
    from . import output
    from .pipeline import generate as run
    from .pipeline import remember, reused

    paths = expand(specs)
    root = out_dir.resolve().parent
    # Specs unchanged since an earlier run skip the pipeline (reuse.py): exact, and much faster.
    results: list[Any] = [reused(p, root, out_dir, strict, write=not check) for p in paths]
    todo = [i for i, r in enumerate(results) if r is None]
    for i, r in zip(todo, _run_all(run, [paths[i] for i in todo], jobs, "generating", root, strict)):
        results[i] = r
        remember(r, strict)
    _report(results, fmt)
    _exit_for(results, "nothing written")
    packages: dict[str, dict[str, str]] = {}
    unchanged: set[str] = set()
    for r in results:
        if r.package in packages or r.package in unchanged:
            clash = [str(o.spec) for o in results if o.package == r.package]
            click.echo(f"naftiko-gen: {', '.join(clash)} would all generate package `{r.package}`; "
                       "rename one of the spec files", err=True)
            sys.exit(ExitCode.INVALID_SPEC)
        if r.unchanged:
            unchanged.add(r.package)
        else:
            packages[r.package] = r.files
    try:
        if check:
            changes = output.changes(out_dir, packages, frozenset(unchanged))
            for change in changes:
                click.echo(change.diff(), nl=False)
            if changes:
                click.echo(f"naftiko-gen: {len(changes)} generated file(s) in {out_dir} are out of date; "
                           f"regenerate with `naftiko-gen {' '.join(specs)} --out {out_dir}`", err=True)
                sys.exit(ExitCode.DIFFERENCE)
            return
        touched = output.write(out_dir, packages, frozenset(unchanged))
    except (OSError, ValueError) as exc:
        click.echo(f"naftiko-gen: cannot write to {out_dir}: {exc}", err=True)
        sys.exit(ExitCode.USAGE_OR_IO)
    for name in touched:
        click.echo(f"wrote {out_dir / name}", err=True)


def _check_one(spec: Path, strict: bool) -> Any:
    from .pipeline import check

    return check(spec, strict=strict)[1]


@main.command()
@click.argument("specs", nargs=-1, required=True)
@_FORMAT
@_STRICT
@_JOBS
def validate(specs: tuple[str, ...], fmt: str, strict: bool, jobs: int) -> None:
    """Load and validate each SPEC without generating anything."""
    results = _run_all(_check_one, expand(specs), jobs, "validating", strict)
    _report(results, fmt)
    _exit_for(results, "see the errors above" if fmt == "text" else "see the diagnostics")
