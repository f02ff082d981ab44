"""The profiled graph page in a real headless Chromium (Debian's package): it renders, its labels are there.

The profile comes from a real native run of examples/robot (``launch --profile``); Chromium parses the
page (``--dump-dom``) and draws it (``--screenshot``): the DOM must hold every edge's ports and figures
and every component's time share, and the picture must show the thick red edge between the machines.
"""
from __future__ import annotations

import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from lkbuild.cli import main

pytestmark = pytest.mark.e2e

ROBOT = Path(__file__).resolve().parents[2] / "examples" / "robot" / "robot.py"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def chromium(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", *args],
                          capture_output=True, text=True, timeout=120, env=env, check=True)


def pixels(png: bytes):
    """(width, height, rows of RGB(A) tuples) of an 8-bit RGB/RGBA PNG, as Chromium writes them."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, width = 8, b"", 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(data), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, channels)])
        prev = line
    return width, height, rows


def test_the_profiled_robot_graph_renders_with_its_labels(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    runner = CliRunner()
    run = runner.invoke(main, ["launch", str(ROBOT), "-e", "native", "-n", "30", "--profile"],
                        catch_exceptions=False)
    assert run.exit_code == 0, run.output
    page = tmp_path / "robot.html"
    drawn = runner.invoke(main, ["graph", str(ROBOT), "--format", "html", "--profile", ".lk_build/profile.json",
                                 "--output", str(page)], catch_exceptions=False)
    assert drawn.exit_code == 0, drawn.output

    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    labels = re.findall(r'<text class="edge-label"[^>]*>([^<]*)</text>', dom)
    assert labels == ["out → image", "detections → detections", "out → goal"]
    figures = re.findall(r'<text class="edge-figures"[^>]*>([^<]*)</text>', dom)
    assert len(figures) == 3 and all(re.fullmatch(r"\d+\.\d msg/s · [\d.]+ (B|KiB|MiB)/s", f) for f in figures)
    assert figures[0].startswith(("29.", "30.", "31.")) and "KiB/s" in figures[0]  # 30 frames/s of 18.8 KiB
    shares = re.findall(r'<text class="component-figures"[^>]*>([^<]*)</text>', dom)
    assert len(shares) == 4 and all(re.fullmatch(r"fwd \d+ (us|ms|\.\d ms) · cpu \d+%|fwd [\d.]+ (us|ms) · cpu \d+%", s)
                                    for s in shares)
    assert re.search(r'<g class="edge between-machines" data-edge="detector.detections -(?:>|&gt;) planner.detections"', dom)
    assert len(re.findall(r'<g class="edge in-process"', dom)) == 2

    shot = tmp_path / "robot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,500", page.as_uri())
    width, height, rows = pixels(shot.read_bytes())
    assert (width, height) == (1400, 500)
    red = sum(1 for row in rows for r, g, b in row if r > 170 and g < 90 and b < 80)  # #c0392b, the crossing
    grey = sum(1 for row in rows for r, g, b in row if r == g == b and r < 120)       # text, plain edges
    assert red > 100 and grey > 1000
