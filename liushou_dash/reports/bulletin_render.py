"""The bulletin's blocks written as a Word document in the form of a government bulletin,
and its tables as a workbook.

Layout after the usual form of 公文 (GB/T 9704): A4, a red masthead and rule, the title in a
large serif face, body text in 仿宋 三号 with first-line indent, headings in 黑体, lead-ins in
楷体, page numbers "— 1 —" at the foot. Font names are the ones Word and WPS on Windows carry;
LibreOffice substitutes its CJK fonts for them.
"""
from __future__ import annotations

import datetime as dt
import io

import pandas as pd
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.engine import Engine

from liushou_dash import catalog
from liushou_dash.catalog import wording
from liushou_dash.core.cell_text import defuse, display_width
from liushou_dash.core.periods import parse_period
from liushou_dash.indicators.alerts import REPORT_LABELS
from liushou_dash.indicators.alerts import as_frame as alerts_frame
from liushou_dash.reports.bulletin import (
    GROUP,
    OFFICE,
    Bulletin,
    Heading,
    Paragraph,
    Picture,
    Table,
    collect,
)
from liushou_dash.reports.bulletin_text import content, title

RED = RGBColor(0xC0, 0x00, 0x00)
TITLE_FONT, BODY_FONT, HEADING_FONT, LEAD_FONT = "宋体", "仿宋", "黑体", "楷体"
BODY_SIZE, TABLE_SIZE, CAPTION_SIZE = Pt(16), Pt(9), Pt(10.5)
BODY_LINE = Pt(28)        # fixed line pitch of 公文 body text
PICTURE_WIDTH = Cm(15.5)
HEADER_FILL = "D9E2F3"
CELL_MARGIN_TWIPS = 45    # 0.08 cm; Word's default is 108
# What follows w:pBdr inside w:pPr in the schema (CT_PPr's sequence, which python-docx keeps
# private): the border must be inserted before any of these.
PPR_AFTER_BORDER = tuple(f"w:{tag}" for tag in (
    "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap", "overflowPunct",
    "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
    "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
    "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle",
    "rPr", "sectPr", "pPrChange"))


# --- Runs and paragraphs -----------------------------------------------------------------------

def _font(run, name: str, size, bold: bool = False, colour: RGBColor | None = None):
    """Set a run's face for Latin and East Asian text alike (Word keeps them apart)."""
    run.font.name, run.font.size, run.font.bold = name, size, bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    if colour is not None:
        run.font.color.rgb = colour
    return run


def _paragraph(doc, text: str = "", font: str = BODY_FONT, size=BODY_SIZE, bold=False,
               align=None, indent: bool = False, colour=None, before=0, after=0,
               keep_with_next: bool = False):
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.keep_with_next = keep_with_next  # headings and captions stay with what they head
    fmt.line_spacing = Pt(max(BODY_LINE.pt, size.pt * 1.3))  # a Length: exact line pitch
    if indent:
        fmt.first_line_indent = size * 2
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), font, size, bold, colour)
    return p


def _border(paragraph, side: str, colour: str = "C00000", size: int = 12):
    """A rule under (or over) a paragraph: the red line of the masthead, the 版记 lines."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        # Word refuses a document whose pPr children are out of schema order.
        ppr.insert_element_before(borders, *PPR_AFTER_BORDER)
    line = OxmlElement(f"w:{side}")
    for key, value in (("val", "single"), ("sz", str(size)), ("space", "1"), ("color", colour)):
        line.set(qn(f"w:{key}"), value)
    borders.append(line)


def _page_number_footer(section):
    """"— N —" centred at the foot of every page."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("— "), BODY_FONT, Pt(14))
    run = _font(p.add_run(), BODY_FONT, Pt(14))
    for tag, attrs, text in (("w:fldChar", {"w:fldCharType": "begin"}, None),
                             ("w:instrText", {"xml:space": "preserve"}, " PAGE "),
                             ("w:fldChar", {"w:fldCharType": "end"}, None)):
        element = OxmlElement(tag)
        for key, value in attrs.items():
            element.set(qn(key), value)
        if text:
            element.text = text
        run._element.append(element)
    _font(p.add_run(" —"), BODY_FONT, Pt(14))


# --- The document ----------------------------------------------------------------------------

def _page(doc):
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    _page_number_footer(section)


