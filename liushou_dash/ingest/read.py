"""Read an uploaded file into raw sheets (lists of rows), judging its type by content.

Spreadsheets (.xlsx/.xlsm/.ods are zip files, .xls is an OLE2 file) are read with
python-calamine; CSV is decoded as UTF-8 (with or without BOM) or GB18030. A zip whose members
would inflate beyond a sane bound is refused: from its central directory before anything is
parsed, and by inflating every member with a hard cap, beside the reader, whose verdict
stands.
"""
from __future__ import annotations

import csv
import io
import threading
import zipfile
from dataclasses import dataclass, field

from python_calamine import CalamineWorkbook

from .issues import Issue, issue

MAX_FILE_BYTES = 20 * 1024 * 1024          # a county return is a few hundred KB
MAX_INFLATED_BYTES = 200 * 1024 * 1024     # all members of a workbook together, inflated
MAX_MEMBER_RATIO = 200                     # xml compresses ~10-30x; bombs ~1000x
ZIP_MAGIC, OLE2_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SPREADSHEET_MEMBERS = ("xl/workbook.xml", "content.xml")
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


class Unreadable(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.issue: Issue = issue("E01", message)


@dataclass
class RawSheet:
    name: str
    rows: list[list]
    merged: list = field(default_factory=list)  # ((row0, col0), (row1, col1)), 0-based


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


def _inflate_within_bounds(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip bomb by inflating its members with a hard cap."""
    # Declared sizes can lie; ZipExtFile stops at the declared size and checks the CRC, so
    # inflating in chunks bounds memory and time by what passed the check above.
    inflated = 0
    try:
        for member in members:
            with archive.open(member) as stream:
                while chunk := stream.read(1024 * 1024):
                    inflated += len(chunk)
                    if inflated > MAX_INFLATED_BYTES:
                        raise Unreadable("文件解压后体积异常（疑似压缩炸弹），已拒绝")
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as exc:
        raise Unreadable(f"文件已损坏，无法打开（{type(exc).__name__}）") from None


def _check_zip(data: bytes) -> None:
    """Refuse a zip bomb from its central directory, then by inflating with a hard cap."""
    _inflate_within_bounds(*_zip_members(data))


def _read_zip(data: bytes) -> list[RawSheet]:
    """_check_zip, then the workbook read, with the same outcome; but the inflating half of
    the check runs in a thread beside the reader (both release the GIL), and its verdict
    stands whatever the reader found. The reader inflates no more than the central
    directory declares (calamine refuses a member larger than declared), and that passed
    the first half of the check before the reader starts."""
    archive, members = _zip_members(data)
    verdict: list[BaseException] = []

    def check() -> None:
        try:
            _inflate_within_bounds(archive, members)
        except BaseException as exc:  # handed to the reading thread below
            verdict.append(exc)
    checking = threading.Thread(target=check, name="ingest-zip-check", daemon=True)
    checking.start()
    try:
        sheets, failure = _read_spreadsheet(data), None
    except Unreadable as exc:
        sheets, failure = None, exc
    finally:
        checking.join()
    if verdict:
        raise verdict[0]
    if failure is not None:
        raise failure
    return sheets


def _read_spreadsheet(data: bytes) -> list[RawSheet]:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(name)
            sheets.append(RawSheet(name, sheet.to_python(skip_empty_area=False),
                                   sheet.merged_cell_ranges or []))
        return sheets
    except Exception as exc:  # calamine raises its own error types for every broken file
        raise Unreadable(f"表格无法读取，请用Excel或WPS另存为 .xlsx 后重试（{type(exc).__name__}）") from None


def _decode_text(data: bytes) -> str:
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable("CSV文件的文字编码无法识别，请另存为 UTF-8 或 GBK 编码")


def _read_csv(data: bytes) -> list[RawSheet]:
    text = _decode_text(data)
    if "\x00" in text:
        raise Unreadable("文件不是表格文件，请上传 .xlsx、.xls 或 .csv 文件")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    width = max((len(row) for row in rows), default=0)
    return [RawSheet("", [row + [""] * (width - len(row)) for row in rows])]


def read_file(data: bytes) -> list[RawSheet]:
    """Raw sheets of a spreadsheet or CSV file; raises Unreadable (E01)."""
    if not data:
        raise Unreadable("文件是空的")
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），上限为 "
                         f"{MAX_FILE_BYTES // 1024 // 1024} MB")
    if data.startswith(ZIP_MAGIC):
        return _read_zip(data)
    if data.startswith(OLE2_MAGIC):
        return _read_spreadsheet(data)
    if data[:5] in (b"%PDF-", b"\x89PNG\r") or data[:3] == b"\xff\xd8\xff":
        raise Unreadable("文件不是表格文件（是PDF或图片），请上传 .xlsx、.xls 或 .csv 文件")
    return _read_csv(data)
