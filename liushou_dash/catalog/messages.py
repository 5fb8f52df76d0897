"""Chinese words the dashboards show that are not field, measure or indicator labels (those
come from catalog.py). One place, so a page, a chart and a download say the same thing."""
from __future__ import annotations

# --- Banners and empty states -----------------------------------------------------------------
DEMO_BANNER = "示例数据：当前数据库中的数据为系统生成的演示数据，不代表任何真实情况。"
NO_DATA = ("暂无上报数据。请先导入主数据和乡镇月报，"
           "或运行 `python -m liushou_dash seed-demo` 生成示例数据。")
NOT_AVAILABLE = "—"
LARGE_TABLE_NOTE = "共{rows}行，可滚动查看；行数较多，单元格不按目标着色，点击列标题可排序。"
MORE_ALERTS = "- ……另有{count}条，见下方下载的完整预警清单"

# --- Sidebar filters ----------------------------------------------------------------------------
FILTER_HEADER = "筛选"
FILTER_MONTHS = "月份"
FILTER_MONTHS_HELP = ("拖动两端选择月份范围；两端相同即为单月。"
                      "卡片和排名看范围的最后一个月，趋势图看整个范围。")
FILTER_TOWNSHIPS = "乡镇"
FILTER_TOWNSHIPS_HINT = "全部乡镇"
FILTER_SCHOOL_TYPES = "学校类型"
FILTER_SCHOOL_TYPES_HINT = "全部类型"
FILTER_APPROVED = "只看已审核数据"
FILTER_LINK_HINT = "筛选条件已写入地址栏，复制链接即可分享当前视图。"
ALL_TOWNSHIPS = "全县"
ALL_COUNTIES = "全部{count}个县（市、区）"  # a city or a province: the scope line
ALL_SCHOOL_TYPES = "全部学校类型"
APPROVED_ONLY_NOTE = "仅已审核数据"
ALL_DATA_NOTE = "含未审核数据"

# --- Targets ------------------------------------------------------------------------------------
TARGET_MET, TARGET_NEAR, TARGET_MISSED = "达标", "接近目标", "未达标"
TARGET = "目标"
EVEN_PACE = "均衡进度"
UNCHANGED = "持平"
PERCENT_POINTS = "个百分点"

# --- Tables -------------------------------------------------------------------------------------
TOWNSHIP = "乡镇"
SCHOOL = "学校"
RANK, SCORE, RANK_CHANGE = "排名", "综合得分", "名次变化"
MISSED_COUNT = "未达标项数"

# --- Reporting progress -------------------------------------------------------------------------
NOT_DUE, OVERDUE = "未报", "漏报"  # no return yet: before / after the deadline
RESUBMIT = "已退回待重报"   # a returned return: not counted until submitted again
UNREVIEWED = "未审核"      # a figure or an alert from a return not yet approved
DUE_DATE, DAYS_LEFT, REVIEW_COMMENT, CLERKS = "截止日期", "剩余天数", "退回意见", "填报员"
STATUS = "状态"
DATA_AS_OF = "数据截至"
