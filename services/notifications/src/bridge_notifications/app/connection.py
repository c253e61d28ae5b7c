"""The connection a use case runs on when its caller owns the transaction: a consumer's (with the
inbox row) or a singleton job's (with the advisory lock). Entry points name it from here, so they
need not import asyncpg."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg

# Any: the record class asyncpg is parametrised with; bridge_shared's consumers and jobs hand out
# Connection[Any] (as_connection), and a Connection[Record] parameter would not accept it.
Connection: TypeAlias = "asyncpg.Connection[Any]"
