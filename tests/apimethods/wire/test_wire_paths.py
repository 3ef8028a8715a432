from __future__ import annotations

import pytest

from apimethods.wire import ClientPath, parse_client_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/b2.2/KEY/getUsers.json", ClientPath("KEY", "getUsers", "json", "b2.2")),
        ("/b2.2/KEY/getUsers.plist", ClientPath("KEY", "getUsers", "plist", "b2.2")),
        ("/b2.2//KEY/getUsers.plist", ClientPath("KEY", "getUsers", "plist", "b2.2")),
        ("/b2.2/KEY/getAllCities.json/", ClientPath("KEY", "getAllCities", "json", "b2.2")),
        ("/b2.2/KEY//webGetSurvey.json/", ClientPath("KEY", "webGetSurvey", "json", "b2.2")),
        ("//b2.2///KEY///m.json//", ClientPath("KEY", "m", "json", "b2.2")),
        ("/b2/KEY/getUsers.json", ClientPath("KEY", "getUsers", "json", "b2")),
        ("/b2.1/KEY/getUsers.json", ClientPath("KEY", "getUsers", "json", "b2.1")),
        ("/KEY/getUsers.json", ClientPath("KEY", "getUsers", "json", None)),
        (
            "/b2.2/6f1c0b9e-2d3a-4b5c-8d7e-0123456789ab/create_updateUserSurveyData.json",
            ClientPath(
                "6f1c0b9e-2d3a-4b5c-8d7e-0123456789ab",
                "create_updateUserSurveyData",
                "json",
                "b2.2",
            ),
        ),
    ],
)
def test_parse_client_path_accepts_real_client_variants(path: str, expected: ClientPath) -> None:
    assert parse_client_path(path) == expected


@pytest.mark.parametrize(
    ("path", "method", "fmt"),
    [
        ("/b2.2/KEY/getUsers.xml", "getUsers", "xml"),
        ("/b2.2/KEY/getUsers.JSON", "getUsers", "JSON"),
        ("/b2.2/KEY/getUsers", "getUsers", ""),
        ("/b2.2/KEY/getUsers.", "getUsers", ""),
        ("/b2.2/KEY/getUsers.json.bak", None, None),
    ],
)
def test_parse_client_path_leaves_the_format_decision_to_the_caller(
    path: str, method: str | None, fmt: str | None
) -> None:
    route = parse_client_path(path)
    if method is None:
        assert route is None
    else:
        assert route is not None
        assert (route.method, route.format) == (method, fmt)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "/b2.2",
        "/b2.2/KEY",
        "/b2.2/getUsers.json",
        "/b3/KEY/getUsers.json",
        "/b2.2/KEY/extra/getUsers.json",
        "/b2.2/KEY/get-users.json",
        "/b2.2/KEY/get users.json",
        "/b2.2/KEY/.json",
        "/b2.2/K%20EY/getUsers.json",
        "/b2.2/" + "k" * 129 + "/getUsers.json",
        "/v1/data/1_27_users",
    ],
)
def test_parse_client_path_rejects_paths_that_are_not_rpc_calls(path: str) -> None:
    assert parse_client_path(path) is None