def _masthead(doc, b: Bulletin):
    _paragraph(doc, f"{b.county_name}留守儿童关爱工作通报", TITLE_FONT, Pt(30), True,
               WD_ALIGN_PARAGRAPH.CENTER, colour=RED, after=6)
    _paragraph(doc, "{}年第{}期".format(*parse_period(b.period)), BODY_FONT, Pt(16),
               align=WD_ALIGN_PARAGRAPH.CENTER, after=6)
    if b.demo:
        _paragraph(doc, "（示例数据，不代表任何真实情况）", BODY_FONT, Pt(12),
                   align=WD_ALIGN_PARAGRAPH.CENTER, colour=RED)
    line = _paragraph(doc, f"{b.county_name}{OFFICE}", BODY_FONT, Pt(14))
    line.paragraph_format.tab_stops.add_tab_stop(Cm(15.6), WD_TAB_ALIGNMENT.RIGHT)
    _font(line.add_run(f"\t{wording.date_text(b.issued)}"), BODY_FONT, Pt(14))
    _border(line, "bottom")
    _paragraph(doc, title(b), TITLE_FONT, Pt(22), True,
               WD_ALIGN_PARAGRAPH.CENTER, before=24, after=18)


def _cell_text(cell, text: str, bold: bool = False):
    cell.text = ""
    p = cell.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run(str(text)), BODY_FONT if not bold else HEADING_FONT, TABLE_SIZE, bold)


def _shade(cell, fill: str):
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _narrow_margins(table, twips: int = CELL_MARGIN_TWIPS):
    """Narrow left/right cell margins, so that 100.0 fits a 1.2 cm column at 9 pt."""
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(twips))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    # Schema order: tblCellMar comes after tblLayout and before these.
    table._tbl.tblPr.insert_element_before(margins, "w:tblLook", "w:tblCaption",
                                           "w:tblDescription", "w:tblPrChange")


def _repeat_header(row):
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


def _table(doc, block: Table):
    _paragraph(doc, block.caption, HEADING_FONT, CAPTION_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER,
               before=6, after=3, keep_with_next=True)
    frame = block.frame
    table = doc.add_table(rows=1, cols=len(frame.columns))
    table.style, table.alignment = "Table Grid", WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _narrow_margins(table)
    for cell, header in zip(table.rows[0].cells, frame.columns):
        _cell_text(cell, header, bold=True)
        _shade(cell, HEADER_FILL)
    _repeat_header(table.rows[0])
    for values in frame.itertuples(index=False):
        for cell, value in zip(table.add_row().cells, values):
            _cell_text(cell, value)
    # Word reads the cells' widths, LibreOffice the grid's: set both.
    for column, width in zip(table.columns, block.widths):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)
    if block.note:
        _paragraph(doc, block.note, BODY_FONT, TABLE_SIZE, before=2, after=6)
    else:
        _paragraph(doc, "", size=Pt(6))


def _picture(doc, block: Picture):
    p = _paragraph(doc, align=WD_ALIGN_PARAGRAPH.CENTER, before=6, keep_with_next=True)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE  # EXACTLY would clip it
    p.add_run().add_picture(io.BytesIO(block.png), width=PICTURE_WIDTH)
    _paragraph(doc, block.caption, HEADING_FONT, CAPTION_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER,
               after=6)


def _body_paragraph(doc, block: Paragraph):
    p = _paragraph(doc, indent=True)
    if block.lead:
        _font(p.add_run(block.lead), LEAD_FONT, BODY_SIZE, bold=True)
    _font(p.add_run(block.text), BODY_FONT, BODY_SIZE)


def _sign_off(doc, b: Bulletin):
    for text, before in ((f"{b.county_name}{OFFICE}", 28), (wording.date_text(b.issued), 0)):
        p = _paragraph(doc, text, align=WD_ALIGN_PARAGRAPH.RIGHT, before=before)
        p.paragraph_format.right_indent = Cm(1)
    copy = _paragraph(doc, "抄送：县委、县人大、县政府、县政协有关领导，县"
                      f"{GROUP}各成员单位。", size=Pt(14), before=24)
    _border(copy, "top", "000000", 6)
    _border(copy, "bottom", "000000", 6)


RENDERERS = {Heading: lambda doc, block: _paragraph(doc, block.text, HEADING_FONT, BODY_SIZE,
                                                     bold=True, indent=True, before=6,
                                                     keep_with_next=True),
             Paragraph: _body_paragraph, Table: _table, Picture: _picture}


def docx_bytes(b: Bulletin, blocks: list) -> bytes:
    """The bulletin as a .docx: masthead, title, `blocks`, sign-off."""
    doc = Document()
    doc.core_properties.title = title(b)
    doc.core_properties.author = f"{b.county_name}{OFFICE}"
    _page(doc)
    _masthead(doc, b)
    for block in blocks:
        RENDERERS[type(block)](doc, block)
    _sign_off(doc, b)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# --- The workbook ----------------------------------------------------------------------------

