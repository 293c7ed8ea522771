"""Summaries of a directory of results: one row per condition, over its seeds.

Two spreads are reported (spec section 5): ``std_across_seeds`` is the std of the runs' deviations;
``std_within_run`` is the mean over runs of each run's own std over its test window (ReScience's
Table 1 "Std").
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..storage.result import open_result

COLUMNS = ("condition", "n", "deviation_mean", "deviation_median", "std_across_seeds", "std_within_run",
           "satisfactory", "diverged", "failed", "seeds")


#: Root attributes of a result file that ``read_run`` returns, by the name it gives them.
PROVENANCE = {"commit": "git_commit", "package_version": "package_version"}


def _metric(value):
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and np.isnan(value) else value


def read_run(path) -> dict:
    """What the tables need of one result file, without its traces: ``condition``, ``digest``, ``seed``,
    every metric of ``/metrics`` (missing values as None; ``diverged`` and ``satisfactory`` as bool),
    ``periods`` (the mean distance of each complete period), ``commit``, ``package_version``, ``path``."""
    with open_result(path) as f:
        run = {k: _metric(v) for k, v in f["metrics"].attrs.items()}
        run["diverged"], run["satisfactory"] = bool(run["diverged"]), bool(run["satisfactory"])
        run.update(condition=str(f.attrs["experiment"]), digest=str(f.attrs["config_digest"]),
                   seed=int(f.attrs["seed"]), periods=f["traces/period_distance"][()])
        run.update({key: str(f.attrs[attr]) if attr in f.attrs else None for key, attr in PROVENANCE.items()})
    run["path"] = str(path)
    return run


def read_failed(path) -> dict:
    """The failure record of a run that raised (``sweep``): ``condition``, ``digest``, ``seed``, ``error``."""
    record = json.loads(Path(path).read_text())
    digest = Path(path).name.rsplit("-seed", 1)[0].rsplit("-", 1)[-1]
    return dict(condition=record["experiment"], digest=digest, seed=int(record["seed"]), error=record.get("error"),
                path=str(path))


def collect(directory) -> list[dict]:
    """Per condition (experiment name and config digest: one row each, so two configs under one name are
    two rows), the statistics over its runs."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{str(directory)!r} is not a directory of results")
    groups: dict[tuple[str, str], dict] = {}
    for path in sorted(directory.glob("*.h5")):
        m = read_run(path)
        groups.setdefault((m["condition"], m["digest"]), {"runs": [], "failed": []})["runs"].append(m)
    for path in sorted(directory.glob("*.failed.json")):
        rec = read_failed(path)
        groups.setdefault((rec["condition"], rec["digest"]), {"runs": [], "failed": []})["failed"].append(rec)
    rows = []
    for (name, digest), g in sorted(groups.items()):
        runs = sorted(g["runs"], key=lambda m: m["seed"])
        ok = [m for m in runs if not m["diverged"]]
        dev = np.array([m["deviation"] for m in ok])
        rows.append(dict(
            condition=name, digest=digest, n=len(ok),
            deviation_mean=float(dev.mean()) if ok else None,
            deviation_median=float(np.median(dev)) if ok else None,
            std_across_seeds=float(dev.std(ddof=1)) if len(ok) > 1 else None,
            std_within_run=float(np.mean([m["deviation_std"] for m in ok])) if ok else None,
            median_within_run=float(np.mean([m["deviation_median"] for m in ok])) if ok else None,
            satisfactory=sum(bool(m["satisfactory"]) for m in runs),
            diverged=sum(bool(m["diverged"]) for m in runs),
            failed=len(g["failed"]),
            seeds=[m["seed"] for m in runs] + [r["seed"] for r in g["failed"]],
            deviations=[m["deviation"] if not m["diverged"] else None for m in runs],
        ))
    if not rows:
        raise ConfigError(f"{str(directory)!r} holds no result files")
    return rows


def format_table(rows) -> str:
    def fmt(v):
        return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| condition | n | mean | median | std across seeds | std within run | satisfactory | diverged | failed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        total = r["n"] + r["diverged"] + r["failed"]
        lines.append(f"| {r['condition']} | {r['n']} | {fmt(r['deviation_mean'])} | {fmt(r['deviation_median'])} "
                     f"| {fmt(r['std_across_seeds'])} | {fmt(r['std_within_run'])} | {r['satisfactory']}/{total} "
                     f"| {r['diverged']} | {r['failed']} |")
    return "\n".join(lines)


