"""xlsxflow: Excel workflows for project-based grassroots Party-building work.

The package is laid out as the data flows: ``forms`` (declarative form specs) →
``templates`` (workbooks sent out) → reading and validating returns → register →
compliance and scoring → reports → mail. ``cli`` is a thin layer over these modules.
"""

__version__ = "0.1.0"
