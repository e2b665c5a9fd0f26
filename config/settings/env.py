"""Tiny helpers that read settings from the environment, and the `.env` file
that can fill it (see .env.example)."""

import os
import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import overload

from django.core.exceptions import ImproperlyConfigured


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_required(name: str) -> str:
    value = env_str(name)
    if value is None:
        raise ImproperlyConfigured(f"Set the {name} environment variable.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env_str(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def read_dotenv(path: Path, environ: MutableMapping[str, str] = os.environ) -> list[str]:
    """Set each `NAME=value` line of `path` (if it exists) that the environment
    does not set already: the real environment always wins. Blank lines and
    `#` comments are skipped; a value may be wrapped in single or double
    quotes. Returns the names it set."""
    if not path.is_file():
        return []
    set_here = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _DOTENV_LINE.match(line)
        if match is None or line.lstrip().startswith("#"):
            continue
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name not in environ:
            environ[name] = value
            set_here.append(name)
    return set_here
