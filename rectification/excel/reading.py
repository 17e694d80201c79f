"""Checking and reading an uploaded workbook, before anything is made of its content.

``xlsx_check`` refuses anything that is not a real, reasonably sized .xlsx by looking at the
bytes and the zip directory (entry count, total uncompressed size) and refuses any part that
declares a DTD or an entity (``zip_declares_dtd``) before openpyxl parses a single byte of XML;
openpyxl then parses through defusedxml where it can (not when lxml is installed, hence the scan). ``workbook_read`` opens the file read-only (streaming, flat memory) within hard caps on
sheets, rows and columns, and always closes it; a cell merged down over several rows reads as if
written on each of them (``_fill_merged_down``), and a hidden sheet is marked as such.
"""

import logging
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# A real ledger is a dozen zip entries and a few megabytes of XML. The declared sizes in the zip
# directory are binding: Python's zipfile stops inflating an entry at its declared size (and
# then fails its CRC check), so checking them here bounds what openpyxl can ever inflate.
MAX_ZIP_ENTRIES = 200
MAX_UNCOMPRESSED_BYTES = 60 * 1024 * 1024
MAX_SHEETS = 20
MAX_COLUMNS = 60
# Rows holding data, per sheet (a city's ledger: up to 20,000 measures); and rows looked at at
# all (empty ones included).
MAX_ROWS = 20_000
MAX_SCAN_ROWS = 25_000
HEADER_SEARCH_ROWS = 10
# Cells filled down from merged ranges, per sheet: a problem's cells merged over its measure rows,
# twenty columns over 20,000 rows at most.
MAX_MERGED_FILL = 500_000

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"


class ImportRefused(Exception):
    """The whole file is refused; ``str()`` is the Chinese reason."""


# --- the file ------------------------------------------------------------------------------


def xlsx_check(fileobj, *, size):
    """Refuse anything but a real .xlsx within the limits; leaves the file at position 0."""
    if size == 0:
        raise ImportRefused(_("文件是空的（0 字节），请重新选择。"))
    if size > MAX_UPLOAD_BYTES:
        raise ImportRefused(
            _("文件超过 %(mb)s MB 的上限，请删除无关的工作表或图片后再导入。")
            % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
        )
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    if head.startswith(_OLE_MAGIC):
        raise ImportRefused(
            _("这是旧版 .xls 文件或设置了打开密码的文件，请在 Excel 中取消密码并“另存为”.xlsx 格式后再导入。")
        )
    if not head.startswith(_ZIP_MAGIC):
        raise ImportRefused(_("文件不是 Excel 工作簿（.xlsx），请上传用 Excel 或 WPS 保存的 .xlsx 文件。"))
    try:
        with zipfile.ZipFile(fileobj) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_ZIP_ENTRIES:
                raise ImportRefused(
                    _("文件内部包含 %(n)s 个部件，超过 %(limit)s 个的上限，不像是台账文件。")
                    % {"n": len(entries), "limit": MAX_ZIP_ENTRIES}
                )
            if sum(entry.file_size for entry in entries) > MAX_UNCOMPRESSED_BYTES:
                raise ImportRefused(
                    _("文件解压后超过 %(mb)s MB 的上限，可能是异常文件，已拒绝。")
                    % {"mb": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)}
                )
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise ImportRefused(_("文件不是 Excel 工作簿（.xlsx）：缺少工作簿结构。"))
            if "xl/vbaProject.bin" in names:
                raise ImportRefused(_("文件包含宏，请另存为不含宏的 .xlsx 格式后再导入。"))
            _refuse_a_dtd(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, RuntimeError):
        raise ImportRefused(_("文件已损坏，无法作为 .xlsx 工作簿打开。")) from None
    finally:
        fileobj.seek(0)


