"""The `showdown` command: run the pipeline, rate a vote table, make demo data, show a snapshot."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from showdown_pipeline import settings


def _check_warehouse_settings() -> None:
    """A bad SHOWDOWN_DUCKDB_MEMORY_LIMIT, SHOWDOWN_MAX_* or SHOWDOWN_INGEST_TRUST_STAT is refused before
    anything is built."""
    from showdown_pipeline.core.landing import trust_stat_from_env
    from showdown_pipeline.core.staging import IngestLimits

    try:
        settings.warehouse_connection_config()
        IngestLimits.from_env()
        trust_stat_from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from exc


class CliError(Exception):
    """A reason the command cannot run, printed as one line."""


def parse_anchor(value: str | None) -> tuple[str | None, float | None]:
    """`MODEL_ID=RATING` as (model, rating); (None, None) when not given: the callee's default applies
    (core/run_cut.DEFAULT_ANCHOR_RATING)."""
    if value is None:
        return None, None
    model, sep, rating = value.rpartition("=")
    if not sep or not model:
        raise CliError(f"--anchor must be MODEL_ID=RATING, got {value!r}")
    try:
        return model, float(rating)
    except ValueError as exc:
        raise CliError(f"--anchor rating must be a number, got {rating!r}") from exc


def _prepare_dagster_home(home: Path) -> Path:
    """The Dagster instance's home under `home`, with dagster.yaml carrying the warehouse pool limit."""
    try:
        dagster_home = settings.dagster_home(settings.check_home_path(home))
        settings.write_dagster_config(dagster_home)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home


@contextmanager
def _home_lock(home: Path):
    """Hold the home's one-writer lock (core/lock.py) or refuse in one line naming its holder."""
    from showdown_pipeline.core import lock

    try:
        settings.check_home_path(home)  # before anything is created under it
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        acquired = lock.acquire(home)
    except (lock.HomeBusy, lock.UnsafeLockFile) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot lock home {home}: {exc}") from exc
    if acquired.stale:
        print(f"showdown: {lock.describe_takeover(acquired.stale)}", file=sys.stderr)
    try:
        yield
    finally:
        lock.release(home)


