"""CSV and XLSX exports, streamed: rows come from a server-side cursor (db/exports.py) in one
read-only transaction and are written out as they arrive. CSV holds dates and times as ISO 8601
text; XLSX as Excel dates (a number with a date format; times in UTC), so a spreadsheet sorts and
filters them as dates."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import xlsxwriter

from bridge_reporting.app.read import read
from bridge_reporting.db import exports
from bridge_reporting.domain.cells import neutralise
from bridge_reporting.domain.scope import Dataset, Scope

FETCH = 1000


# Excel number formats of the XLSX export's date cells (times are UTC: Excel has no time zones).
XLSX_DATE = "yyyy-mm-dd"
XLSX_DATETIME = "yyyy-mm-dd hh:mm"


def _cell(value: Any) -> Any:  # Any: an export cell, of its column's type
    """A cell as text formats take it: dates and times in ISO 8601 (with their UTC offset)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _value(value)


def _value(value: Any) -> Any:  # Any: an export cell, of its column's type
    if isinstance(value, list):
        return neutralise(";".join(str(v) for v in value))
    return neutralise(value)  # no formula runs when the file is opened (domain/cells.py)


def utc_naive(value: datetime) -> datetime:
    """A datetime as an Excel date-time holds it: in UTC, without a zone (a naive one is kept)."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


async def _rows(
    pool: asyncpg.Pool, dataset: Dataset, scope: Scope
) -> AsyncIterator[tuple[list[str], list[Any]]]:  # Any: cells of the dataset's columns, as read
    async with read(pool) as conn:
        async for header, row in exports.rows(conn, dataset, scope, FETCH):
            yield header, row


async def csv_stream(pool: asyncpg.Pool, dataset: Dataset, scope: Scope) -> AsyncIterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    started = False
    async for header, row in _rows(pool, dataset, scope):
        if not started:
            writer.writerow(header)
            started = True
        if row:
            writer.writerow([_cell(v) for v in row])
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
        # Dates and times are real Excel dates (numbers with a date format), so they sort and filter.
        as_date = workbook.add_format({"num_format": XLSX_DATE})
        as_datetime = workbook.add_format({"num_format": XLSX_DATETIME})
        widths: dict[int, int] = {}  # date columns: wide enough to show the date instead of ####
        r = 0
        async for header, row in _rows(pool, dataset, scope):
            if r == 0:
                sheet.write_row(0, 0, header, bold)
                r = 1
            if not row:
                continue
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, utc_naive(value), as_datetime)
                    widths[c] = max(widths.get(c, 0), 17, len(header[c]) + 1)
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, value, as_date)
                    widths[c] = max(widths.get(c, 0), 11, len(header[c]) + 1)
                else:
                    sheet.write(r, c, _value(value))
            r += 1
            if r % FETCH == 0:
                await asyncio.sleep(0)
        for c, width in widths.items():
            sheet.set_column(c, c, width)
        await asyncio.to_thread(workbook.close)
        with open(path, "rb") as fh:  # noqa: ASYNC230 - local temp file, chunked
            while chunk := fh.read(256 * 1024):
                yield chunk
    finally:
        os.unlink(path)
