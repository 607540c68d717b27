"""The sign-off's pictures, as standalone SVG: where a build's traffic went, and when."""

from benches.report.summary.charts.timeline import timeline_chart
from benches.report.summary.charts.traffic import traffic_bars, traffic_chart

__all__ = ["timeline_chart", "traffic_bars", "traffic_chart"]
