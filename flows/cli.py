"""The ``civicmash`` command line.

Every command has ``--help``; bad input ends with a one-line ``civicmash: error: ...`` and exit code 2
(usage) or 1 (a failed run), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: `civicmash <command> --help` loads no more than argparse
    from civicmash.flows.context import RunContext

# Prefect must not phone home; set before prefect is imported anywhere.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY", "false")

DEFAULT_OUT = "out"
REPO_ROOT = Path(__file__).resolve().parents[1]


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 1."""


class _NoTracebackForUserErrors(logging.Filter):
    """Prefect logs a failed flow or task run with the exception's traceback. When the exception is the input's
    fault (``_user_errors``) the CLI reports it in one line, so the record keeps its message and loses the
    traceback; a bug keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], _user_errors()):
            record.exc_info = record.exc_text = None
        return True


def _print_run_summary(summary: dict) -> None:
    print(f"\n{summary['title']}: run {summary['run_id']}")
    if summary["synthetic"]:
        print("  (synthetic sample data: generated, not a real city)")
    width = max(len(r["dataset"]) for r in summary["datasets"])
    print(f"  {'dataset':<{width}}  {'rows in':>9}  {'loaded':>9}  {'quarantined':>11}")
    unhealthy = {h["dataset"] for h in summary.get("health", []) if not h["healthy"]}
    for r in summary["datasets"]:
        ok = ("MISMATCH" if r["rows_in"] != r["rows_loaded"] + r["rows_quarantined"]
              else "FAILED health" if r["dataset"] in unhealthy else "ok")
        print(f"  {r['dataset']:<{width}}  {r['rows_in']:>9,}  {r['rows_loaded']:>9,}  "
              f"{r['rows_quarantined']:>11,}  {ok}")
    loaded = {r["dataset"]: r["rows_loaded"] for r in summary["datasets"]}
    for dataset, n in summary["incidents_without_coordinates"].items():
        print(f"  incidents of {dataset}: {loaded.get(dataset, 0):,} loaded, {n:,} without coordinates "
              f"(kept in the warehouse, not on the maps)")
    if summary.get("offences"):   # incidents per canonical category; unmapped values are in offence_unmapped
        print(f"  {summary['offences']['line']}")
    print(f"\nwarehouse: {summary['warehouse']}")
    for kind, path in summary["maps"].items():
        print(f"map {kind:<11} {path}")
        for line in summary.get("missing", {}).get(kind, []):
            print(f"    {line}")
    for kind, reason in summary.get("skipped_maps", {}).items():
        print(f"map {kind:<11} {reason}")
    if summary.get("changes_page"):   # what changed since the previous successful run (maps/changes.py)
        print(f"page changes    {summary['changes_page']}")


def _context(args: argparse.Namespace, *, default_city: str | None = None) -> RunContext:
    """The command's run context: its profile parsed once (from ``--profile FILE``, ``--city NAME`` or both,
    which must agree; ``default_city`` when neither is given) and its output paths. A bad profile fails here,
    with its own error, before anything starts."""
    from civicmash.flows.context import open_context

    city = args.city if args.city is not None or args.profile is not None else default_city
    return open_context(city=city, profile_file=args.profile, out=getattr(args, "out", DEFAULT_OUT),
                        db=getattr(args, "db", None), replay=getattr(args, "replay", None))


def _start_prefect_server_early() -> threading.Thread | None:
    """When no Prefect server is configured (no ``PREFECT_API_URL``), Prefect starts a temporary one in a
    subprocess at the flow's first call and waits for it (seconds). Start it now, in the background, so it boots
    while this process imports the pipeline and checks the replay files; join the thread before the flow runs.
    None when a server is configured (or temporary servers are off): nothing to do."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None

    def start() -> None:
        try:
            from prefect.server.api.server import SubprocessASGIServer

            SubprocessASGIServer().start()   # one per process: the flow's client finds it running
        except Exception:   # noqa: BLE001 - the flow starts it again itself and reports its own error
            pass

    thread = threading.Thread(target=start, name="prefect-temporary-server", daemon=True)
    thread.start()
    return thread


def _run_pipeline(ctx: RunContext, *, incremental: bool = False, wait: float = 0.0, sweep: bool = False,
                  replay_url: str | None = None) -> dict:
    """The Prefect flow on the context's profile (passed in: the flow does not parse it again)."""
    server = _start_prefect_server_early()
    from civicmash.devkit.city_portal import replay_routes
    from civicmash.flows.pipeline import civic_pipeline, warehouse_path
    from civicmash.flows.run_lock import run_lock

    if ctx.replay:
        if not ctx.replay.is_dir():
            raise CliError(f"--replay {str(ctx.replay)!r} is not a directory")
        replay_routes(ctx.profile, ctx.replay)   # every replay file there, checked before Prefect starts
    quiet = _NoTracebackForUserErrors()
    loggers = [logging.getLogger(name) for name in ("prefect.flow_runs", "prefect.task_runs")]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        with run_lock(warehouse_path(ctx.out), city=ctx.city, wait=wait):   # before Prefect starts
            if server is not None:
                server.join()
            return civic_pipeline(ctx.city, out=str(ctx.out), replay=str(ctx.replay) if ctx.replay else None,
                                  profile_path=str(ctx.profile_file) if ctx.profile_file else None,
                                  incremental=incremental, profile=ctx.profile, sweep=sweep,
                                  replay_url=replay_url.rstrip("/") if replay_url else None)
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def demo_dir(out: str | Path) -> Path:
    """Where ``civicmash demo`` writes everything (generated city, landing, warehouse, maps): ``<out>/sample/``.
    A real city's run writes ``<out>/civicmash.duckdb``; the demo's synthetic rows get a warehouse of their own
    so they never mix into a real city's counts."""
    return Path(out) / "sample"


