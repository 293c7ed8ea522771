"""Reading (tomllib) and writing (tomli-w) the TOML of experiment files and of the configs stored in results.

Result files written before tomli-w hold TOML from a hand-written writer; it is plain TOML, so tomllib
reads those files as it reads new ones.
"""

from __future__ import annotations

import tomllib

import tomli_w


def _is_table_array(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, dict) for x in value)


def dumps_toml(data: dict) -> str:
    """``data`` as TOML: top-level keys, one ``[table]`` per dict, then one ``[[key]]`` block per table of a list.

    tomli-w would write short lists of tables inline; the blocks read like the ``[[manipulations]]`` of
    the experiment files. The tables of such lists must be flat (the manipulations are). An empty top-level
    list is left out (absent reads as empty): written as ``key = []`` it would make a ``[[key]]`` block
    appended to the text, the natural way to extend a shown experiment, a second definition of the key.
    """
    arrays = {k: v for k, v in data.items() if _is_table_array(v)}
    text = tomli_w.dumps({k: v for k, v in data.items() if k not in arrays and v != []})
    for key, tables in arrays.items():
        text += "".join(f"\n[[{key}]]\n" + tomli_w.dumps(table) for table in tables)
    return text


def loads_toml(text: str) -> dict:
    """Parse TOML text; a syntax error is a ``tomllib.TOMLDecodeError`` (a ``ValueError``)."""
    return tomllib.loads(text)
