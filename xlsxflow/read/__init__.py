"""Reading returned workbooks: untrusted bytes in, a format-neutral ``RawBook`` out.

``sniff`` routes a file by its content (never by its extension), ``safezip`` opens zip
containers within size limits, and one module per format (``xlsx``, ``xls``, ``ods``)
produces the same ``RawBook``. Nothing here knows about forms; ``intake`` does.
"""
