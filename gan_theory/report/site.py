"""Writing the whole report: which entries, in which formats, all or nothing.

:func:`write_report` derives everything first (with a progress bar on a terminal), renders every
file in memory, writes them into a fresh temporary folder next to ``out`` and only then moves
them into ``out``: a refused generator, an unknown name or an error while rendering leaves
``out`` as it was (and creates nothing). Files of earlier reports that this one does not write are
left alone; nothing else in ``out`` is touched.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import divergences as dv
from divergences.render.names import slug

if TYPE_CHECKING:
    from ..propositions import Proposition
from . import _warm
from .html import DISCRIMINATOR_PAGE, INDEX, SiteMap

__all__ = ["FORMATS", "Selection", "UnknownNameError", "select", "write_report"]

#: the formats :func:`write_report` can write, and the file each one adds
FORMATS: dict[str, str] = {"html": INDEX, "md": "derivations.md", "json": "report.json"}


class UnknownNameError(ValueError):
    """A name given to ``only`` is neither a reported divergence nor a proposition."""


@dataclass(frozen=True)
class Selection:
    """What a report covers: registry entries (name and parameters), user divergences (already
    derived) and propositions, plus whether the optimal discriminator's page is written."""

    reported: tuple[tuple[str, dict[str, object]], ...]
    extra: tuple[dv.FDivergence, ...] = ()
    propositions: tuple[Proposition, ...] = ()
    discriminator: bool = True
    labels: tuple[str, ...] = field(default=(), compare=False)


def select(only: Iterable[str] | None = None, extra: Sequence[dv.FDivergence] = ()) -> Selection:
    """The report's content: everything (:data:`~.markdown.REPORTED` and every proposition) when
    ``only`` is ``None`` and there is no ``extra``; else the ``extra`` divergences plus the
    entries and propositions named in ``only`` (a family name such as ``alpha`` brings all its
    reported members).

    Raises:
        UnknownNameError: a name in ``only`` is not reported; the message lists the known names
            and suggests the closest ones.
    """
    from .markdown import REPORTED

    extra = tuple(extra)
    if only is None:
        if extra:
            return Selection((), extra, (), True)
        from .. import propositions

        return Selection(tuple(REPORTED), (), propositions.all_propositions(), True)
    wanted = list(dict.fromkeys(only))
    entries = {name for name, _ in REPORTED}
    chosen: tuple[Proposition, ...] = ()
    if any(name not in entries for name in wanted):  # the theory is only imported when named
        from .. import propositions

        props = set(propositions.names())
        unknown = [name for name in wanted if name not in entries and name not in props]
        if unknown:
            known = sorted(entries | props)
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
                if close:
                    hints.append(f"{name!r}: did you mean {' or '.join(map(repr, close))}?")
            raise UnknownNameError(
                f"unknown name(s) {', '.join(map(repr, unknown))}; "
                f"known divergences and propositions: {', '.join(known)}"
                + (f" ({'; '.join(hints)})" if hints else "")
            )
        chosen = tuple(p for p in propositions.all_propositions() if p.name in wanted)
    reported = tuple((n, p) for n, p in REPORTED if n in wanted)
    return Selection(reported, extra, chosen, bool(reported or extra))


def _progress(total: int, enabled: bool | None) -> object:
    """A tqdm bar on stderr, off unless stderr is a terminal (or ``enabled`` says so)."""
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, disable=not enabled, file=sys.stderr, unit="item", leave=False)


def _unique_pages(names: Iterable[str], folder: str) -> dict[str, str]:
    """name -> ``folder/<slug>.html``, distinct even when two names share a slug."""
    pages: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        stem, n = slug(name), 1
        while stem in taken:
            n += 1
            stem = slug(f"{name}#{n}")
        taken.add(stem)
        pages[name] = f"{folder}/{stem}.html"
    return pages


