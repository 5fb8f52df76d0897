"""`python -m liushou_dash ...`: the stable command line (README "命令行")."""
from __future__ import annotations

import argparse
import errno
import getpass
import json
import re
import sys
import time
from pathlib import Path

from sqlalchemy.exc import ArgumentError, OperationalError

from liushou_dash.core.db import (
    database_url,
    init_db,
    make_engine,
    schema_revision,
    transaction,
)

EXIT_STORED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def _engine(args):
    return make_engine(database_url(args.db))


def _write_audited(engine, what: str, path: str, data: bytes, **detail) -> None:
    """Write a file of the database's data to `path`, audited first as the web's downloads
    are (action "download"), under the operating-system user: no data leaves unrecorded."""
    from liushou_dash.core.actors import Actor
    from liushou_dash.workflow.downloads import audit_download
    audit_download(engine, Actor.system(), what, file=path, **detail)
    Path(path).write_bytes(data)


def cmd_init_db(args) -> int:
    """Create or migrate the schema; a change of schema leaves an audit row."""
    from liushou_dash.core import audit
    from liushou_dash.core.actors import Actor
    engine = _engine(args)
    before = schema_revision(engine)
    init_db(engine)
    after = schema_revision(engine)
    if after != before:
        with transaction(engine) as session:
            audit.record(session, Actor.system().username, "migrate", "database", after,
                         before=before or "空库", after=after)
    print(f"数据库已就绪：{database_url(args.db)}")
    return 0


def cmd_seed_demo(args) -> int:
    from liushou_dash.demo.seed import AlreadyFilled, seed_demo
    engine = _engine(args)
    init_db(engine)
    started = time.monotonic()
    try:  # each step on stderr as it starts: a province takes minutes
        summary = seed_demo(engine, months=args.months, scale=args.scale,
                            progress=lambda step: print(step, file=sys.stderr, flush=True))
    except AlreadyFilled as exc:
        if args.if_empty:
            from liushou_dash.workflow.accounts import create_demo_accounts
            create_demo_accounts(engine)  # a demo seeded before accounts existed gets them
            print("数据库中已有数据，不再生成示例数据")
            return 0
        return _refused(exc)
    print(f"示例数据已生成，用时 {time.monotonic() - started:.1f} 秒", file=sys.stderr)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_load_master(args) -> int:
    from liushou_dash.core.masterdata import MasterDataError, load_master
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
    from liushou_dash.ingest.template import build_template
    engine = _engine(args)
    data = build_template(engine, args.township, args.period)  # ValueError: main says so, 2
    _write_audited(engine, "template", args.output, data, township=args.township,
                   period=args.period)
    print(f"模板已生成：{args.output}")
    return 0


def cmd_ingest(args) -> int:
    from liushou_dash.ingest import ingest_file
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
    from liushou_dash.reports.export import export_table
    engine = _engine(args)
    data = export_table(engine, args.period_from, args.period_to,
                        townships=args.township or None, level=args.level, fmt=args.format,
                        labelled=args.labels)
    _write_audited(engine, "export", args.output, data,
                   period=f"{args.period_from}–{args.period_to}", township=args.township,
                   level=args.level, format=args.format)
    print(f"已导出：{args.output}")
    return 0


def cmd_figures(args) -> int:
    from liushou_dash.core import orgunits
    from liushou_dash.indicators import figures
    engine = _engine(args)
    townships = tuple(args.township) if args.township else None
    unknown = sorted(set(townships or ()) - set(orgunits.townships(engine)["township_code"]))
    if unknown:
        raise ValueError(f"乡镇代码不存在：{'、'.join(unknown)}")
    found = figures.report(engine, args.period, townships, args.approved_only)
    if args.json:
        print(json.dumps(found, ensure_ascii=False))
        return 0
    print(f"{found['period']}  {figures.coverage_line(found)}")
    for card in found["cards"]:
        print(f"  {figures.card_line(card)}")
    for alert in found["alerts"]:
        print(f"  ！{alert['message']}")
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
    from liushou_dash.core.actors import Actor
    from liushou_dash.workflow.accounts import create_user
    from liushou_dash.workflow.passwords import WeakPassword
    engine = _engine(args)
    init_db(engine)
    password = _read_password(args)
    if password is None:
        return EXIT_USAGE
    try:
        user = create_user(engine, Actor.system(), args.name, args.role, password,
                           township_code=args.township, display_name=args.display_name)
    except WeakPassword as exc:  # the password given is a wrong argument
        return _usage_error(str(exc))
    except ValueError as exc:
        return _refused(exc)
    scope = f"，乡镇 {user.township_code}" if user.township_code else ""
    print(f"已创建用户 {user.username}（{user.role_label}{scope}）")
    return 0


