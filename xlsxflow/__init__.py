"""xlsxflow: Excel workflows for project-based grassroots Party-building work.

The package is laid out as the data flows: ``forms`` (declarative form specs) →
``templates`` (workbooks sent out) → reading and validating returns → register →
compliance and scoring → reports → mail. ``cli`` is a thin layer over these modules.
"""

__version__ = "0.1.0"


def collect_less_often() -> None:
    """Our processes make millions of small, short-lived objects with no cycles (cells,
    rows, values) while they hold large, long-lived ones (a province's roster and
    register): at the default thresholds the cycle collector walked those again and
    again — 12 % of a merge of 1 % resubmitted at 10,000 returns, 5 % of reading one."""
    import gc

    gc.set_threshold(20_000, 20, 20)
