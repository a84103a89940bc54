"""Quick-look PNG of an OIFITS product: VIS2 and closure phase against spatial frequency, and the uv coverage.

The DataLink ``#preview`` of every stored product. Rendering takes a few hundred milliseconds of CPU, so
``preview_of`` runs it in a worker thread and keeps the PNG in the product store beside the file (keyed by
its SHA-256): a file is plotted once, by whichever process is asked first. matplotlib's object API
(``Figure``, the Agg canvas) is used, never ``pyplot``: no global state, safe in threads.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np
from astropy.io import fits

from jmmctap.products.store import ProductStore

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PREVIEW_SUFFIX", "preview_of", "render_preview"]

PREVIEW_SUFFIX = "preview.png"
"""Suffix of the cached quick look in the product store."""

_LIMITER = anyio.CapacityLimiter(1)
"""One rendering at a time per process: the machine has few cores and queries come first."""

_DPI = 80
_SIZE_IN = (12.0, 4.0)


@dataclass
class _Points:
    """Points of one panel, by instrument (INSNAME)."""

    by_insname: dict[str, tuple[list[Any], list[Any]]] = field(default_factory=dict)

    def add(self, insname: str, x: Any, y: Any) -> None:
        xs, ys = self.by_insname.setdefault(insname, ([], []))
        xs.append(np.ravel(x))
        ys.append(np.ravel(y))

    def arrays(self) -> list[tuple[str, Any, Any]]:
        return [(name, np.concatenate(xs), np.concatenate(ys)) for name, (xs, ys) in sorted(self.by_insname.items())]


async def preview_of(store: ProductStore, sha256: str) -> Path | None:
    """The quick-look PNG of stored product ``sha256``, rendered and kept on first request.

    Returns None when the store has no such file. A file that cannot be plotted (not OIFITS after all)
    gets a PNG saying so rather than an error: the link exists for every stored product.
    """
    cached = store.derived_path(sha256, PREVIEW_SUFFIX)
    if cached is not None:
        return cached
    source = store.local_path(sha256)
    if source is None:
        return None
    png = await anyio.to_thread.run_sync(render_preview, source, limiter=_LIMITER)
    return store.put_derived(sha256, PREVIEW_SUFFIX, png)


def render_preview(path: Path) -> bytes:
    """The PNG bytes of the three panels for the OIFITS file at ``path``."""
    # imported here: matplotlib adds ≈30 MB to every server that never renders a quick look
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=_SIZE_IN, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    vis2_axes, t3_axes, uv_axes = figure.subplots(1, 3)
    try:
        title, vis2, t3, uv = _read(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        figure.text(0.5, 0.5, f"no quick look: {exc}", ha="center", va="center")
        return _png(figure)
    figure.suptitle(title)
    for name, x, y in vis2.arrays():
        vis2_axes.plot(x / 1e6, y, ".", markersize=2, label=name)
    vis2_axes.set(xlabel="spatial frequency (Mλ)", ylabel="VIS2", title="squared visibility")
    for name, x, y in t3.arrays():
        t3_axes.plot(x / 1e6, y, ".", markersize=2, label=name)
    t3_axes.set(xlabel="spatial frequency (Mλ)", ylabel="T3PHI (deg)", title="closure phase")
    for name, u, v in uv.arrays():
        points = uv_axes.plot(u / 1e6, v / 1e6, ".", markersize=2, label=name)
        uv_axes.plot(-u / 1e6, -v / 1e6, ".", markersize=2, color=points[0].get_color())
    uv_axes.set(xlabel="u (Mλ)", ylabel="v (Mλ)", title="uv coverage", aspect="equal")
    if len(vis2.by_insname) > 1:
        vis2_axes.legend(fontsize="small", markerscale=4)
    return _png(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _read(path: Path) -> tuple[str, _Points, _Points, _Points]:
    """(title, VIS2 vs frequency, T3PHI vs longest baseline frequency, uv points) of the file."""
    vis2, t3, uv = _Points(), _Points(), _Points()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-standard keywords of real files
        with fits.open(path, memmap=False) as hdus:
            waves = {str(h.header.get("INSNAME", "")).strip(): np.asarray(h.data["EFF_WAVE"], dtype=float)
                     for h in hdus if h.name == "OI_WAVELENGTH" and h.data is not None}
            targets = sorted({str(t).strip() for h in hdus if h.name == "OI_TARGET" and h.data is not None
                              for t in h.data["TARGET"]})
            for hdu in hdus:
                insname = str(hdu.header.get("INSNAME", "")).strip()
                wave = waves.get(insname)
                if wave is None or hdu.data is None or len(hdu.data) == 0:
                    continue
                if hdu.name == "OI_VIS2":
                    _add_vis2(hdu.data, wave, insname, vis2, uv)
                elif hdu.name == "OI_T3":
                    _add_t3(hdu.data, wave, insname, t3)
    title = ", ".join(targets[:3]) + (f" and {len(targets) - 3} more" if len(targets) > 3 else "")
    return f"{title} — {path.name}", vis2, t3, uv


def _add_vis2(data: Any, wave: Any, insname: str, vis2: _Points, uv: _Points) -> None:
    u, v = np.asarray(data["UCOORD"], dtype=float), np.asarray(data["VCOORD"], dtype=float)
    values = np.asarray(data["VIS2DATA"], dtype=float).reshape(len(u), -1)
    frequency = np.hypot(u, v)[:, None] / wave[None, : values.shape[1]]
    keep = _unflagged(data, values.shape) & np.isfinite(values)
    vis2.add(insname, frequency[keep], values[keep])
    uv.add(insname, (u[:, None] / wave[None, :])[:, :: max(1, len(wave) // 8)],
           (v[:, None] / wave[None, :])[:, :: max(1, len(wave) // 8)])


def _add_t3(data: Any, wave: Any, insname: str, t3: _Points) -> None:
    u1, v1 = np.asarray(data["U1COORD"], dtype=float), np.asarray(data["V1COORD"], dtype=float)
    u2, v2 = np.asarray(data["U2COORD"], dtype=float), np.asarray(data["V2COORD"], dtype=float)
    longest = np.max([np.hypot(u1, v1), np.hypot(u2, v2), np.hypot(u1 + u2, v1 + v2)], axis=0)
    values = np.asarray(data["T3PHI"], dtype=float).reshape(len(u1), -1)
    frequency = longest[:, None] / wave[None, : values.shape[1]]
    keep = _unflagged(data, values.shape) & np.isfinite(values)
    t3.add(insname, frequency[keep], values[keep])


def _unflagged(data: Any, shape: tuple[int, ...]) -> Any:
    """Mask of the measurements not FLAGged."""
    names = data.columns.names if hasattr(data, "columns") else ()
    flags = np.asarray(data["FLAG"], dtype=bool).reshape(shape) if "FLAG" in names else np.zeros(shape, bool)
    return ~flags
