"""A three-stage signal pipeline: generator -> processor -> analyzer, wired sequentially.

The generator draws a noisy sine wave from a seeded random generator, the processor smooths it with a
moving average, and the analyzer finds the dominant frequency and amplitude with an FFT. Everything is
deterministic, so two runs (on any engine) record identical messages.

Run it:
    python pipeline.py                              # native, 20 iterations
    lkbuild launch pipeline.py -n 50 --fast         # the same through the CLI
    lkbuild launch pipeline.py -e dora -n 50        # as a dora-rs dataflow
"""
from dataclasses import dataclass

import numpy as np

from lkbuild import Component, System


class Generator(Component):
    """Source: one window of a noisy sine wave per tick."""

    @dataclass
    class Config:
        seed: int = 7
        window: int = 256
        frequency: float = 2.0       # periods per window
        noise: float = 0.3
        rate_hz: float = 20.0

    def setup(self):
        # Seeded here, not in __init__: every run (and every engine) starts from the same state.
        self.rng = np.random.default_rng(self.config.seed)
        self.tick = 0

    def forward(self):
        cfg = self.config
        t = (self.tick * cfg.window + np.arange(cfg.window)) / cfg.window
        self.tick += 1
        clean = np.sin(2 * np.pi * cfg.frequency * t)
        return clean + cfg.noise * self.rng.standard_normal(cfg.window)


class Processor(Component):
    """Smooths each window with a moving average (same length out as in)."""

    @dataclass
    class Config:
        width: int = 9

    def forward(self, signal):
        kernel = np.ones(self.config.width) / self.config.width
        return np.convolve(signal, kernel, mode="same")


class Analyzer(Component):
    """Finds the dominant frequency (periods per window) and its amplitude; prints a summary at the end."""

    def setup(self):
        self.windows = 0
        self.frequencies = set()

    def forward(self, signal):
        self.windows += 1
        spectrum = np.abs(np.fft.rfft(signal)) / (len(signal) / 2)
        spectrum[0] = 0.0                      # the mean is not a frequency
        peak = int(spectrum.argmax())
        self.frequencies.add(peak)
        return {"window": self.windows, "frequency": peak, "amplitude": round(float(spectrum[peak]), 4),
                "rms": round(float(np.sqrt(np.mean(signal ** 2))), 4)}

    def teardown(self):
        found = ", ".join(str(f) for f in sorted(self.frequencies)) or "none"
        print(f"analyzer: {self.windows} windows, dominant frequency: {found} periods per window")


generator = Generator()
processor = Processor()
analyzer = Analyzer()
system = System(components=[generator, processor, analyzer], name="pipeline")

if __name__ == "__main__":
    result = system.launch(iterations=20)
    print(f"ran {result.messages} messages: " + ", ".join(f"{k}={v}" for k, v in result.fired.items()))
