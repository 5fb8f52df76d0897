"""Read an uploaded file into raw sheets (lists of rows), judging its type by content.

Spreadsheets (.xlsx/.xlsm/.ods are zip files, .xls is an OLE2 file) are read with
python-calamine; CSV is decoded as UTF-8 (with or without BOM) or GB18030. Whatever a file
claims, reading it stays bounded:
- a zip whose members would inflate beyond a sane bound is refused: from its central
  directory before anything is inflated, then by inflating every member with a hard cap;
- while they are inflated, the sheets are scanned for a filled cell beyond the size of a
  return (extent.py), refused with that cell named before calamine builds any grid;
- the grid calamine built (an .xls has no XML to scan) and the rows of a CSV are held to
  the same size;
- an encrypted workbook and a web page saved as .xls are named for what they are.
The server reads through `read_upload`, in the reader worker (worker.py), whose memory and
time ceilings catch whatever slips past all this.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass, field
from xml.etree import ElementTree
from xml.parsers import expat

from python_calamine import CalamineWorkbook

from liushou_dash.ingest import worker
from liushou_dash.ingest.extent import (
    MAX_ROWS,
    FarCell,
    OdsFarCell,
    beyond,
    column_letters,
    refusal,
)
from liushou_dash.ingest.issues import Issue, issue

MAX_FILE_BYTES = 20 * 1024 * 1024          # a county return is a few hundred KB
MAX_INFLATED_BYTES = 200 * 1024 * 1024     # all members of a workbook together, inflated
MAX_MEMBER_RATIO = 200                     # xml compresses ~10-30x; bombs ~1000x
INFLATE_CHUNK = 1024 * 1024
ZIP_MAGIC, OLE2_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SPREADSHEET_MEMBERS = ("xl/workbook.xml", "content.xml")
ODS_CONTENT = "content.xml"
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
CELL_TYPES = (dt.datetime, dt.date, dt.time, dt.timedelta)  # what calamine reads besides
# str, int, float and bool

ENCRYPTED = "文件已加密，请取消密码后另存为.xlsx"
WEB_PAGE = "这是网页格式文件，请用Excel或WPS打开后另存为.xlsx"
READ_TOO_LONG = (f"文件读取超时（超过 {worker.READ_SECONDS} 秒），已拒绝。请用Excel或WPS打开，"
                 "删除多余的行列后另存为.xlsx，再重新上传")
READ_TOO_LARGE = ("文件过大或结构异常，读取时超出了服务器为一份文件留出的内存，已拒绝。"
                  "请用Excel或WPS打开，删除多余的行列后另存为.xlsx，再重新上传")


class Unreadable(worker.Refusal):
    """E01: the file cannot be read as a return; the message (Chinese) says why, and names
    the sheet when one sheet is to blame. Everything lives in args, so that the exception
    crosses from the reader worker as it was raised there."""

    def __init__(self, message: str, sheet: str | None = None):
        super().__init__(message, sheet)

    @property
    def issue(self) -> Issue:
        message, sheet = self.args
        return issue("E01", message, sheet=sheet)


@dataclass
class RawSheet:
    name: str
    rows: list[list]
    merged: list = field(default_factory=list)  # ((row0, col0), (row1, col1)), 0-based


# --- Zip files: .xlsx, .xlsm, .ods ---------------------------------------------------------------

def _zip_members(data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The zip's members; a zip bomb is refused from its central directory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Unreadable(f"文件已损坏，无法打开（{type(exc).__name__}）") from None
    names = {m.filename for m in members}
    if not any(n in names for n in SPREADSHEET_MEMBERS):
        raise Unreadable("文件不是Excel或WPS表格（可能是Word文档或压缩包），请上传 .xlsx、.xls 或 .csv 文件")
    declared = sum(m.file_size for m in members)
    if declared > MAX_INFLATED_BYTES or any(
            m.file_size > 1024 * 1024 and m.file_size > MAX_MEMBER_RATIO * max(m.compress_size, 1)
            for m in members):
        raise Unreadable("文件解压后体积异常（疑似压缩炸弹），已拒绝")
    return archive, members


def _worksheets(archive: zipfile.ZipFile) -> dict[str, str]:
    """The members calamine reads as worksheets -> the sheets' names as the clerk knows them,
    from xl/workbook.xml and its relationships. When those cannot be read, every XML member
    under xl/ (none in an .ods), named by its path: calamine will likely refuse such a file,
    and nothing it might read goes unscanned."""
    try:
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError):
        return {m: m for m in archive.namelist() if m.startswith("xl/") and m.endswith(".xml")}
    targets = {r.get("Id"): r.get("Target", "") for r in relations}
    sheets = workbook.iterfind("{*}sheets/{*}sheet")
    relation = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    return {_member_of(targets.get(s.get(relation), "")): s.get("name", "") for s in sheets}


def _member_of(target: str) -> str:
    """A relationship's target as a member name: relative to xl/ unless it starts with /."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")