def cmd_demo(args: argparse.Namespace) -> int:
    from civicmash.devkit.sample_city import generate
    from civicmash.flows.context import open_context

    demo_out = demo_dir(args.out)   # its own warehouse: synthetic rows never reach a real city's counts
    data_dir = demo_out / "sample_city"
    generate(data_dir, seed=args.seed)
    print(f"synthetic sample city written to {data_dir} (seed {args.seed})")
    summary = _run_pipeline(open_context(city="sample", profile_file=None, out=demo_out, replay=data_dir))
    _print_run_summary(summary)
    print(f"\nthe demo has its own warehouse; query it with --out {demo_out}, e.g.\n"
          f"  civicmash sql \"SELECT primary_type, count(*) n FROM incidents GROUP BY 1 ORDER BY n DESC\" "
          f"--out {demo_out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from civicmash.flows.health import RunHealthError

    if args.all_cities:
        return _run_all(args)
    given = [o for o, v in (("--cities", args.cities), ("--profile-dir", args.profile_dir),
                            ("--replay-root", args.replay_root), ("--workers", args.workers),
                            ("--scheduler", args.scheduler), ("--maps", args.maps)) if v is not None]
    if given:
        raise CliError(f"{', '.join(given)} only go with --all (many cities)")
    if args.replay and args.replay_url:
        raise CliError("give --replay DIR (a portal started for this run) or --replay-url URL (a running one), "
                       "not both")
    if args.replay_url and not args.replay_url.startswith(("http://", "https://")):
        raise CliError(f"--replay-url {args.replay_url!r} is not an http(s) URL")
    try:
        summary = _run_pipeline(_context(args), incremental=args.incremental, wait=args.wait, sweep=args.sweep,
                                replay_url=args.replay_url)
    except RunHealthError as exc:   # what loaded is in the warehouse: show it, then fail with the reasons
        if exc.summary:
            _print_run_summary(exc.summary)
        raise CliError(str(exc)) from None
    _print_run_summary(summary)
    return 0


MAP_KINDS = ("explorer", "safe_route", "locator", "spending", "providers")


def _run_all(args: argparse.Namespace) -> int:
    """``civicmash run --all``: every city a task on Dask, one warehouse each, then the catalogue
    (:mod:`civicmash.flows.fleet`)."""
    if args.city or args.profile or args.replay or args.replay_url or args.sweep:
        raise CliError("--all runs many cities, each into <out>/cities/<city>/: choose them with --cities A,B or "
                       "--profile-dir DIR (not a city, --profile, --replay or --sweep; offline: --replay-root DIR)")
    if args.replay_root and not Path(args.replay_root).is_dir():
        raise CliError(f"--replay-root {args.replay_root!r} is not a directory")
    workers = 2 if args.workers is None else args.workers
    if workers < 0:
        raise CliError(f"--workers must be 0 (no Dask: one city after another) or more, not {workers}")
    if args.scheduler and args.workers is not None:
        raise CliError("give --workers (a LocalCluster here) or --scheduler (an existing Dask cluster), not both")
    maps = None
    if args.maps is not None:
        maps = [m.strip() for m in args.maps.split(",") if m.strip() and m.strip() != "none"]
        unknown = [m for m in maps if m not in MAP_KINDS]
        if unknown:
            raise CliError(f"--maps: no map {', '.join(unknown)}; choose from {', '.join(MAP_KINDS)} or none")
    from civicmash.flows.fleet import FleetFailed, fleet_jobs, run_fleet

    cities = [c.strip() for c in args.cities.split(",") if c.strip()] if args.cities else None
    jobs = fleet_jobs(cities=cities, profile_dir=args.profile_dir, replay_root=args.replay_root)
    where = f"the Dask scheduler {args.scheduler}" if args.scheduler else (
        f"a Dask LocalCluster of {workers} worker process{'es' if workers != 1 else ''}" if workers
        else "this process, one after another")
    print(f"{len(jobs)} cities on {where}: {', '.join(j.city for j in jobs)}", flush=True)
    try:
        summary = run_fleet(jobs, out=args.out, workers=workers, scheduler=args.scheduler, maps=maps,
                            incremental=args.incremental, wait=args.wait)
    except FleetFailed as exc:   # the others completed and are in the catalogue: show them, then fail
        if exc.summary:
            _print_fleet_summary(exc.summary)
        raise CliError(str(exc)) from None
    _print_fleet_summary(summary)
    return 0


def _print_fleet_summary(summary: dict) -> None:
    rows = summary["cities"]
    width = max([len("city")] + [len(r["city"]) for r in rows])
    print(f"\n  {'city':<{width}}  {'status':<9}  {'incidents':>9}  {'seconds':>7}  {'peak MB':>7}  worker")
    def num(value, spec: str) -> str:
        return format(value, spec) if value is not None else "-"

    for r in rows:
        print(f"  {r['city']:<{width}}  {r['status']:<9}  {num(r['incidents'], ','):>9}  {num(r['seconds'], '.1f'):>7}"
              f"  {num(r['peak_rss_mb'], '.0f'):>7}  {r['worker'] or '-'}")
        if r["error"]:
            print(f"    {r['error']}")
    print(f"\nwarehouses: {Path(summary['out']) / 'cities'}/<city>/civicmash.duckdb")
    print(f"catalogue: {summary['catalogue']} (one query over every city: "
          f"civicmash sql --all \"SELECT city, count(*) FROM incidents GROUP BY city\" --out {summary['out']})")


def cmd_status(args: argparse.Namespace) -> int:
    """Per dataset, the health the last runs recorded (``dataset_health``), lateness judged now."""
    import contextlib
    import json

    from civicmash.flows.status import jsonable, latest_status, status_table
    from civicmash.warehouse import db

    ctx = _context(args)
    if not ctx.warehouse.is_file():
        raise CliError(f"no warehouse at {ctx.warehouse}: run `civicmash run {ctx.city}` first")
    with contextlib.closing(db.connect(str(ctx.warehouse), read_only=True)) as con:
        has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'dataset_health' "
                          "AND database_name = current_database()").fetchone()[0]
        rows = latest_status(con, ctx.profile) if has else latest_status_empty(ctx.profile)
    if args.format == "json":
        print(json.dumps({"city": ctx.city, "datasets": jsonable(rows)}, indent=2, default=str))
    else:
        print(f"{ctx.profile.title}: data status ({ctx.warehouse})")
        print(status_table(rows))
    return 0


