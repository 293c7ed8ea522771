"""``reservoir-motor results``: the marked tables of a results page rebuilt from stored runs, simulating only
what is missing, each with its command, commits, machine and dates; the prose around them kept."""

import re

import pytest
from conftest import ROOT, SMALL

from reservoir_motor.cli import main
from reservoir_motor.paper.results import TABLES, rebuild_page

SETS = [a for item in SMALL for a in ("--set", item)]
PAGE = """# Results

Discussion before the table, kept.

<!-- results:task1 -->
Made by an old command; commit 0000000.

| a stale table |
<!-- /results:task1 -->

Discussion after the table, kept.
"""


def test_results_rebuilds_the_marked_tables_from_stored_runs_and_keeps_the_prose(tmp_path, capsys):
    page, runs = tmp_path / "results.md", tmp_path / "runs"
    page.write_text(PAGE)
    args = ["results", "--quick", "--only", "task1,dynamical-arm", "--out", str(page), "--results-dir", str(runs),
            "--quiet", *SETS]
    assert main(args) == 0
    text = page.read_text()
    order = [text.index(s) for s in ("Discussion before", "<!-- results:task1", "Discussion after",
                                      "## The dynamical arm (torques)\n\n<!-- results:dynamical-arm")]
    assert order == sorted(order) and text.startswith(PAGE.split("<!--")[0])
    assert "stale" not in text and "0000000" not in text
    blocks = dict(re.findall(r"<!-- results:([\w-]+) -->\n(.*?)<!-- /results:\1 -->", text, re.S))
    assert sorted(blocks) == ["dynamical-arm", "task1"]
    for key, body in blocks.items():
        made = body.splitlines()[0]
        assert made.startswith("Made by `reservoir-motor results --quick --only task1,dynamical-arm --set ")
        assert re.search(r"; 6 runs; commit [0-9a-f]{7}" if key == "task1" else r"; 8 runs; commit [0-9a-f]{7}", made)
        assert "numba target" in made and re.search(r"date \d{4}-\d\d-\d\d", made)
        for experiment in TABLES[key].experiments():
            assert f"| {experiment} |" in body
    # a second rebuild simulates nothing and writes the same page
    files = {p: p.stat().st_mtime_ns for p in runs.rglob("*.h5")}
    assert len(files) == 14
    assert main(args) == 0
    assert {p: p.stat().st_mtime_ns for p in runs.rglob("*.h5")} == files and page.read_text() == text


def test_results_a_page_without_blocks_gets_each_table_under_its_title():
    blocks = {"outcomes": "<!-- results:outcomes -->\nnew\n<!-- /results:outcomes -->"}
    assert rebuild_page("# R\n", blocks) == f"# R\n\n## {TABLES['outcomes'].title}\n\n{blocks['outcomes']}\n"


def test_results_every_generated_table_has_its_block_in_the_docs():
    """docs/results.md holds a block for every table the command makes, so a rebuild replaces, never appends."""
    text = (ROOT / "docs" / "results.md").read_text()
    for key in TABLES:
        assert text.count(f"<!-- results:{key} -->") == 1 and text.count(f"<!-- /results:{key} -->") == 1


@pytest.mark.parametrize("args,words", [(["--only", "table9"], ["--only 'table9'", "unknown table", "task1"]),
                                        (["--seeds", "3:1"], ["--seeds"])])
def test_results_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, words):
    assert main(["results", "--out", str(tmp_path / "r.md"), "--results-dir", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words)
    assert list(tmp_path.iterdir()) == []