def _scanner(member: str, worksheets: dict[str, str]) -> FarCell | OdsFarCell | None:
    """What looks for filled cells beyond a return's size in `member`, if it holds cells
    calamine reads: a worksheet, or an .ods's content."""
    if member == ODS_CONTENT:
        return OdsFarCell()
    return FarCell(worksheets[member]) if member in worksheets else None


def _inflate_and_scan(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> None:
    """Inflate every member with a hard cap on the total (declared sizes can lie; ZipExtFile
    stops at the declared size and checks the CRC), scanning the sheets on the way: a sheet
    with a filled cell beyond a return's size is refused, naming it."""
    inflated = 0
    try:
        worksheets = _worksheets(archive)
        for member in members:
            scanner = _scanner(member.filename, worksheets)
            with archive.open(member) as stream:
                while chunk := stream.read(INFLATE_CHUNK):
                    inflated += len(chunk)
                    if inflated > MAX_INFLATED_BYTES:
                        raise Unreadable("文件解压后体积异常（疑似压缩炸弹），已拒绝")
                    if scanner:
                        scanner.feed(chunk)
            found = scanner.close() if scanner else None
            if found:
                sheet, cell = found
                raise Unreadable(refusal(cell), sheet=sheet)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, expat.ExpatError,
            ValueError) as exc:
        raise Unreadable(f"文件已损坏，无法打开（{type(exc).__name__}）") from None


def _read_zip(data: bytes) -> list[RawSheet]:
    archive, members = _zip_members(data)
    _inflate_and_scan(archive, members)
    return _read_spreadsheet(data)


# --- Spreadsheets --------------------------------------------------------------------------------

def _sheet(workbook: CalamineWorkbook, name: str) -> RawSheet:
    """One sheet's cells from A1 on; a grid beyond a return's size is refused before its
    rows become Python objects (this is where an .xls is first held to the caps)."""
    sheet = workbook.get_sheet_by_name(name)
    if sheet.end is not None and beyond(sheet.end[0] + 1, sheet.end[1] + 1):
        raise Unreadable(refusal(f"{column_letters(sheet.end[1] + 1)}{sheet.end[0] + 1}"),
                         sheet=name)
    return RawSheet(name, sheet.to_python(skip_empty_area=False), sheet.merged_cell_ranges or [])


def _read_spreadsheet(data: bytes) -> list[RawSheet]:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        return [_sheet(workbook, name) for name in workbook.sheet_names]
    except Unreadable:
        raise
    except Exception as exc:  # calamine raises its own error types for every broken file
        raise Unreadable(f"表格无法读取，请用Excel或WPS另存为 .xlsx 后重试（{type(exc).__name__}）") from None


