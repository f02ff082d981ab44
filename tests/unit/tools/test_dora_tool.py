"""The dora tool wrapper: addresses, commands, cluster readiness."""
from __future__ import annotations

import pytest

from lkbuild.errors import ConfigError
from lkbuild.tools.dora import Coordinator, Dora, LocalCluster, daemon_command, env_args


@pytest.mark.parametrize("text, expected", [
    ("192.168.1.100", Coordinator("192.168.1.100", 6013)),
    ("192.168.1.100:7000", Coordinator("192.168.1.100", 7000)),
    ("robot-hub.local", Coordinator("robot-hub.local", 6013)),
    ("[fd00::1]:7000", Coordinator("fd00::1", 7000)),
])
def test_coordinator_addresses(text, expected):
    assert Coordinator.parse(text) == expected


@pytest.mark.parametrize("text", ["", "host:0", "host:99999", "a b", "host;reboot", "-rf"])
def test_bad_coordinator_addresses_are_refused(text):
    with pytest.raises(ConfigError, match="HOST or HOST:PORT"):
        Coordinator.parse(text)


def test_the_daemon_command_for_a_machine():
    assert daemon_command("jetson", Coordinator("10.0.0.5", 7000)) == [
        "dora", "daemon", "--machine-id", "jetson", "--coordinator-addr", "10.0.0.5", "--coordinator-port", "7000"]


def test_settings_reach_nodes_as_env_arguments_and_dollar_signs_are_refused():
    assert env_args({"B": "2x", "A": '{"k": 1}'}) == ["--env", 'A={"k": 1}', "--env", "B=2x"]
    with pytest.raises(ConfigError, match=r"\$"):
        env_args({"A": "$HOME"})


def test_dora_runs_with_a_private_home(tmp_path):
    env = Dora(home=tmp_path / "home").environment()
    assert env["HOME"] == str(tmp_path / "home") and (tmp_path / "home").is_dir()


def test_the_installed_dora_is_version_1(tmp_path):
    assert "1.1" in Dora(home=tmp_path / "home").verify()


STATUS = """\
DAEMON ID                                    LAST HEARTBEAT  RESTARTS  HEALTH KILLS  INPUT TIMEOUTS  CB RECOVERIES
{rows}
Active dataflows: 0
"""


@pytest.mark.parametrize("machines, rows, ready", [
    (["jetson", "nuc"], ["jetson-01a2", "nuc-01a3"], True),
    (["jetson", "nuc"], ["jetson-01a2"], False),
    (["jetson"], ["jetsonx-01a2"], False),
    ([], ["01a21e21-a263"], True),
    ([], [], False),
])
def test_the_cluster_is_ready_when_every_machine_has_a_daemon(tmp_path, monkeypatch, machines, rows, ready):
    dora = Dora(home=tmp_path / "home")
    text = STATUS.format(rows="\n".join(f"{r}  100ms ago  0  0  0  0" for r in rows))
    monkeypatch.setattr(dora, "cluster_status", lambda coordinator: text)
    assert LocalCluster(dora, machines, tmp_path)._ready() is ready
