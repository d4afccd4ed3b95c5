"""Form specifications: the one declarative description of every workbook we issue.

The TOML files under ``workbook_templates/`` are loaded into the models of ``spec``; the
``layout`` module turns a spec into cell positions and defined names. Templates, readers,
validators and register columns all work from these objects, never from hard-coded cells.
"""

from xlsxflow.forms.catalog import Catalog, catalog

__all__ = ["Catalog", "catalog"]
