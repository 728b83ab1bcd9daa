"""Command line: thin glue between the pipeline and the terminal.

    naftiko-gen SPEC... [--out DIR] [--check]     generate (or check) packages
    naftiko-gen validate SPEC...                  only load and validate
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .diagnostics import Diagnostic, ExitCode, has_errors


def _report(diagnostics: list[Diagnostic]) -> None:
    for d in sorted(diagnostics, key=lambda d: (d.path, d.line, d.column, d.code)):
        click.echo(d.render(), err=True)


class _DefaultToGenerate(click.Group):
    """`naftiko-gen SPEC...` means `naftiko-gen generate SPEC...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["generate", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultToGenerate, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="naftiko-gen")
def main() -> None:
    """Generate standalone Python adapters (FastAPI service, MCP server, HTTP client) from
    Naftiko capability specs."""


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", default="generated", show_default=True, type=click.Path(path_type=Path),
              help="Folder that receives one package per spec.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if the output on disk differs.")
def generate(specs: tuple[Path, ...], out_dir: Path, check: bool) -> None:
    """Generate a package for each SPEC (all or nothing: if any spec is invalid, nothing is written)."""
    from . import output
    from .pipeline import generate as run

    root = out_dir.resolve().parent
    results = [run(spec, root) for spec in specs]
    diagnostics = [d for r in results for d in r.diagnostics]
    _report(diagnostics)
    failed = [r for r in results if not r.ok]
    if failed:
        click.echo(f"naftiko-gen: {len(failed)} of {len(results)} spec(s) invalid; nothing written", err=True)
        sys.exit(ExitCode.INVALID_SPEC)
    packages: dict[str, dict[str, str]] = {}
    for r in results:
        if r.package in packages:
            others = [str(o.spec) for o in results if o.package == r.package]
            click.echo(
                f"naftiko-gen: {', '.join(others)} would all generate package `{r.package}`; rename one spec file",
                err=True,
            )
            sys.exit(ExitCode.INVALID_SPEC)
        packages[r.package] = r.files
    try:
        if check:
            changes = output.changes(out_dir, packages)
            for change in changes:
                click.echo(change.diff(), nl=False)
            if changes:
                click.echo(
                    f"naftiko-gen: {len(changes)} generated file(s) in {out_dir} are out of date; "
                    f"run `naftiko-gen {' '.join(str(s) for s in specs)}`",
                    err=True,
                )
                sys.exit(ExitCode.DIFFERENCE)
            return
        touched = output.write(out_dir, packages)
    except (OSError, ValueError) as exc:
        click.echo(f"naftiko-gen: cannot write to {out_dir}: {exc}", err=True)
        sys.exit(ExitCode.USAGE_OR_IO)
    for name in touched:
        click.echo(f"wrote {out_dir / name}", err=True)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(specs: tuple[Path, ...]) -> None:
    """Load and validate each SPEC without generating anything."""
    from .pipeline import check

    diagnostics = [d for spec in specs for d in check(spec)[1]]
    _report(diagnostics)
    if has_errors(diagnostics):
        sys.exit(ExitCode.INVALID_SPEC)