def _run_cut(as_of, anchor, seed, overrides):
    """The run's cut from the flags (core/run_cut.py), refused in one line when a flag is bad."""
    from showdown_pipeline.core import run_cut

    try:
        as_of_date = settings.parse_as_of(as_of)
        anchor_model, anchor_rating = parse_anchor(anchor)
        names = run_cut.parse_overrides(list(overrides or ()))
        return run_cut.RunCut(
            as_of=as_of_date,
            anchor_model=run_cut.parse_anchor_model(anchor_model) if anchor_model is not None else None,
            anchor_rating=run_cut.parse_anchor_rating(anchor_rating)
            if anchor_rating is not None
            else run_cut.DEFAULT_ANCHOR_RATING,
            seed=run_cut.parse_seed(seed) if seed is not None else run_cut.DEFAULT_SEED,
            overrides=names,
            override_by=_operator() if names else None,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _operator() -> str:
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown user"
    return f"{user}@{socket.gethostname()}"


def run_pipeline(
    landing: Path,
    home: Path,
    as_of: str | None = None,
    anchor: str | None = None,
    verbose: int = 0,
    overrides: list[str] | None = None,
    seed: int | None = None,
):
    """Materialize every asset in-process (runs recorded in the Dagster instance under the home), holding
    the home's lock from before the instance is created until the run ends."""
    _check_warehouse_settings()
    landing, home = Path(landing).resolve(), Path(home).resolve()
    cut = _run_cut(as_of, anchor, seed, overrides)
    if not landing.is_dir():
        raise CliError(f"landing zone {landing} does not exist")
    with _home_lock(home):
        return _execute_rebuild(landing, home, cut, verbose)


def _execute_rebuild(landing: Path, home: Path, cut, verbose: int):
    import dagster as dg

    from showdown_pipeline.definitions import build_definitions
    from showdown_pipeline.defs.partitions import landing_range_tags
    from showdown_pipeline.defs.resources import free_stale_pool_claims

    _prepare_dagster_home(home)
    defs = build_definitions(landing, home)
    job = defs.resolve_job_def("showdown_full_rebuild")
    with dg.DagsterInstance.get() as instance:
        free_stale_pool_claims(instance)
        result = job.execute_in_process(
            instance=instance,
            tags={**landing_range_tags(landing), **cut.tags()},
            run_config={"loggers": {"console": {"config": {"log_level": _log_level(verbose)}}}},
            raise_on_error=False,
        )
    if not result.success:
        raise CliError(f"run {result.run_id} failed: {failure_reason(result)}")
    return result


def _log_level(verbose: int) -> str:
    return ("CRITICAL", "INFO", "DEBUG")[min(int(verbose), 2)]


def failure_reason(result) -> str:
    """The first failed blocking check (a tripped breaker says why) or step error of a run, in one line."""
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity.value == "ERROR":
                reason = evaluation.metadata.get("reason")
                text = f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed"
                if reason is not None:
                    from showdown_pipeline.core.breakers import BREAKER_NAMES

                    text += f": {reason.value}"
                    if evaluation.check_name in BREAKER_NAMES:
                        text += f" (override for one run: --override-breaker {evaluation.check_name})"
                return text
    for event in result.all_events:
        if event.event_type_value in ("STEP_FAILURE", "RESOURCE_INIT_FAILURE"):
            error = (
                event.step_failure_data.error
                if event.event_type_value == "STEP_FAILURE"
                else event.event_specific_data.error
            )
            cause = error
            while cause.cause is not None:
                cause = cause.cause
            message = (error.message or "").strip().splitlines()
            inner = (cause.message or "").strip().splitlines()
            text = inner[0] if inner else (message[0] if message else "unknown error")
            return f"{event.step_key or 'resources'}: {text}"
    return "unknown failure (see the Dagster run log)"


def _cmd_run(args: argparse.Namespace) -> int:
    from showdown_pipeline import snapshots

    home = Path(args.home) if args.home else settings.home_dir_from_env()
    landing = Path(args.landing) if args.landing else settings.landing_dir_from_env()
    result = run_pipeline(
        landing,
        home,
        args.as_of,
        args.anchor,
        verbose=args.verbose,
        overrides=args.override_breaker,
        seed=args.seed,
    )
    snap = snapshots.by_id(_published_snapshot_id(result), home)
    board = snap.leaderboard()
    overall = board[(board["board"] == "raw") & (board["segment_dim"] == "overall")]
    print(_format_board(overall.head(args.top)))
    manifest = snap.manifest
    inputs = manifest["input"]
    print(
        f"\nrows in {inputs['rows_in']:,} = valid {inputs['valid']:,} + duplicates {inputs['duplicates']:,}"
        f" + quarantined {inputs['quarantined']['total']:,}"
    )
    integrity = manifest.get("integrity") or {}
    if integrity:
        removed = (
            ", ".join(f"{k} {v:,}" for k, v in sorted(integrity.get("removed_by_check", {}).items()))
            or "none"
        )
        print(
            f"integrity: {integrity['users_excluded']:,} voters excluded; {integrity['votes_removed']:,} votes removed "
            f"({removed}); {integrity['votes_counted']:,} votes on the boards"
        )
    rejected = [f for f in inputs["files"] if f["status"] == "rejected"]
    rejected += [f for f in manifest.get("other_landing_files", []) if f["status"] == "rejected"]
    for f in rejected:
        print(f"rejected {f['path']}: {f['error']}")
    if note := manifest.get("registry", {}).get("note"):
        print(f"registry: {note}")
    print(f"snapshot: {snap.path}")
    latest = manifest.get("latest") or {}
    if latest.get("moved") is False:
        print(f"LATEST stays at {latest['stays']}: {latest['reason']}")
    return 0


def _published_snapshot_id(result) -> str:
    """The snapshot a successful run published (its leaderboard_snapshot materialization)."""
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == "leaderboard_snapshot":
            return str(event.materialization.metadata["snapshot_id"].value)
    raise CliError(f"run {result.run_id} published no snapshot")


def _format_board(board, top: int | None = None) -> str:
    """The board as text. Rows of another connected component (no vote links them to the anchor) come
    in a block of their own under a heading: their scale is their own, not the main board's."""
    if "component" not in board or board.empty or board["component"].nunique() == 1:
        return _format_rows(board if top is None else board.head(top))
    blocks = []
    main_anchor = board.loc[board["component"] == 1, "component_anchor"]
    anchor = str(main_anchor.iloc[0]) if len(main_anchor) else "the anchor"
    for number, rows in board.groupby("component", sort=True):
        own = str(rows["component_anchor"].iloc[0])
        own_rating = rows.loc[rows["model_id"] == own, "rating"]
        pinned = f"{own} = {own_rating.iloc[0]:g}" if len(own_rating) else own
        if number == 1:
            heading = f"main board (component 1, anchor {pinned})"
        else:
            heading = (
                f"component {number}: {len(rows)} models not connected to {anchor}, rated on their own "
                f"scale ({pinned}); these ratings are NOT comparable with the main board's"
            )
        blocks.append(heading + "\n" + _format_rows(rows if top is None else rows.head(top)))
    return "\n\n".join(blocks)


def _format_rows(board) -> str:
    """One line per model; with the rank analysis (tier, simultaneous 95% rank range, P(#1), P(top 5))
    when the board has it (every board of schema 6; older snapshots' style boards have none), and its
    source (rank_method: the board's bootstrap replicates, or normal draws with its sandwich covariance)."""
    ranked = "tier" in board and board["tier"].notna().any()
    head = f"{'rank':>4}  " + (f"{'tier':>4}  {'range':>7}  " if ranked else "")
    lines = [
        head
        + f"{'model':<36} {'rating':>8}  {'95% CI':>17}  {'votes':>9}"
        + ("  P(#1)  P(top5)" if ranked else "")
    ]
    for r in board.itertuples(index=False):
        mark = (" *" if r.provisional else "") + (" (pre-release)" if _pre_release(r) else "")
        line = f"{r.rank:>4}  "
        if ranked:
            line += f"{_cell(r.tier):>4}  {_range(r.rank_lower, r.rank_upper):>7}  "
        line += f"{str(r.model_id)[:36]:<36} {r.rating:>8.1f}  [{r.ci_lower:>7.1f}, {r.ci_upper:>7.1f}]  {r.votes:>9,}"
        if ranked:
            line += f"  {_percent(r.p_top1):>5}  {_percent(r.p_top5):>6}"
        lines.append(line + mark)
    if ranked:
        lines.append(
            "  tier: no two models of a tier are separable at 95%; range: simultaneous 95% rank interval "
            "(all hold at once); P(#1)/P(top5): share of the draws below in which it is first / in the top five"
        )
        methods = board["rank_method"].dropna().unique() if "rank_method" in board else ()
        lines.extend(f"  ranks from: {m}" for m in methods)
    if any(board["provisional"]):
        lines.append("  * provisional (too few votes or voters, or another reason in provisional_reason)")
    if any(_pre_release(r) for r in board.itertuples(index=False)):
        lines.append(
            "  (pre-release): marked pre_release in models.csv and under 1,000 counted votes since its public "
            "release (pre_release_provisional)"
        )
    return "\n".join(lines)


def _pre_release(row) -> bool:
    """The row's pre_release_provisional (absent before schema 5, null in a board table: false)."""
    value = getattr(row, "pre_release_provisional", None)
    return False if value is None or value != value else bool(value)


def _number(value) -> float | None:
    """A cell's number, or None where it is null (NaN, NA, None: a board without rank analysis)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _cell(value) -> str:
    number = _number(value)
    return "-" if number is None else str(int(number))


def _range(lower, upper) -> str:
    lo, hi = _number(lower), _number(upper)
    if lo is None or hi is None:
        return "-"
    return str(int(lo)) if lo == hi else f"{int(lo)}-{int(hi)}"


def _percent(value) -> str:
    number = _number(value)
    return "-" if number is None else f"{100 * number:.0f}%"


def export_licensed(
    home: Path, licensee: str, as_of: str | None = None, landing: Path | None = None, verbose: bool = False
):
    """Run the licensed-export job for one licensee partition in-process, holding the home's lock; returns
    the published folder."""
    _check_warehouse_settings()
    from showdown_pipeline.core import holdout

    home = Path(home).resolve()
    try:
        holdout.check_licensee(licensee)
        as_of_date = holdout.check_export_as_of(settings.parse_as_of(as_of))
        holdout.license_secret()
    except (holdout.HoldoutError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    if not settings.warehouse_path(home).is_file():
        raise CliError(
            f"no warehouse at {settings.warehouse_path(home)}: run `showdown run --home {home}` first"
        )
    with _home_lock(home):  # re-entrant: `showdown export` took it before anything else
        return _execute_export(home, licensee, as_of_date, landing, verbose)


def _execute_export(home: Path, licensee: str, as_of_date, landing: Path | None, verbose: bool):
    import dagster as dg

    from showdown_pipeline.core import licensing
    from showdown_pipeline.definitions import build_definitions
    from showdown_pipeline.defs.resources import free_stale_pool_claims

    _prepare_dagster_home(home)
    defs = build_definitions(landing or settings.landing_dir_from_env(), home)
    job = defs.resolve_job_def("licensed_export_job")
    with dg.DagsterInstance.get() as instance:
        free_stale_pool_claims(instance)  # a killed run's slot would make this export wait forever
        if not instance.has_dynamic_partition("licensees", licensee):
            instance.add_dynamic_partitions("licensees", [licensee])
        result = job.execute_in_process(
            instance=instance,
            partition_key=licensee,
            run_config={
                "ops": {"licensed_export_staged": {"config": {"as_of": as_of_date.isoformat()}}},
                "loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}},
            },
            raise_on_error=False,
        )
    if not result.success:
        raise CliError(f"export not published: {failure_reason(result)}")
    return licensing.export_dir(home, licensee, as_of_date)


def _cmd_export(args: argparse.Namespace) -> int:
    import json

    home = Path(args.home) if args.home else settings.home_dir_from_env()
    with _home_lock(home.resolve()):  # before the Dagster instance is created
        folder = export_licensed(
            home, args.licensee, args.as_of, Path(args.landing) if args.landing else None, args.verbose
        )
    manifest = json.loads((folder / "manifest.json").read_text())
    k = manifest["k_anonymity"]
    print(
        f"published {manifest['rows']:,} votes of {manifest['contributors']:,} contributors for {manifest['licensee']} "
        f"as of {manifest['as_of']} (live votes after {manifest['holdout_cutoff_utc']} held out; policy "
        f"{manifest['policy_version']}; {k['k']}-anonymous: generalised {', '.join(k['generalised']) or 'nothing'}, "
        f"{k['suppressed_votes']:,} votes of {k['contributors_with_suppressed_votes']:,} contributors suppressed)"
        f"\n{folder}"
    )
    return 0


def _cmd_dagster_home(args: argparse.Namespace) -> int:
    """Write the home's dagster.yaml (pool limit included) and print DAGSTER_HOME (`make ui` uses it)."""
    home = (Path(args.home) if args.home else settings.home_dir_from_env()).resolve()
    print(_prepare_dagster_home(home))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from showdown_pipeline import snapshots

    home = Path(args.home) if args.home else settings.home_dir_from_env()
    try:
        snap = snapshots.by_id(args.snapshot, home) if args.snapshot else snapshots.latest(home)
    except snapshots.SnapshotError as exc:
        raise CliError(str(exc)) from exc
    board = snap.leaderboard()
    dim, value = "overall", "all"
    if args.segment:
        dim, sep, value = args.segment.partition("=")
        if not sep or not value:
            raise CliError(f"--segment must be DIM=VALUE, e.g. country=BR (got {args.segment!r})")
    rows = board[
        (board["board"] == args.board) & (board["segment_dim"] == dim) & (board["segment_value"] == value)
    ]
    if rows.empty:
        available = sorted(board.loc[board["segment_dim"] == dim, "segment_value"].unique())[:20]
        raise CliError(
            f"no {args.board} board for {dim}={value} in snapshot {snap.snapshot_id}"
            + (f"; values include {', '.join(available)}" if available else "")
        )
    cut = snap.manifest.get("data_cut", {})
    print(f"{args.board} board, {dim}={value}, as of {cut.get('as_of')} (snapshot {snap.snapshot_id})")
    print(_format_board(rows, top=args.top))
    section = snap.manifest.get("parameters" if args.board == "raw" else "style") or {}
    unrated = section.get("unrated_models") or {} if dim == "overall" else {}
    for model, why in unrated.items():
        print(f"not rated: {model}: {why}")
    if dim != "overall":
        for r in rows[rows["differs_from_overall"]].itertuples(index=False):
            print(
                f"  {r.model_id}: {r.diff_vs_overall:+.1f} vs overall [{r.diff_lower:+.1f}, {r.diff_upper:+.1f}]"
            )
    problems = snap.verify()
    print("hashes verified" if not problems else "VERIFY FAILED: " + "; ".join(problems))
    return 0 if not problems else 1


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from datetime import date

    from tqdm import tqdm

    from showdown_pipeline.core import demo_world

    try:
        end = date.fromisoformat(args.end) if args.end else demo_world.WorldConfig.end
    except ValueError as exc:
        raise CliError(f"--end must be YYYY-MM-DD, got {args.end!r}") from exc
    if args.votes <= 0 or args.days <= 0:
        raise CliError("--votes and --days must be positive")
    if not 0 <= args.corrupt < 0.5:
        raise CliError("--corrupt must be a rate in [0, 0.5)")
    out = Path(args.out)
    if out.exists() and any(out.rglob("*.*")):
        raise CliError(f"{out} is not empty; demo data is written only into an empty landing zone")
    config = demo_world.WorldConfig(
        votes=args.votes, days=args.days, end=end, seed=args.seed, corrupt_rate=args.corrupt
    )
    with tqdm(total=args.votes, unit="vote", unit_scale=True, desc="demo world", disable=args.quiet) as bar:
        summary = demo_world.generate(
            out, config, Path(args.truth) if args.truth else None, progress=bar.update
        )
    print(
        f"wrote {summary['votes']:,} votes of {sum(summary['users'].values()):,} contributors and "
        f"{summary['models']} models to {out} ({summary['window']['start']} .. {summary['window']['end_exclusive']}, "
        f"anchor {summary['anchor']}); rate it with --as-of {summary['window']['end_exclusive']}"
    )
    return 0


def _cmd_rate(args: argparse.Namespace) -> int:
    settings.pin_blas_threads()  # the one command that fits without the Dagster definitions (which pin it)
    from showdown_pipeline.core import rate_file
    from showdown_pipeline.core.bradley_terry import RatingError
    from showdown_pipeline.core.warehouse import WarehouseError

    anchor_model, anchor_rating = parse_anchor(args.anchor)
    if args.bootstrap is not None and args.bootstrap < 0:
        raise CliError("--bootstrap must be >= 0")
    # a flag not given leaves rate_table's default (core/boards.OverallSettings, core/run_cut) in place
    given = {
        "bootstrap": args.bootstrap,
        "anchor_rating": anchor_rating,
        "seed": args.seed,
        "workers": args.workers,
    }
    try:
        rated = rate_file.rate_table(
            Path(args.votes),
            anchor=anchor_model,
            style=args.style,
            by_voter=args.by_voter,
            **{name: value for name, value in given.items() if value is not None},
        )
    except (FileNotFoundError, ValueError, RatingError) as exc:
        raise CliError(str(exc)) from exc
    except WarehouseError as exc:  # a file the reader cannot parse: the reader's words, in one line
        raise CliError(f"cannot read {args.votes}: {exc.kind}: {exc.detail.strip().splitlines()[0]}") from exc
    board = rated.board
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        extra = ["cluster_lower", "cluster_upper"] if rated.clustering else []
        board[[*rate_file.RATE_COLUMNS, *extra, *rate_file.COMPONENT_COLUMNS]].to_parquet(out, index=False)
    print(_format_board(board.assign(provisional=False), top=args.top))
    _print_rate_notes(rated)
    if args.out:
        print(f"wrote {args.out}")
    return 0


def _print_rate_notes(rated) -> None:
    """What `showdown rate` says under the board: rows scored, anchor and interval, the prior, the
    components not connected to the anchor, models not rated, style coefficients, voter clustering."""
    skipped = rated.rows_in - rated.rows_scored
    anchor_rating = rated.anchor_rating
    print(
        f"\n{rated.rows_scored:,} of {rated.rows_in:,} rows scored ({rated.labels} labels"
        + (
            f"; {skipped:,} rows with an unknown winner, a missing model or the same model twice were not scored"
            if skipped
            else ""
        )
        + f"); anchor {rated.anchor} = {anchor_rating:g}; interval: {rated.ci_method}"
    )
    print(
        f"prior: lambda/2 * sum (theta - mean theta)^2 with lambda = {rated.prior_precision:g} "
        "(fit, sandwich and every bootstrap replicate alike; README 'Ratings')"
    )
    for c in rated.components[1:]:
        print(
            f"component {c['component']}: {len(c['models'])} models not connected to {rated.anchor}, "
            f"rated on their own scale ({c['anchor']} = {anchor_rating:g}): {', '.join(c['models'])}"
        )
    for model, why in rated.unrated.items():
        print(f"not rated: {model}: {why}")
    for c in rated.coefficients:
        print(
            f"style {c['feature']:<11} {c['coefficient']:+.4f} per sd  [{c['ci_lower']:+.4f}, {c['ci_upper']:+.4f}]"
            f"  ({c['coefficient_per_unit_difference']:+.4f} per unit of (L-R)/(L+R))"
        )
    if rated.clustering:
        c = rated.clustering
        print(
            f"clustered by voter: {c['voters']:,} voters; variance vs votes-independent sandwich "
            f"(design effect) median {c['design_effect_median']:.2f}, largest "
            f"{c['design_effect_max']:.2f} ({c['design_effect_max_model']}); cluster_lower/cluster_upper"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="showdown", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="ingest, validate, rate and publish a snapshot through Dagster")
    run.add_argument("--landing", help="landing zone (default: $SHOWDOWN_LANDING or data/landing)")
    run.add_argument(
        "--home", help="home for warehouse, snapshots, Dagster runs (default: $SHOWDOWN_HOME or data)"
    )
    run.add_argument(
        "--as-of", dest="as_of", help="data cut YYYY-MM-DD (the instant 00:00 UTC; default today)"
    )
    run.add_argument("--anchor", help="MODEL_ID=RATING pinned (default: the registry's first model = 1000)")
    run.add_argument("--seed", type=int, help="bootstrap and fold seed (default 20240601)")
    run.add_argument(
        "--override-breaker",
        action="append",
        default=[],
        metavar="NAME",
        help="publish even if this circuit breaker trips (repeatable; recorded in the manifest)",
    )
    run.add_argument("--top", type=int, default=15, help="rows of the overall board to print")
    run.add_argument(
        "-v", "--verbose", action="count", default=0, help="print the Dagster run log (-v INFO, -vv DEBUG)"
    )
    run.set_defaults(handler=_cmd_run)

    export = sub.add_parser(
        "export", help="write a licensed, pseudonymised export that obeys the 60-day holdout"
    )
    export.add_argument("--licensee", required=True)
    export.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (the instant 00:00 UTC; default today)")
    export.add_argument("--home", help="home holding the warehouse (default: $SHOWDOWN_HOME or data)")
    export.add_argument("--landing", help="landing zone (only to build the definitions; default as for run)")
    export.add_argument("-v", "--verbose", action="store_true")
    export.set_defaults(handler=_cmd_export)

    dagster_home = sub.add_parser(
        "dagster-home", help="write the home's dagster.yaml (warehouse pool limit) and print DAGSTER_HOME"
    )
    dagster_home.add_argument("--home", help="home (default: $SHOWDOWN_HOME or data)")
    dagster_home.set_defaults(handler=_cmd_dagster_home)

    show = sub.add_parser("show", help="print a board of a published snapshot")
    show.add_argument("--home", help="home holding snapshots/ (default: $SHOWDOWN_HOME or data)")
    show.add_argument("--board", choices=("raw", "style"), default="raw")
    show.add_argument("--segment", help="DIM=VALUE, e.g. country=BR (default: the overall board)")
    show.add_argument("--snapshot", help="snapshot id (default: LATEST)")
    show.add_argument("--top", type=int, default=20)
    show.set_defaults(handler=_cmd_show)

    rate = sub.add_parser(
        "rate", help="rate a plain vote table (Parquet/JSONL/CSV) without the rest of the pipeline"
    )
    rate.add_argument(
        "votes", help="model_a, model_b, winner (LMArena labels) or model_left, model_right, winner"
    )
    rate.add_argument("--bootstrap", type=int, help="bootstrap rounds (0: sandwich interval; default 1000)")
    rate.add_argument(
        "--anchor", help="MODEL_ID=RATING pinned (default: the alphabetically first model = 1000)"
    )
    rate.add_argument("--seed", type=int, help="bootstrap seed (default 0)")
    rate.add_argument(
        "--workers", type=int, help="bootstrap processes (default 1; more help only beyond 2 cores)"
    )
    rate.add_argument(
        "--out",
        help="write model_id, rating, ci_lower, ci_upper, rank, votes (+ cluster_lower/upper) as Parquet",
    )
    rate.add_argument("--top", type=int, default=25, help="rows to print")
    rate.add_argument(
        "--style",
        action="store_true",
        help="style-controlled board: needs tokens/headers/lists/bold/latency_ms per side (_a/_b or _left/_right)",
    )
    rate.add_argument(
        "--by-voter",
        action="store_true",
        help="also the sandwich interval clustered by voter (judge or user_id): one person's votes are not independent",
    )
    rate.set_defaults(handler=_cmd_rate)

    demo = sub.add_parser(
        "demo-data", help="write a synthetic showdown world (with adversaries) as a landing zone"
    )
    demo.add_argument("--out", required=True, help="landing zone to write (must be empty)")
    demo.add_argument("--votes", type=int, default=300_000)
    demo.add_argument("--days", type=int, default=90)
    demo.add_argument("--end", help="first day after the window, YYYY-MM-DD (default 2026-11-01)")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--truth", help="folder for the truth files (never read by the pipeline)")
    demo.add_argument("--corrupt", type=float, default=0.0, help="share of malformed rows, plus bad files")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(handler=_cmd_demo_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CliError as exc:
        print(f"showdown: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("showdown: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
