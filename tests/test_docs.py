"""Docs kept honest: every CLI command and option has help text, and README documents every command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from duck_synth.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def _commands(group: click.Group, prefix: str = "duck-synth") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
    return found


COMMANDS = _commands(main)


def _cli_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Command line\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, "README.md has no '## Command line' section"
    return match.group(1)


def test_group_has_help():
    assert main.help and main.help.strip()


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_and_example(name, command):
    assert command.help and command.help.strip(), f"{name} has no help text"
    assert command.short_help or command.help.splitlines()[0].strip()
    assert "Example" in command.help, f"{name} --help shows no example"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_option_has_help(name, command):
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} option {param.opts} has no help text"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_is_documented_in_readme(name, command):
    section = _cli_section()
    assert re.search(rf"^### `?{re.escape(name)}`?", section, re.M), f"README has no '### {name}' heading"
    assert f"{name} " in section.replace("\n", " "), f"README shows no example of {name}"


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_readme_mentions_every_option(name, command):
    section = _cli_section()
    for param in command.params:
        if isinstance(param, click.Option) and param.name not in ("help",):
            long = max(param.opts, key=len)
            assert long in section, f"README does not mention {name} {long}"


def test_readme_documents_completion_and_main_job():
    section = _cli_section()
    assert "_DUCK_SYNTH_COMPLETE=bash_source duck-synth" in section
    assert "duck-synth demo" in section


def _python_blocks(heading: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README.md has no '## {heading}' section"
    return re.findall(r"```python\n(.*?)```", match.group(1), re.S)


def test_readme_batch_api_examples_run_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = _python_blocks("gretel-compatible batch API (`duck_synth.batch`)")
    scope: dict = {}
    exec(compile(first, "README batch example", "exec"), scope)
    assert scope["synthetic_df"].shape == (1000, 20) and set(scope["synthetic_df"]["state"]) == {"OH"}
    assert (scope["synthetic_df"]["account_length"] > 0).all()
    exec(compile("import duck_synth as ds\n" + second, "README batch/DuckDB example", "exec"), scope)
    assert scope["con"].sql("SELECT count(*) FROM generate_synthetic('churn', 100)").fetchall() == [(100,)]
    assert list(scope["batcher"].batches) == [0, 1]
    scope["con"].close()
