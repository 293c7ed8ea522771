"""The documentation under docs/ is checked, not trusted.

* docs/config-reference.md is generated from the config metadata and must equal the generator's output,
  and the output of the command its header names, so it cannot drift from the validator; every key of
  every section appears in it.
* Every fenced ```python and ```bash block of every docs/*.md file runs, in document order, in a fresh
  working directory per file: python blocks share one namespace per file (in this process), bash blocks
  run with ``bash -e`` with the interpreter's bin directory on PATH and the repository on PYTHONPATH.
  Blocks tagged ```console or ```text are shown only (full-size runs, installation, a Dask cluster).
"""

import dataclasses
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from reservoir_motor import config as C
from reservoir_motor.configref import config_reference_markdown

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DOC_FILES = sorted(DOCS.glob("*.md"))
RUN = ("python", "bash")
SHOW = ("console", "text", "toml", "markdown")
FENCE = re.compile(r"^```(\S*)\s*$")


def code_blocks(path: Path) -> list[tuple[str, int, str]]:
    """The fenced blocks of a markdown file: (language tag, line of the opening fence, code)."""
    blocks, lang, start, body = [], None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = FENCE.match(line)
        if lang is None and match:
            lang, start, body = match.group(1), number, []
        elif lang is not None and line.rstrip() == "```":
            blocks.append((lang, start, "\n".join(body) + "\n"))
            lang = None
        elif lang is not None:
            body.append(line)
    assert lang is None, f"{path.name}: the block opened at line {start} is never closed"
    return blocks


def test_docs_exist_and_have_runnable_examples():
    names = {p.name for p in DOC_FILES}
    assert {"config-reference.md", "getting-started.md", "tutorial.md", "parameter-studies.md",
            "results-layout.md"} <= names
    for path in DOC_FILES:
        if path.name not in ("config-reference.md", "history.md", "results.md"):  # references and records
            assert any(lang in RUN for lang, _, _ in code_blocks(path)), f"{path.name} runs no example"


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_docs_every_block_is_tagged_run_or_show(path):
    for lang, line, _ in code_blocks(path):
        assert lang in RUN + SHOW, f"{path.name}:{line}: tag the block with one of {RUN + SHOW}, not {lang!r}"


def test_config_reference_equals_the_generated_text():
    committed = (DOCS / "config-reference.md").read_text()
    assert committed == config_reference_markdown(), (
        "docs/config-reference.md is stale: regenerate it with "
        "`python -m reservoir_motor.configref > docs/config-reference.md`")


def test_config_reference_command_regenerates_the_committed_file():
    # the command the file's header names, as a user runs it, gives the file byte for byte
    proc = subprocess.run([sys.executable, "-m", "reservoir_motor.configref"], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert "python -m reservoir_motor.configref > docs/config-reference.md" in proc.stdout
    assert proc.stdout == (DOCS / "config-reference.md").read_text()


def test_config_reference_lists_every_key_with_its_default():
    text = config_reference_markdown()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    for section, cls in C.SECTIONS.items():
        assert f"## [{section}]" in text
        for f in dataclasses.fields(cls):
            key = f"`{section}.{f.name}`"
            assert key in rows, f"{key} missing from the reference"
            assert f.metadata["doc"].replace("|", "\\|") in rows[key]
            if f.metadata["choices"]:
                assert all(f'`"{c}"`' in rows[key] for c in f.metadata["choices"])
    defaults = C.ExperimentConfig()
    assert "| `network.n_neurons` | integer | `1000` |" in text
    assert f"| `rule.kappa` | float | `{defaults.rule.kappa!r}` |" in text
    for key in ("name", "description", "preset"):
        assert f"`{key}`" in rows
    for preset in C.PRESETS:
        assert f"`{preset}`" in text
    for section, values in C.PRESETS["robust"].items():
        for key in values:
            assert f"`{section}.{key} = " in text, f"robust preset key {section}.{key} not listed"
    for f in dataclasses.fields(C.Manipulation):
        assert f"`manipulations.{f.name}`" in rows
    for kind in C.MANIPULATIONS:
        assert f"| `{kind}` |" in text


@pytest.fixture(scope="module")
def doc_env(tmp_path_factory):
    """Environment of the bash blocks: this interpreter's bin directory first, the repository importable,
    and a ``reservoir-motor`` (and ``python``) command even when the package is not pip-installed."""
    bindir = Path(sys.executable).parent
    shims = tmp_path_factory.mktemp("bin")
    commands = {"reservoir-motor": f'exec "{sys.executable}" -m reservoir_motor.cli "$@"',
                "python": f'exec "{sys.executable}" "$@"'}
    for name, line in commands.items():
        if shutil.which(name, path=str(bindir)) is None:
            shim = shims / name
            shim.write_text(f"#!/bin/sh\n{line}\n")
            shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bindir), str(shims), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    env["MPLBACKEND"] = "Agg"
    return env


RUNNABLE = [p for p in DOC_FILES if any(lang in RUN for lang, _, _ in code_blocks(p))]


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: p.name)
def test_docs_code_blocks_run(path, tmp_path, monkeypatch, doc_env):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for lang, line, code in code_blocks(path):
        where = f"{path.name}:{line}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)  # noqa: S102 - the docs' own examples
        elif lang == "bash":
            script = tmp_path / f".block-{line}.sh"
            script.write_text(code)
            proc = subprocess.run(["bash", "-e", str(script)], cwd=tmp_path, env=doc_env, capture_output=True,
                                  text=True, timeout=600)
            assert proc.returncode == 0, (f"{where}: the bash block failed ({proc.returncode})\n{code}\n"
                                          f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr[-4000:]}")
