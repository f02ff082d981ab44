"""The launch contract every engine shares: one set of options, validated once, and one result type.

``LaunchOptions.of(engine, **kwargs)`` checks what a user passed to ``launch`` (from the API or the
CLI) the same way for every engine, and refuses an option the engine does not take. ``RunResult`` is
what every engine's ``launch`` returns; ``lines()`` is how the CLI prints it.
"""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional

from ..errors import ConfigError
from ..runtime_stubs.lk_runtime.settings import Settings

# Options every engine takes, and those only some do.
COMMON = frozenset({"iterations", "duration", "realtime", "record_dir", "timeout", "profile", "logical_time"})
EXTRA: Dict[str, FrozenSet[str]] = {
    "native": frozenset(),
    "dora": frozenset({"coordinator_addr", "local_cluster"}),
    "ros2": frozenset({"env"}),
}
WHY_NOT = {
    "coordinator_addr": "only the dora engine starts a dataflow on a coordinator",
    "local_cluster": "only the dora engine rehearses a multi-machine run on one computer",
    "env": "only the ros2 engine takes extra environment variables for its processes",
}


@dataclass(frozen=True)
class LaunchOptions:
    iterations: Optional[int] = None
    duration: Optional[float] = None
    realtime: bool = True
    record_dir: Optional[Path] = None
    timeout: Optional[float] = None
    coordinator_addr: Optional[str] = None
    local_cluster: bool = False
    env: Optional[Dict[str, str]] = None
    profile: bool = False
    run_id: str = field(default_factory=lambda: secrets.token_hex(8))
    logical_time: bool = True  # False: messages in arrival order (bench/logical_time.py measures the cost)

    @classmethod
    def of(cls, engine: str, **kwargs) -> "LaunchOptions":
        """The options of one launch on ``engine``; raises ConfigError for anything it cannot take."""
        allowed = COMMON | EXTRA.get(engine, frozenset())
        given = {k: v for k, v in kwargs.items() if v is not None and v is not False}
        unknown = sorted(set(given) - allowed)
        if unknown:
            why = "; ".join(WHY_NOT.get(k, f"'{k}' is not a launch option") for k in unknown)
            raise ConfigError(f"the {engine} engine does not take {', '.join(unknown)} ({why}).")
        options = cls(**{k: v for k, v in kwargs.items() if k in allowed})
        options.check()
        return options

    def check(self) -> None:
        it = self.iterations
        if it is not None and (isinstance(it, bool) or not isinstance(it, int) or it < 0):
            raise ConfigError(f"iterations must be 0 or more (a whole number). Received: iterations={it!r}")
        for name in ("duration", "timeout"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value <= 0):
                raise ConfigError(f"{name} must be a positive number of seconds. Received: {name}={value!r}")
        record = self.record_path
        if record is not None and str(record).endswith(".mcap") and record.is_dir():
            raise ConfigError(f"--record {self.record_dir}: is a directory; an MCAP recording is a file "
                              "(FILE.mcap). Name a file, or remove the directory.")
        if record is not None and not str(record).endswith(".mcap") and record.exists() and not record.is_dir():
            raise ConfigError(f"--record {self.record_dir}: is a file and not an MCAP recording. Record into "
                              "FILE.mcap (payloads, opens in Foxglove) or into a directory (hashes).")
        if self.coordinator_addr and self.local_cluster:
            raise ConfigError("use either coordinator_addr (a running coordinator) or local_cluster, not both.")

    @property
    def record_path(self) -> Optional[Path]:
        return Path(self.record_dir).resolve() if self.record_dir else None

    def settings(self) -> Settings:
        """What every Node's process is told about this run (``lk_runtime.settings``)."""
        record = self.record_path
        return Settings(self.iterations, self.realtime, str(record) if record else None, self.run_id, self.profile,
                        self.logical_time)


@dataclass
class RunResult:
    """What a launch did, on any engine.

    ``lost``: messages lost in transit, per edge (``src node/output -> dst node/input``); empty when the
    run delivered everything. ``commands``: the command line of every process started, by name.
    """

    engine: str
    messages: int = 0
    fired: Dict[str, int] = field(default_factory=dict)
    record_dir: Optional[Path] = None
    log_dir: Optional[Path] = None
    log_file: Optional[Path] = None
    lost: Dict[str, int] = field(default_factory=dict)
    boundary: Dict[str, int] = field(default_factory=dict)  # messages per edge with a foreign endpoint
    warnings: List[str] = field(default_factory=list)
    daemon_commands: Dict[str, str] = field(default_factory=dict)
    commands: Dict[str, List[str]] = field(default_factory=dict)
    pids: List[int] = field(default_factory=list)
    built: bool = False
    profile: Optional[Dict] = None      # with --profile: the merged profile (``engines.profile``)
    profile_path: Optional[Path] = None

    def lines(self, system: str) -> List[str]:
        """How the CLI tells the user what happened."""
        out = [f"Ran system '{system}' on {self.engine}."]
        if self.fired:
            out.append("fired: " + ", ".join(f"{k}={v}" for k, v in self.fired.items()))
        if self.messages:
            out.append(f"messages sent: {self.messages}")
        if self.record_dir:
            out.append(f"record: {self.record_dir}")
        if self.log_dir:
            out.append(f"log: {self.log_dir}")
        if self.daemon_commands:
            out.append("start one dora daemon per machine:")
            out += [f"  {machine}: {command}" for machine, command in sorted(self.daemon_commands.items())]
        if self.boundary:
            out.append("at the boundary with foreign endpoints: "
                       + ", ".join(f"{e}: {n}" for e, n in self.boundary.items()))
        if self.profile_path:
            out.append(f"profile: {self.profile_path}")
        if self.lost:
            out.append("messages lost in transit: " + ", ".join(f"{e}={n}" for e, n in sorted(self.lost.items())))
        return out