def _has_stream(data: bytes, name: str) -> bool:
    """Whether an OLE2 compound file has a stream called `name`: a directory entry (128
    bytes, aligned) starts with the name in UTF-16 and gives its length at byte 64."""
    encoded = name.encode("utf-16-le") + b"\0\0"
    at = data.find(encoded)
    while at >= 0:
        if at % 128 == 0 and int.from_bytes(data[at + 64:at + 66], "little") == len(encoded):
            return True
        at = data.find(encoded, at + 1)
    return False


def _encrypted(data: bytes) -> bool:
    """An Office workbook saved with a password: an OLE2 file holding the encrypted package
    and how it is encrypted (ECMA-376), which calamine cannot tell from a broken file."""
    return _has_stream(data, "EncryptedPackage") and _has_stream(data, "EncryptionInfo")


# --- Text files: CSV, and what is not a CSV ------------------------------------------------------

def _web_page(data: bytes) -> bool:
    """An HTML or MHTML page, as Excel's 网页 format and many web systems' "Excel" exports
    save it under an .xls name."""
    head = data[:2048]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode()
    head = head.removeprefix(codecs.BOM_UTF8).lstrip().lower()
    tags = (b"<html", b"<table", b"<!doctype html")
    return head.startswith(b"mime-version:") or (
        head.startswith(b"<") and any(tag in head for tag in tags))


def _decode_text(data: bytes) -> str:
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable("CSV文件的文字编码无法识别，请另存为 UTF-8 或 GBK 编码")


def _filled(row: list[str]) -> list[str]:
    """The row without its trailing empty fields (a line may end in a million commas)."""
    width = len(row)
    while width and not row[width - 1]:
        width -= 1
    return row[:width]


def _csv_rows(text: str, dialect) -> list[list[str]]:
    """The CSV's rows, held to a return's size as they are read: a line beyond it with
    anything on it is refused, blank lines beyond it are dropped."""
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        row = _filled(row)
        if row and beyond(number, len(row)):
            raise Unreadable(refusal(f"{column_letters(len(row))}{number}"))
        if number <= MAX_ROWS:
            rows.append(row)
    return rows


def _read_csv(data: bytes) -> list[RawSheet]:
    text = _decode_text(data)
    if "\x00" in text:
        raise Unreadable("文件不是表格文件，请上传 .xlsx、.xls 或 .csv 文件")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = _csv_rows(text, dialect)
    except csv.Error as exc:
        raise Unreadable(f"CSV文件格式有误，无法读取（{exc}）") from None
    width = max((len(row) for row in rows), default=0)
    return [RawSheet("", [row + [""] * (width - len(row)) for row in rows])]


# --- Entry points --------------------------------------------------------------------------------

def read_file(data: bytes) -> list[RawSheet]:
    """Raw sheets of a spreadsheet or CSV file, read in this process; raises Unreadable (E01).
    The server calls read_upload instead."""
    if not data:
        raise Unreadable("文件是空的")
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 "
                         f"{MAX_FILE_BYTES // 1024 // 1024} MB")
    if data.startswith(ZIP_MAGIC):
        return _read_zip(data)
    if data.startswith(OLE2_MAGIC):
        if _encrypted(data):
            raise Unreadable(ENCRYPTED)
        return _read_spreadsheet(data)
    if data[:5] in (b"%PDF-", b"\x89PNG\r") or data[:3] == b"\xff\xd8\xff":
        raise Unreadable("文件不是表格文件（是PDF或图片），请上传 .xlsx、.xls 或 .csv 文件")
    if _web_page(data):
        raise Unreadable(WEB_PAGE)
    return _read_csv(data)


def read_upload(data: bytes) -> list[RawSheet]:
    """read_file in the reader worker, so that no file can take the server down: a worker
    that runs out of memory or time is refused as E01 too."""
    try:
        return worker.call(read_file, data, returns=(RawSheet, Unreadable, *CELL_TYPES))
    except worker.WorkerLost as lost:
        raise Unreadable(READ_TOO_LONG if lost.timed_out else READ_TOO_LARGE) from None
