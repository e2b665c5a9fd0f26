"""docker-compose.yml, the Dockerfile and deploy/env.example, read as Docker
would read them (the daemon is not available to the tests), and production
settings checked with `check --deploy` in the environment they give web."""

from __future__ import annotations

import copy
import os
import re
import subprocess

import pytest

from bench.drills.compose import (
    COMPOSE_FILE,
    ROOT,
    MissingVariable,
    compose_errors,
    compose_file,
    dockerfile,
    documented_env,
    env_example_names,
    interpolate,
)
from tests import processes

APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose():
    return compose_file()


@pytest.fixture(scope="module")
def services(compose):
    return interpolate(compose["services"], documented_env())


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`manage.py <args>` in a clean environment: only what the container would
    have, plus PATH."""
    return processes.manage(*args, env={"PATH": os.environ["PATH"], **env})


def production_check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return manage(env, "check", "--deploy", "--fail-level", "WARNING", *args)


def test_the_compose_file_follows_the_compose_specification(compose):
    """Validated against the Compose Specification's own JSON schema
    (tests/ops/compose-spec.json), as `docker compose config` would, with the
    documented environment and with the pgbouncer one."""
    documented = interpolate(compose, documented_env())
    pooled = interpolate(compose, {**documented_env(), "DATABASE_HOST": "pgbouncer"})

    assert compose_errors(documented) == []
    assert compose_errors(pooled) == []


def _typo_in_a_key(document):
    document["services"]["web"]["depends_ons"] = document["services"]["web"].pop("depends_on")


def _unknown_condition(document):
    document["services"]["worker"]["depends_on"]["migrate"]["condition"] = "service_done"


def _restart_sometimes(document):
    document["services"]["beat"]["restart"] = "sometimes"


def _healthcheck_command_as_a_number(document):
    document["services"]["db"]["healthcheck"]["test"] = 5


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (_typo_in_a_key, "services/web: 'depends_ons' does not match"),
        (_unknown_condition, "services/worker/depends_on: "),
        (_restart_sometimes, "services/beat/restart: 'sometimes' is not no, always"),
        (_healthcheck_command_as_a_number, "services/db/healthcheck/test: 5 is not valid"),
    ],
)
def test_the_specification_check_refuses_a_broken_compose_file(compose, break_it, expected):
    document = copy.deepcopy(interpolate(compose, documented_env()))

    break_it(document)

    errors = compose_errors(document)
    assert len(errors) == 1, errors
    assert errors[0].startswith(expected), errors


def test_every_variable_env_example_sets_reaches_the_compose_file():
    """`.env` only feeds the compose file's ${...}: a variable it sets that the
    compose file never names would be silently ignored."""
    named = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_FILE.read_text()))

    assert set(env_example_names()) - named == set()


@pytest.mark.parametrize(
    ("name", "default"), [("STAFF_REQUIRE_2FA", "true"), ("REQUEST_MAX_BYTES", "")]
)
def test_app_settings_from_env_example_reach_every_app_container(compose, name, default):
    documented = interpolate(compose["services"], documented_env())
    unset = interpolate(compose["services"], {**documented_env(), name: ""})
    for service in (*APP_SERVICES, "worker-io", "migrate"):
        assert documented[service]["environment"][name] == documented_env()[name], service
        assert unset[service]["environment"][name] == default, service


def test_every_app_service_waits_for_the_one_shot_migrate(services):
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["redis"]["condition"] == "service_healthy", name
        # Nothing but migrate runs migrations.
        assert "migrate" not in str(services[name]["command"]), name


def test_long_running_services_restart_and_migrate_does_not(services):
    for name in (*APP_SERVICES, "db", "redis", "pgbouncer"):
        assert services[name]["restart"] == "unless-stopped", name


def test_database_and_redis_publish_no_ports_and_the_proxy_only_on_loopback(services):
    for name in ("db", "redis", "pgbouncer", "migrate", "web", "worker", "worker-io", "beat"):
        assert "ports" not in services[name], name
    assert services["proxy"]["ports"] == ["127.0.0.1:8000:8000"]


@pytest.mark.parametrize("name", ["web", "worker", "worker-io"])
def test_web_and_workers_scale(services, name):
    """`docker compose up --scale web=3 --scale worker=2`: a scaled service may
    have neither a fixed container name nor a fixed host port (the second
    replica could not take it)."""
    service = services[name]
    assert "container_name" not in service, name
    for port in service.get("ports", []):
        published = str(port).rsplit(":", 1)[0] if ":" in str(port) else ""
        assert not published, f"{name} publishes the fixed host port {port}"
    # Nothing kept per container that two replicas would share or fight over.
    assert "hostname" not in service, name


def test_the_proxy_spreads_requests_over_every_web_replica(services):
    proxy = services["proxy"]
    assert proxy["volumes"] == ["./deploy/web-proxy.conf:/etc/nginx/conf.d/default.conf:ro"]
    assert services["web"]["expose"] == ["8000"]
    conf = (ROOT / "deploy" / "web-proxy.conf").read_text()
    # Docker's DNS asked again (a variable in proxy_pass), so replicas added
    # by --scale are found; the Host the TLS proxy sent is kept for ALLOWED_HOSTS.
    assert "resolver 127.0.0.11 valid=10s" in conf
    assert "set $web http://web:8000;" in conf and "proxy_pass $web;" in conf
    assert "proxy_set_header Host $http_host;" in conf
    assert "client_max_body_size 0;" in conf  # the app answers 413 itself
    assert proxy["healthcheck"]["test"][-1] == "http://127.0.0.1:8000/_proxy/healthz"
    assert "/_proxy/healthz" in conf


def test_the_replica_is_optional_and_passed_to_the_app(services):
    assert services["web"]["environment"]["DATABASE_REPLICA_URL"] == ""


def test_redis_wants_the_password_the_broker_url_carries(services):
    redis = services["redis"]
    password = redis["environment"]["REDIS_PASSWORD"]
    assert len(password) == 64
    assert '--requirepass "$REDIS_PASSWORD"' in " ".join(redis["command"])
    assert redis["environment"]["REDISCLI_AUTH"] == password
    for name in (*APP_SERVICES, "migrate"):
        url = services[name]["environment"]["CELERY_BROKER_URL"]
        assert url == f"redis://:{password}@redis:6379/0", name


def test_the_redis_healthcheck_passes_only_when_redis_answers_pong(services, redis_with_password):
    """Run as Docker runs it against a redis-server that wants a password:
    healthy with the right one, unhealthy with a wrong one (redis-cli itself
    exits 0 on NOAUTH)."""
    port, password = redis_with_password
    redis = services["redis"]
    test = redis["healthcheck"]["test"]
    # In the container redis-cli talks to 127.0.0.1:6379; here, the test's port.
    if test[0] == "CMD":
        assert test[1] == "redis-cli", test
        argv = ["redis-cli", "-p", str(port), *test[2:]]
    else:
        assert test[0] == "CMD-SHELL", test
        argv = ["/bin/sh", "-c", test[1].replace("redis-cli", f"redis-cli -p {port}")]

    def check(auth: str) -> int:
        env = {"PATH": os.environ["PATH"], **redis["environment"], "REDISCLI_AUTH": auth}
        return subprocess.run(argv, env=env, capture_output=True, timeout=30).returncode

    assert check(password) == 0
    assert check("wrong-password") != 0


def test_secrets_have_no_default(compose):
    env = documented_env()
    for secret in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        with pytest.raises(MissingVariable, match=secret):
            interpolate(compose["services"], {**env, secret: ""})


def test_every_service_has_a_healthcheck_and_web_probes_readyz(services):
    assert services["web"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "-m",
        "ops.probe",
        "http://127.0.0.1:8000/readyz",
    ]
    assert "inspect ping -d celery@$HOSTNAME" in services["worker"]["healthcheck"]["test"][1]
    assert services["beat"]["healthcheck"]["test"] == ["CMD", "python", "manage.py", "check_ready"]
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"], name


def test_pgbouncer_is_an_opt_in_profile_in_transaction_mode(services):
    pgbouncer = services["pgbouncer"]
    assert pgbouncer["profiles"] == ["pgbouncer"]
    assert pgbouncer["environment"]["POOL_MODE"] == "transaction"
    # With the profile on, the app goes through it; migrate never does.
    through = interpolate(
        compose_file()["services"],
        {
            **documented_env(),
            "DATABASE_HOST": "pgbouncer",
            "DATABASE_DISABLE_SERVER_SIDE_CURSORS": "true",
        },
    )
    assert "@pgbouncer:5432/" in through["web"]["environment"]["DATABASE_URL"]
    assert through["web"]["environment"]["DATABASE_DISABLE_SERVER_SIDE_CURSORS"] == "true"
    assert "@db:5432/" in through["migrate"]["environment"]["DATABASE_URL"]


def test_the_image_runs_as_a_user_that_owns_only_the_media_directory(services):
    image = dockerfile()
    assert image.user == "app" and image.users_created == {"app": 10001}
    # The image's default command is web's; the tmpfs mounts belong to that user.
    assert image.cmd == services["web"]["command"]
    for name in ("web", "worker", "worker-io"):
        assert services[name]["tmpfs"] == ["/run/prometheus:uid=10001,gid=10001"], name
    text = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert lines.index("USER app") > lines.index("COPY . .")
    assert "chown app:app /data/media" in text
    # The fonts step stays (PDFs embed them).
    assert "fonts-noto-core fonts-wqy-microhei" in text
    for name in APP_SERVICES:
        assert services[name]["volumes"] == ["media:/data/media"], name
        assert services[name]["environment"]["MEDIA_ROOT"] == "/data/media", name


@pytest.mark.parametrize("service", ["web", "migrate", "beat"])
def test_check_deploy_is_clean_with_the_documented_environment(services, service):
    env = {key: str(value) for key, value in services[service]["environment"].items()}

    done = production_check(env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (1 silenced)." in done.stdout


def test_check_deploy_warns_when_https_is_turned_off(services):
    env = {key: str(value) for key, value in services["web"]["environment"].items()}
    env.update(
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
    )

    done = production_check(env)

    assert done.returncode == 1
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in done.stderr + done.stdout, code


def production_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, d['DISABLE_SERVER_SIDE_CURSORS'],"
        " d['CONN_MAX_AGE'], d['HOST'], sep='|')"
    )
    return manage(env, "shell", "-c", code)


def test_production_settings_follow_the_environment(services):
    env = {key: str(value) for key, value in services["web"]["environment"].items()}
    minimal = {
        key: env[key]
        for key in ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS")
    } | {"DATABASE_URL": "postgres://u:p@db.internal:5432/x"}
    pooled = env | {
        "DATABASE_URL": "postgres://u:p@pgbouncer:5432/x",
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS": "true",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    }

    documented = production_settings(env)
    defaults = production_settings(minimal)
    through_pgbouncer = production_settings(pooled)
    malformed = production_settings(minimal | {"DJANGO_SECURE_PROXY_SSL_HEADER": "https"})

    assert documented.stdout.splitlines()[-1] == (
        "('HTTP_X_FORWARDED_PROTO', 'https')|True|31536000|True|True|False|60|db"
    ), documented.stderr
    # Safe by default: HTTPS everywhere, and no proxy header trusted unless named.
    assert defaults.stdout.splitlines()[-1] == "None|True|31536000|True|True|False|0|db.internal"
    assert through_pgbouncer.stdout.splitlines()[-1].endswith("|True|60|pgbouncer")
    assert malformed.returncode != 0
    assert "DJANGO_SECURE_PROXY_SSL_HEADER is 'HEADER,value'" in malformed.stderr


def test_probes_over_plain_http_are_not_redirected_to_https(services, tmp_path):
    env = {key: str(value) for key, value in services["web"]["environment"].items()}
    # The container's tmpfs, here a directory of the test's own.
    assert env.pop("PROMETHEUS_MULTIPROC_DIR") == "/run/prometheus"
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "prometheus")
    code = (
        "from django.test import Client; c = Client(HTTP_HOST='refunds.example.com');"
        "print(c.get('/healthz').status_code, c.get('/admin/login/').status_code,"
        " c.get('/admin/login/').get('Location'),"
        " c.get('/admin/login/', HTTP_X_FORWARDED_PROTO='https').status_code)"
    )

    done = manage(env, "shell", "-c", code)

    # /healthz answers over http; a page is sent to https, unless the proxy
    # says the client already came over https.
    assert done.stdout.splitlines()[-1] == (
        "200 301 https://refunds.example.com/admin/login/ 200"
    ), done.stderr
