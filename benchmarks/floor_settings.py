"""Settings for the benchmark floor: Kiln's settings with bare Django (no middleware)."""

from console.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.floor_urls"
MIDDLEWARE: list[str] = []