def latest_status_empty(profile) -> list[dict]:
    """Every dataset of the profile as not yet checked (a warehouse from before dataset_health existed)."""
    return [{"city": profile.name, "dataset": n, "status": "unknown", "reason": "no run has checked this dataset yet"}
            for n in profile.datasets]


def cmd_changes(args: argparse.Namespace) -> int:
    """Incidents added, removed and reclassified between two runs of a city (warehouse/changes.py)."""
    from civicmash.flows.run_reports import changes_report

    ctx = _context(args)
    if not ctx.warehouse.is_file():
        raise CliError(f"no warehouse at {ctx.warehouse}: run `civicmash run {ctx.city}` first")
    print(changes_report(ctx.warehouse, city=ctx.city, from_run=args.from_run, to_run=args.to_run, csv_path=args.csv))
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    """The run manifest: per dataset, source, fetch time, rows and content hash (warehouse/manifest.py)."""
    from civicmash.flows.run_reports import manifest_report

    city = args.city
    if args.profile:   # the profile names the city (with --city too, the two must agree)
        city = _context(args).profile.name
    print(manifest_report(_warehouse(args), city=city, run_id=args.run, fmt=args.format))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from civicmash.warehouse import sql

    params = sql.parse_params(args.param) if args.param else None
    if args.all_cities or args.catalogue:   # many cities: their warehouses attached read-only (run --all)
        from civicmash.warehouse.catalogue import CATALOGUE_FILE

        if args.db:
            raise CliError("--db names one warehouse; --all and --catalogue query the catalogue of many")
        path = Path(args.catalogue) if args.catalogue else Path(args.out) / CATALOGUE_FILE
        result = sql.run_query(path, args.query, params=params, catalogue=True)
    else:
        result = sql.run_query(_warehouse(args), args.query, params=params)
    columns, rows = result.columns, result.rows
    for warning in result.warnings:  # one line each; the result is still printed
        print(f"civicmash: warning: {warning}", file=sys.stderr)
    if args.format == "csv":
        sys.stdout.write(sql.to_csv(columns, rows))
    elif args.format == "json":
        sys.stdout.write(sql.to_json(columns, rows) + "\n")
    else:
        print(sql.format_table(columns, rows))
    return 0


def _warehouse(args: argparse.Namespace) -> Path:
    """The warehouse of a command without a city (``--db FILE``, else ``<out>/civicmash.duckdb``), which must exist."""
    from civicmash.flows.context import warehouse_file

    return _existing(warehouse_file(out=args.out, db=args.db))


def _existing(db_path: Path) -> Path:
    if not db_path.exists():
        raise CliError(f"no warehouse at {db_path}: create it with `civicmash run <city>` (a city profile), or "
                       "run `civicmash demo` for the synthetic sample city (it writes out/sample/civicmash.duckdb; "
                       "then pass --out out/sample)")
    return db_path


