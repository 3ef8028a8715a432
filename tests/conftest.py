"""Test set-up shared by the whole suite: real PostgreSQL and Redis from the environment.

`./kiln test` starts embedded servers when DATABASE_URL / REDIS_URL are unset and exports
their URLs, so these tests always talk to real servers.
"""

pytest_plugins = [
    "tests.fixtures.appfacts",
    "tests.fixtures.accounts",
    "tests.fixtures.servers",
    "tests.fixtures.tables",
    "tests.fixtures.schedules",
    "tests.fixtures.calllog",
]