_DTD_MARKERS = tuple(
    marker.encode(encoding) for marker in ("<!DOCTYPE", "<!ENTITY") for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
_SCAN_CHUNK = 256 * 1024


def _refuse_a_dtd(archive):
    if zip_declares_dtd(archive):
        raise ImportRefused(
            _("无法读取该 Excel 文件：文件内部含有 Excel 从不写入的 XML 实体声明，可能是异常文件，已拒绝。")
        )


def zip_declares_dtd(archive):
    """True when any part of an Office file (a zip of XML parts) carries a DTD or an entity.

    Office never writes one, and an entity is how an "XML bomb" multiplies a few bytes into
    gigabytes. The parsers' own defences differ (openpyxl uses defusedxml only when lxml is
    absent, python-docx's lxml parser is configured separately), so the file is refused here,
    before any parser sees it. Each part is read in chunks; the caller has already bounded the
    total uncompressed size.
    """
    overlap = max(len(marker) for marker in _DTD_MARKERS)
    for entry in archive.infolist():
        if entry.is_dir():
            continue
        with archive.open(entry) as part:
            tail = b""
            while chunk := part.read(_SCAN_CHUNK):
                window = tail + chunk
                if any(marker in window for marker in _DTD_MARKERS):
                    return True
                tail = window[-overlap:]
    return False


# --- the sheets ------------------------------------------------------------------------------


@dataclass
class SheetRows:
    title: str
    rows: list  # (Excel row number, tuple of values), rows with data only
    hidden: bool = False  # hidden or "very hidden" in Excel: the import says so and does not read it


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _merged_ranges(worksheet):
    """The merged ranges of a sheet opened read-only, which openpyxl does not give in that mode.

    The sheet's XML is parsed again, streaming (through defusedxml, as openpyxl parses it) and
    clearing each element once passed, for its ``<mergeCell ref="A3:A5"/>`` elements."""
    tag = f"{{{SHEET_MAIN_NS}}}mergeCell"
    ranges = []
    source = worksheet._get_source()
    try:
        for _event, element in iterparse(source):
            if element.tag == tag and element.get("ref"):
                ranges.append(range_boundaries(element.get("ref")))
            element.clear()
    finally:
        source.close()
    return ranges


def _fill_merged_down(title, rows, ranges):
    """Give each row a cell merged down over it the value of the range's first cell.

    A problem's cells merged across its measure rows then read as if repeated on each row, and
    so do a measure's unit or deadline merged across several measures. Ranges merged across
    columns only (a title, an aspect's row, a group header) are left as they are."""
    by_number = {number: index for index, (number, _values) in enumerate(rows)}
    filled = 0
    for min_col, min_row, max_col, max_row in ranges:
        if max_row <= min_row or min_row not in by_number:
            continue
        top = rows[by_number[min_row]][1]
        for number in range(min_row + 1, max_row + 1):
            if number not in by_number:
                continue
            index = by_number[number]
            values = list(rows[index][1])
            values += [None] * (min(max_col, len(top)) - len(values))
            for column in range(min_col, min(max_col, MAX_COLUMNS) + 1):
                if column - 1 < len(top) and _blank(values[column - 1]):
                    values[column - 1] = top[column - 1]
                    filled += 1
            rows[index] = (number, tuple(values))
            if filled > MAX_MERGED_FILL:
                raise ImportRefused(
                    _("工作表“%(sheet)s”的合并单元格过多，请取消不必要的合并后再导入。") % {"sheet": title}
                )


def workbook_read(path):
    """The non-empty rows of every worksheet, read in read-only mode within hard caps."""
    # openpyxl reports a malformed workbook with whatever its parsers raise (KeyError,
    # ValueError, zip and XML errors, defusedxml's EntitiesForbidden...): any failure while
    # reading means the file is refused, and the cause is logged for the administrators.
    try:
        with zipfile.ZipFile(path) as archive:
            _refuse_a_dtd(archive)
        workbook = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except ImportRefused:
        raise
    except Exception:
        logger.warning("Excel import: unreadable workbook", exc_info=True)
        raise ImportRefused(_("无法读取该 Excel 文件，请确认文件未损坏、未加密。")) from None
    try:
        if len(workbook.sheetnames) > MAX_SHEETS:
            raise ImportRefused(
                _("工作簿有 %(n)s 张工作表，超过 %(limit)s 张的上限。")
                % {"n": len(workbook.sheetnames), "limit": MAX_SHEETS}
            )
        sheets = []
        for worksheet in workbook.worksheets:
            # The size a file declares may be wrong; read what is really there, within our caps.
            worksheet.reset_dimensions()
            rows = []
            cells = worksheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True)
            for number, values in enumerate(cells, start=1):
                if number > MAX_SCAN_ROWS:
                    raise ImportRefused(
                        _("工作表“%(sheet)s”超过 %(limit)s 行，请删除多余的行后再导入。")
                        % {"sheet": worksheet.title, "limit": MAX_SCAN_ROWS}
                    )
                if len(values) > MAX_COLUMNS and not _blank(values[MAX_COLUMNS]):
                    raise ImportRefused(
                        _("工作表“%(sheet)s”超过 %(limit)s 列的上限。")
                        % {"sheet": worksheet.title, "limit": MAX_COLUMNS}
                    )
                values = tuple(values[:MAX_COLUMNS])
                if any(not _blank(value) for value in values):
                    rows.append((number, values))
                    if len(rows) > MAX_ROWS:
                        raise ImportRefused(
                            _("工作表“%(sheet)s”超过 %(limit)s 行数据的上限，请拆分后导入。")
                            % {"sheet": worksheet.title, "limit": MAX_ROWS}
                        )
            if rows and worksheet.sheet_state == "visible":
                _fill_merged_down(worksheet.title, rows, _merged_ranges(worksheet))
            sheets.append(SheetRows(worksheet.title, rows, hidden=worksheet.sheet_state != "visible"))
        return sheets
    except ImportRefused:
        raise
    except Exception:
        logger.warning("Excel import: unreadable worksheet", exc_info=True)
        raise ImportRefused(_("无法读取该 Excel 文件，文件内容可能已损坏。")) from None
    finally:
        workbook.close()
