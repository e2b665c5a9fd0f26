"""scripts/dev_setup.sh (what scripts/dev.sh runs before serving): a rerun keeps
the database and what was done in it; --fresh starts a new one.

Runs the real script on a temporary SQLite file (the script's own embedded
defaults), so it needs no PostgreSQL and touches nothing of the test database.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from django.conf import settings

from ledger import invariants
from tests.processes import manage, run

ROOT = Path(settings.BASE_DIR)
VENV_PYTHON = ".venv/bin/python"  # relative to ROOT, where the commands run
ORDERS = "12"
DEFAULT_ORDERS = "200"  # what scripts/dev.sh loads: enough for a showcase case
# A note staff write between two runs, through the case engine.
ADD_NOTE = """
from django.contrib.auth import get_user_model
from refunds.models import RefundCase
from refunds.services.cases import add_note
case = RefundCase.objects.order_by("case_id").first()
add_note(case=case, text="Written between runs", actor=get_user_model().objects.get(username="admin"))
"""
COUNT = """
from refunds.models import CaseEvent, Order
print("orders", Order.objects.count(), "notes", CaseEvent.objects.filter(text="Written between runs").count())
"""
CHECK_PASSWORD = """
import sys
from django.contrib.auth import get_user_model
print("password ok" if get_user_model().objects.get(username="admin").check_password(sys.argv[-1]) else "password changed")
"""

pytestmark = pytest.mark.skipif(
    not (ROOT / ".venv" / "bin" / "python").exists(), reason="scripts/dev_setup.sh needs .venv"
)


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.pop("CELERY_BROKER_URL", None)
    env.update(PORT="8765", MEDIA_ROOT=str(tmp_path / "media"))
    return env


def setup(tmp_path: Path, *args: str, orders: str = ORDERS) -> str:
    database = tmp_path / "dev.sqlite3"
    done = run(
        ["bash", "scripts/dev_setup.sh", "--database", str(database), "--orders", orders, *args],
        environment(tmp_path),
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def manage_shell(tmp_path: Path, code: str, *extra: str) -> str:
    env = environment(tmp_path)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        CELERY_BROKER_URL="",
    )
    done = run([sys.executable, "-c", _runner(code), *extra], env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _runner(code: str) -> str:
    return "import django\ndjango.setup()\n" + code


def test_a_rerun_keeps_the_data_and_fresh_starts_over(tmp_path):
    first = setup(tmp_path)
    assert "Creating a new SQLite database" in first
    assert "Loaded demo data (seed 1)" in first
    password = re.search(r"^Staff login: admin / (\S+)$", first, re.MULTILINE)[1]
    manage_shell(tmp_path, ADD_NOTE)

    second = setup(tmp_path)

    assert "Keeping" in second and "--fresh starts a new one" in second
    assert "no demo data loaded, logins unchanged" in second
    assert "Loaded demo data" not in second
    assert manage_shell(tmp_path, COUNT).split() == ["orders", ORDERS, "notes", "1"]
    assert manage_shell(tmp_path, CHECK_PASSWORD, password).strip() == "password ok"

    third = setup(tmp_path, "--fresh")

    assert "--fresh: deleting" in third
    assert "Loaded demo data (seed 1)" in third
    assert manage_shell(tmp_path, COUNT).split() == ["orders", ORDERS, "notes", "0"]
    assert manage_shell(tmp_path, CHECK_PASSWORD, password).strip() == "password changed"


@pytest.fixture(scope="module")
def set_up(tmp_path_factory) -> Path:
    """One run of the script with its default orders, for the tests that only
    read what it made (its output is kept in setup.log)."""
    tmp_path = tmp_path_factory.mktemp("dev")
    (tmp_path / "setup.log").write_text(setup(tmp_path, orders=DEFAULT_ORDERS))
    return tmp_path


# The showcase case's trace page, as the admin user sees it.
TRACE_PAGE = """
import sys
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
client.force_login(get_user_model().objects.get(username="admin"))
page = client.get(sys.argv[-1], HTTP_HOST="127.0.0.1")
html = page.content.decode()
print("PAGE", page.status_code, "complete" if "<strong>complete</strong>" in html else "incomplete",
      "gaps" if "Gaps</h2>" in html else "no-gaps", html.count("<td>bank_line</td>"))
