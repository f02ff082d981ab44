"""The ``dora`` command-line tool (dora-rs-cli 1.1): validate, run, coordinator, daemons, local clusters.

Every dora process lkbuild starts is started here. Each runs with a private ``HOME`` (dora keeps its
state under ``~/.dora``, shared host-wide otherwise) and, for clusters, on free loopback ports with
zenoh multicast off, so two runs on one computer never meet.
"""
from __future__ import annotations

import re
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from ..errors import ConfigError, ToolError
from . import Process, Tool, fork_entry_point, stop_all, tail, wait_until

HOW_TO_INSTALL = "Install it with: pip install 'dora-rs==1.1.0' 'dora-rs-cli==1.1.0' (or pip install 'lkbuild[dora]')."
DEFAULT_COORDINATOR_PORT = 6013
CLUSTER_READY_TIMEOUT_S = 30.0  # for one daemon to register (each waits for those before it)
SPAWN_FAILURE = "after partial spawn failure"  # the coordinator's words, see LocalCluster.spawn_failure
DOWN_GRACE_S = 3.0  # for `dora down` to end the coordinator and daemons before they are signalled
# Keep zenoh from scouting the network and from waiting for endpoint exchange on loopback.
# dora prints a Rust backtrace with every error: noise in the output tails lkbuild shows.
NO_BACKTRACES = {"RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
QUIET_NETWORK = {"DORA_ZENOH_MULTICAST": "off", "DORA_ZENOH_ENDPOINT_EXCHANGE_TIMEOUT_MS": "0"}
# zenoh drops a message its link cannot take within 1 ms; on a busy computer that loses messages
# between daemons. Waiting up to 0.5 s first keeps them (zenoh config overlay, JSON5).
ZENOH_OVERLAY = ("{ transport: { link: { tx: { queue: { congestion_control: "
                 "{ drop: { wait_before_drop: 500000 } } } } } } }\n")
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$|^\[?[0-9A-Fa-f:.]+\]?$")


@dataclass(frozen=True)
class Coordinator:
    """Where a dora coordinator listens."""

    host: str
    port: int = DEFAULT_COORDINATOR_PORT

    @classmethod
    def parse(cls, text: str) -> "Coordinator":
        """``HOST`` or ``HOST:PORT`` (``[v6]:PORT`` for IPv6).

        Example:
            >>> Coordinator.parse("192.168.1.100:6013")
            Coordinator(host='192.168.1.100', port=6013)
        """
        text = str(text).strip()
        host, port = text, DEFAULT_COORDINATOR_PORT
        match = re.match(r"^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$", text) or re.match(r"^([^:]+):(\d+)$", text)
        if match:
            host, port = match.group(1), int(match.group(2) or DEFAULT_COORDINATOR_PORT)
        if not host or not _HOST.match(host) or not 0 < port < 65536:
            raise ConfigError(f"coordinator address must be HOST or HOST:PORT (e.g. 192.168.1.100:6013). "
                              f"Received: {text!r}")
        return cls(host, port)

    def args(self) -> List[str]:
        return ["--coordinator-addr", self.host, "--coordinator-port", str(self.port)]

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_args(env_vars: Mapping[str, str]) -> List[str]:
    """``--env K=V`` for each variable: how nodes get settings under both ``dora run`` and ``dora start``."""
    args = []
    for key, value in sorted(env_vars.items()):
        if "$" in value:
            raise ConfigError(f"dora cannot pass a value containing '$' to nodes ({key}={value!r}).")
        args += ["--env", f"{key}={value}"]
    return args


def daemon_command(machine: Optional[str], coordinator: Coordinator, listen_port: Optional[int] = None,
                   dora: str = "dora") -> List[str]:
    """The ``dora daemon`` command for one machine of a dataflow."""
    cmd = [dora, "daemon"]
    if machine:
        cmd += ["--machine-id", machine]
    cmd += coordinator.args()
    if listen_port is not None:
        cmd += ["--local-listen-port", str(listen_port), "--zenoh-no-multicast"]
    return cmd


class Dora(Tool):
    """The ``dora`` binary, with its state in ``home`` (a private HOME directory)."""

    name = "dora"
    how_to_install = HOW_TO_INSTALL

    def __init__(self, home: Optional[Path] = None, env: Optional[Mapping[str, str]] = None):
        super().__init__(env)
        self.home = Path(home) if home is not None else None

    def environment(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        env = super().environment()
        env.update(NO_BACKTRACES)
        if self.home is not None:
            self.home.mkdir(parents=True, exist_ok=True)
            env["HOME"] = str(self.home)
        env.update(extra or {})
        return env

    def verify(self) -> str:
        version = super().verify()
        if not re.search(r"\b1\.\d+", version):
            raise ToolError(f"lkbuild needs dora 1.x; found '{version}'. {HOW_TO_INSTALL}")
        return version

    # -- offline checks ------------------------------------------------------------------------------------
    def validate(self, dataflow: Path) -> str:
        """``dora validate``: schema, wiring and ids. Raises ToolFailedError with dora's explanation."""
        return self.run(["validate", dataflow], cwd=Path(dataflow).parent, timeout=60,
                        hint=f"dora rejected {dataflow}.").stdout

    def expand(self, dataflow: Path) -> str:
        """``dora expand``: the dataflow with every default filled in, as YAML text."""
        return self.run(["expand", dataflow], cwd=Path(dataflow).parent, timeout=60).stdout

    # -- one machine -------------------------------------------------------------------------------------------
    def run_dataflow(self, dataflow: Path, env_vars: Mapping[str, str], log_path: Path,
                     stop_after: Optional[float] = None) -> Process:
        """``dora run``: the whole dataflow on this machine, no coordinator."""
        args = ["run", dataflow, *env_args(env_vars)]
        if stop_after is not None:
            args += ["--stop-after", f"{max(1, round(stop_after * 1000))}ms"]
        forked = self._fork_run(args, Path(dataflow).parent, log_path)
        if forked is not None:
            return forked
        return self.start(args, cwd=Path(dataflow).parent, log_path=log_path)

    def _fork_run(self, args: Sequence[str], cwd: Path, log_path: Path) -> Optional[Process]:
        """``dora <args>`` as the ``dora`` command runs it (its entry point, ``dora_cli.py_main``), in a child
        forked from this process: the same code, arguments and environment, without a new interpreter.

        Only when the ``dora`` command is this interpreter's own (the dora-rs-cli wheel beside it).
        """
        import importlib.util

        executable = self.executable()
        if executable != str(Path(sys.executable).parent / self.name) or importlib.util.find_spec("dora_cli") is None:
            return None
        cmd = [executable, *map(str, args)]

        def entry() -> None:
            import dora_cli

            sys.argv = [self.name, *cmd[1:]]
            code = dora_cli.py_main()  # releases the GIL while the dataflow runs; `dora_cli.run` does not
            if code:
                raise SystemExit(code)

        return fork_entry_point(entry, cmd, cwd, self.environment(), log_path)

    # -- several machines ------------------------------------------------------------------------------------
    def start_dataflow(self, dataflow: Path, coordinator: Coordinator, name: str, env_vars: Mapping[str, str],
                       log_path: Path) -> Process:
        """``dora start --attach``: run the dataflow on a coordinator's daemons and wait for its end."""
        # An earlier `dora run` leaves a session file saying "built locally", and `dora start` then refuses
        # the dataflow. lkbuild never uses dora's `build:` step, so the file holds nothing we need.
        session = Path(dataflow).parent / "out" / f"{Path(dataflow).stem}.dora-session.yaml"
        if session.exists():
            session.unlink()
        args = ["start", dataflow, *coordinator.args(), "--name", name, "--attach", *env_args(env_vars)]
        return self.start(args, cwd=Path(dataflow).parent, log_path=log_path)

    def request_stop(self, coordinator: Coordinator, name: str) -> Process:
        """``dora stop`` in the background, so that whoever waits for the run keeps watching it meanwhile."""
        return self.start(["stop", "--name", name, *coordinator.args()])

    def start_coordinator(self, port: int, log_path: Path) -> Process:
        return self.start(["coordinator", "--interface", "127.0.0.1", "--port", port, "--store", "memory"],
                          cwd=log_path.parent, env=QUIET_NETWORK, log_path=log_path)

    def start_daemon(self, machine: Optional[str], coordinator: Coordinator, listen_port: int, cwd: Path,
                     log_path: Path, zenoh_port: Optional[int] = None, zenoh_peers: Sequence[int] = (),
                     zenoh_overlay: Optional[Path] = None) -> Process:
        """A daemon on 127.0.0.1; with ``zenoh_port``/``zenoh_peers`` its links to the other daemons are fixed.

        Left to discovery, two daemons that register at the same moment may never learn of each other
        (their messages then vanish): naming every peer builds the links by construction.
        """
        cmd = daemon_command(machine, coordinator, listen_port)
        if zenoh_port is not None:
            cmd += ["--zenoh-listen", f"127.0.0.1:{zenoh_port}"]
            for peer in zenoh_peers:
                cmd += ["--zenoh-connect", f"tcp/127.0.0.1:{peer}"]
        if zenoh_overlay is not None:
            cmd += ["--zenoh-config-overlay", str(zenoh_overlay)]
        cwd.mkdir(parents=True, exist_ok=True)
        return self.start(cmd[1:], cwd=cwd, env=QUIET_NETWORK, log_path=log_path)

    def cluster_status(self, coordinator: Coordinator) -> str:
        done = self.run(["cluster", "status", *coordinator.args()], timeout=15, check=False)
        return done.stdout if done.returncode == 0 else ""

    def down(self, coordinator: Coordinator) -> None:
        self.run(["down", *coordinator.args()], timeout=30, check=False)


class LocalCluster:
    """A coordinator and one daemon per machine on 127.0.0.1, for rehearsing a multi-machine run.

    A context manager: everything it started is stopped on exit, also after an error or Ctrl-C.

    Example:
        >>> with LocalCluster(Dora(home=tmp / "home"), ["jetson", "nuc"], tmp) as cluster:  # doctest: +SKIP
        ...     cluster.dora.start_dataflow(path, cluster.coordinator, "robot", {}, tmp / "start.log").wait()
    """

    def __init__(self, dora: Dora, machines: Sequence[Optional[str]], state_dir: Path):
        self.dora = dora
        self.machines = list(machines) or [None]
        self.state_dir = Path(state_dir)
        self.coordinator = Coordinator("127.0.0.1", free_port())
        self.processes: List[Process] = []

    @property
    def pids(self) -> List[int]:
        return [p.pid for p in self.processes]

    def helpers(self) -> Dict[str, Process]:
        """The processes a run on this cluster depends on, by what their loss means to a user."""
        named = {"the dora coordinator": self.processes[0]} if self.processes else {}
        for machine, process in zip(self.machines, self.processes[1:]):
            named[f"machine '{machine}'" if machine else "the dora daemon"] = process
        return named

    def __enter__(self) -> "LocalCluster":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.processes.append(self.dora.start_coordinator(self.coordinator.port, self.state_dir / "coordinator.log"))
        if not wait_until(lambda: self._listening(self.coordinator.port) or self._dead(), 15):
            raise self._failure("the dora coordinator did not start listening")
        zenoh_ports = [free_port() for _ in self.machines]
        overlay = self.state_dir / "zenoh-overlay.json5"
        overlay.write_text(ZENOH_OVERLAY)
        for i, machine in enumerate(self.machines):
            # One at a time, each registered before the next starts and dialing those before it: daemons
            # that register at the same moment may never link, and their messages then vanish.
            label = machine or "default"
            self.processes.append(self.dora.start_daemon(
                machine, self.coordinator, free_port(), self.state_dir / label, self.state_dir / f"daemon-{label}.log",
                zenoh_port=zenoh_ports[i], zenoh_peers=zenoh_ports[:i], zenoh_overlay=overlay))
            what = f"the dora daemon of machine '{label}' ({i + 1} of {len(self.machines)}) to register"
            if not wait_until(lambda: self._ready(i + 1) or self._dead(), CLUSTER_READY_TIMEOUT_S, interval=0.2,
                              waiting_for=what):
                raise self._failure(f"the dora daemon of machine '{label}' did not register with the coordinator "
                                    f"within {CLUSTER_READY_TIMEOUT_S:.0f} s")
            if self._dead():
                raise self._failure(f"a dora cluster process exited while machine '{label}' registered")
        if self._dead():
            raise self._failure("a dora cluster process exited early")

    def stop(self) -> None:
        """``dora down``, then end every process this cluster started (by pid, whole process groups).

        Bounded whatever state the cluster is in: ``dora down`` runs in the background and gets
        ``DOWN_GRACE_S``; an unresponsive coordinator must not hold up a Ctrl-C.
        """
        down = None
        if any(p.poll() is None for p in self.processes):
            try:
                down = self.dora.start(["down", *self.coordinator.args()])
            except ToolError:
                pass  # the processes are ended below either way
            wait_until(lambda: all(p.poll() is not None for p in self.processes), DOWN_GRACE_S)
        stop_all([*reversed(self.processes), *([down] if down else [])], grace=2.0)

    def spawn_failure(self) -> Optional[str]:
        """What the coordinator logged when it could not start a dataflow on every daemon, or None.

        It then rolls the dataflow back one daemon at a time, waiting long enough on each for the
        daemons to lose it and exit: nothing good comes after this line.
        """
        log_path = self.state_dir / "coordinator.log"
        try:
            text = log_path.read_text(errors="replace")
        except OSError:
            return None
        if SPAWN_FAILURE not in text:
            return None
        return (f"the dora coordinator could not start the dataflow on every machine ({SPAWN_FAILURE}: a daemon did "
                f"not answer in time; on one computer this means too many machines for its CPUs)")

    def _ready(self, started: Optional[int] = None) -> bool:
        """The first ``started`` daemons (default: all) are listed by ``dora cluster status``.

        Rows read ``<machine>-<uuid>`` (or ``<uuid>`` for a daemon without machine id).
        """
        rows = [line.split()[0] for line in self.dora.cluster_status(self.coordinator).splitlines()[1:]
                if line.strip() and not line.startswith("Active")]
        machines = self.machines[:started]
        named = [m for m in machines if m]
        unnamed = len(machines) - len(named)
        return (all(any(r.startswith(f"{m}-") for r in rows) for m in named)
                and len(rows) >= len(named) + unnamed)

    def _dead(self) -> bool:
        return any(p.poll() is not None for p in self.processes)

    @staticmethod
    def _listening(port: int) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            return s.connect_ex(("127.0.0.1", port)) == 0

    def _failure(self, what: str) -> ToolError:
        logs = "\n".join(f"--- {p.log_path.name}:\n{p.log_tail()}" for p in self.processes if p.log_path)
        return ToolError(f"{what} (coordinator {self.coordinator}, state in {self.state_dir}).\n{tail(logs, 60)}")
