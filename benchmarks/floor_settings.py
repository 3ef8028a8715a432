"""Settings for the benchmark floor: Kiln's settings with bare Django (no middleware).

With KILN_BENCH_FLOOR_PREPARED=1 the floor binds parameters on the server and prepares
its SELECT once per connection, as Kiln's K.select does; the benchmark takes the faster.
"""

import os

from console.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.floor_urls"
MIDDLEWARE: list[str] = []
if os.environ.get("KILN_BENCH_FLOOR_PREPARED") == "1":
    DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=0)  # noqa: F405
