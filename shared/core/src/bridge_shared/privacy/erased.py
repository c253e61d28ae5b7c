"""What a reader gets for a personal field once its person is erased (valid for the field's type)."""

from __future__ import annotations

ERASED_NAME = "Erased participant"
ERASED_EMAIL = "erased@erased.example.com"  # example.com never receives mail (RFC 2606)
ERASED_ID = "erased"
ERASED_TEXT = "[erased]"


def is_erased_email(email: object) -> bool:
    return str(email) == ERASED_EMAIL
