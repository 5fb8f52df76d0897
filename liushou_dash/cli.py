"""`python -m liushou_dash ...`: the stable command line of DESIGN.md."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from .db import database_url, init_db, make_engine

EXIT_STORED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def _engine(args):
    return make_engine(database_url(args.db))


def cmd_init_db(args) -> int:
    init_db(_engine(args))
    print(f"数据库已就绪：{database_url(args.db)}")
    return 0


def cmd_seed_demo(args) -> int:
    from .demo import AlreadyFilled, seed_demo
    engine = _engine(args)
    init_db(engine)
    try:
        summary = seed_demo(engine, months=args.months, scale=args.scale)
    except AlreadyFilled as exc:
        if args.if_empty:
            from .auth import create_demo_accounts
            create_demo_accounts(engine)  # a demo seeded before accounts existed gets them
            print("数据库中已有数据，不再生成示例数据")
            return 0
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    except ValueError as exc:  # a scale or month count it cannot build
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_load_master(args) -> int:
    from .masterdata import MasterDataError, load_master
    engine = _engine(args)
    init_db(engine)
    try:
        counts = load_master(engine, Path(args.source))
    except MasterDataError as exc:
        print("主数据未导入，问题如下：", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_REFUSED
    print(f"已导入乡镇 {counts['townships']} 个、村(居) {counts['villages']} 个、"
          f"学校 {counts['schools']} 所")
    return 0


def cmd_template(args) -> int:
    from .template import build_template
    try:
        data = build_template(_engine(args), args.township, args.period)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    Path(args.output).write_bytes(data)
    print(f"模板已生成：{args.output}")
    return 0


def cmd_ingest(args) -> int:
    from .ingest import ingest_file
    path = Path(args.file)
    if not path.is_file():
        print(f"找不到文件：{path}", file=sys.stderr)
        return EXIT_USAGE
    report = ingest_file(_engine(args), path.read_bytes(), path.name, args.township, args.period,
                         username=args.user, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        verdict = "可以入库（试运行，未保存）" if args.dry_run and report.accepted else (
            f"已入库，提交编号 {report.submission_id}" if report.accepted else "未入库")
        print(verdict)
        for item in report.errors + report.warnings:
            print(f"  {item.message}")
    return EXIT_STORED if report.accepted else EXIT_REFUSED


def cmd_export(args) -> int:
    from .export import export_table
    data = export_table(_engine(args), args.period_from, args.period_to,
                        townships=args.township or None, level=args.level, fmt=args.format)
    Path(args.output).write_bytes(data)
    print(f"已导出：{args.output}")
    return 0


def _read_password(args) -> str | None:
    """From one line of stdin (scripts), else asked twice without echo (a person)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码：")
    if first != getpass.getpass("再次输入密码："):
        print("两次输入的密码不一致", file=sys.stderr)
        return None
    return first


def cmd_create_user(args) -> int:
    from .auth import Actor, create_user
    engine = _engine(args)
    init_db(engine)
    password = _read_password(args)
    if password is None:
        return EXIT_USAGE
    try:
        user = create_user(engine, Actor.system(), args.name, args.role, password,
                           township_code=args.township, display_name=args.display_name)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    scope = f"，乡镇 {user.township_code}" if user.township_code else ""
    print(f"已创建用户 {user.username}（{user.role_label}{scope}）")
    return 0


def cmd_bulletin(args) -> int:
    from .bulletin import NoBulletin, build, check_period, title
    engine = _engine(args)
    try:
        check_period(engine, args.period)
    except NoBulletin as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE if exc.usage else EXIT_REFUSED
    data, _, docx, xlsx = build(engine, args.period)
    Path(args.output).write_bytes(docx)
    if args.xlsx:
        Path(args.xlsx).write_bytes(xlsx)
    print(f"已生成《{title(data)}》：{args.output}" + (f"，表格：{args.xlsx}" if args.xlsx else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m liushou_dash",
                                     description="留守儿童关爱工作监测平台 命令行")
    parser.add_argument("--db", help="数据库地址（默认 LIUSHOU_DATABASE_URL 或 data/liushou.db）")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, func, help):
        p = sub.add_parser(name, help=help)
        p.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.set_defaults(func=func)
        return p

    command("init-db", cmd_init_db, "创建或升级数据库结构")
    p = command("seed-demo", cmd_seed_demo, "生成示例数据")
    p.add_argument("--months", type=int, help="月数（默认：县 24，市、省 60）")
    p.add_argument("--scale", choices=("county", "city", "province"), default="county")
    p.add_argument("--if-empty", action="store_true", help="数据库已有数据时跳过（make run 使用）")
    p = command("load-master", cmd_load_master, "导入乡镇、村(居)、学校主数据")
    p.add_argument("source")
    p = command("template", cmd_template, "生成乡镇月报模板")
    p.add_argument("--township", required=True)
    p.add_argument("--period", required=True)
    p.add_argument("-o", "--output", required=True)
    p = command("ingest", cmd_ingest, "校验并导入乡镇月报")
    p.add_argument("file")
    p.add_argument("--township", required=True)
    p.add_argument("--period", required=True)
    p.add_argument("--user")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--json", action="store_true")
    p = command("export", cmd_export, "导出数据表")
    p.add_argument("--from", dest="period_from", required=True)
    p.add_argument("--to", dest="period_to", required=True)
    p.add_argument("--township", action="append")
    p.add_argument("--level", choices=("township", "school"), default="township")
    p.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    p.add_argument("-o", "--output", required=True)
    p = command("create-user", cmd_create_user, "创建用户（交互输入密码，或 --password-stdin）")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=("leader", "clerk", "staff", "admin"))
    p.add_argument("--township")
    p.add_argument("--display-name", default="")
    p.add_argument("--password-stdin", action="store_true")
    p = command("bulletin", cmd_bulletin, "生成月度通报（Word），可同时导出表格（Excel）")
    p.add_argument("--period", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--xlsx", help="同时导出通报中的表格")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not hasattr(args, "db"):
        args.db = None
    return args.func(args)
