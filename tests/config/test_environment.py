"""Settings from the environment and `.env`, and .env.example listing them all."""

import re
from pathlib import Path

from django.conf import settings

from config.settings.env import read_dotenv

ROOT = Path(settings.BASE_DIR)
READS = re.compile(r"env_(?:str|bool|list|required)\(\s*(?:#[^\n]*)?\s*\"([A-Z0-9_]+)\"")


def test_dotenv_fills_only_what_the_environment_does_not_set(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# a comment\n"
        "\n"
        "PORT=8001\n"
        "export LOG_LEVEL=WARNING\n"
        "DJANGO_ALLOWED_HOSTS='a.example,b.example'\n"
        'DEFAULT_FROM_EMAIL="Refunds <refunds@example.com>"\n'
        "DATABASE_URL=sqlite:////tmp/from-dotenv.sqlite3\n"
        "# DJANGO_SECRET_KEY=commented-out\n"
        "not a setting line\n"
    )
    environ = {"DATABASE_URL": "postgres://real/env", "LOG_LEVEL": ""}

    assigned = read_dotenv(dotenv, environ)

    assert environ == {
        "DATABASE_URL": "postgres://real/env",  # the real environment wins
        "LOG_LEVEL": "",  # set, even if empty: scripts/dev.sh relies on this
        "PORT": "8001",
        "DJANGO_ALLOWED_HOSTS": "a.example,b.example",
        "DEFAULT_FROM_EMAIL": "Refunds <refunds@example.com>",
    }
    assert assigned == ["PORT", "DJANGO_ALLOWED_HOSTS", "DEFAULT_FROM_EMAIL"]


def test_a_missing_dotenv_sets_nothing(tmp_path):
    environ: dict[str, str] = {}
    assert read_dotenv(tmp_path / ".env", environ) == []
    assert environ == {}


def test_the_settings_read_dotenv_before_any_setting():
    base = (ROOT / "config" / "settings" / "base.py").read_text()
    assert 'read_dotenv(BASE_DIR / ".env")' in base
    assert base.index("read_dotenv(BASE_DIR") < READS.search(base).start()


def test_env_example_documents_every_variable_the_settings_read_and_no_other():
    read = set()
    for module in (ROOT / "config" / "settings").glob("*.py"):
        read |= set(READS.findall(module.read_text()))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    scripts = {"PORT", "PYTHON"}  # read by scripts/dev.sh

    assert read, "no env_*() calls found: the pattern is out of date"
    assert read - documented == set()
    assert documented - read == scripts
