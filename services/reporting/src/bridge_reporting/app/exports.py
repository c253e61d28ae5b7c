"""CSV and XLSX exports, streamed: rows come from a server-side cursor (db/exports.py) in one
read-only transaction and are written out as they arrive."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import asyncpg
import xlsxwriter

from bridge_reporting.app.read import read
from bridge_reporting.db import exports
from bridge_reporting.domain.cells import neutralise
from bridge_reporting.domain.scope import Dataset, Scope

FETCH = 1000


def _cell(value: Any) -> Any:  # Any: an export cell, of its column's type
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return neutralise(";".join(str(v) for v in value))
    return neutralise(value)  # no formula runs when the file is opened (domain/cells.py)


async def _rows(
    pool: asyncpg.Pool, dataset: Dataset, scope: Scope
) -> AsyncIterator[tuple[list[str], list[Any]]]:  # Any: cells of the dataset's columns
    async with read(pool) as conn:
        async for header, row in exports.rows(conn, dataset, scope, FETCH):
            yield header, [_cell(v) for v in row]


async def csv_stream(pool: asyncpg.Pool, dataset: Dataset, scope: Scope) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    started = False
    async for header, row in _rows(pool, dataset, scope):
        if not started:
            writer.writerow(header)
            started = True
        if row:
            writer.writerow(row)
        if buf.tell() > 64 * 1024:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode()


async def xlsx_stream(pool: asyncpg.Pool, dataset: Dataset, scope: Scope) -> AsyncIterator[bytes]:
    # constant_memory: each row is flushed to a temporary file as soon as the next one starts,
    # so memory stays flat however many rows; the zip is assembled on close and streamed out.
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        sheet = workbook.add_worksheet(dataset)
        bold = workbook.add_format({"bold": True})
        r = 0
        async for header, row in _rows(pool, dataset, scope):
            if r == 0:
                sheet.write_row(0, 0, header, bold)
                r = 1
            if row:
                sheet.write_row(r, 0, row)
                r += 1
                if r % FETCH == 0:
                    await asyncio.sleep(0)
        await asyncio.to_thread(workbook.close)
        with open(path, "rb") as fh:  # noqa: ASYNC230 - local temp file, chunked
            while chunk := fh.read(256 * 1024):
                yield chunk
    finally:
        os.unlink(path)
