"""The ``reservoir-motor`` command line: run, list, show, plot, animate, sweep, report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import ConfigError


def _cmd_run(args) -> int:
    from .experiments import load_experiment
    from .progress import RunProgress
    from .simulation.continuation import continued_from
    from .simulation.memory import check_memory
    from .simulation.resume import check_every, run_resumable
    from .simulation.simulate import simulate
    from .storage.checkpoint import load_checkpoint
    from .storage.result import result_filename, result_path

    if args.period is not None and not args.from_:
        raise ConfigError(f"--period {args.period} is not allowed without --from RESULT.h5 (the file to continue)")
    if args.checkpoint_every is not None:
        check_every(args.checkpoint_every)
    config = load_experiment(args.experiment, args.set)
    start = load_checkpoint(args.from_, args.period) if args.from_ else None
    seed = args.seed if args.seed is not None else (start.seed if start is not None else 0)
    check_memory([config])  # before the bar is drawn (simulate checks again, for every caller)
    if args.device == "cuda":
        from .simulation.on_device import refusal

        why = refusal([dict(config=config, seed=seed, start=start)])
        if why:
            raise ConfigError(why)
    bar = RunProgress(f"{config.name} seed {seed}", disable=args.quiet)
    if args.checkpoint_every is not None:
        out = result_path(args.out, result_filename(config, seed, continued_from(start) if start else None))
        result, path = run_resumable(config, seed, out, args.checkpoint_every, start=start, progress=bar,
                                     announce=None if args.quiet or args.json else _stderr, device=args.device)
        bar.close()
    else:
        result = simulate(config, seed, start=start, progress=bar, device=args.device)
        bar.close()
        path = result.save(Path(args.out))
    m = result.metrics
    if args.json:
        print(json.dumps(result.summary(path)))
    elif not args.quiet:
        if m["diverged"]:
            verdict = f"DIVERGED at step {m['diverged_step']} of {m['n_steps_planned']}"
        else:
            verdict = (f"deviation {m['deviation']:.4g} (median {m['deviation_median']:.4g}, within-run std "
                       f"{m['deviation_std']:.3g}), {'satisfactory' if m['satisfactory'] else 'NOT satisfactory'}")
        print(f"{config.name} seed {seed}: {verdict}; {m['wall_s']:.1f} s\nwrote {path}")
    if args.plot:
        from .plots.run import plot_run

        fig_path = path.with_suffix(".png")
        plot_run(result, fig_path)
        if not args.quiet and not args.json:
            print(f"wrote {fig_path}")
    return 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _cmd_list(args) -> int:
    from .experiments import describe, experiment_names

    names = experiment_names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {describe(name)}")
    return 0


def _cmd_show(args) -> int:
    from .experiments import load_experiment
    from .tomlio import dumps_toml

    sys.stdout.write(dumps_toml(load_experiment(args.experiment, args.set).to_dict()))
    return 0


def _existing_result(text: str):
    """The result stored at ``text``, or a one-line error naming the file."""
    from .storage.result import load_result

    return Path(text), load_result(text)


def _cmd_plot(args) -> int:
    src, result = _existing_result(args.result)
    from .plots.run import plot_run

    out = Path(args.out) if args.out else src.with_suffix(".png")
    plot_run(result, out)
    print(f"wrote {out}")
    return 0


def _cmd_activity(args) -> int:
    src, result = _existing_result(args.result)
    from .plots.activity import plot_activity

    window = None
    if args.window:
        try:
            t0, t1 = (float(v) for v in args.window.split(":"))
        except ValueError:
            raise ConfigError(f"--window {args.window!r} is not allowed: write T0:T1 in ms, "
                              "e.g. 90000:110000") from None
        window = (t0, t1)
    out = Path(args.out) if args.out else src.with_name(src.stem + "-activity.png")
    try:
        plot_activity(result, out, window_ms=window)
    except ValueError as exc:
        raise ConfigError(f"{src}: {exc}") from None
    print(f"wrote {out}")
    return 0


def _cmd_animate(args) -> int:
    src, result = _existing_result(args.result)
    from .plots.animation import animate_run

    out = Path(args.out) if args.out else src.with_suffix(".gif")
    if out.suffix not in (".gif", ".mp4"):
        raise ConfigError(f"--out {str(out)!r} is not allowed: the animation is written as .gif or .mp4")
    try:
        animate_run(result, out, n_frames=args.frames)
    except ValueError as exc:
        raise ConfigError(f"{src}: {exc}") from None
    print(f"wrote {out}")
    return 0


def _cmd_sweep(args) -> int:
    from .studies.sweep import parse_grid, parse_seeds, run_sweep, steps_line

    if args.workers is not None and args.scheduler:
        raise ConfigError("--workers and --scheduler exclude each other: local processes or a Dask cluster")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers {args.workers} is not allowed: must be an integer >= 1")
    _check_device_options(args)
    statuses = run_sweep(args.experiments, parse_seeds(args.seeds), Path(args.out), grid=parse_grid(args.grid),
                         overrides=args.set, workers=args.workers, scheduler=args.scheduler,
                         retry_failed=args.retry_failed, progress=not args.quiet, share=not args.no_share,
                         lockstep=args.lockstep, device=args.device, batch_size=args.batch_size)
    failed = sum(s["status"] == "failed" for s in statuses)
    if not args.quiet:
        print(f"{len(statuses)} runs in {args.out}: {len(statuses) - failed} complete, {failed} failed; "
              f"{steps_line(statuses)}")
    return 1 if failed else 0


def _check_device_options(args) -> None:
    """The options that mean nothing on the GPU are refused with it; --batch-size is refused without it."""
    if args.device == "cpu":
        if getattr(args, "batch_size", None) is not None:
            raise ConfigError("--batch-size is not allowed without --device cuda (it sizes the GPU's batches)")
        return
    for option, given in (("--workers", getattr(args, "workers", None) is not None),
                          ("--lockstep", getattr(args, "lockstep", False)),
                          ("--no-share", getattr(args, "no_share", False))):
        if given:
            raise ConfigError(f"{option} is not allowed with --device cuda: the GPU runs every run of a batch at "
                              "once, each from step 0 (--scheduler sends batches to a Dask cluster's GPUs)")


def _report_per_run(args) -> int:
    from .studies.gather import load_runs

    if args.paired or args.plot:
        raise ConfigError("--per-run is not allowed with --paired or --plot: those compare conditions")
    table = load_runs(args.directory)
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.json:
        print(table.to_json(orient="records"))
    else:
        print(table.drop(columns=["path"]).to_string(index=False))
    return 0


def _cmd_report(args) -> int:
    if args.per_run:
        return _report_per_run(args)
    from .studies.report import (
        COLUMNS,
        collect,
        format_paired,
        format_table,
        paired,
        plot_report,
        runs_by_condition,
        write_csv,
    )
    from .studies.sweep import split_top_level

    rows = collect(args.directory)  # first: a directory without results is named as such
    comparisons = []
    runs = runs_by_condition(args.directory) if args.paired else {}
    for item in args.paired:
        parts = split_top_level(item, "=", maxsplit=1)
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"--paired {item!r} is not allowed: write CONDITION=CONTROL")
        comparisons.append(paired(runs, *parts, args.metric))
    if args.csv:
        write_csv(args.csv, rows, COLUMNS)
    if args.plot:
        plot_report(rows, args.plot)
    if args.json:
        print(json.dumps({"conditions": rows, "paired": comparisons} if comparisons else rows))
    else:
        print(format_table(rows))
        for res in comparisons:
            print(format_paired(res))
    return 0


def _cmd_outcomes(args) -> int:
    from .paper.outcomes import evaluate, experiments, format_outcomes, select
    from .studies.sweep import parse_seeds, run_sweep, steps_line

    ids = select([i.strip() for i in args.only.split(",")] if args.only else None)  # checked before any run
    _check_device_options(args)
    if args.run:
        statuses = run_sweep(experiments(ids), parse_seeds(args.seeds), Path(args.directory), overrides=args.set,
                             workers=args.workers, progress=not args.json, share=not args.no_share,
                             lockstep=args.lockstep, device=args.device, batch_size=args.batch_size)
        print(f"outcomes: {steps_line(statuses)}", file=sys.stderr)  # stdout keeps the table (or the JSON)
    elif not Path(args.directory).is_dir():
        raise ConfigError(f"{args.directory!r} is not a directory of results (add --run to simulate them)")
    rows = evaluate(args.directory, ids)
    print(json.dumps(rows) if args.json else format_outcomes(rows))
    return 0


def _cmd_reproduce(args) -> int:
    from .paper.reproduce import reproduce
    from .studies.sweep import parse_seeds

    parse_seeds(args.seeds)  # a bad range fails before anything runs
    _check_device_options(args)
    print(reproduce(args.table, Path(args.out), seeds=args.seeds, workers=args.workers,
                    scheduler=args.scheduler, overrides=args.set, progress=not args.quiet, device=args.device))
    return 0


def _cmd_results(args) -> int:
    from .paper.results import build_results, select
    from .studies.sweep import parse_seeds

    only = [k.strip() for k in args.only.split(",")] if args.only else None
    try:
        select(only)  # a bad name or range fails before anything runs
    except ValueError as exc:
        raise ConfigError(f"--only {args.only!r} is not allowed: {exc}") from None
    if args.seeds:
        parse_seeds(args.seeds)
    _check_device_options(args)
    print(build_results(args.out, args.results_dir, seeds=args.seeds, quick=args.quick, only=only,
                        workers=args.workers, overrides=args.set, lockstep=args.lockstep, progress=not args.quiet,
                        device=args.device))
    return 0


def _cmd_figure(args) -> int:
    from .paper.catalogue import ALL_FIGURES, draw

    names = ALL_FIGURES if args.all else [args.name]
    if not args.all and args.name not in ALL_FIGURES:
        raise ConfigError(f"unknown figure {args.name!r}: choose one of {', '.join(ALL_FIGURES)}, or --all")
    _check_device_options(args)
    for name in names:
        print(draw(name, quick=args.quick, seeds=args.seeds, out_dir=args.out, workers=args.workers,
                   device=args.device))
    return 0


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed {text!r} is not allowed: must be an integer >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed {value} is not allowed: must be an integer >= 0")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the command."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reservoir-motor", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add_set(p):
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config key, e.g. network.n_neurons=300 (repeatable)")

    def add_no_share(p):
        p.add_argument("--no-share", action="store_true", help="simulate every run from step 0, also the "
                       "periods it shares with another run of its seed (the files are the same either way)")
        p.add_argument("--lockstep", action="store_true", help="advance the runs that share a network (a seed's "
                       "conditions) together, one product of J a step for all (the files are the same either way)")

    def add_device(p, batch_size=True):
        p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                       help="simulate the runs on the CPU (default) or on a GPU in batches (the extra `cuda`; "
                            "docs/gpu.md says what it covers)")
        if batch_size:
            p.add_argument("--batch-size", type=int, help="with --device cuda: at most this many runs a batch "
                           "(default: as many as the GPU's memory holds)")

    p = sub.add_parser("run", help="simulate one experiment and write its HDF5 result")
    p.add_argument("experiment", help="a name from `reservoir-motor list` or a path to a TOML file")
    p.add_argument("--seed", type=_seed, help="default 0, or the checkpoint's seed with --from")
    add_set(p)
    p.add_argument("--out", default="results", help="output directory or .h5 file (default: results/)")
    p.add_argument("--from", dest="from_", metavar="RESULT.h5",
                   help="continue the learner saved in this file's checkpoint under EXPERIMENT (docs/checkpoints.md)")
    p.add_argument("--period", type=int, metavar="K",
                   help="with --from: the checkpoint at period K (default: the last)")
    p.add_argument("--checkpoint-every", type=int, metavar="K",
                   help="write the run's state every K periods into OUT.h5.resume; the same command run again "
                        "after a kill resumes from it")
    p.add_argument("--plot", action="store_true", help="also write the run figure next to the result")
    p.add_argument("--json", action="store_true", help="print one JSON line with the summary on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="simulate on the CPU (default) or on a GPU (the extra `cuda`; docs/gpu.md says what it covers)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("list", help="list the bundled experiments")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", help="print the fully resolved config of an experiment as TOML")
    p.add_argument("experiment")
    add_set(p)
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("plot", help="draw the run figure of a result file")
    p.add_argument("result", help="an .h5 file written by `run`")
    p.add_argument("--out", help="figure file (.png or .pdf; default: next to the result)")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("activity", help="draw the recorded reservoir activity of a result file (heat map, "
                       "principal components, dimensionality, tangling)")
    p.add_argument("result", help="an .h5 file of a run with recording.n_units > 0")
    p.add_argument("--out", help="figure file (.png or .pdf; default: RESULT-activity.png)")
    p.add_argument("--window", help="heat map window T0:T1 in ms (default: the last training and first test period)")
    p.set_defaults(func=_cmd_activity)

    p = sub.add_parser("sweep", help="run experiments over seeds and a grid of values; resumable")
    p.add_argument("experiments", nargs="+", metavar="EXPERIMENT")
    p.add_argument("--seeds", default="0:11", help="START:STOP (end excluded) or a list 1,5,9 (default 0:11)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a grid axis; conditions are the product of all axes (repeatable)")
    add_set(p)
    p.add_argument("--out", required=True, help="directory of result files (finished runs are skipped)")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", help="a Dask scheduler address, tcp://HOST:PORT, instead of local processes")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs that raised last time")
    add_no_share(p)
    add_device(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("report", help="summarise a directory of results per condition")
    p.add_argument("directory")
    p.add_argument("--csv", help="also write the table as CSV")
    p.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    p.add_argument("--per-run", action="store_true", help="one row per run (reservoir_motor.load_runs: "
                   "grid keys as columns, metrics, per-period distances, commit, path) instead of per "
                   "condition; needs pandas (extra 'analysis')")
    p.add_argument("--plot", help="figure of the deviation per condition, one dot per seed (.png/.pdf)")
    p.add_argument("--paired", action="append", default=[], metavar="CONDITION=CONTROL",
                   help="paired comparison over shared seeds: mean difference, 95%% CI, t and Wilcoxon tests")
    p.add_argument("--metric", default="deviation", help="'deviation' (test window) or 'period:K' (mean "
                   "distance of period K, negative counts from the end) for --paired")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("outcomes", help="test the expected outcomes of the lesion, Parkinson's and state "
                       "experiments with paired statistics")
    p.add_argument("directory", help="directory of result files")
    p.add_argument("--only", help="comma-separated outcome ids, e.g. L1,P1 (default: all)")
    p.add_argument("--run", action="store_true", help="first simulate the runs that are missing (a sweep)")
    p.add_argument("--seeds", default="0:11", help="seeds for --run (default 0:11)")
    p.add_argument("--workers", type=int)
    p.add_argument("--json", action="store_true", help="one JSON list of the comparisons")
    add_no_share(p)
    add_device(p)
    add_set(p)
    p.set_defaults(func=_cmd_outcomes)

    p = sub.add_parser("reproduce", help="regenerate a table of the replication beside the published numbers")
    p.add_argument("table", choices=["table1", "table2", "scalability"])
    p.add_argument("--seeds", default="0:11")
    p.add_argument("--out", default="results/reproduce", help="directory of result files (reused across calls)")
    p.add_argument("--workers", type=int)
    p.add_argument("--scheduler")
    add_device(p, batch_size=False)
    add_set(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser("results", help="rebuild the tables of docs/results.md from stored runs, simulating only "
                                       "what is missing")
    p.add_argument("--out", default="docs/results.md", help="the page whose marked tables are rebuilt (made if absent)")
    p.add_argument("--results-dir", default="results/paper", help="directory of result files (reused across calls)")
    p.add_argument("--quick", action="store_true", help="reduced size and seeds 0-1 (what the tests run)")
    p.add_argument("--seeds", help="seeds (default 0:11, or 0:2 with --quick)")
    p.add_argument("--only", help="comma-separated tables: task1, arm-tasks, dynamical-arm, outcomes")
    p.add_argument("--workers", type=int)
    p.add_argument("--lockstep", action="store_true", help="run the runs of one network together (same numbers)")
    add_device(p, batch_size=False)
    add_set(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_results)

    p = sub.add_parser("figure", help="draw a figure from stored runs, simulating only what is missing")
    p.add_argument("name", nargs="?", help="figure name (see --all)")
    p.add_argument("--all", action="store_true", help="every figure")
    p.add_argument("--quick", action="store_true", help="reduced size and 2 seeds")
    p.add_argument("--seeds", default="0:11")
    p.add_argument("--out", default="figures/out")
    p.add_argument("--workers", type=int)
    add_device(p, batch_size=False)
    p.set_defaults(func=_cmd_figure)

    p = sub.add_parser("animate", help="animate the test phase of a result (the arm drawing the curve)")
    p.add_argument("result", help="an .h5 file written by `run`")
    p.add_argument("--out", help="animation file (.gif or .mp4; default: next to the result, .gif)")
    p.add_argument("--frames", type=int, default=150, help="number of frames (default 150)")
    p.set_defaults(func=_cmd_animate)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, OSError) as exc:  # bad input or unreadable files: one line, no traceback
        print(f"reservoir-motor: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
