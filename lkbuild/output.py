"""Writing generated files, and knowing which files lkbuild made.

Every tree lkbuild generates (the build directory itself, ``dora/``, ``ros2/``) holds a manifest,
``.lkbuild-files``, that lists the files lkbuild wrote there and the scratch directories its tools fill
(logs, colcon's ``build/``...). The manifest at the top of a build directory is also its mark: lkbuild
writes into, prunes and cleans only a directory it made, and deletes only what a manifest lists. A file
a user put beside them is never touched.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

from .errors import ConfigError

MANIFEST = ".lkbuild-files"
# Scratch directories of the build directory itself: the inspector's cache, the deploy bundles.
BUILD_SCRATCH = ("cache",)


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative``, refusing a path that would leave ``root``."""
    if os.path.isabs(relative) or ".." in Path(relative).parts:
        raise ConfigError(f"refusing to write '{relative}': generated paths must stay inside {root}")
    return root / relative


def write_tree(root: Path, files: Dict[str, bytes]) -> List[str]:
    """Write ``files`` under ``root``; return the paths that changed. Records nothing (see ``write_generated``).

    A file whose bytes are unchanged is not rewritten. Each write goes to a temporary file beside the
    target and is renamed over it, so a reader never sees half a file.
    """
    root = Path(root)
    targets = {rel: safe_join(root, rel) for rel in files}  # validate every path before writing any
    changed = []
    for rel in sorted(files):
        path, data = targets[rel], files[rel]
        if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace(path, data, 0o755 if data.startswith(b"#!") else 0o644)
        changed.append(rel)
    return changed


def _replace(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- manifests --------------------------------------------------------------------------------------------------
@dataclass
class Manifest:
    """What lkbuild made in one tree: generated ``files`` and tool ``dirs``, relative to the tree."""

    files: Set[str] = field(default_factory=set)
    dirs: Set[str] = field(default_factory=set)
    system: str = ""
    inputs: str = ""  # what the files were generated from (``write_generated``'s key)
    digests: Dict[str, str] = field(default_factory=dict)  # sha256 of each file as generated

    @classmethod
    def read(cls, root: Path) -> Optional["Manifest"]:
        """The tree's manifest, or None when lkbuild has not written one there."""
        path = Path(root) / MANIFEST
        if not path.is_file() or path.is_symlink():
            return None
        try:
            data = json.loads(path.read_text())
            digests = data.get("digests", {})
            return cls(set(map(str, data.get("files", []))), set(map(str, data.get("dirs", []))),
                       str(data.get("system", "")), str(data.get("inputs", "")),
                       {str(k): str(v) for k, v in digests.items()} if isinstance(digests, dict) else {})
        except (OSError, ValueError, AttributeError, TypeError):
            return cls()  # damaged: still lkbuild's mark, but it proves no file is ours

    def write(self, root: Path) -> None:
        data = {"generated_by": "lkbuild", "system": self.system,
                "files": sorted(self.files), "dirs": sorted(self.dirs)}
        if self.inputs:
            data.update(inputs=self.inputs, digests=self.digests)
        Path(root).mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
        if not (Path(root) / MANIFEST).is_file() or (Path(root) / MANIFEST).read_text() != text:
            _replace(Path(root) / MANIFEST, text.encode(), 0o644)


def record(root: Path, files: Iterable[str] = (), dirs: Iterable[str] = ()) -> Manifest:
    """Add ``files`` and ``dirs`` to the manifest of ``root`` (made if missing)."""
    manifest = Manifest.read(root) or Manifest()
    manifest.files.update(files)
    manifest.dirs.update(dirs)
    manifest.write(root)
    return manifest


def write_generated(root: Path, files: Dict[str, bytes], prune: Iterable[str] = (),
                    scratch: Iterable[str] = (), inputs: str = "") -> List[str]:
    """``write_tree``, recorded in the tree's manifest; return the paths that changed.

    Files lkbuild generated earlier under a ``prune`` prefix (a file or directory; ``""`` for the whole
    tree) that are no longer generated are removed: only files the manifest lists, never others.
    ``scratch`` names directories the engine's tools fill (kept, removed by ``lkbuild clean``).
    ``inputs``: a digest of everything the files were generated from; see ``up_to_date``.
    """
    root = Path(root)
    manifest = Manifest.read(root) or Manifest()
    changed = write_tree(root, files)
    manifest.inputs = inputs
    manifest.digests = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()} if inputs else {}
    prefixes = list(prune)
    stale = {rel for rel in manifest.files - set(files) if any(_under(rel, p) for p in prefixes)}
    for rel in sorted(stale):
        _remove_file(root, rel)
    manifest.files = (manifest.files - stale) | set(files)
    manifest.dirs.update(scratch)
    manifest.write(root)
    return changed


