"""How `bench.drills.compose_by_hand` plans its run from docker-compose.yml (the
order, what it substitutes, how it reads durations); the run itself is a
program run by hand (docs/drills.md, "Compose by hand"), not a test."""

import pytest

from bench.drills.compose_by_hand import ByHand, Substitutions, seconds


@pytest.fixture
def by_hand(tmp_path):
    return ByHand(tmp_path, say=lambda line: None)


def test_services_start_after_what_their_depends_on_names(by_hand):
    order = by_hand.order
    for name, service in by_hand.services.items():
        for dependency in service.spec.get("depends_on") or {}:
            assert order.index(dependency) < order.index(name), (dependency, name)
    assert order.index("migrate") < order.index("web")
    assert by_hand.services["pgbouncer"].kind == "skipped"  # a profile, off by default
    assert {by_hand.services[name].kind for name in ("web", "worker", "beat", "migrate")} == {"app"}


def test_web_keeps_its_command_but_for_the_host_names_ports_and_container_paths(by_hand):
    web = by_hand.services["web"]
    by_hand.substitutions(web)
    env = by_hand.environment(web)

    command = web.subs.argv(web.spec["command"], service_command=True)
    probe = web.subs.argv(web.spec["healthcheck"]["test"][1:])

    port = command[command.index("--bind") + 1]
    assert port.startswith("127.0.0.1:") and port != "127.0.0.1:8000"
    assert [arg for arg in command if arg != port] == [
        arg for arg in web.spec["command"] if arg != "0.0.0.0:8000"
    ]
    assert probe[-1] == f"http://{port}/readyz"
    assert f"@127.0.0.1:{by_hand.pg_port}/splitledger" in env["DATABASE_URL"]
    assert f"@127.0.0.1:{by_hand.redis_port}/0" in env["CELERY_BROKER_URL"]
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith(str(by_hand.directory))
    assert env["MEDIA_ROOT"].startswith(str(by_hand.directory))
    # The image's ENV is there, under the compose environment.
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


def test_each_worker_is_a_node_of_its_own_and_its_ping_names_it(by_hand):
    for name in ("worker", "worker-io"):
        worker = by_hand.services[name]
        by_hand.substitutions(worker)
        env = by_hand.environment(worker)

        command = worker.subs.argv(worker.spec["command"], service_command=True)

        assert command[-2:] == ["--hostname", f"celery@{name}"]
        assert env["HOSTNAME"] == name
        assert "-d celery@$HOSTNAME" in worker.spec["healthcheck"]["test"][1]
        assert env["WORKER_METRICS_PORT"] != "9808"


def test_options_go_right_after_the_program_in_exec_and_shell_form():
    subs = Substitutions("redis")
    subs.options["redis-cli"] = (["-p", "6400"], "a test")

    assert subs.argv(["redis-cli", "ping"]) == ["redis-cli", "-p", "6400", "ping"]
    assert subs.text("redis-cli ping | grep -qx PONG") == "redis-cli -p 6400 ping | grep -qx PONG"


@pytest.mark.parametrize(
    ("value", "expected"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), (None, 7)]
)
def test_compose_durations(value, expected):
    assert seconds(value, 7) == expected
