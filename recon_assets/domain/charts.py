"""The 30-day trend chart: amount at risk and missing transactions per processor and reconciled day.

The chart shows what was measured and nothing else: one point per reconciled day, a gap where a day
was not reconciled (never a line drawn across it), a tick per day, a legend in each panel, and axes
from zero. matplotlib draws it as a PNG, which a mail client and an S3 bucket both show as it is.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

PANELS = (
    ("total_discrepancy_amount", "Amount at risk ({currency})"),
    ("missing_transaction_count", "Missing transactions"),
)


def trend_series(trend: pd.DataFrame, first: date, last: date) -> dict[str, pd.DataFrame]:
    """Per processor, one row for every day from ``first`` to ``last``: the day's figures, NaN where
    the day was not reconciled.

    ``trend`` has columns run_date, processor_name and the panels' columns.
    """
    days = pd.date_range(first, last, freq="D")
    series = {}
    for processor, rows in trend.groupby("processor_name"):
        by_day = rows.assign(run_date=pd.to_datetime(rows["run_date"])).set_index("run_date")
        figures = by_day[[column for column, _ in PANELS]].astype(float)
        series[str(processor)] = figures.reindex(days)  # an unreconciled day is NaN: plotted as a gap
    return series


def trend_chart_png(
    trend: pd.DataFrame, first: date, last: date, currency: str, names: Mapping[str, str] | None = None
) -> bytes:
    """The chart as a PNG; ``names`` are the processors' names for people (the legend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    series = trend_series(trend, first, last)
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(10, 6.4), sharex=True, layout="constrained")
    for axis, (column, label) in zip(axes, PANELS, strict=True):
        for processor, figures in series.items():
            label_text = (names or {}).get(processor, processor)
            axis.plot(figures.index, figures[column], marker="o", markersize=4, linewidth=1.5, label=label_text)
        axis.set_ylabel(label.format(currency=currency))
        axis.set_ylim(bottom=0)
        top = np.nanmax([f[column].max() for f in series.values()]) if series else np.nan
        if not np.isfinite(top) or top == 0:
            axis.set_ylim(0, 1)
        axis.grid(axis="y", alpha=0.3)
        if series:
            axis.legend(loc="upper left", fontsize=8, ncols=len(series))
    axes[0].set_title(f"Last {(last - first).days + 1} days (a gap is a day that was not reconciled)")
    axes[-1].set_xlim(pd.Timestamp(first) - pd.Timedelta(hours=12), pd.Timestamp(last) + pd.Timedelta(hours=12))
    axes[-1].xaxis.set_major_locator(mdates.DayLocator())
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))
    axes[-1].tick_params(axis="x", labelrotation=90, labelsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
