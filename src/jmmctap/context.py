"""The process context: what one ``serve`` or ``worker`` process shares between all its requests and jobs.

``open_process_context`` is the one place where the service objects are assembled (settings, pools,
TAP_SCHEMA kept current, authenticator, job service, results store, service documents), for both
``serve`` (``app.py``'s lifespan) and ``jmmctap worker`` (``uws/process.py``). Endpoints reach it only
through ``context_of(request)``. Compare lsst-sqre/qserv-kafka ``factory.py: ProcessContext``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from jmmctap import formats, scs
from jmmctap.accounts.authenticator import AccountAuthenticator
from jmmctap.accounts.credentials import SECURITY_METHODS
from jmmctap.accounts.store import AccountStore
from jmmctap.adql import features as adql_features
from jmmctap.auth import Authenticator
from jmmctap.catalogues.data_rights import keep_data_rights_current
from jmmctap.catalogues.eso_sync import keep_eso_synced
from jmmctap.db.connect import conninfos
from jmmctap.db.pools import Pools, open_pools
from jmmctap.health import Readiness
from jmmctap.products.datalink import DATALINK_STANDARD_ID, LINKS_PATH
from jmmctap.products.store import ProductStore, open_product_store
from jmmctap.registry import RegistryService, load_identity
from jmmctap.settings import Settings
from jmmctap.tapschema import load_tap_schema_async
from jmmctap.tapschema.live import LiveTapSchema
from jmmctap.tapschema.watch import watch_tap_schema
from jmmctap.upload import UPLOAD_METHODS
from jmmctap.uws.execute import JobExecutor
from jmmctap.uws.resultstore import ResultStore
from jmmctap.uws.runtime import open_result_store, start_uws
from jmmctap.uws.service import JobService
from jmmctap.vosi import Example, TapCapabilities, describe_tap_service, read_examples
from jmmctap.vosi.capabilities import Capability, DataModel, Limits

__all__ = ["ProcessContext", "context_of", "describe_service", "open_process_context"]


@dataclass(frozen=True, kw_only=True)
class ProcessContext:
    """Per-process singletons, built once by ``open_process_context`` and valid while it is open."""

    settings: Settings
    """The validated settings of the process."""
    pools: Pools
    """Owner and query connection pools."""
    tap_schema: LiveTapSchema
    """TAP_SCHEMA as last (re)loaded, checked current per query (read-your-writes after an ingest)."""
    auth: Authenticator
    """Who a request's caller is."""
    jobs: JobService
    """UWS jobs (create, run, abort, wait...)."""
    results: ResultStore
    """The results store: job results and upload files (a shared directory, or the database)."""
    worker_id: int | None
    """This process's UWS worker id, None when it runs no jobs."""
    started_at: datetime
    """When the context was opened (VOSI ``upSince``, ``Last-Modified`` of the capabilities)."""
    capabilities: TapCapabilities
    """What ``/tap/capabilities`` declares (fixed for the life of the process)."""
    examples: tuple[Example, ...]
    """The DALI examples shipped with the service (shown when their tables are published)."""
    registry: RegistryService
    """The VO publishing registry (/oai): records of every service and catalogue, dated in the database."""
    products: ProductStore
    """The product files of ObsCore granules and their quick looks (shared by every process)."""
    readiness: Readiness
    """Whether this process takes new requests (``/health/ready``): not once it drains."""


@contextlib.asynccontextmanager
async def open_process_context(
    settings: Settings, *, job_slots: int, readiness: Readiness | None = None
) -> AsyncIterator[ProcessContext]:
    """Open pools, load TAP_SCHEMA and keep it current, start the UWS machinery; close all on exit.

    Parameters
    ----------
    settings
        The process's settings.
    job_slots
        Async jobs this process runs at once (0: none; another process must).
    readiness
        Told by ``serve`` when the process drains (default: a process that never drains).

    Raises
    ------
    jmmctap.errors.ConfigError
        The database is not reachable or not initialised.
    """
    identity = load_identity(settings.registry_file)  # a mistake in it stops the start, not the first harvest
    pools = await open_pools(settings)
    try:
        async with pools.owner.connection() as conn:
            tap_schema = LiveTapSchema(pools.owner, await load_tap_schema_async(conn))
        # a plain task, not a task group: the block may be left from another task (test fixtures)
        watch = asyncio.create_task(watch_tap_schema(conninfos(settings).owner, tap_schema.offer))
        watch_gate = asyncio.create_task(pools.gate.watch())  # logs connections held too long
        replicas = asyncio.create_task(pools.reads.monitor(pools.owner))  # skips replicas down or lagging
        rights = asyncio.create_task(keep_data_rights_current(pools.owner))  # embargoes end while serving
        background = [watch, watch_gate, replicas, rights]
        if settings.eso_sync_interval_s > 0:  # off by default; the sync lock keeps it to one run across processes
            background.append(asyncio.create_task(keep_eso_synced(settings)))
        auth = AccountAuthenticator(AccountStore(pools.owner), settings)
        try:
            results = open_result_store(settings, pools)
            executor = JobExecutor(pools, tap_schema, settings, results)
            capabilities = describe_service(settings)
            registry = RegistryService(identity, settings, capabilities, tap_schema.fresh, pools.owner.connection)
            readiness = readiness or Readiness()
            async with start_uws(pools, settings, executor, job_slots, results=results,
                                 draining=lambda: readiness.draining) as runtime:
                yield ProcessContext(
                    settings=settings, pools=pools, tap_schema=tap_schema, auth=auth,
                    jobs=runtime.service, results=results, worker_id=runtime.worker_id,
                    started_at=datetime.now(UTC), capabilities=capabilities,
                    examples=tuple(read_examples()), registry=registry, products=open_product_store(settings),
                    readiness=readiness,
                )
        finally:
            await auth.aclose()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    finally:
        await pools.close()


def context_of(holder: HTTPConnection | Starlette) -> ProcessContext:
    """The process context of a request (or of the application, for tests).

    Raises
    ------
    RuntimeError
        The application's lifespan has not opened the context (a bug, not a client error).
    """
    app = holder if isinstance(holder, Starlette) else holder.app
    found = getattr(app.state, "context", None)
    if not isinstance(found, ProcessContext):
        raise RuntimeError("the process context is not open: the application lifespan has not run")
    return found


def describe_service(settings: Settings) -> TapCapabilities:
    """VOSI capabilities from the registries of the output formats and of the ADQL engine's features."""
    return describe_tap_service(
        settings,
        [(f.mime, f.aliases, f.ivo_id) for f in formats.all_formats()],
        adql_features.ADQL_VERSIONS,
        [(kind, form, text) for kind, forms in adql_features.LANGUAGE_FEATURES.items() for form, text in forms]
        + [(adql_features.UDF_FEATURE_TYPE, form, text) for form, text in adql_features.UDFS],
        data_models=[DataModel("ivo://ivoa.net/std/ObsCore#core-1.1", "ObsCore-1.1")],
        upload_methods=UPLOAD_METHODS,
        upload_limit_bytes=Limits(settings.upload_max_bytes, settings.upload_max_bytes),
        others=[*(Capability(scs.CONE_SEARCH_ID, f"/scs/{c.name}?", use="base") for c in scs.CATALOGUES),
                Capability(DATALINK_STANDARD_ID, LINKS_PATH)],
        security_methods=SECURITY_METHODS,
    )
