"""The ``jmmctap`` command: parses arguments and calls library functions, nothing more."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from jmmctap import __version__
from jmmctap.accounts import cli as accounts_cli
from jmmctap.acl import cli as acl_cli
from jmmctap.catalogs import cli as catalogs_cli
from jmmctap.errors import JmmctapError
from jmmctap.logs import configure_logging
from jmmctap.products import cli as products_cli
from jmmctap.registry import cli as registry_cli
from jmmctap.settings import Settings
from jmmctap.submissions import cli as submissions_cli

__all__ = ["main"]

Command = Callable[[argparse.Namespace, Settings], int]
_COMMANDS: dict[str, Command] = {}


def _command(name: str) -> Callable[[Command], Command]:
    def register(func: Command) -> Command:
        _COMMANDS[name] = func
        return func
    return register


@_command("serve")
def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.server import serve

    serve(settings)
    return 0


@_command("db")
def _db(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.db import migrate
    from jmmctap.db.cluster import EmbeddedCluster, check_postgres_installed

    if args.action in ("init", "upgrade"):
        applied = migrate.init_database(settings)
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none"
        print(f"database ready; migrations applied now: {names}")
    elif args.action == "start":
        migrate.ensure_running(settings)
        print("database running")
    elif args.action == "stop":
        if settings.embedded:
            check_postgres_installed(settings)
            EmbeddedCluster.from_settings(settings).stop()
            print("database stopped")
        else:
            print("JMMCTAP_DSN is set: the external database is not managed by jmmctap")
    else:
        report = migrate.status(settings)
        version = "uninitialised" if report.schema_version is None else str(report.schema_version)
        print(f"mode: {report.mode}\nlocation: {report.location}\n"
              f"running: {'yes' if report.running else 'no'}\n"
              f"schema version: {version} (latest {report.latest_version})")
        return 0 if report.running else 3
    return 0


@_command("ingest")
def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos
    from jmmctap.ingest import ingest_files

    migrate.init_database(settings)  # idempotent; applies pending migrations like `serve`
    with connect(conninfos(settings).owner) as conn:
        report = ingest_files(conn, args.files, args.table, mode=args.mode, description=args.description,
                              table_index=args.table_index, query_role=settings.query_role,
                              progress=sys.stderr.isatty(), force=args.force)
    print(report.summary())
    return 0


@_command("drop")
def _drop(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos
    from jmmctap.ingest.drop import drop_table

    migrate.init_database(settings)
    with connect(conninfos(settings).owner) as conn:
        drop_table(conn, args.table, force=args.force)
    print(f"{args.table}: unpublished and dropped")
    return 0


@_command("ingest-eso")
def _ingest_eso(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.catalogues.eso_ingest import ingest_eso_files
    from jmmctap.catalogues.obscore_l0 import derive_l0_granules
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)
    with connect(conninfos(settings).owner) as conn:
        report = ingest_eso_files(conn, args.files, args.radius, derive_l0=derive_l0_granules)
    for _, reason in report.rejected:
        print(f"jmmctap: rejected {reason}", file=sys.stderr)
    print(f"exposures: {len(report.inserted)} new, {len(report.updated)} updated, {len(report.unchanged)} unchanged;"
          f" {report.new_targets} new targets; {report.l0_granules} L0 granules; {len(report.rejected)} rejected")
    return 1 if report.rejected else 0


@_command("ingest-chara")
def _ingest_chara(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.catalogues.chara_ingest import ingest_chara_files
    from jmmctap.catalogues.obscore_l0 import derive_l0_granules
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)
    with connect(conninfos(settings).owner) as conn:
        report = ingest_chara_files(conn, args.files, args.radius, derive_l0=derive_l0_granules)
    print(f"CHARA exposures: {len(report.inserted)} new, {len(report.updated)} updated, {len(report.unchanged)}"
          f" unchanged; {report.new_targets} new targets; {report.l0_granules} L0 granules")
    return 0


@_command("ingest-plan")
def _ingest_plan(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.catalogues.obsplan_ingest import ingest_plan_files
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)
    with connect(conninfos(settings).owner) as conn:
        print(ingest_plan_files(conn, args.files, replace=args.replace).summary())
    return 0


@_command("sync-eso")
def _sync_eso(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.catalogues.eso_sync import SyncOptions, sync_eso
    from jmmctap.db import migrate

    migrate.init_database(settings)
    run = sync_eso(settings, SyncOptions(radius_arcsec=args.radius, progress=sys.stderr.isatty()))
    last = run.last_mod_date.isoformat() if run.last_mod_date else "none"
    print(f"sync-eso {run.status}: {run.added} added, {run.updated} updated, {run.unchanged} unchanged,"
          f" {run.failed} failed; last_mod_date {last}")
    if run.last_error:
        print(f"jmmctap: {'error' if run.status == 'error' else 'last failure'}: {run.last_error}", file=sys.stderr)
    return 0 if run.status == "ok" else 1


@_command("ingest-oifits")
def _ingest_oifits(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.catalogues.embargo import embargo_for
    from jmmctap.catalogues.obscore_store import GranuleOptions
    from jmmctap.catalogues.oifits_ingest import ingest_oifits_files
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    options = GranuleOptions(
        args.collection, calib_level=args.calib_level, embargo=embargo_for(args.collection_type),
        access_url_base=args.access_url_base, obs_creator_name=args.creator, bib_reference=args.bibcode,
        datapi=args.datapi, keywords=args.keywords,
    )
    from jmmctap.products.catalog import ProductPublisher

    migrate.init_database(settings)
    with connect(conninfos(settings).owner) as conn:
        report = ingest_oifits_files(conn, args.files, options, products=ProductPublisher.from_settings(settings))
    for _, reason in report.rejected:
        print(f"jmmctap: rejected {reason}", file=sys.stderr)
    for flag in report.flags:
        print(f"jmmctap: warning: {flag}", file=sys.stderr)
    print(f"{len(report.files)} OIFITS files, {len(report.granule_ids)} granules in ivoa.obscore;"
          f" {len(report.rejected)} rejected, {len(report.flags)} value(s) flagged")
    return 1 if report.rejected else 0


@_command("ingest-jsdc")
def _ingest_jsdc(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.catalogues.jsdc_ingest import JsdcFile, ingest_jsdc_files
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    files = [JsdcFile(path, args.first_recno if i == 0 else None) for i, path in enumerate(args.files)]
    migrate.init_database(settings)
    with connect(conninfos(settings).owner) as conn:
        report = ingest_jsdc_files(conn, files, mode=args.mode, radius_arcsec=args.radius)
    print(report.summary())
    return 0


@_command("worker")
def _worker(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from jmmctap.db import migrate
    from jmmctap.uws.process import run_worker_process

    migrate.init_database(settings)  # idempotent; applies pending migrations like `serve`
    asyncio.run(run_worker_process(settings, args.workers))
    return 0


@_command("load-samples")
def _load_samples(args: argparse.Namespace, settings: Settings) -> int:
    from jmmctap.catalogues.samples import load_samples
    from jmmctap.db import migrate
    from jmmctap.db.connect import connect, conninfos

    migrate.init_database(settings)
    with connect(conninfos(settings).owner) as conn:
        print(load_samples(conn, settings).summary())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jmmctap", description="JMMC TAP data centre")
    parser.add_argument("--version", action="version", version=f"jmmctap {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the TAP service over HTTP")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default $JMMCTAP_PORT or 8000)")

    db = sub.add_parser("db", help="manage the database")
    db.add_argument("action", choices=["init", "upgrade", "status", "start", "stop"])

    ingest = sub.add_parser("ingest", help="load VOTable/FITS files into a table and publish it in TAP_SCHEMA")
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE", help="VOTable (optionally gzipped) or FITS")
    ingest.add_argument("--table", required=True, help="target SCHEMA.TABLE")
    ingest.add_argument("--mode", choices=["create", "replace", "append"], default="create")
    ingest.add_argument("--description", help="table description (default: from the file)")
    ingest.add_argument("--table-index", type=int, default=0, help="which TABLE of each file (default 0, the first)")
    ingest.add_argument("--force", action="store_true",
                        help="allow ingesting into a table a catalogue loader owns (obsportal, ivoa.obscore, jsdc,"
                             " jmdc, badcal, spica)")

    drop = sub.add_parser("drop", help="unpublish a table from TAP_SCHEMA and drop it (one transaction)")
    drop.add_argument("table", metavar="SCHEMA.TABLE", help="the table to drop")
    drop.add_argument("--force", action="store_true", help="also drop a table a catalogue loader owns")

    eso = sub.add_parser("ingest-eso", help="load ESO exposure headers or ObsPortal exports into obsportal"
                         " (differential)")
    eso.add_argument("files", nargs="+", type=Path, metavar="FILE",
                     help="ESO header dump, FITS file (primary header), ESO archive query table or ObsPortal"
                          " VOTable export (search.votable)")
    eso.add_argument("--radius", type=float, default=5.0,
                     help="target grouping and JSDC matching radius in arcsec (default 5)")

    chara = sub.add_parser("ingest-chara", help="load CHARA night logs (CSV, OiDB's CHARA import format) into"
                           " obsportal; every row checked, a bad row refuses the whole call")
    chara.add_argument("files", nargs="+", type=Path, metavar="FILE", help="CHARA night log (CSV with a header line)")
    chara.add_argument("--radius", type=float, default=5.0,
                       help="target grouping and JSDC matching radius in arcsec (default 5)")

    plan = sub.add_parser("ingest-plan", help="load planned observations (Aspro2 OB exports, .obx) into ivoa.obsplan;"
                          " a bad file refuses the whole call")
    plan.add_argument("files", nargs="+", type=Path, metavar="FILE", help="Aspro2 OB export (ESO P2PP .obx), one OB")
    plan.add_argument("--replace", action="store_true",
                      help="the files are the whole plan: delete the planned observations they do not name")


    sync = sub.add_parser("sync-eso", help="load the exposures the ESO archive added or changed since the last sync"
                          " (JMMCTAP_ESO_TAP_URL, JMMCTAP_ESO_HEADER_URL) into obsportal; resumable")
    sync.add_argument("--radius", type=float, default=5.0,
                      help="target grouping and JSDC matching radius in arcsec (default 5)")

    oifits = sub.add_parser("ingest-oifits", help="load OIFITS files as ObsCore granules into ivoa.obscore")
    oifits.add_argument("files", nargs="+", type=Path, metavar="FILE", help="OIFITS file (version 1 or 2)")
    oifits.add_argument("--collection", required=True, help="obs_collection of the granules")
    oifits.add_argument("--collection-type", help="OiDB collection type giving the embargo (eso, pionier, chara, suv)")
    oifits.add_argument("--calib-level", type=int, choices=[1, 2, 3], default=2, help="calib_level (default 2)")
    oifits.add_argument("--access-url-base", help="files stay remote, at this URL prefix (access_url = prefix +"
                        " file name); default: the service keeps them and serves them at /products/")
    oifits.add_argument("--creator", help="obs_creator_name")
    oifits.add_argument("--bibcode", help="bib_reference")
    oifits.add_argument("--datapi", help="data PI (default: the header's OBS PI-COI NAME)")
    oifits.add_argument("--keywords", help="keywords of the submission")

    jsdc = sub.add_parser("ingest-jsdc", help="load JSDC stars into jsdc.jsdc_v2 (VizieR II/346 or SearchCal/GetStar)"
                          " and link the obsportal targets to them")
    jsdc.add_argument("files", nargs="+", type=Path, metavar="FILE",
                      help="VizieR II/346/jsdc_v2 VOTable or FITS, or a SearchCal/GetStar VOTable")
    jsdc.add_argument("--first-recno", type=int,
                      help="record number of the first row when the files have no recno column (numbering goes on"
                           " across the files in order)")
    jsdc.add_argument("--mode", choices=["update", "replace"], default="update",
                      help="update: add new stars and update known ones by recno (default); replace: also delete"
                           " the stars the files lack")
    jsdc.add_argument("--radius", type=float, default=5.0, help="target matching radius in arcsec (default 5)")

    sub.add_parser("load-samples", help="load the shipped sample data (idempotent)")

    worker = sub.add_parser("worker", help="run async (UWS) jobs of the shared database, without serving HTTP")
    worker.add_argument("--workers", type=int, help="concurrent jobs (default $JMMCTAP_ASYNC_WORKERS or 4)")

    _COMMANDS.update(accounts_cli.register(sub))  # user, group, token
    acl_cli.register(sub, _COMMANDS)  # grant, collection, delegation, datapi
    registry_cli.register(sub, _COMMANDS)  # registry show|list
    catalogs_cli.register(sub, _COMMANDS)  # catalog
    submissions_cli.register(sub, _COMMANDS)  # badcal, writer
    products_cli.register(sub, _COMMANDS)  # products relink|document
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: every expected failure is one line on stderr and a non-zero exit."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(host=getattr(args, "host", None), port=getattr(args, "port", None))
        configure_logging(settings)
        return _COMMANDS[args.command](args, settings)
    except JmmctapError as exc:
        print(f"jmmctap: error: {exc.message}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:  # anything the commands did not translate: still one line
        print(f"jmmctap: error: database: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
