"""The command line leaves an audit row for every write and every file of data it writes,
named "system:" and the operating-system user who ran it; `verify-audit` checks the chain."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from liushou_dash import cli
from liushou_dash.core.actors import Actor
from liushou_dash.core.db import make_engine, schema_revision, session_maker
from liushou_dash.core.masterdata import DEMO_DIR
from liushou_dash.core.models import AuditEntry, Submission
from liushou_dash.workflow import review, uploads
from tests.fixtures import TOWNSHIP, audit_rows, make_user, school_frame
from tests.returns import workbook

PERIOD = uploads.open_period()   # a month the ingest and the bulletin accept today
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def system_user() -> str:
    return Actor.system().username


@pytest.fixture
def run(engine, capsys):
    """cli.main on the test database: (exit code, stdout)."""
    url = engine.url.render_as_string(hide_password=False)

    def run_command(*args: str) -> tuple[int, str]:
        code = cli.main(["--db", url, *args])
        return code, capsys.readouterr().out
    return run_command


def ingest(run, tmp_path, engine) -> int:
    path = tmp_path / "月报.xlsx"
    path.write_bytes(workbook({"schools": school_frame(engine)}))
    code, out = run("ingest", str(path), "--township", TOWNSHIP, "--period", PERIOD, "--json")
    assert code == 0, out
    return json.loads(out)["submission_id"]


def test_ingest_without_user_names_the_os_user(engine, run, tmp_path, system_user):
    submission_id = ingest(run, tmp_path, engine)
    with session_maker(engine)() as session:
        assert session.get(Submission, submission_id).username == system_user
    [row] = audit_rows(engine, "submit")
    assert (row.username, row.after_id) == (system_user, submission_id)


def test_ingest_into_an_approved_month_without_user_is_refused_and_audited(
        engine, run, tmp_path, system_user):
    submission_id = ingest(run, tmp_path, engine)
    review.approve(engine, make_user(engine, "staff1", "staff"), submission_id)
    code, out = run("ingest", str(tmp_path / "月报.xlsx"), "--township", TOWNSHIP, "--period",
                    PERIOD, "--json")
    assert code == 1 and json.loads(out)["errors"][0]["code"] == "E15"
    [row] = audit_rows(engine, "denied", system_user)
    assert row.object_id == f"{TOWNSHIP}/{PERIOD}" and "已审核" in row.detail


def test_load_master_is_audited(engine, run, system_user):
    before = len(audit_rows(engine, "load_master", system_user))
    code, _ = run("load-master", str(DEMO_DIR))
    assert code == 0
    loaded = audit_rows(engine, "load_master", system_user)
    assert len(loaded) == before + 1
    assert loaded[-1].object_id == "demo" and json.loads(loaded[-1].detail)["townships"] == 29


@pytest.mark.parametrize("what, args", [
    ("export", ("export", "--from", PERIOD, "--to", PERIOD, "--format", "csv", "-o")),
    ("bulletin", ("bulletin", "--period", PERIOD, "-o")),
    ("template", ("template", "--township", TOWNSHIP, "--period", PERIOD, "-o")),
])
def test_every_file_of_data_is_audited(engine, run, tmp_path, system_user, what, args):
    ingest(run, tmp_path, engine)
    output = tmp_path / f"{what}.out"
    code, _ = run(*args, str(output))
    assert code == 0 and output.stat().st_size > 0
    [row] = audit_rows(engine, "download", system_user)
    assert row.object_id == what and json.loads(row.detail)["file"] == str(output)


def test_seed_demo_is_audited(engine, run, system_user):
    code, _ = run("seed-demo", "--months", "1")
    assert code == 0
    [seeded] = audit_rows(engine, "seed_demo", system_user)
    assert json.loads(seeded.detail)["submissions"] > 0
    code, out = run("verify-audit")
    assert code == 0, out


def verify_audit(engine) -> subprocess.CompletedProcess:
    """`python -m liushou_dash --db URL verify-audit`, as an operator runs it."""
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.run([sys.executable, "-m", "liushou_dash", "--db", url, "verify-audit"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_verify_audit_passes_an_intact_log_and_names_an_edited_row(engine, run, tmp_path):
    ingest(run, tmp_path, engine)
    with session_maker(engine)() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry))

    intact = verify_audit(engine)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.splitlines()[0] == f"审计日志完整：共 {total} 条"

    with engine.begin() as conn:
        conn.execute(text("UPDATE audit SET action = 'approve' WHERE action = 'submit'"))
    edited = verify_audit(engine)
    assert edited.returncode == 1
    assert f"第 {total} 条" in edited.stderr and "被修改" in edited.stderr


def test_init_db_records_a_change_of_schema_and_nothing_when_current(tmp_path, system_user):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert cli.main(["--db", url, "init-db"]) == 0
    assert cli.main(["--db", url, "init-db"]) == 0  # already current: nothing to record
    engine = make_engine(url)
    [row] = audit_rows(engine, "migrate", system_user)
    assert '"before": "空库"' in row.detail and row.object_id == schema_revision(engine)
    engine.dispose()
