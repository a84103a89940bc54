"""The small HTML pages a person opens in a browser (health view)."""

from __future__ import annotations

from html import escape

from jmmctap.health import Health

__all__ = ["render_health"]

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}td.n{text-align:right}"
    ".ok{color:#070}.bad{color:#b00}"
)


def render_health(health: Health) -> str:
    """An HTML view of ``/health`` (the same facts as the JSON)."""
    state = '<span class="ok">reachable</span>' if health.reachable else '<span class="bad">NOT reachable</span>'
    rows = "".join(
        f"<tr><td>{escape(s.name)}</td><td>{escape(t)}</td><td class=n>{'' if n is None else f'{n:,}'}</td></tr>"
        for s in health.schemas for t, n in s.tables
    )
    ingests = "".join(
        f"<tr><td>{escape(i.table)}</td><td>{i.finished_at:%Y-%m-%d %H:%M:%S %Z}</td><td class=n>{i.files}</td>"
        f"<td class=n>{i.rows:,}</td><td>{escape(i.mode)}</td></tr>"
        for i in health.ingests
    )
    sync = health.eso_sync
    eso = "<p>Never run.</p>" if sync is None else (
        "<table>" + "".join(f"<tr><th>{escape(k)}</th><td>{escape('' if v is None else str(v))}</td></tr>"
                            for k, v in sync.as_json().items()) + "</table>")
    replicas = "".join(
        f"<tr><td>{escape(r['name'])}</td><td>{'serving' if r['serving'] else escape(r['skipped'] or '')}</td>"
        f"<td class=n>{'' if r['lag_s'] is None else r['lag_s']}</td><td class=n>{r['queries']:,}</td></tr>"
        for r in health.replicas
    )
    replica_table = (
        "<h2>Read replicas</h2><table><tr><th>replica</th><th>state</th><th>lag (s)</th><th>queries</th></tr>"
        f"{replicas}</table><p>Queries run on the primary instead: {health.primary_queries:,}.</p>"
    ) if replicas else ""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>jmmctap health</title>"
        f"<style>{_STYLE}</style></head><body><h1>jmmctap health</h1>"
        f"<p>Version {escape(health.version)}, up since {health.started_at:%Y-%m-%d %H:%M:%S} UTC. "
        f"Database {state}, schema version {health.schema_version}. Query connections: "
        + ", ".join(f"{escape(k)} {v}" for k, v in health.query_pool.items()) + ". "
        "<a href='/tap'>TAP service</a> · <a href='/health?format=json'>JSON</a></p>" + replica_table +
        "<h2>Published tables</h2><table><tr><th>schema</th><th>table</th><th>rows</th></tr>"
        f"{rows}</table><h2>Last ingest of each table</h2><table><tr><th>table</th><th>finished</th>"
        f"<th>files</th><th>rows</th><th>mode</th></tr>{ingests}</table>"
        f"<h2>ESO archive sync (sync-eso)</h2>{eso}</body></html>"
    )
