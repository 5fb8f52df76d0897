"""The single source of truth for every data element (field) and indicator.

The template, the reader, the validator, the database columns, the exports and the page
labels all read these declarations, so adding a field or an indicator is one edit here
(plus an Alembic revision when it adds a column).
"""
from __future__ import annotations

from dataclasses import dataclass

# Field kinds. Each kind has one normaliser in ingest/normalise.py and one column type.
CODE, TEXT, COUNT, NUMBER, MONEY, DATE, ENUM, BOOL = (
    "code", "text", "count", "number", "money", "date", "enum", "bool")

YES, NO = "是", "否"


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str
    aliases: tuple[str, ...] = ()
    group: str | None = None          # upper header of a two-level header
    required: bool = True             # the column must be present in the sheet
    over_time: str | None = None      # count fields: "last", "sum" or "mean" across months
    choices: tuple[str, ...] = ()     # enum fields: the accepted values, as stored
    choice_aliases: tuple[tuple[str, str], ...] = ()  # (spelling a clerk writes, stored value)
    width: int = 10                   # column width in the template and XLSX exports
    help: str = ""

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every header text that names this field, the label first."""
        return (self.label, *self.aliases)


@dataclass(frozen=True)
class Sheet:
    key: str
    label: str
    fields: tuple[Field, ...]
    aliases: tuple[str, ...] = ()     # sheet names that mean this sheet
    id_key: str = ""                  # the field whose presence marks a data row

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    @property
    def count_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind == COUNT)


def _count(key, label, over_time="last", group=None, aliases=(), help=""):
    return Field(key, label, COUNT, aliases=aliases, group=group, over_time=over_time,
                 width=9, help=help)


_YES_NO_ALIASES = (("有", YES), ("Y", YES), ("YES", YES), ("√", YES), ("✓", YES), ("1", YES),
                   ("TRUE", YES), ("无", NO), ("没有", NO), ("N", NO), ("NO", NO), ("×", NO),
                   ("X", NO), ("0", NO), ("FALSE", NO))


def _yes_no(key, label, aliases=()):
    return Field(key, label, BOOL, aliases=aliases, choices=(YES, NO),
                 choice_aliases=_YES_NO_ALIASES, width=8)


GUARDIAN_GROUP, SEX_GROUP, STAGE_GROUP = "监护类型", "性别", "学段"

SCHOOLS = Sheet(
    key="schools", label="学校月报", aliases=("学校", "月报", "学校月报表", "留守儿童月报"),
    id_key="school_code",
    fields=(
        Field("school_code", "学校代码", CODE, aliases=("学校编码", "学校标识码", "代码"), width=13),
        Field("school_name", "学校名称", TEXT, aliases=("学校", "单位名称", "校名"),
              required=False, width=26),
        _count("students", "在校学生数", aliases=("在校生数", "在校学生", "学生数", "在校生", "在校学生总数", "学生总数", "在校人数")),
        _count("left_behind", "留守儿童数", aliases=("留守儿童", "留守儿童人数", "留守学生数", "留守儿童总数")),
        _count("both_parents_away", "父母均外出", aliases=("父母双方外出", "双亲外出", "父母均外出人数", "父母双方均外出", "双亲均外出")),
        _count("boys", "男", group=SEX_GROUP, aliases=("男生",)),
        _count("girls", "女", group=SEX_GROUP, aliases=("女生",)),
        _count("preschool", "学前", group=STAGE_GROUP, aliases=("幼儿园", "学前教育")),
        _count("primary", "小学", group=STAGE_GROUP),
        _count("junior", "初中", group=STAGE_GROUP),
        _count("guardian_grandparents", "祖辈监护", group=GUARDIAN_GROUP,
               aliases=("祖辈", "隔代监护", "祖父母监护", "祖父母或外祖父母监护")),
        _count("guardian_relatives", "亲友监护", group=GUARDIAN_GROUP,
               aliases=("亲友", "亲属监护", "寄居亲友")),
        _count("guardian_other", "其他委托监护", group=GUARDIAN_GROUP,
               aliases=("其他委托", "其他监护", "委托监护", "其他")),
        _count("guardian_none", "无人监护", group=GUARDIAN_GROUP, aliases=("无监护", "无人", "无人监护人数")),
        _count("boarding", "寄宿", aliases=("寄宿人数", "寄宿生")),
        _count("in_difficulty", "困境留守儿童", aliases=("困境儿童", "困境留守")),
        _count("archived", "已建档", aliases=("建档人数", "建档", "已建档人数", "建档数")),
        _count("paired", "已结对帮扶", aliases=("已结对", "结对帮扶", "结对人数", "已结对帮扶人数", "结对帮扶人数")),
        _count("mentors", "帮扶责任人", aliases=("帮扶责任人数", "帮扶人", "结对帮扶责任人")),
        _count("visited", "本月走访人数", over_time="mean", aliases=("走访人数", "本月走访")),
        _count("parent_contact", "本月亲情联系人数", over_time="mean",
               aliases=("亲情联系人数", "本月亲情联系", "亲情联系")),
        _count("psych_teachers", "心理辅导教师", aliases=("心理辅导教师数", "心理教师", "心理健康教师", "心理辅导教师人数")),
        _count("dropouts", "本月辍学", over_time="sum", aliases=("辍学人数", "辍学")),
        _count("safety_incidents", "本月安全事件", over_time="sum", aliases=("安全事件", "安全事件数")),
        Field("note", "备注", TEXT, aliases=("说明",), required=False, width=20),
    ),
)

HOST_TYPES = ("学校", "村(居)委会", "社区", "其他")
VILLAGE_HOST_TYPES = ("村(居)委会", "社区")  # homes that serve a village
SCHOOL_HOST_TYPE = "学校"

HOMES = Sheet(
    key="homes", label="留守儿童之家", aliases=("之家", "留守儿童之家名单", "关爱阵地"),
    id_key="home_code",
    fields=(
        Field("home_code", "编号", CODE, aliases=("之家编号", "编码"), width=16),
        Field("name", "名称", TEXT, aliases=("之家名称", "留守儿童之家名称"), width=28),
        Field("host_type", "依托类型", ENUM, choices=HOST_TYPES,
              choice_aliases=(("村委会", "村(居)委会"), ("居委会", "村(居)委会"),
                              ("村居委会", "村(居)委会"), ("村", "村(居)委会"),
                              ("村(居)", "村(居)委会"), ("学校依托", "学校"))),
        Field("host_code", "依托单位代码", CODE, aliases=("依托单位编码", "依托单位"),
              required=False, width=15),
        Field("lon", "经度", NUMBER, required=False),
        Field("lat", "纬度", NUMBER, required=False),
        Field("established", "建成日期", DATE, aliases=("建成时间", "建立日期"), required=False,
              width=12),
        _yes_no("standardized", "五有五全标准化", aliases=("标准化", "是否标准化", "五有五全")),
        _yes_no("has_phone", "亲情电话", aliases=("是否有亲情电话",)),
        _yes_no("has_video", "视频设备", aliases=("是否有视频设备", "视频通话设备")),
        Field("books", "图书册数", COUNT, aliases=("图书", "图书(册)")),
        Field("open_hours", "每周开放小时", NUMBER, aliases=("每周开放时长", "开放小时")),
        Field("staff", "管理人员", COUNT, aliases=("管理人员数",)),
        Field("children_served", "服务儿童数", COUNT, aliases=("服务儿童", "服务人数")),
    ),
)

FUNDING_KINDS = ("下达", "支出")
ALLOCATED_KIND, DISBURSED_KIND = FUNDING_KINDS
FUNDING_SOURCES = ("中央", "省级", "市级", "县级", "乡镇", "社会捐赠")
FUNDING_CATEGORIES = ("困难救助", "之家建设运行", "亲情沟通", "心理健康", "宿舍食堂", "关爱活动",
                      "培训", "其他")

FUNDING = Sheet(
    key="funding", label="资金", aliases=("资金台账", "资金明细", "经费", "专项资金"),
    id_key="kind",
    fields=(
        Field("date", "日期", DATE, aliases=("时间", "发生日期"), width=12),
        Field("kind", "类型", ENUM, choices=FUNDING_KINDS,
              choice_aliases=(("拨付", "支出"), ("支付", "支出"), ("下拨", "下达"))),
        Field("source", "资金来源", ENUM, aliases=("来源",), choices=FUNDING_SOURCES,
              choice_aliases=(("中央财政", "中央"), ("省", "省级"), ("省级财政", "省级"),
                              ("市", "市级"), ("市级财政", "市级"), ("县", "县级"),
                              ("县级财政", "县级"), ("乡镇级", "乡镇"), ("乡镇财政", "乡镇"),
                              ("捐赠", "社会捐赠"), ("社会", "社会捐赠"))),
        Field("category", "用途", ENUM, aliases=("资金用途",), choices=FUNDING_CATEGORIES),
        Field("amount", "金额（元）", MONEY, aliases=("金额", "金额元"), width=14),
        Field("description", "项目摘要", TEXT, aliases=("摘要", "项目"), required=False, width=30),
        Field("voucher", "凭证号", CODE, aliases=("凭证编号", "凭证"), required=False, width=14),
    ),
)

SHEETS = (SCHOOLS, HOMES, FUNDING)
SHEETS_BY_KEY = {s.key: s for s in SHEETS}
SCHOOL_COUNT_KEYS = tuple(f.key for f in SCHOOLS.count_fields)


# Tallies of schools, per submission and per township's month: how many schools returned a
# row, and for every count how many of them report more than 0 (schools with a psychology
# teacher, with a dropout, ...). Stored beside the sums, so that an indicator "schools with
# X ÷ schools" is a declaration, not a new column.
SCHOOLS_REPORTED = "schools_reported"


def schools_with(key: str) -> str:
    """The tally key of count `key`: the schools reporting more than 0 of it."""
    return f"{key}_schools"


SCHOOL_TALLY_KEYS = (SCHOOLS_REPORTED, *(schools_with(k) for k in SCHOOL_COUNT_KEYS))
TALLY_LABELS = {SCHOOLS_REPORTED: "已报学校数",
                **{schools_with(f.key): f"有{f.label}的学校数" for f in SCHOOLS.count_fields}}

SCHOOL_TYPES = ("幼儿园", "小学", "初中", "九年一贯制", "完全中学", "教学点")