def up_to_date(root: Path, inputs: str) -> bool:
    """Whether ``root`` holds what ``write_generated`` wrote from these ``inputs``, every file untouched
    since: then generating again would write the same bytes, and can be skipped."""
    manifest = Manifest.read(root)
    if manifest is None or not inputs or manifest.inputs != inputs or not manifest.digests:
        return False
    for rel, digest in manifest.digests.items():
        path = Path(root) / rel
        if path.is_symlink() or not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return False
    return True


def inputs_digest(*parts: str, sources: Iterable[Path] = ()) -> str:
    """A digest of ``parts`` and of the generator's own files (their paths, sizes and mtimes)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in sorted(sources):
        stat = path.stat()
        digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _under(rel: str, prefix: str) -> bool:
    prefix = prefix.strip("/")
    return not prefix or rel == prefix or rel.startswith(prefix + "/")


def _inside(root: Path, path: Path) -> bool:
    """Whether ``path`` really lies in ``root`` (no symlinked directory on the way leads out)."""
    try:
        path.parent.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _remove_file(root: Path, rel: str) -> bool:
    """Remove one listed file and the directories it leaves empty (up to ``root``)."""
    try:
        path = safe_join(root, rel)
    except ConfigError:
        return False
    if not _inside(root, path) or not (path.is_file() or path.is_symlink()):
        return False
    path.unlink()
    _remove_empty_parents(root, path.parent)
    return True


def _remove_empty_parents(root: Path, directory: Path) -> None:
    root = Path(root)
    while directory != root and _inside(root, directory) and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent


# -- the build directory ------------------------------------------------------------------------------------------
OUT_HINT = "Choose a directory of its own for the build, e.g. --out .lk_build (the default)."


def check_out_dir(out, project, sources: Iterable[str] = (), foreign_ok: bool = False,
                  what: Optional[str] = None) -> Path:
    """Refuse a build directory lkbuild must not write into or clean. Returns it, resolved.

    Refused: ``/``, the home directory or a parent of it, the project folder or a parent of it, a folder
    that holds one of ``sources``, a path that is not a directory, and an existing non-empty directory
    that lkbuild did not make (no manifest; unless ``foreign_ok``).

    Raises:
        ConfigError: what is wrong with the directory and what to do.
    """
    given = str(out)
    path = Path(out).resolve()
    where = what or f"build directory '{given}'" + (f" ({path})" if given != str(path) else "")

    def refuse(why: str):
        raise ConfigError(f"refusing to use {where}: {why}. {OUT_HINT}")

    if path.exists() and not path.is_dir():
        refuse("it is not a directory (a file of that name exists)")
    parent = path if path.exists() else path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        refuse(f"it cannot be created, {parent} is a file")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".lkbuild-probe-", dir=parent))
    except OSError as exc:
        refuse(f"it cannot be written ({exc.strerror} in {parent})")
    if path == Path(path.anchor):
        refuse("it is the file system's root")
    project = Path(project).resolve()
    if path == project:
        refuse("it is the project folder; lkbuild would write and delete files among the sources")
    if path in project.parents:
        refuse(f"it holds the project folder {project}")
    for source in sources:
        source = Path(source).resolve()
        if path == source or path in source.parents:
            refuse(f"it holds the source file {source}")
    home = Path.home().resolve()
    if path == home or path in home.parents:
        refuse("it is the home directory" if path == home else f"it holds the home directory {home}")
    if not foreign_ok and path.is_dir() and any(path.iterdir()) and Manifest.read(path) is None:
        refuse(f"it exists and was not made by lkbuild (there is no {MANIFEST} in it)")
    return path


def claim_build_dir(out, project, spec=None) -> Path:
    """Check the build directory (``check_out_dir``), make it and mark it as lkbuild's.

    With ``spec``, the system's sources are checked too, and when the directory held another system,
    what lkbuild generated for that one (other engines' files, bundles) is removed first: a build
    directory only ever holds the programs of the system last compiled into it.
    """
    sources = [c.file for c in spec.components if c.file] if spec is not None else []
    if spec is not None and spec.root:
        project_root = Path(spec.root).resolve()
        check_out_dir(out, project_root, sources)
    path = check_out_dir(out, project, sources)
    manifest = Manifest.read(path) or Manifest()
    if spec is not None:
        if manifest.system and manifest.system != spec.name:
            _forget_generated(path, manifest)
        manifest.system = spec.name
    manifest.dirs.update(BUILD_SCRATCH)
    manifest.write(path)
    return path


def _forget_generated(root: Path, manifest: Manifest) -> None:
    """Remove the programs generated for another system: listed files of every tree, and bundles."""
    for tree_manifest in sorted(root.rglob(MANIFEST)):
        tree = tree_manifest.parent
        if tree == root:
            continue
        found = Manifest.read(tree) or Manifest()
        for rel in sorted(found.files):
            _remove_file(tree, rel)
        found.files = set()
        found.write(tree)
    for rel in sorted(d for d in manifest.dirs if d.startswith("bundles/")):
        _remove_dir(root, rel)
        manifest.dirs.discard(rel)
    for rel in sorted(manifest.files - {"system.json", "Makefile"}):
        _remove_file(root, rel)
        manifest.files.discard(rel)


def _remove_dir(root: Path, rel: str) -> bool:
    try:
        path = safe_join(root, rel)
    except ConfigError:
        return False
    if not path.is_dir() or path.is_symlink() or not _inside(root, path):
        return False
    shutil.rmtree(path)
    _remove_empty_parents(root, path.parent)
    return True


@dataclass
class CleanReport:
    """What ``clean_build_dir`` did: how many entries it removed, and the files it left (not lkbuild's)."""

    removed: int = 0
    kept: List[str] = field(default_factory=list)
    existed: bool = True


def clean_build_dir(out, project) -> CleanReport:
    """Remove what lkbuild made in the build directory ``out``; leave everything else.

    Raises:
        ConfigError: ``out`` is not a directory lkbuild made (see ``check_out_dir``).
    """
    path = Path(out)
    if not path.exists() and not path.is_symlink():
        return CleanReport(existed=False)
    path = check_out_dir(out, project, foreign_ok=True)
    if Manifest.read(path) is None:
        raise ConfigError(f"refusing to clean '{out}': lkbuild did not make it (there is no {MANIFEST} in it); "
                          "nothing was deleted. Remove it yourself if you are sure.")
    report = CleanReport()
    # Deepest trees first, so a tree's manifest goes only after everything it lists.
    for manifest_path in sorted(path.rglob(MANIFEST), key=lambda p: len(p.parts), reverse=True):
        tree = manifest_path.parent
        if not _inside(path, manifest_path):
            continue
        found = Manifest.read(tree) or Manifest()
        report.removed += sum(_remove_dir(tree, rel) for rel in sorted(found.dirs))
        report.removed += sum(_remove_file(tree, rel) for rel in sorted(found.files))
        manifest_path.unlink()
        _remove_empty_parents(path, tree)
    if path.is_dir():
        report.kept = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if not p.is_dir())
        if not any(path.iterdir()):
            path.rmdir()
    return report
