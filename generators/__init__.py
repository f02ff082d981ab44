"""Generators: one module per target. ``generate(spec, options) -> {relative_path: bytes}``, pure.

Installed as ``lkbuild.generators``; templates are package data read through importlib.resources.
"""