def cmd_export(args: argparse.Namespace) -> int:
    from civicmash.warehouse.export import export

    db_path = _warehouse(args)
    city = _context(args).city if args.profile else args.city   # --profile FILE: the rows of the file's city
    if args.format in ("hsds", "fdp", "datapackage"):   # open standards, a validated directory (export_standards.py)
        from civicmash.flows.export_standards import export_standard

        print(export_standard(fmt=args.format, name=args.name, db_path=db_path, city=city, out=args.out,
                              output=args.output, hsds_version=args.hsds_version,
                              fiscal_year_start=args.fiscal_year_start))
        return 0
    suffix = {"geojson": "geojson", "geoparquet": "parquet"}.get(args.format, args.format)
    out_path = Path(args.output or Path(args.out) / "exports" / f"{args.name}.{suffix}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    path = export(db_path, args.name, fmt=args.format, out_path=out_path, city=city)
    print(f"{args.name} -> {path} ({path.stat().st_size:,} bytes, {args.format})")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    import contextlib

    from civicmash.warehouse import db
    from civicmash.warehouse.docs import schema_text

    with contextlib.closing(db.connect(_warehouse(args), read_only=True)) as con:
        print(schema_text(con))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """The warehouse as a SQLite database + metadata.json for Datasette (warehouse/publish.py); ``--serve`` runs
    Datasette on it, on loopback, until Ctrl-C."""
    from civicmash.warehouse.publish import publish

    db_path = _warehouse(args)
    city = _context(args).city if args.profile else args.city   # --profile FILE: the rows of the file's city
    to = Path(args.to or Path(args.out) / "datasette")
    result = publish(db_path, to, city=city)
    print(f"database: {result.database} ({sum(result.tables.values()):,} rows in {len(result.tables)} tables)")
    print(f"metadata: {result.metadata} ({len(result.queries)} canned queries: the maps' figures)")
    if result.missing_figures:
        print(f"civicmash: warning: no SQLite form for figure(s) {', '.join(result.missing_figures)}: "
              "not published as canned queries", file=sys.stderr)
    if not args.serve:
        print(f"serve it: civicmash publish{' --city ' + city if city else ''} --serve  (or: datasette serve "
              f"{result.database} --metadata {result.metadata})")
        return 0
    return _serve_datasette(result, port=args.port)


def _serve_datasette(result, *, port: int) -> int:
    """Run ``datasette serve`` on 127.0.0.1 until it exits or Ctrl-C; print the URL once it answers."""
    import importlib.util
    import signal
    import socket
    import subprocess

    from civicmash.warehouse.publish import datasette_command

    if importlib.util.find_spec("datasette") is None:
        raise CliError("--serve needs Datasette, which is not installed here (it is a civicmash dependency: "
                       "reinstall with `make`); the published files are written")
    if port == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]

    def stop(signum, frame):   # SIGTERM stops Datasette too, as Ctrl-C does
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    proc = subprocess.Popen(datasette_command(result.database, result.metadata, port=port))
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    print(f"Datasette: http://127.0.0.1:{port}/{result.database.stem}  (Ctrl-C stops it)", flush=True)
                    break
            time.sleep(0.2)
        code = proc.wait()
        if code:
            raise CliError(f"datasette stopped with exit code {code} (port {port} in use?)")
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _route_profile(args: argparse.Namespace) -> tuple[str, dict, list, Path] | None:
    """(city, safe_route options, block patterns, warehouse) of a ``route`` without ``--html`` from the facts kept
    beside the warehouse by an earlier ``route`` with the same profile file (same path and content, same profile
    code), else None. Parsing a profile imports pydantic and every connector (~0.5 s); the route itself, from the
    stored model (analysis/route_store.py), takes less."""
    from civicmash.analysis.route_store import recall_json

    warehouse = Path(args.db) if args.db else Path(args.out) / "civicmash.duckdb"   # flows.context.warehouse_file
    source = _route_profile_source(args)
    if args.html or source is None or not warehouse.exists():
        return None
    facts = recall_json(warehouse, "profile", source, _route_profile_extra(args))
    if not facts:
        return None
    return facts["city"], facts["options"], [tuple(p) for p in facts["patterns"]], warehouse


def _route_profile_source(args: argparse.Namespace) -> Path | None:
    """The profile file a command reads (cities.profile.profile_path, without importing it)."""
    name = args.profile or args.city
    if name is None:
        return None
    path = Path(name)
    if not (path.suffix == ".toml" or path.exists()):
        path = REPO_ROOT / "cities" / f"{name}.toml"
    return path if path.is_file() else None


def _route_profile_extra(args: argparse.Namespace) -> dict:
    """What else the parsed profile depends on: the arguments naming it and the code that parses it."""
    code = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in (REPO_ROOT / "cities").glob("*.py"))
    here = Path(__file__).resolve().parent / "context.py"
    return {"city": args.city, "profile": args.profile, "code": code, "context": here.stat().st_mtime_ns}


def cmd_route(args: argparse.Namespace) -> int:
    import contextlib

    from civicmash.analysis import fast_route
    from civicmash.analysis.fast_route import snap_words
    from civicmash.analysis.route_store import remember_json

    known = _route_profile(args)
    result = None
    if known is not None:   # a profile parsed before, and no --html: nothing more to read than the stored model
        city, options, patterns, warehouse = known
        # two lat,lon ends and a stored model: answered by the compiled engine without numpy (analysis/fast_route.py)
        result = fast_route.answer(warehouse, city=city, options=options, origin=args.from_, destination=args.to,
                                   at=args.at or options.get("at"), detour=args.detour)
        engine = "compiled"
    else:
        ctx = _context(args)
        city, options = ctx.profile.name, ctx.map_options("safe_route")   # the map's options, [risk] weights, factors
        patterns, warehouse = ctx.profile.places.block_patterns(), _existing(ctx.warehouse)
        source = _route_profile_source(args)
        if source is not None:
            remember_json(warehouse, "profile", source, _route_profile_extra(args),
                          {"city": city, "options": options, "patterns": patterns})
    at = args.at or options.get("at")
    if result is None:
        from civicmash.analysis.route_planner import plan
        from civicmash.analysis.route_store import LazyConnection
        from civicmash.analysis.routing import route_engine

        engine = route_engine()
        # opened on first use: two lat,lon ends answered from the stored model never open the warehouse
        with contextlib.closing(LazyConnection(warehouse)) as con:
            result = plan(con, city=city, origin=args.from_, destination=args.to, at=at,
                          detour=args.detour, options=options, patterns=patterns)
    if args.html:
        from civicmash.maps.render import PageContext
        from civicmash.maps.safe_route import build
        from civicmash.warehouse import db

        ends = {"from": [result["origin"]["lat"], result["origin"]["lon"]],
                "to": [result["destination"]["lat"], result["destination"]["lon"]]}
        with contextlib.closing(db.connect(warehouse, read_only=True)) as con:
            build(PageContext(con=con, city=city, out_path=Path(args.html), city_title=ctx.profile.title,
                              synthetic=ctx.profile.synthetic, languages=tuple(ctx.profile.languages),
                              options={**options, **ends, "at": at, "detour": args.detour}))
    if args.format == "json":   # with the engine that searched: "compiled" (analysis/_fastroute.c) or "scipy"
        print(json.dumps({**result, "engine": engine}, indent=2, default=str))
        return 0
    print(f"from {result['origin']['label']}  ->  to {result['destination']['label']}"
          f"{f'  at {at}' if at else ''} (detour budget +{args.detour:.0%})")
    for end in ("origin", "destination"):   # a place far from the streets: the straight walk to them, in metres
        note = snap_words(repr(result[end]["label"]), result[end]["snap_m"])
        if note:
            print(note)
    print(f"  {'route':<12} {'length':>9} {'walk':>8} {'exposure':>10}")
    for name in ("shortest", "recommended", "safest"):
        r = result[name]
        print(f"  {name:<12} {r['length_m']:>7,.0f} m {r['minutes']:>5.0f} min {r['exposure']:>10.2f}")
    print(f"recommended vs shortest: {result['comparison']}")
    if args.html:
        print(f"map: {args.html}")
    return 0