def _start_warmup(
    reported: Sequence[tuple[str, dict[str, object]]],
    formats: Sequence[str],
    workers: int | None,
    *,
    propositions: bool,
    plots: Sequence[str],
) -> _warm.Warmup:
    """The worker processes that fill a cold cache (:mod:`._warm`) for an HTML report of these
    entries (with ``propositions`` when the report checks any, and the propositions' ``plots``),
    unless ``workers == 1``."""
    if "html" not in formats or workers == 1:
        return _warm.Warmup(None, [])
    return _warm.start(reported, workers, propositions=propositions, plots=plots)


def _early_warmup(
    only: Iterable[str] | None,
    extra: Sequence[dv.FDivergence],
    formats: Sequence[str],
    workers: int | None,
) -> _warm.Warmup | None:
    """For the whole report (no ``only``, no ``extra``), the workers started before
    :func:`select` imports the theory (about 1.5 s): every registry entry of
    :data:`~.markdown.REPORTED`, every proposition, and so every plot of :data:`~.plots.PLOTS`.
    ``None`` for any other report: its workers start after :func:`select`."""
    from .markdown import REPORTED
    from .plots import PLOTS

    if only is not None or extra:
        return None
    return _start_warmup(REPORTED, formats, workers, propositions=True, plots=tuple(PLOTS))


def _render(
    selection: Selection, formats: Sequence[str], progress: bool | None, warmup: _warm.Warmup
) -> dict[str, str]:
    """Every file of the report, relative path -> text (nothing is written here); ``warmup``
    is filling a cold cache meanwhile (it is shut down here)."""
    from .html import discriminator_page, divergence_site_page, index_page, proposition_page
    from .markdown import registry_report
    from .plots import proposition_svg
    from .records import report_document

    html = "html" in formats
    total = len(selection.reported) + len(selection.extra) + len(selection.propositions)
    bar = _progress(total * (2 if html else 1), progress)
    divergences: list[dv.FDivergence] = list(selection.extra)
    # a cold cache is filled by worker processes while this one checks the propositions
    try:
        if warmup.active:
            # the propositions derive the registered entries with their defaults (fgan_bound):
            # they wait for the workers' entries, then run while the workers do the variants
            bar.set_description("deriving (worker processes)")  # type: ignore[attr-defined]
            warmup.wait(defaults_only=bool(selection.propositions))
        bar.set_description("checking propositions")  # type: ignore[attr-defined]
        for p in selection.propositions:
            bar.set_postfix_str(p.name)  # type: ignore[attr-defined]
            _ = p.steps
            bar.update()  # type: ignore[attr-defined]
        warmup.wait()
        bar.set_description("deriving")  # type: ignore[attr-defined]
        for name, params in selection.reported:
            bar.set_postfix_str(name)  # type: ignore[attr-defined]
            divergences.append(dv.get(name, **params))
            bar.update()  # type: ignore[attr-defined]
        bar.update(len(selection.extra))  # type: ignore[attr-defined]

        files: dict[str, str] = {}
        written = [FORMATS[f] for f in ("md", "json") if f in formats]
        site = SiteMap(
            divergences=_unique_pages([d.name for d in divergences], "divergences"),
            propositions=_unique_pages([p.name for p in selection.propositions], "propositions"),
            discriminator=DISCRIMINATOR_PAGE if selection.discriminator else None,
            files=tuple(written),
        )
        if html:
            bar.set_description("rendering")  # type: ignore[attr-defined]
            for d in divergences:
                bar.set_postfix_str(d.name)  # type: ignore[attr-defined]
                files[site.divergences[d.name]] = divergence_site_page(d, site)
                bar.update()  # type: ignore[attr-defined]
            order: dict[str, int] = {}
            if selection.propositions:  # the theory's numbering (importing it costs seconds)
                from .. import propositions as theory

                order = {name: i for i, name in enumerate(theory.names(), 1)}
            for p in selection.propositions:
                bar.set_postfix_str(p.name)  # type: ignore[attr-defined]
                files[site.propositions[p.name]] = proposition_page(
                    p, order.get(p.name, 0), site, proposition_svg(p.name)
                )
                bar.update()  # type: ignore[attr-defined]
            if selection.discriminator:
                files[DISCRIMINATOR_PAGE] = discriminator_page(site)
            files[INDEX] = index_page(divergences, selection.propositions, site)
        if "md" in formats:
            files[FORMATS["md"]] = (
                registry_report(
                    divergences, selection.propositions, discriminator=selection.discriminator
                )
                + "\n"
            )
        if "json" in formats:
            pages = {}
            if html:
                pages = {f"divergence:{k}": v for k, v in site.divergences.items()}
                pages |= {f"proposition:{k}": v for k, v in site.propositions.items()}
            document = report_document(
                divergences, selection.propositions, pages, discriminator=selection.discriminator
            )
            files[FORMATS["json"]] = json.dumps(document, indent=2, allow_nan=False) + "\n"
    finally:
        warmup.cancel()
        bar.close()  # type: ignore[attr-defined]
    if html and selection.reported:
        _warm.mark_warm(selection.reported)
    return files


