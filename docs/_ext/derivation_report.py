"""Sphinx extension: the derivation report, written into the site as ``report/``.

After a successful HTML build, :func:`gan_theory.report.write_report` writes a report of the
entries named by the ``derivation_report_only`` setting into ``<site>/report/`` (HTML only; the
full report is ``make report``). The guide links to ``report/index.html`` with a relative link,
so the site and its report move together and work offline.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _write(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from gan_theory.report import write_report

    only = list(app.config.derivation_report_only)
    out = app.outdir / "report"
    logger.info("writing the derivation report (%s) into %s", ", ".join(only), out)
    write_report(out, only=only, formats=["html"], progress=False)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("derivation_report_only", ("kl", "js", "global_optimum"), "html")
    app.connect("build-finished", _write)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
