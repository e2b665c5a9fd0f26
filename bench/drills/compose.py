"""Read docker-compose.yml, deploy/env.example and the Dockerfile as Docker
would (enough of it for the tests and `bench.drills.compose_by_hand`: YAML merge
keys, ${VAR}, ${VAR:-default}, ${VAR:?error} and $$; the Dockerfile's ENV,
WORKDIR, USER and CMD), since the Docker daemon and compose plugin are not
available where the tests run.

`compose_errors` checks a compose file against the Compose Specification's JSON
schema, tests/ops/compose-spec.json: a copy of schema/compose-spec.json from
https://github.com/compose-spec/compose-spec at commit
170098ba07d9f53c383a41bfd4c5166b0a4529a6 (the file last changed in a08f8d5,
2025-10-28), Apache License 2.0, "Copyright 2020 The Compose Specification
Authors" (the repository's NOTICE); unchanged.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_SCHEMA = ROOT / "tests" / "ops" / "compose-spec.json"
SECRETS = ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD", "EMAIL_HOST_PASSWORD")
# What `restart:` may say (compose's loader checks it; the schema only wants a string).
RESTART_POLICY = re.compile(r"no|always|unless-stopped|on-failure(:\d+)?")

_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}"
)


class MissingVariable(Exception):
    pass


def compose_file() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env_example_names() -> list[str]:
    """The variables deploy/env.example sets (not the commented-out ones)."""
    return list(read_env_file(ENV_EXAMPLE))


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def documented_env() -> dict[str, str]:
    """deploy/env.example, with the placeholder secrets replaced by real ones."""
    values = read_env_file(ENV_EXAMPLE)
    for name in SECRETS:
        if values.get(name) == "change-me":
            values[name] = secrets.token_hex(32)
    return values


def interpolate(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        current = env.get(name, "")
        if current:
            return current
        if op == ":?":
            raise MissingVariable(f"{name}: {arg}")
        return arg or "" if op == ":-" else ""

    return _VARIABLE.sub(replace, value)


def compose_errors(document: dict[str, Any]) -> list[str]:
    """What is wrong with an (interpolated) compose file: each violation of the
    Compose Specification's schema as "path: message", then any `restart:`
    policy compose would refuse. Empty: valid."""
    import jsonschema

    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    errors = [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]
    for name, service in (document.get("services") or {}).items():
        restart = service.get("restart") if isinstance(service, dict) else None
        if restart is not None and not RESTART_POLICY.fullmatch(str(restart)):
            errors.append(
                f"services/{name}/restart: {restart!r} is not no, always, "
                "on-failure[:max-retries] or unless-stopped"
            )
    return errors


# ---------------------------------------------------------------- Dockerfile


@dataclass
class Image:
    """What the Dockerfile leaves in the final image that a process sees."""

    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    user: str = "root"
    cmd: list[str] = field(default_factory=list)
    users_created: dict[str, int] = field(default_factory=dict)


def dockerfile(path: Path = DOCKERFILE) -> Image:
    """ENV, WORKDIR, USER and CMD (exec form) of a single-stage Dockerfile, and
    the uid of every user a RUN makes with `useradd --uid N`."""
    image = Image()
    text = re.sub(r"\\\n", " ", path.read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                image.env[name] = value
        elif instruction == "WORKDIR":
            image.workdir = rest.strip()
        elif instruction == "USER":
            image.user = rest.strip()
        elif instruction == "CMD":
            image.cmd = json.loads(rest)
        elif instruction == "RUN":
            for match in re.finditer(
                r"useradd\b[^&;]*?--uid (\d+)[^&;]*?\s(\w+)\s*(?:&&|;|$)", rest
            ):
                image.users_created[match.group(2)] = int(match.group(1))
    return image
