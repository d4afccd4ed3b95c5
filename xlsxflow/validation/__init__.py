"""Rules that a returned form must satisfy, each family in its own module.

``values`` turns one cell into a clean value (types, lengths, ranges, choices, dates
inside the cycle); ``tables`` handles repeating rows (complete rows, minimum rows);
``rules`` applies the cross-field rules a spec declares; ``identity`` checks who sent
the form against the roster and the cycle. All of them return problems, never raise.
"""

from xlsxflow.validation.context import ValidationContext
from xlsxflow.validation.form import Validated, validate_form

__all__ = ["Validated", "ValidationContext", "validate_form"]