def write_csv(path, rows: list[dict], columns=None) -> None:
    """One row per dict: the ``columns`` given (other keys left out), or every key in the order it first
    appears; a list or tuple is written as its items separated by spaces."""
    columns = list(columns or dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: " ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in r.items()})


def plot_report(rows, path) -> None:
    """Deviation per condition, one dot per seed, log scale; diverged runs as red crosses at the top."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(5, 1.2 * len(rows) + 2), 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    finite = [d for r in rows for d in r["deviations"] if d is not None]
    top = max(finite) * 2 if finite else 1.0
    for i, r in enumerate(rows):
        devs = [d for d in r["deviations"] if d is not None]
        jitter = rng.uniform(-0.15, 0.15, len(devs))
        ax.plot(i + jitter, devs, "o", color=(0.2, 0.1, 0.9), ms=4, alpha=0.8)
        if devs:
            ax.plot([i - 0.3, i + 0.3], [np.median(devs)] * 2, color="k", lw=1.5)
        n_bad = r["diverged"] + r["failed"]
        if n_bad:
            ax.plot([i] * n_bad, [top] * n_bad, "x", color=(1, 0.2, 0.2), ms=7)
    ax.axhline(0.5, color=(0.2, 0.2, 0.2), ls=":", lw=1, label="satisfactory below 0.5")
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)), [r["condition"] for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("deviation (mean distance over the test)")
    ax.set_title("deviation per condition (dots: seeds, bar: median, x: diverged or failed)", fontsize=9)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)


def runs_by_condition(directory) -> dict[str, dict[int, dict]]:
    """{condition: {seed: read_run(file)}} of the complete runs that did not diverge; each file is read
    once, so many comparisons over one directory stay cheap."""
    runs: dict[str, dict[int, dict]] = {}
    digests: dict[str, str] = {}
    for path in sorted(Path(directory).glob("*.h5")):
        run = read_run(path)
        if run["diverged"]:
            continue
        name, digest = run["condition"], run["digest"]
        if digests.setdefault(name, digest) != digest:  # pairing by name must not mix two configs
            raise ConfigError(f"{directory} holds runs of two different configs named {name!r} "
                              f"(digests {digests[name]} and {digest}): keep one per directory")
        runs.setdefault(name, {})[run["seed"]] = run
    return runs


def metric_per_seed(runs: dict, condition: str, metric: str) -> dict[int, float]:
    """``deviation`` (the test window) or ``period:K`` (the mean distance of period K; K < 0 from the end)."""
    kind, _, index = metric.partition(":")
    if metric != "deviation" and not (kind == "period" and index.removeprefix("-").isdigit()):
        raise ConfigError(f"--metric {metric!r} is not allowed: use 'deviation' or 'period:K'")
    k = int(index) if index else None
    out = {}
    for seed, run in runs.get(condition, {}).items():
        if metric == "deviation":
            if run["deviation"] is not None:  # None: a run without a test has no deviation to compare
                out[seed] = run["deviation"]
            continue
        periods = run["periods"]
        if not -len(periods) <= k < len(periods):
            raise ConfigError(f"--metric {metric!r} is not allowed: {condition} has {len(periods)} periods")
        out[seed] = float(periods[k])
    return out


def paired(source, condition: str, control: str, metric: str = "deviation", control_metric: str | None = None) -> dict:
    """Paired comparison over the seeds both conditions share: mean difference (condition - control) with
    a 95 % t confidence interval, the paired t-test and the Wilcoxon signed-rank test.

    ``source`` is a directory of results or what :func:`runs_by_condition` returned. ``control_metric`` (default:
    ``metric``) lets a run be compared with an earlier window, e.g. period 9 against period 5 of itself.
    """
    from scipy import stats

    runs = source if isinstance(source, dict) else runs_by_condition(source)
    control_metric = control_metric or metric
    a = metric_per_seed(runs, condition, metric)
    b = metric_per_seed(runs, control, control_metric)
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        raise ConfigError(f"{condition!r} and {control!r} share {len(seeds)} finished seeds; "
                          "a paired comparison needs at least 2")
    x, y = np.array([a[s] for s in seeds]), np.array([b[s] for s in seeds])
    d = x - y
    n = len(d)
    sem = d.std(ddof=1) / np.sqrt(n)
    half = stats.t.ppf(0.975, n - 1) * sem
    t_p = float(stats.ttest_rel(x, y).pvalue) if np.any(d != d[0]) else (0.0 if d[0] != 0 else 1.0)
    w_p = float(stats.wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
    return dict(condition=condition, control=control, metric=metric, control_metric=control_metric, n=n,
                seeds=seeds, mean_condition=float(x.mean()), mean_control=float(y.mean()),
                mean_difference=float(d.mean()), ci95=(float(d.mean() - half), float(d.mean() + half)),
                t_test_p=t_p, wilcoxon_p=w_p)


def format_paired(res: dict) -> str:
    lo, hi = res["ci95"]
    what = res["metric"] if res["control_metric"] == res["metric"] else f"{res['metric']} vs {res['control_metric']}"
    return (f"{res['condition']} vs {res['control']} ({what}, n = {res['n']} paired seeds): "
            f"{res['mean_condition']:.4g} vs {res['mean_control']:.4g}, difference {res['mean_difference']:+.4g} "
            f"[95% CI {lo:+.4g}, {hi:+.4g}], paired t-test p = {res['t_test_p']:.3g}, "
            f"Wilcoxon p = {res['wilcoxon_p']:.3g}")