def cmd_reset_password(args) -> int:
    """A new password for an account (its sessions end, its login delay is lifted), audited
    under the operating-system user: 2 for a password the policy refuses, 1 for no such user."""
    from liushou_dash.core.actors import Actor
    from liushou_dash.workflow.accounts import NoSuchUser, reset_password
    from liushou_dash.workflow.passwords import WeakPassword
    engine = _engine(args)
    init_db(engine)
    password = _read_password(args)
    if password is None:
        return EXIT_USAGE
    try:
        reset_password(engine, Actor.system(), args.name, password)
    except WeakPassword as exc:  # the password given is a wrong argument
        return _usage_error(str(exc))
    except NoSuchUser as exc:
        return _refused(exc)
    print(f"已重置用户 {args.name} 的密码，该账号已有的登录随即结束")
    return 0


def cmd_unlock_user(args) -> int:
    """Lift an account's login delay at once, audited; 1 for no such user."""
    from liushou_dash.core.actors import Actor
    from liushou_dash.workflow.accounts import NoSuchUser, unlock_user
    engine = _engine(args)
    init_db(engine)
    try:
        forgiven = unlock_user(engine, Actor.system(), args.name)
    except NoSuchUser as exc:
        return _refused(exc)
    print(f"已解除用户 {args.name} 的登录等待（清除近期输错 {forgiven} 次）")
    return 0


def cmd_bulletin(args) -> int:
    from liushou_dash.reports import bulletin_charts
    from liushou_dash.reports.bulletin import NoBulletin, check_period
    from liushou_dash.reports.bulletin_render import build
    from liushou_dash.reports.bulletin_text import title
    engine = _engine(args)
    try:
        check_period(engine, args.period)
    except NoBulletin as exc:
        return _usage_error(str(exc)) if exc.usage else _refused(exc)
    data, _, docx, xlsx = build(engine, args.period)
    if not bulletin_charts.available():
        print(bulletin_charts.NO_FONT_NOTE, file=sys.stderr)
    _write_audited(engine, "bulletin", args.output, docx, period=args.period)
    if args.xlsx:
        _write_audited(engine, "bulletin", args.xlsx, xlsx, period=args.period)
    print(f"已生成《{title(data)}》：{args.output}" + (f"，表格：{args.xlsx}" if args.xlsx else ""))
    return 0


def cmd_verify_audit(args) -> int:
    """Walk the audit chain: 0 when intact (with the last hash, to be kept elsewhere),
    1 naming the first row edited, deleted or inserted around the application."""
    from liushou_dash.core.audit import verify
    verdict = verify(_engine(args))
    if not verdict.intact:
        print(verdict.problem, file=sys.stderr)
        return EXIT_REFUSED
    print(f"审计日志完整：共 {verdict.count} 条")
    print(f"最后一条的摘要：{verdict.last_hash}（请另行留存，日后可据此发现末尾被删除的记录）")
    return 0


def cmd_backup(args) -> int:
    from liushou_dash.core.backup import BackupError, backup
    try:
        kind = backup(_engine(args), Path(args.output), logical=args.logical)
    except BackupError as exc:
        return _refused(exc)
    print(f"已备份（{BACKUP_KINDS[kind]}）：{args.output}")
    return 0


def cmd_restore(args) -> int:
    from liushou_dash.core.backup import BackupError, restore
    try:
        kind = restore(_engine(args), Path(args.file))
    except BackupError as exc:
        return _refused(exc)
    print(f"已从{BACKUP_KINDS[kind]}恢复：{database_url(args.db)}")
    return 0


