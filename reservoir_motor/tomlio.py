"""Reading and writing the small TOML subset of experiment files (scalars, strings, lists, one level of tables)."""

from __future__ import annotations

import json
import tomllib


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def _is_table_array(v) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps_toml(data: dict) -> str:
    """Top-level keys first, then one ``[table]`` per nested dict, then ``[[arrays]]`` of tables."""
    lines = [f"{k} = {_value(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not _is_table_array(v) and v != []]
    for name, table in data.items():
        if isinstance(table, dict):
            lines += ["", f"[{name}]"] + [f"{k} = {_value(v)}" for k, v in table.items()]
    for name, tables in data.items():
        if _is_table_array(tables):
            for table in tables:
                lines += ["", f"[[{name}]]"] + [f"{k} = {_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def loads_toml(text: str) -> dict:
    return tomllib.loads(text)
