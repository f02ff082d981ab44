"""How a run goes — iterations, real time or not, where to record, the run's id, profiling — as every adapter reads it.

The engine passes the settings that it validated (``lkbuild.engines.run.LaunchOptions``): dora in the
``LK_RUN`` environment variable (JSON), ROS 2 as arguments of the node executables (what a launch file
can pass). They are checked again here: they crossed a process boundary.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

ENV = "LK_RUN"
FLAGS = (("--iterations", "iterations"), ("--record", "record_dir"), ("--realtime", "realtime"),
         ("--run-id", "run_id"), ("--profile", "profile"))


class Settings:
    def __init__(self, iterations: Optional[int] = None, realtime: bool = True, record_dir: Optional[str] = None,
                 run_id: str = "", profile: bool = False):
        if iterations is not None and (isinstance(iterations, bool) or not isinstance(iterations, int)
                                       or iterations < 0):
            raise ValueError(f"iterations must be a whole number, 0 or more. Received: {iterations!r}")
        if not isinstance(run_id, str):
            raise ValueError(f"the run id must be a string. Received: {run_id!r}")
        self.iterations = iterations
        self.realtime = bool(realtime)
        self.record_dir = record_dir or None
        self.run_id = run_id
        self.profile = bool(profile)

    def to_dict(self) -> Dict[str, Any]:
        return {"iterations": self.iterations, "realtime": self.realtime, "record_dir": self.record_dir,
                "run_id": self.run_id, "profile": self.profile}

    def to_env(self) -> Dict[str, str]:
        return {ENV: json.dumps(self.to_dict(), sort_keys=True)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        text = environ.get(ENV)
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError(f"{ENV} is not JSON: {text!r}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{ENV} must be a JSON object. Received: {text!r}")
        return cls(data.get("iterations"), data.get("realtime", True), data.get("record_dir"),
                   data.get("run_id") or "", data.get("profile") is True)

    def to_args(self) -> Dict[str, str]:
        """The values of the executables' arguments (also the launch file's ``name:=value``)."""
        return {"iterations": "" if self.iterations is None else str(self.iterations),
                "record_dir": self.record_dir or "", "realtime": "true" if self.realtime else "false",
                "run_id": self.run_id, "profile": "true" if self.profile else "false"}

    @classmethod
    def from_args(cls, argv: List[str]) -> "Settings":
        """From ``--iterations N --record DIR --realtime BOOL --run-id ID --profile BOOL`` (empty: not set)."""
        import argparse

        parser = argparse.ArgumentParser(description="Run one lkbuild Node.")
        for flag, dest in FLAGS:
            parser.add_argument(flag, dest=dest, default="")
        options = parser.parse_args(argv)
        iterations = None
        if options.iterations.strip():
            try:
                iterations = int(options.iterations)
            except ValueError:
                parser.error(f"--iterations must be a whole number. Received: {options.iterations!r}")
        realtime = _flag(parser, "--realtime", options.realtime, "true")
        profile = _flag(parser, "--profile", options.profile, "false")
        try:
            return cls(iterations, realtime, options.record_dir, options.run_id, profile)
        except ValueError as exc:
            parser.error(str(exc))


def _flag(parser, flag: str, text: str, default: str) -> bool:
    value = text.strip().lower() or default
    if value not in ("true", "false", "1", "0", "yes", "no"):
        parser.error(f"{flag} must be true or false. Received: {text!r}")
    return value in ("true", "1", "yes")
