"""Per-machine deploy bundles: everything one machine needs, in one folder, and nothing it does not need.

Example:
    >>> from lkbuild.bundle import BundleOptions, write_bundle          # doctest: +SKIP
    >>> bundle = write_bundle(system.spec(), BundleOptions(machine="jetson", offline=True))
    >>> bundle.path
    PosixPath('.lk_build/bundles/jetson')
"""
from .bundler import Bundle, BundleOptions, build_image, plan_bundle, save_image, write_bundle
from .manifest import verify
from .target import Target, resolve_target

__all__ = [
    "Bundle", "BundleOptions", "Target", "build_image", "plan_bundle", "resolve_target", "save_image",
    "verify", "write_bundle",
]