def cmd_explore(args: argparse.Namespace) -> int:
    import contextlib
    from datetime import date

    from civicmash.flows.products import plan_products, present_tables
    from civicmash.maps import explorer
    from civicmash.maps.render import PageContext
    from civicmash.warehouse import db

    ctx = _context(args)
    profile = ctx.profile
    options = ctx.map_options("explorer")
    if args.today:
        try:
            options["today"] = date.fromisoformat(args.today).isoformat()
        except ValueError:
            raise CliError(f"--today {args.today!r} is not a date (YYYY-MM-DD)") from None
        options.pop("end", None)
        options.pop("start", None)
    if args.days is not None:
        if args.days < 1:
            raise CliError("--days must be at least 1")
        options["days"] = args.days
    out_path = Path(args.output or ctx.maps_dir / "explorer.html")
    with contextlib.closing(db.connect(_existing(ctx.warehouse), read_only=True)) as con:
        # the same verdict as the run's: what the page cannot show is said on it
        plan, = plan_products(["explorer"], present=present_tables(con, city=profile.name), unhealthy={},
                              wanted_bars=False)
        if plan.skipped:
            raise CliError(f"{profile.name}: explorer {plan.skipped}")
        path = explorer.build(PageContext(con=con, city=profile.name, out_path=out_path, title="Crime explorer",
                                          city_title=profile.title, synthetic=profile.synthetic, options=options,
                                          missing=plan.missing, languages=tuple(profile.languages)))
    print(f"explorer -> {path} ({path.stat().st_size:,} bytes)")
    return 0


def cmd_locate(args: argparse.Namespace) -> int:
    import contextlib

    from civicmash.analysis.service_access import format_table, locate
    from civicmash.warehouse import db

    ctx = _context(args)
    profile = ctx.profile
    options = ctx.map_options("locator")
    categories = [c.strip() for item in (args.category or []) for c in item.split(",") if c.strip()] or None
    with contextlib.closing(db.connect(_existing(ctx.warehouse), read_only=True)) as con:
        result = locate(con, city=profile.name, near=args.near, categories=categories, n=args.n, at=args.at,
                        open_only=args.open, max_access_m=float(options.get("max_access_m", 400.0)),
                        patterns=profile.places.block_patterns())
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        print(format_table(result))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from civicmash.flows.deployments import build_deployments, serve_deployments

    deployments = build_deployments(args.city or None, profile_files=args.profile, out=args.out, replay=args.replay)
    for d in deployments:
        crons = ", ".join(f"'{s.schedule.cron}' in {s.schedule.timezone}" for s in (d.schedules or []))
        print(f"deployment {d.name}: city={d.parameters['city']} cron {crons}")
    if args.list:
        return 0
    serve_deployments(deployments)
    return 0


def _fault_rates(total: float, per_kind: list[str] | None) -> float | dict[str, float]:
    """``--faults P`` spread over every kind, overridden kind by kind with ``--fault KIND=RATE``."""
    from civicmash.devkit.replay import fault_rates

    if not per_kind:
        return total
    rates = fault_rates(total) if total else {}
    for item in per_kind:
        kind, sep, rate = item.partition("=")
        try:
            if not sep:
                raise ValueError
            rates[kind.strip()] = float(rate)
        except ValueError:
            raise ValueError(f"--fault {item!r}: expected KIND=RATE, e.g. 429=0.05") from None
    return rates


def cmd_portal_serve(args: argparse.Namespace) -> int:
    from civicmash.devkit.city_portal import replay_endpoints, start_replay
    from civicmash.devkit.replay import fault_rates

    root = Path(args.dir)
    if not root.is_dir():
        raise CliError(f"{root} is not a directory")
    profile = _context(args, default_city="chicago").profile
    try:
        faults = fault_rates(_fault_rates(args.faults, args.fault))   # checked before anything starts
    except ValueError as exc:
        raise CliError(str(exc)) from None
    portal = start_replay(profile, root, port=args.port, faults=faults, latency=args.latency, stall=args.stall)
    print(f"replay portal for {profile.title} serving {root} at {portal.base_url} (Ctrl-C to stop)")
    for name, where in replay_endpoints(profile).items():
        print(f"  {name:<24} {profile.datasets[name].protocol:<8} {portal.base_url}{where}")
    sys.stdout.flush()
    try:
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        portal.stop()
    return 0


