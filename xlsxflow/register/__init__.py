"""The master register: every return ever received, and what the department knows.

``store`` keeps the facts (files, submissions, department edits, audit log) in SQLite;
``archive`` keeps each received file byte for byte under its SHA-256; ``state`` derives
versions, project numbers and project states from the facts, the same whatever order
the files came in; ``merge`` runs one ingestion; ``excel.register_book`` writes
``register.xlsx`` from the derived state.
"""
