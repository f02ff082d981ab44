"""``colcon``: builds and tests the generated ROS 2 workspace."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence

from . import Tool
from .progress import Progress

INSTALL_HINT = ("Install lkbuild's ROS 2 extra in this environment: pip install 'lkbuild[ros2]' "
                "(colcon-core, colcon-ros, colcon-python-setup-py and the rclpy Jazzy wheels).")


class Colcon(Tool):
    """The colcon build tool, run in the same environment as the rclpy wheels (scripts get its Python)."""

    name = "colcon"
    how_to_install = INSTALL_HINT

    def verify(self) -> str:
        """colcon has no ``--version``: its help proves it runs; the version comes from its metadata."""
        self.run(["--help"])
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"colcon-core {version('colcon-core')}"
        except PackageNotFoundError:
            return "colcon"

    def _common(self, workspace: Path) -> list:
        return ["--log-base", str(Path(workspace) / "log" / "colcon")]

    def build(self, workspace: Path, packages: Sequence[str], env: Optional[Mapping[str, str]] = None,
              timeout: float = 600) -> None:
        """``colcon build`` of ``packages`` in ``workspace`` (sources under ``src/``); progress on a terminal."""
        with Progress("colcon build", total=len(packages)) as progress:
            self.run([*self._common(workspace), "build", "--base-paths", "src", "--build-base", "build",
                      "--install-base", "install", "--packages-select", *packages],
                     cwd=workspace, env=env, timeout=timeout, on_line=progress.colcon_line if progress.enabled else None,
                     hint="The generated package did not build; the colcon log is under log/colcon in the workspace.")

    def test(self, workspace: Path, packages: Sequence[str], env: Optional[Mapping[str, str]] = None,
             timeout: float = 600) -> str:
        """``colcon test`` then ``colcon test-result --verbose``; raises when a test failed. Returns the summary."""
        self.run([*self._common(workspace), "test", "--base-paths", "src", "--build-base", "build",
                  "--install-base", "install", "--packages-select", *packages],
                 cwd=workspace, env=env, timeout=timeout)
        done = self.run([*self._common(workspace), "test-result", "--test-result-base", "build", "--verbose"],
                        cwd=workspace, env=env, timeout=60, hint="A test of the generated package failed.")
        return done.stdout