"""


def test_the_first_run_imports_the_cash_demo_and_names_a_showcase_traced_without_a_gap(set_up):
    output = (set_up / "setup.log").read_text()
    found = re.search(
        r"^Showcase case (\S+), traced to the bank: http://127\.0\.0\.1:8765(/\S+)$",
        output,
        re.MULTILINE,
    )
    assert found, output
    # Printed last (stderr's lines follow stdout's here), after the logins.
    importing = output.index("==> Importing the demo's payout reports and bank statements")
    assert output.index("Staff login: admin / ") < importing < output.index(found[0])
    assert "==>" not in output[output.index(found[0]) :]
    files = sorted(p.name for p in (set_up / "demo_files").iterdir())
    assert any(name.startswith("stripe-payout-") for name in files), files
    assert any(name.startswith("camt053-") for name in files), files

    shown = manage_shell(set_up, TRACE_PAGE, found[2])
    (page,) = [line.split() for line in shown.splitlines() if line.startswith("PAGE ")]

    assert page == ["PAGE", "200", "complete", "no-gaps", "2"]


def test_statement_links_use_the_port_the_script_serves_on(set_up):
    tmp_path = set_up
    bodies = manage_shell(
        tmp_path,
        "from portal.models import Notification\n"
        "print('\\n'.join(n.body for n in Notification.objects.all()))",
    )
    urls = re.findall(r"https?://\S+", bodies)
    assert urls and all(url.startswith("http://127.0.0.1:8765/") for url in urls)


def test_each_log_line_is_printed_once_and_no_library_banner(set_up):
    tmp_path = set_up
    env = environment(tmp_path)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        CELERY_BROKER_URL="",
    )
    code = (
        "import logging\n"
        "logging.getLogger('django.request').warning('probe one')\n"
        "logging.getLogger('refunds').warning('probe two')\n"
    )
    done = manage("shell", "-c", code, env=env, python=VENV_PYTHON, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert output.count("probe one") == 1, output
    assert output.count("probe two") == 1, output
    check = manage("check", env=env, python=VENV_PYTHON, timeout=300)
    assert check.stdout.strip() == "System check identified no issues (0 silenced)."
    assert check.stderr == "", check.stderr


def audit(database: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = environment(tmp_path)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{database}",
        CELERY_BROKER_URL="",
    )
    return manage("check_ledger", env=env, python=VENV_PYTHON, timeout=300)


def test_the_ledger_audit_runs_on_the_sqlite_dev_database(set_up):
    done = audit(set_up / "dev.sqlite3", set_up)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   journals_balance" in done.stdout
    assert "ok   vendor_payables" in done.stdout
    assert "ok   journals_in_open_periods" in done.stdout
    assert "skip refund_journals_match_completion: PostgreSQL only, not run on sqlite (" in (
        done.stdout
    )
    assert "skip entries_keyed: PostgreSQL only, not run on sqlite (" in done.stdout
    skipped = len(invariants.POSTGRES_ONLY)
    runs = len(invariants.CHECKS) - skipped
    assert f"All {runs} ledger checks that run on sqlite passed; {skipped} skipped" in done.stdout


def test_the_audit_on_sqlite_finds_a_broken_balance_and_counter(set_up, tmp_path):
    broken = tmp_path / "broken.sqlite3"
    shutil.copy(set_up / "dev.sqlite3", broken)
    with closing(sqlite3.connect(broken)) as db:
        db.execute(
            "UPDATE ledger_accountbalance SET debit = debit + 0.01 "
            "WHERE id = (SELECT min(id) FROM ledger_accountbalance)"
        )
        db.execute(
            "UPDATE refunds_order SET refunded_amount = refunded_amount + 1 "
            "WHERE id = (SELECT min(id) FROM refunds_order)"
        )
        db.commit()

    done = audit(broken, tmp_path)

    assert done.returncode == 1
    assert "FAIL balances_match_entries" in done.stdout
    assert "FAIL trial_balance" in done.stdout
    assert "FAIL refund_counters" in done.stdout
    assert "ok   sales_posted" in done.stdout
