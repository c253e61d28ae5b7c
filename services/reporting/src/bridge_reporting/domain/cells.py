"""Export cells a spreadsheet will not run: formula injection (CSV injection) is neutralised.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets when a CSV is opened (`=HYPERLINK("http://evil", "click")` in a
display name would become a live link). OWASP's advice, followed here: prefix such a cell with a
single quote, which the spreadsheet shows as text. Only text cells are changed; numbers (a negative
score) are written as numbers. The XLSX export writes text cells as strings (xlsxwriter with
`strings_to_formulas` off), which no spreadsheet evaluates, and gets the same treatment for a file
that is later saved as CSV.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:  # Any: a cell of its column's type
    """The cell as a spreadsheet should show it: text that would start a formula gets a `'` first."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
