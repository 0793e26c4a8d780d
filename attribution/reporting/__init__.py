"""The HTML report: one self-contained page of charts and tables for the people who act
on attribution.

>>> from attribution.reporting import ReportData, write_report
>>> write_report(ReportData.example(), "report.html")  # doctest: +SKIP

:class:`ReportData` (aggregate tables, computed by the engine) is importable with the
core install; rendering needs the optional ``report`` extra (Jinja2 and
vl-convert-python, which ships the Vega chart libraries inlined in the page) and raises
:class:`ReportDependencyError` naming it when missing.
"""

from attribution.reporting.bundle import ReportDependencyError
from attribution.reporting.data import NO_TOUCH, ReportData
from attribution.reporting.render import render_report, write_report

__all__ = ["NO_TOUCH", "ReportData", "ReportDependencyError", "render_report", "write_report"]
