"""A one-line terminal progress bar for long commands."""

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, label: str, *, width: int = 30, stream: TextIO | None = None) -> None:
        self.label, self.width = label, width
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()

    def update(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(self.width * share)
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done:,}/{total:,} ({share:.0%}, {rate:,.0f}/s)"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