def _selected_files(
    only: Iterable[str] | None,
    extra: Sequence[dv.FDivergence],
    formats: Sequence[str],
    progress: bool | None,
    workers: int | None,
) -> dict[str, str]:
    """:func:`select` the content and :func:`_render` it, with the workers of a cold cache
    started as early as the content is known (:func:`_early_warmup`)."""
    from .plots import PLOTS

    warmup = _early_warmup(only, extra, formats, workers)
    try:
        selection = select(only, extra)
        if warmup is None:
            warmup = _start_warmup(
                selection.reported,
                formats,
                workers,
                propositions=bool(selection.propositions),
                plots=[p.name for p in selection.propositions if p.name in PLOTS],
            )
        return _render(selection, formats, progress, warmup)
    finally:
        if warmup is not None:
            warmup.cancel()


def _install(files: dict[str, str], out: Path) -> list[Path]:
    """Write ``files`` into a temporary folder beside ``out``, then move them into ``out``."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would become the report folder's mode
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if not out.exists():
            os.replace(staging, out)  # the whole folder appears at once
            staging = None  # type: ignore[assignment]
        else:
            if not out.is_dir():
                raise NotADirectoryError(f"{out} exists and is not a directory")
            for relative in files:
                target = out / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / relative, target)
    finally:
        if staging is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)
    return [out / relative for relative in files]


def write_report(
    out: str | os.PathLike[str],
    *,
    only: Iterable[str] | None = None,
    divergences: Sequence[dv.FDivergence] = (),
    formats: Iterable[str] = ("html", "md", "json"),
    progress: bool | None = None,
    workers: int | None = 1,
    on_written: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write the derivation report into ``out`` and return the paths written.

    Args:
        out: the output folder (created if needed; only the report's own files are replaced).
        only: limit the report to these divergence entries and propositions (see :func:`select`).
        divergences: further divergences to report, e.g. from
            :meth:`divergences.FDivergence.from_generator` (alone, unless ``only`` adds more).
        formats: any of ``"html"`` (``index.html`` and the pages), ``"md"``
            (``derivations.md``), ``"json"`` (``report.json``, see :mod:`.records`).
        progress: show a progress bar on stderr; ``None`` shows it when stderr is a terminal.
        workers: processes that fill a cold cache (:mod:`._warm`). ``1`` (the default) never
            starts a process; ``None`` uses up to 2 CPUs when at least
            :data:`~._warm.MIN_ENTRIES` registry entries are reported and the cache is cold (the
            ``gan-theory report`` command does; from a script, call it under
            ``if __name__ == "__main__":``, since the workers import the main module).
        on_written: called with each path once everything is in place.

    Raises:
        UnknownNameError: a name in ``only`` is not reported.
        ValueError: an unknown format.
        OSError: ``out`` cannot be written (nothing was moved into it).
    """
    formats = tuple(dict.fromkeys(formats))
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(
            f"unknown format(s) {', '.join(map(repr, bad)) or '(none given)'}; "
            f"choose from {', '.join(FORMATS)}"
        )
    files = _selected_files(only, divergences, formats, progress, workers)
    paths = _install(files, Path(out))
    if on_written is not None:
        for path in paths:
            on_written(path)
    return paths
