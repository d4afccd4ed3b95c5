"""Summary workbooks for the department and its leaders (figures → workbooks).

``quarterly`` (调度会汇总), ``annual`` (年度评估) and ``approval`` (立项批复名单) turn the
register's figures into rows; ``excel.report_book`` draws them. File names are Chinese,
by cycle and meeting, and safe on Windows.
"""