def cmd_profile_check(args: argparse.Namespace) -> int:
    from civicmash.cities.profile import check_profile

    profile = check_profile(args.file)
    count = len(profile.datasets)
    print(f"ok: {profile.name}, {count} dataset{'s' if count != 1 else ''}")
    return 0


def cmd_profile_schema(args: argparse.Namespace) -> int:
    from civicmash.cities.profile import profile_json_schema

    print(json.dumps(profile_json_schema(), indent=2))
    return 0


def cmd_profile_draft(args: argparse.Namespace) -> int:
    from civicmash.cities.draft import draft_profile

    text = draft_profile(args.source, table=args.table, name=args.name, protocol=args.protocol, fmt=args.format,
                         replay=args.replay, max_rows=args.max_rows)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"draft: {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _needs_subcommand(command: str, choices: str):
    """The function of a command given without its subcommand: a one-line error naming the choices."""
    def fail(args: argparse.Namespace) -> int:
        raise CliError(f"{command} needs a subcommand: {choices}")
    return fail


PROFILE_HELP = ("a profile file to use instead of cities/<city>.toml; the city is the file's name "
                "(with the city named too, they must agree)")


def build_parser() -> argparse.ArgumentParser:
    from civicmash.devkit.faults import FAULT_HELP  # the fault kinds, described in --help (imports nothing)
    parser = argparse.ArgumentParser(
        prog="civicmash",
        description="Open-data reuse and civic mashups: city portals -> DuckDB warehouse -> offline HTML maps.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    def out_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", default=DEFAULT_OUT,
                       help="output directory: warehouse civicmash.duckdb and maps/<city>/ (default: out)")

    def profile_option(p: argparse.ArgumentParser, help_: str = PROFILE_HELP) -> None:
        p.add_argument("--profile", metavar="FILE", help=help_)

    def city_options(p: argparse.ArgumentParser) -> None:
        """``--city NAME`` or ``--profile FILE`` (one is needed; with both, they must agree)."""
        p.add_argument("--city", metavar="NAME", help="city profile name, e.g. chicago (cities/<name>.toml)")
        profile_option(p)
        p.set_defaults(city_parser=p)

    p = add("demo", "Generate the synthetic sample city and run the whole pipeline on it, offline, into "
                    "<out>/sample/ (a warehouse of its own, apart from real cities').", cmd_demo)
    out_option(p)
    p.add_argument("--seed", type=int, default=2008, help="generator seed (default 2008)")

    p = add("run", "Run the pipeline for a city profile (cities/<city>.toml, or --profile FILE).", cmd_run)
    p.add_argument("city", nargs="?", help="city profile name, e.g. chicago (optional with --profile)")
    p.set_defaults(city_parser=p)
    p.add_argument("--replay", metavar="DIR",
                   help="serve the profile's replay files from DIR through the loopback replay portal")
    p.add_argument("--replay-url", metavar="URL",
                   help="fetch from a replay portal that is already running (`civicmash portal serve DIR`, e.g. "
                        "http://127.0.0.1:8123) instead of starting one: it keeps its parsed files between runs, "
                        "as a real portal does; not with --replay")
    profile_option(p)
    p.add_argument("--incremental", action="store_true",
                   help="refresh: skip every dataset whose source is unchanged since its last load and every "
                        "product whose inputs are unchanged; fetch only rows updated since the last load (Socrata "
                        "datasets with options.incremental = true that the warehouse already holds) and merge them")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="when another run is writing the same warehouse, wait up to SECONDS for it to finish "
                        "(default 0: fail at once, naming the other run)")
    p.add_argument("--sweep", action="store_true",
                   help="after the loads, ask the portal for every record id and move the rows it no longer "
                        "has out of the warehouse (kept in history as 'deleted'); schedule it periodically")
    p.add_argument("--all", dest="all_cities", action="store_true",
                   help="run many cities: every profile of cities/ (or of --profile-dir, or those of --cities), "
                        "each a Prefect task on a Dask cluster writing its own warehouse "
                        "<out>/cities/<city>/civicmash.duckdb; then <out>/catalogue.json for `civicmash sql --all`; "
                        "exits 1 naming the cities that failed (the others complete)")
    p.add_argument("--cities", metavar="A,B,...",
                   help="with --all: only these cities (profile names or .toml files, comma-separated)")
    p.add_argument("--profile-dir", metavar="DIR", help="with --all: run every DIR/*.toml instead of cities/*.toml")
    p.add_argument("--replay-root", metavar="DIR",
                   help="with --all: serve each city's replay files from DIR/<city> through its own loopback "
                        "replay portal (offline); a city whose directory is missing or broken fails alone")
    p.add_argument("--workers", type=int, metavar="K",
                   help="with --all: K Dask worker processes on this machine (a LocalCluster, one thread each, "
                        "default 2); 0: no Dask, the cities one after another in this process")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --all: run on the existing Dask scheduler at ADDRESS (tcp://host:8786) instead of a "
                        "LocalCluster; its workers need civicmash, PREFECT_API_URL and the same paths")
    p.add_argument("--maps", metavar="KINDS",
                   help="with --all: only these maps (comma-separated: explorer, safe_route, locator, spending, providers; "
                        "'none' for none; default: every map the data allows)")
    out_option(p)

    p = add("status", "Per dataset: last successful fetch, rows, quarantine share, newest source update, lag, "
                      "portal count vs loaded, and status (ok, degraded, failed).", cmd_status)
    p.add_argument("city", nargs="?", help="city profile name, e.g. chicago (optional with --profile)")
    p.set_defaults(city_parser=p)
    profile_option(p)
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("changes", "Incidents added, removed and reclassified (type, location, date) between two runs of a "
                       "city: by default its latest run against the previous successful one.", cmd_changes)
    city_options(p)
    p.add_argument("--from", dest="from_run", metavar="RUN", help="the earlier run id (default: the latest "
                   "successful run before --to)")
    p.add_argument("--to", dest="to_run", metavar="RUN", help="the later run id (default: the city's latest run)")
    p.add_argument("--csv", metavar="FILE", help="write every change to FILE as CSV (else the first 50 are printed)")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("manifest", "The run manifest: per dataset, the source URL, fetch time, rows in/loaded/quarantined "
                        "and the content hash of the run that last loaded it (or of --run RUN).", cmd_manifest)
    p.add_argument("--city", metavar="NAME", help="only this city (default: every city of the warehouse)")
    profile_option(p, "only the city of this profile file (its name), instead of --city")
    p.add_argument("--run", metavar="RUN", help="the manifest of this run id (default: the latest per dataset)")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("sql", "Run one read-only SQL query against the warehouse.", cmd_sql)
    p.add_argument("query", help="a single SELECT, WITH ... SELECT or EXPLAIN SELECT statement")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="bind $NAME in the query to VALUE (repeatable); values are text, which DuckDB converts to "
                        "the type the query compares them with (community_area = $ca); elsewhere cast in SQL: "
                        "CAST($n AS INTEGER), $d::DATE")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    p.add_argument("--all", dest="all_cities", action="store_true",
                   help="query every city of the catalogue <out>/catalogue.json (written by `run --all`): each "
                        "city's warehouse attached read-only, each table a view over all of them (city column)")
    p.add_argument("--catalogue", metavar="FILE", help="like --all, with this catalogue file")
    out_option(p)

    p = add("route", "A safer walk home: the shortest and the recommended route between two places.", cmd_route)
    city_options(p)
    p.add_argument("--from", dest="from_", required=True, metavar="PLACE",
                   help='"lat,lon", a bar name, a block ("012XX W MADISON ST") or an intersection '
                        '("N CLARK ST & W DIVISION ST")')
    p.add_argument("--to", required=True, metavar="PLACE", help="destination, in the same forms as --from")
    p.add_argument("--at", metavar="HH:MM", help="time of the walk: incidents near that hour weigh more")
    p.add_argument("--detour", type=float, default=0.25,
                   help="extra length allowed for the recommended route (default 0.25 = +25%%)")
    p.add_argument("--html", metavar="FILE", help="also write the route map to FILE")
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("locate", "The nearest public services by walking time from a place, and whether they are open.",
            cmd_locate)
    city_options(p)
    p.add_argument("--near", required=True, metavar="PLACE",
                   help='"lat,lon", an address ("1101 W Taylor St"), a service or bar name, a block '
                        '("012XX W MADISON ST") or an intersection ("N CLARK ST & W DIVISION ST")')
    p.add_argument("--category", action="append", metavar="NAME",
                   help="service category (library, clinic, school, park, police, fire, warming_centre, ...); "
                        "repeatable or comma-separated (default: every category)")
    p.add_argument("--at", metavar="WHEN", help='time to check opening hours: "Sat 10:00", "2024-01-06 10:00" or "now"')
    p.add_argument("--open", action="store_true", help="only services known to be open at --at")
    p.add_argument("-n", type=int, default=3, help="how many per category (default 3)")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("explore", "(Re)build the crime explorer page of a city from the warehouse.", cmd_explore)
    city_options(p)
    p.add_argument("--today", metavar="YYYY-MM-DD",
                   help="last day of the window selected when the page opens (default: the latest incident's day)")
    p.add_argument("--days", type=int, help="length of that window in days (default 90, or the profile's)")
    p.add_argument("--output", "-o", metavar="FILE", help="output file (default: <out>/maps/<city>/explorer.html)")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("export", "Export a warehouse table or view to a file (read-only).", cmd_export)
    p.add_argument("name", help="table or view, e.g. incidents_last_90_days (see `civicmash schema`)")
    p.add_argument("--format", choices=["csv", "parquet", "geojson", "geoparquet", "hsds", "fdp", "datapackage"],
                   default="csv",
                   help="file format (default csv; geojson/geoparquet need a geometry column; a directory, validated: "
                        "hsds: services as Open Referral HSDS; fdp: spending as a Fiscal Data Package; datapackage: "
                        "outcomes as CSV + Table Schema)")
    p.add_argument("--hsds-version", choices=["3.1", "2.0.1"], default="3.1",
                   help="with --format hsds: 3.1 (JSON, default) or 2.0.1 (the tabular package)")
    p.add_argument("--fiscal-year-start", metavar="MM-DD",
                   help="with --format fdp: the fiscal year's first day (01-01, 07-01...), for fiscalPeriod")
    p.add_argument("--city", help="only this city's rows")
    profile_option(p, "only the rows of this profile file's city (instead of --city)")
    p.add_argument("--output", "-o", metavar="FILE", help="output file (default: <out>/exports/<name>.<ext>)")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("schema", "Print the documented warehouse schema (tables, views, columns and what they mean).",
            cmd_schema)
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("publish", "Publish the warehouse for Datasette: a SQLite database plus metadata.json (descriptions, "
                       "licences, facets, the maps' figures as canned queries); --serve runs Datasette on it.",
            cmd_publish)
    p.add_argument("--city", help="only this city's rows (the database is <to>/<city>.db; default civicmash.db)")
    profile_option(p, "only the rows of this profile file's city (instead of --city)")
    p.add_argument("--to", metavar="DIR", help="directory for <city>.db and metadata.json (default: <out>/datasette)")
    p.add_argument("--serve", action="store_true",
                   help="then run `datasette serve` on it on 127.0.0.1 and print the URL; Ctrl-C stops it")
    p.add_argument("--port", type=int, default=8001, help="port for --serve (default 8001; 0: a free one)")
    p.add_argument("--db", help="warehouse file (default: <out>/civicmash.duckdb)")
    out_option(p)

    p = add("serve", "Serve every city (or the named ones) as Prefect deployments on their cron schedules.",
            cmd_serve)
    p.add_argument("city", nargs="*", help="city profile names (default: every profile with a schedule, "
                                            "unless --profile is given)")
    p.add_argument("--profile", metavar="FILE", action="append",
                   help="also serve this profile file (repeatable); the city is the file's name")
    p.add_argument("--replay", metavar="DIR", help="run the scheduled flows against a replay directory")
    p.add_argument("--list", action="store_true", help="print the deployments and exit without serving")
    out_option(p)

    p = add("portal", "The loopback replay portal (Socrata, ArcGIS and file downloads from local files).",
            _needs_subcommand("portal", "serve"))
    portal_sub = p.add_subparsers(dest="portal_command", metavar="SUBCOMMAND")
    ps = portal_sub.add_parser("serve", help="serve DIR for a city profile's datasets",
                               description="Serve DIR through the replay portal, for a city profile's datasets.")
    ps.set_defaults(func=cmd_portal_serve)
    ps.add_argument("dir", help="directory holding the profile's replay files")
    ps.add_argument("--city", help="city profile whose datasets to serve (default chicago)")
    profile_option(ps)
    ps.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    ps.add_argument("--faults", type=float, default=0.0,
                    help="probability of an injected fault per request, spread evenly over every kind")
    ps.add_argument("--fault", action="append", metavar="KIND=RATE",
                    help="rate of one fault kind; repeatable, overrides --faults for that kind. Kinds: "
                         + "; ".join(f"{k} = {v}" for k, v in FAULT_HELP.items()))
    ps.add_argument("--stall", type=float, default=1.0,
                    help="seconds a 'timeout' fault keeps the client waiting (default 1)")
    ps.add_argument("--latency", type=float, default=0.0, help="seconds of added latency per request")
    ps.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds (default: never)")

    p = add("profile", "Check a city profile, print the profile's JSON Schema (for editors), or draft a "
                       "dataset from an export.",
            _needs_subcommand("profile", "check FILE, or schema"))
    profile_sub = p.add_subparsers(dest="profile_command", metavar="SUBCOMMAND")
    pc = profile_sub.add_parser("check", help="validate a profile file without fetching anything",
                                description="Validate a profile file without fetching anything: prints "
                                            "'ok: <city>, N datasets', or the problem and exits 1.")
    pc.set_defaults(func=cmd_profile_check)
    pc.add_argument("file", help="the profile file, e.g. cities/chicago.toml")
    pschema = profile_sub.add_parser("schema", help="print the profile's JSON Schema",
                                     description="Print the JSON Schema of a city profile, for editors "
                                                 "(e.g. Taplo or VS Code's Even Better TOML).")
    pschema.set_defaults(func=cmd_profile_schema)
    pd = profile_sub.add_parser("draft", help="sniff a CSV/GeoJSON/JSON export and draft its dataset block",
                                description="Read a portal export (a file or an http(s) URL) and print a "
                                            "commented TOML dataset block: table, fields, time formats, CRS, "
                                            "implausible values. Fill its TODOs, then `civicmash profile check`.")
    pd.set_defaults(func=cmd_profile_draft)
    pd.add_argument("source", metavar="FILE_OR_URL", help="the export: a local path or an http(s) URL")
    pd.add_argument("--table", choices=["incidents", "venues", "services", "spending", "boundaries", "population"],
                    help="the canonical table it feeds (default: guessed from the columns)")
    pd.add_argument("--name", help="the dataset name, a slug (default: from the file name)")
    pd.add_argument("--protocol", default="file",
                    help="how the city's profile will fetch it (default file; socrata: field names become the "
                         "API names)")
    pd.add_argument("--format", choices=["csv", "geojson", "json"], help="the file's format (default: sniffed)")
    pd.add_argument("--replay", metavar="PATH", help="the file's path inside the `run --replay DIR` directory")
    pd.add_argument("--max-rows", type=int, default=20_000, metavar="N",
                    help="read at most N records (default 20000); the draft says when the file has more")
    pd.add_argument("--out", metavar="FILE", help="write the draft to FILE (default: standard output)")
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the input's fault: reported in one line, no traceback."""
    from civicmash.cities.profile import ProfileError
    from civicmash.connectors.http import FetchError
    from civicmash.flows.health import RunHealthError
    from civicmash.flows.run_lock import RunInProgress
    from civicmash.flows.sources import SourceError
    from civicmash.warehouse.db import WarehouseBusy
    from civicmash.warehouse.sql import ReadOnlyQueryError

    return (CliError, ProfileError, SourceError, FetchError, ReadOnlyQueryError, FileNotFoundError, ValueError,
            RunHealthError, RunInProgress, WarehouseBusy)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    city_parser = getattr(args, "city_parser", None)
    if city_parser is not None and args.city is None and args.profile is None \
            and not getattr(args, "all_cities", False):   # run --all: many cities, chosen otherwise
        city_parser.error("give a city: a profile name (cities/<name>.toml) or --profile FILE")
    try:
        return args.func(args)
    except _user_errors() as exc:
        lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
        print(f"civicmash: error: {'; '.join(lines)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
