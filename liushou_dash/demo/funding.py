"""The demo's 资金: each township's ledger for each year — allocations in spring, spending
through the year and bunched toward its end — which each upload cuts at its month's end."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from liushou_dash.demo.profiles import Profile

EXPENSES = {  # category -> (weight, descriptions)
    "困难救助": (0.22, ("困境留守儿童临时救助", "春季学期困难留守儿童生活补助", "重病留守儿童医疗救助")),
    "之家建设运行": (0.25, ("留守儿童之家运行维护", "留守儿童之家图书及文体器材购置",
                      "留守儿童之家管理人员补贴")),
    "亲情沟通": (0.10, ("亲情电话话费", "亲情视频通话设备购置")),
    "心理健康": (0.08, ("心理健康辅导讲座", "心语交流室设施购置")),
    "宿舍食堂": (0.12, ("寄宿制学校床上用品购置", "学校食堂设施维修")),
    "关爱活动": (0.12, ("六一关爱活动", "暑期防溺水安全教育活动", "中秋节关爱慰问活动")),
    "培训": (0.06, ("帮扶责任人业务培训", "乡镇儿童督导员培训")),
    "其他": (0.05, ("宣传资料印制", "建档资料及档案盒购置")),
}
# Allocations: (source, share of the year's fund, month it arrives, purpose, description)
ALLOCATIONS = (("中央", 0.35, 3, "困难救助", "中央财政农村留守儿童关爱专项资金"),
               ("省级", 0.25, 4, "之家建设运行", "省级农村留守儿童关爱保护专项资金"),
               ("县级", 0.30, 5, "关爱活动", "县级农村留守儿童关爱配套资金"))
# Spending starts after the first allocation and bunches toward the year's end.
SPEND_WEIGHTS = dict(zip(range(4, 13), (0.5, 0.8, 1.0, 0.8, 0.6, 1.0, 1.0, 1.2, 1.6)))


def _ledger(rng, year: int, fund: float, spend_share: float) -> pd.DataFrame:
    """One township's whole year: allocations in spring (plus a donation in some years),
    then expenditures across the categories adding up to `spend_share` of the money."""
    rows = [{"date": dt.date(year, month, int(rng.integers(1, 29))), "kind": "下达",
             "source": source, "category": category, "amount": round(fund * share, -2),
             "description": f"{year}年{text}"}
            for source, share, month, category, text in ALLOCATIONS]
    if rng.random() < 0.6:
        rows.append({"date": dt.date(year, int(rng.choice([5, 9])), int(rng.integers(1, 29))),
                     "kind": "下达", "source": "社会捐赠", "category": "关爱活动",
                     "amount": round(fund * rng.uniform(0.02, 0.08), -2),
                     "description": "爱心企业捐赠留守儿童关爱资金"})
    allocated = sum(r["amount"] for r in rows)
    count = int(rng.integers(14, 25))
    months = rng.choice(list(SPEND_WEIGHTS), size=count,
                        p=np.array(list(SPEND_WEIGHTS.values())) / sum(SPEND_WEIGHTS.values()))
    cents = np.floor(rng.dirichlet(np.full(count, 2.0)) * allocated * spend_share * 100)
    categories = rng.choice(list(EXPENSES), size=count,
                            p=[w for w, _ in EXPENSES.values()])
    shares = np.array([a[1] for a in ALLOCATIONS])
    sources = rng.choice([a[0] for a in ALLOCATIONS], size=count, p=shares / shares.sum())
    for month, amount, category, source in zip(months, cents, categories, sources):
        texts = EXPENSES[category][1]
        rows.append({"date": dt.date(year, int(month), int(rng.integers(1, 29))),
                     "kind": "支出", "source": str(source), "category": str(category),
                     "amount": max(amount, 100.0) / 100,
                     "description": texts[int(rng.integers(len(texts)))]})
    ledger = pd.DataFrame(rows).sort_values(["date", "kind"], kind="stable")
    # Vouchers numbered in date order per kind: unique within the township and year.
    number = ledger.groupby("kind").cumcount() + 1
    prefix = ledger["kind"].map({"下达": f"XD{year}-", "支出": f"ZC{year}-"})
    ledger["voucher"] = prefix + number.map("{:03d}".format)
    return ledger.reset_index(drop=True)


def funding_ledgers(profiles: dict[str, Profile], children: pd.Series, years: list[int],
                    rng: np.random.Generator) -> dict[tuple[str, int], pd.DataFrame]:
    """(township, year) -> ledger. The fund is ~180–260 yuan per left-behind child; lagging
    townships spend the least of it (85–88%), others 87–95%, by December."""
    ledgers = {}
    for code, profile in profiles.items():
        for year in years:
            fund = float(children.get(code, 100)) * rng.uniform(180, 260)
            spend = rng.uniform(0.85, 0.88) if profile.lagging else rng.uniform(0.87, 0.95)
            ledgers[code, year] = _ledger(rng, year, fund, spend)
    return ledgers