BACKUP_KINDS = {"sqlite": "SQLite 数据库文件", "pg_dump": "pg_dump 备份", "logical": "逻辑备份"}


# argparse's own refusals, in the words a county's staff read (exit code 2 as before).
ARGUMENT_ERRORS = (
    (r"the following arguments are required: (.*)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.*)", r"无法识别的参数：\1"),
    (r"argument (.+?): invalid choice: (.*) \(choose from (.*)\)", r"参数 \1 的值 \2 不可用，应为 \3 之一"),
    (r"argument (.+?): invalid int value: (.*)", r"参数 \1 应为整数，而不是 \2"),
    (r"argument (.+?): expected one argument", r"参数 \1 后面缺少取值"),
)


OS_REASONS = {errno.ENOENT: "文件或目录不存在", errno.EACCES: "没有权限", errno.EISDIR: "这是一个目录",
              errno.ENOSPC: "磁盘空间不足", errno.EROFS: "只读的文件系统"}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose refusals are Chinese and name the help to read."""

    def error(self, message: str):
        for pattern, words in ARGUMENT_ERRORS:
            if re.fullmatch(pattern, message):
                message = re.sub(pattern, words, message)
                break
        self.exit(EXIT_USAGE, f"参数错误：{message}\n用法说明：{self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m liushou_dash", description="留守儿童关爱工作监测平台 命令行")
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
    p.add_argument("--labels", action="store_true",
                   help="CSV 用中文列名（默认用目录中的英文键名，便于脚本读取）")
    p.add_argument("-o", "--output", required=True)
    p = command("figures", cmd_figures, "打印某月的主要指标和预警（与总览页相同）")
    p.add_argument("--period", required=True)
    p.add_argument("--township", action="append")
    p.add_argument("--approved-only", action="store_true", help="只计已审核数据")
    p.add_argument("--json", action="store_true", help="以 JSON 输出，供脚本读取")
    p = command("create-user", cmd_create_user, "创建用户（交互输入密码，或 --password-stdin）")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=("leader", "clerk", "staff", "admin"))
    p.add_argument("--township")
    p.add_argument("--display-name", default="")
    p.add_argument("--password-stdin", action="store_true")
    p = command("reset-password", cmd_reset_password,
                "重置用户密码（交互输入，或 --password-stdin），同时解除该账号的登录等待")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true")
    p = command("unlock-user", cmd_unlock_user, "解除用户的登录等待（密码多次输错后的等待）")
    p.add_argument("name")
    p = command("bulletin", cmd_bulletin, "生成月度通报（Word），可同时导出表格（Excel）")
    p.add_argument("--period", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--xlsx", help="同时导出通报中的表格")
    command("verify-audit", cmd_verify_audit, "核对审计日志是否被修改、删除或插入")
    p = command("backup", cmd_backup, "备份整个数据库（SQLite 在线备份；PostgreSQL 用 pg_dump）")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--logical", action="store_true",
                   help="逻辑备份（不需要 pg_dump，可恢复到另一种数据库）")
    p = command("restore", cmd_restore, "把备份恢复到一个空数据库")
    p.add_argument("file")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A wrong argument that only the command can judge (a malformed
    month, a file that cannot be written, a database address that does not answer) is
    answered in Chinese with exit code 2, never with a traceback."""
    args = build_parser().parse_args(argv)
    if not hasattr(args, "db"):
        args.db = None
    try:
        return args.func(args)
    except ValueError as wrong:
        return _usage_error(str(wrong))
    except OSError as failed:
        reason = OS_REASONS.get(failed.errno, failed.strerror or str(failed))
        return _usage_error(f"文件无法读写：{failed.filename or ''}（{reason}）")
    except (ArgumentError, OperationalError) as unreachable:
        return _usage_error(f"无法连接数据库 {database_url(args.db)}："
                            f"{str(getattr(unreachable, 'orig', None) or unreachable).strip()}")


def _refused(refusal: Exception) -> int:
    """A command refused for what it was given (no such user, a database not empty): its
    Chinese message, exit code 1."""
    print(refusal, file=sys.stderr)
    return EXIT_REFUSED


def _usage_error(message: str) -> int:
    print(f"参数错误：{message}", file=sys.stderr)
    return EXIT_USAGE
