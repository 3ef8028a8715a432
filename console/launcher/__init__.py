"""Process launcher: embedded PostgreSQL and Redis, and the `run` / `test` entry points.

`python -m console.launcher run` starts everything Kiln needs on one machine;
`python -m console.launcher test` starts the servers the test suite needs and runs it.
Neither imports Django before the database is up, so settings can read the URLs.
"""