PERCENT_FORMAT, COUNT_FORMAT, SCORE_FORMAT = "0.0%", "#,##0", "0.00"


def _sheet(workbook, name: str, frame: pd.DataFrame, formats: dict[str, str]):
    sheet = workbook.create_sheet(name)
    sheet.append(list(frame.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for values in frame.itertuples(index=False):
        sheet.append([_xlsx_value(v) for v in values])
    for index, header in enumerate(frame.columns, start=1):
        letter = get_column_letter(index)
        widest = max([display_width(str(header)), *(display_width(str(v)) for v in frame[header])])
        sheet.column_dimensions[letter].width = min(max(widest + 2, 8), 60)
        if header in formats:
            for cell in sheet[letter][1:]:
                cell.number_format = formats[header]
    sheet.freeze_panes = "A2"


def _xlsx_value(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, str):
        return defuse(value)
    return value.item() if hasattr(value, "item") else value


def _nullable(column: pd.Series) -> pd.Series:
    """Whole numbers with gaps as Python objects: None leaves the cell empty."""
    return column.astype("object").where(column.notna(), None)


def ranking_sheet(b: Bulletin) -> tuple[pd.DataFrame, dict]:
    r = b.ranked
    rates = {catalog.INDICATORS_BY_KEY[key].label: r[key] for key in b.rules.weights}
    frame = pd.DataFrame({
        "排名": _nullable(r["rank"]), "乡镇代码": r["township_code"],
        "乡镇名称": r["township_name"], "综合得分": r["score"],
        "上月排名": _nullable(r["previous_rank"]), "名次变化": _nullable(r["rank_change"]),
        **rates})
    return frame, {"综合得分": SCORE_FORMAT, **{label: PERCENT_FORMAT for label in rates}}


def kpi_sheet(b: Bulletin) -> pd.DataFrame:
    """The figures of 表1 as numbers: 本月 and 上月 are figures.py's value and previous (last
    month over the same townships), the very numbers `figures --json` prints."""
    shown = b.figures.figures
    return pd.DataFrame({"指标": [f.label for f in shown],
                         "本月": [_number(f.value) for f in shown],
                         "上月": [_number(f.previous) for f in shown],
                         "目标": [f.indicator.target for f in shown],
                         "单位": [f.indicator.unit for f in shown],
                         "口径": [f.basis for f in shown]})


def _number(value) -> float | None:
    return None if pd.isna(value) else float(value)


def _kpi_formats(sheet, b: Bulletin):
    """Per-row number formats: a rate row in %, a count row as a whole number."""
    for row, figure in enumerate(b.figures.figures, start=2):
        percent = figure.indicator.is_percent
        for column in ("B", "C", "D"):
            sheet[f"{column}{row}"].number_format = PERCENT_FORMAT if percent else COUNT_FORMAT


def xlsx_bytes(b: Bulletin) -> bytes:
    """The bulletin's tables: 主要指标, 乡镇排名, 无人监护学校, 预警事项, 报送情况."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    _sheet(workbook, "主要指标", kpi_sheet(b), {})
    _kpi_formats(workbook["主要指标"], b)
    _sheet(workbook, "乡镇排名", *ranking_sheet(b))
    u = b.unguarded
    _sheet(workbook, "无人监护学校", pd.DataFrame({
        "乡镇名称": u["township_name"], "学校代码": u["school_code"], "学校名称": u["school_name"],
        "无人监护人数": u["guardian_none"].astype("int64"),
        "留守儿童数": u["left_behind"].astype("int64")}), {})
    _sheet(workbook, "预警事项", alerts_frame(b.alerts), {})
    s = b.status
    _sheet(workbook, "报送情况", pd.DataFrame({
        "乡镇代码": s["township_code"], "乡镇名称": s["township_name"],
        "截止日期": s["due"].map(wording.date_text),
        "首次报送日期": s["first_submitted"].map(lambda d: wording.date_text(d) if d else ""),
        "逾期天数": _nullable(s["days_late"]), "报送情况": s["state"].map(REPORT_LABELS),
        "审核状态": s["status"]}), {})
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def build(engine: Engine, period: str, approved_only: bool = False,
          today: dt.date | None = None) -> tuple[Bulletin, list, bytes, bytes]:
    """(data, blocks, DOCX bytes, XLSX bytes) of the bulletin of `period`."""
    b = collect(engine, period, approved_only, today)
    blocks = content(b)
    return b, blocks, docx_bytes(b, blocks), xlsx_bytes(b)
