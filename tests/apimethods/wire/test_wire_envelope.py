from __future__ import annotations

import json
import plistlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from apimethods.wire import Envelope, RawJSON, RecordList, WireError, render

ENVELOPE_KEYS = [
    "responseCode",
    "responseMessage",
    "payload",
    "sessionToken",
    "requestedMethod",
    "requestedFormat",
    "timestamp",
    "requestReceivedTime",
    "maxAllowedRequestTime",
    "maxProcessingTime",
    "requestProcessingTime",
]


def envelope(
    payload: Any = None, code: int = 1, message: str | None = None, fmt: str = "json"
) -> Envelope:
    return Envelope(
        response_code=code,
        response_message=message,
        payload=payload,
        session_token="0b6a-e1",
        requested_method="getUsers",
        requested_format=fmt,
        timestamp=1462182612,
        request_received_time=1462182612.0412,
        max_allowed_request_time=40,
        max_processing_time=40,
        request_processing_time=0.0137,
    )


def as_json(payload: Any = None, **kwargs: Any) -> dict[str, Any]:
    body, content_type = render(envelope(payload, **kwargs), "json")
    assert content_type == "application/json"
    return json.loads(body)


def as_plist(payload: Any = None, **kwargs: Any) -> dict[str, Any]:
    body, content_type = render(envelope(payload, fmt="plist", **kwargs), "plist")
    assert content_type == "application/xml"
    return plistlib.loads(body)


USER = {
    "userID": 12,
    "username": "alice",
    "score": 3.5,
    "rank": 2.0,
    "active": True,
    "banned": False,
    "balance": Decimal("12.50"),
    "avatar": b"\x89PNG\r\n",
    "bio": None,
    "birthday": date(1990, 7, 4),
    "timeCreated": datetime(2016, 5, 1, tzinfo=UTC),
    "timeUpdated": datetime(2016, 5, 2, 11, 30, 12, 999999, tzinfo=timezone(timedelta(hours=2))),
}


# --- envelope ----------------------------------------------------------------------------


def test_json_envelope_has_every_field_in_order_with_numeric_types() -> None:
    body, _ = render(envelope(57), "json")

    assert body == (
        b'{"responseCode":1,"responseMessage":"Success","payload":57,"sessionToken":"0b6a-e1",'
        b'"requestedMethod":"getUsers","requestedFormat":"json","timestamp":1462182612,'
        b'"requestReceivedTime":1462182612.0412,"maxAllowedRequestTime":40,'
        b'"maxProcessingTime":40,"requestProcessingTime":0.0137}'
    )


def test_plist_envelope_has_every_field_in_order_with_native_types() -> None:
    body, _ = render(envelope(57, fmt="plist"), "plist")
    document = plistlib.loads(body)

    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist ')
    assert list(document) == ENVELOPE_KEYS
    assert document == {
        "responseCode": 1,
        "responseMessage": "Success",
        "payload": 57,
        "sessionToken": "0b6a-e1",
        "requestedMethod": "getUsers",
        "requestedFormat": "plist",
        "timestamp": 1462182612,
        "requestReceivedTime": 1462182612.0412,
        "maxAllowedRequestTime": 40,
        "maxProcessingTime": 40,
        "requestProcessingTime": 0.0137,
    }
    assert type(document["responseCode"]) is int
    assert type(document["requestReceivedTime"]) is float


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (1, "Success"),
        (2, "Not authorised"),
        (4, "No such method"),
        (8, "No such format"),
        (16, "Account suspended"),
        (32, "Invalid request"),
        (64, "Unknown server error"),
        (128, "Database error"),
    ],
)
def test_standard_message_per_code(code: int, message: str) -> None:
    assert as_json(code=code)["responseMessage"] == message
    assert as_plist(code=code)["responseMessage"] == message


def test_specific_message_replaces_the_standard_text() -> None:
    document = as_json(code=32, message="Parameter 'age' must be an integer")

    assert (document["responseCode"], document["responseMessage"]) == (
        32,
        "Parameter 'age' must be an integer",
    )


def test_error_payload_is_null_in_json_and_absent_in_plist() -> None:
    records = RecordList([{"a": 1}])

    assert as_json(records, code=2)["payload"] is None
    assert list(as_json(records, code=2)) == ENVELOPE_KEYS
    assert "payload" not in as_plist(records, code=2)


@pytest.mark.parametrize("code", [0, 3, 256, -1, True, "1", 1.0])
def test_only_kumulos_codes_can_be_emitted(code: Any) -> None:
    with pytest.raises(ValueError, match="is not a Kumulos response code"):
        envelope(code=code)


def test_code_changed_after_construction_is_still_checked() -> None:
    bad = envelope()
    bad.response_code = 3

    with pytest.raises(ValueError):
        render(bad, "json")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown response format 'xml'"):
        render(envelope(), "xml")


def test_wire_error_carries_code_and_default_message() -> None:
    assert (WireError(32).code, WireError(32).message) == (32, "Invalid request")
    assert str(WireError(2, "Bad key")) == "[2] Bad key"
    with pytest.raises(ValueError):
        WireError(1)
    with pytest.raises(ValueError):
        WireError(5)


def test_missing_optional_envelope_strings_are_null_in_json_and_absent_in_plist() -> None:
    bare = Envelope(
        response_code=4,
        session_token="t",
        timestamp=1,
        request_received_time=1.5,
        max_allowed_request_time=40,
        max_processing_time=40,
        request_processing_time=0.0,
    )

    document = json.loads(render(bare, "json")[0])
    assert (document["requestedMethod"], document["requestedFormat"]) == (None, None)
    assert list(plistlib.loads(render(bare, "plist")[0])) == [
        "responseCode",
        "responseMessage",
        "sessionToken",
        "timestamp",
        "requestReceivedTime",
        "maxAllowedRequestTime",
        "maxProcessingTime",
        "requestProcessingTime",
    ]


# --- records -----------------------------------------------------------------------------


def test_json_records_carry_mysql_style_strings() -> None:
    payload = as_json(RecordList([USER]))["payload"]

    assert payload == [
        {
            "userID": "12",
            "username": "alice",
            "score": "3.5",
            "rank": "2",
            "active": "1",
            "banned": "0",
            "balance": "12.50",
            "avatar": "iVBORw0K",
            "bio": None,
            "birthday": "1990-07-04 00:00:00",
            "timeCreated": "2016-05-01 00:00:00",
            "timeUpdated": "2016-05-02 09:30:12",
        }
    ]
    assert list(payload[0]) == list(USER)


def test_plist_records_carry_native_types_and_omit_nulls() -> None:
    record = as_plist(RecordList([USER]))["payload"][0]

    assert record == {
        "userID": 12,
        "username": "alice",
        "score": 3.5,
        "rank": 2.0,
        "active": 1,
        "banned": 0,
        "balance": 12.5,
        "avatar": b"\x89PNG\r\n",
        "birthday": datetime(1990, 7, 4),
        "timeCreated": datetime(2016, 5, 1),
        "timeUpdated": datetime(2016, 5, 2, 9, 30, 12),
    }
    assert {key: type(value) for key, value in record.items()} == {
        "userID": int,
        "username": str,
        "score": float,
        "rank": float,
        "active": int,
        "banned": int,
        "balance": float,
        "avatar": bytes,
        "birthday": datetime,
        "timeCreated": datetime,
        "timeUpdated": datetime,
    }


def test_plist_record_markup_uses_integer_real_date_and_data_elements() -> None:
    body, _ = render(envelope(RecordList([USER])), "plist")

    for fragment in [
        b"<key>userID</key><integer>12</integer>",
        b"<key>score</key><real>3.5</real>",
        b"<key>active</key><integer>1</integer>",
        b"<key>balance</key><real>12.5</real>",
        b"<key>avatar</key><data>iVBORw0K</data>",
        b"<key>timeCreated</key><date>2016-05-01T00:00:00Z</date>",
    ]:
        assert fragment in body
    assert b"<key>bio</key>" not in body


def test_related_records_stay_lists_of_records() -> None:
    post = {
        "postID": 3,
        "comments": [
            {
                "commentID": 7,
                "text": "hi",
                "edited": None,
                "timeCreated": datetime(2016, 5, 1, tzinfo=UTC),
            },
            {"commentID": 8, "text": None, "edited": True, "timeCreated": None},
        ],
    }

    assert as_json(RecordList([post]))["payload"] == [
        {
            "postID": "3",
            "comments": [
                {
                    "commentID": "7",
                    "text": "hi",
                    "edited": None,
                    "timeCreated": "2016-05-01 00:00:00",
                },
                {"commentID": "8", "text": None, "edited": "1", "timeCreated": None},
            ],
        }
    ]
    assert as_plist(RecordList([post]))["payload"] == [
        {
            "postID": 3,
            "comments": [
                {"commentID": 7, "text": "hi", "timeCreated": datetime(2016, 5, 1)},
                {"commentID": 8, "edited": 1},
            ],
        }
    ]


def test_empty_record_list_is_an_empty_array() -> None:
    assert as_json(RecordList())["payload"] == []
    assert as_plist(RecordList())["payload"] == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1, "0.1"),
        (-2.0, "-2"),
        (-0.0, "0"),
        (1e16, "10000000000000000"),
        (1.5e20, "150000000000000000000"),
        (1e21, "1e+21"),
        (1.25e-5, "0.0000125"),
        (1e-7, "0.0000001"),
        (1.5e-8, "1.5e-8"),
        (123456.789, "123456.789"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.50"), "-0.50"),
        (Decimal("NaN"), "NaN"),
        (memoryview(b"\x00\xff"), "AP8="),
        (bytearray(b"\x00\xff"), "AP8="),
        (2**70, "1180591620717411303424"),
    ],
)
def test_json_record_number_and_binary_spellings(value: Any, text: str) -> None:
    assert as_json(RecordList([{"v": value}]))["payload"] == [{"v": text}]


def test_naive_datetimes_are_taken_as_utc() -> None:
    record = {"t": datetime(2016, 5, 2, 9, 30, 12, 500)}

    assert as_json(RecordList([record]))["payload"] == [{"t": "2016-05-02 09:30:12"}]
    assert as_plist(RecordList([record]))["payload"] == [{"t": datetime(2016, 5, 2, 9, 30, 12)}]


def test_plist_escapes_markup_and_replaces_characters_xml_cannot_carry() -> None:
    record = {"t": "a<b>&c\r\nd\x01e", "k<&>": "v", "u": "ü\U0001f600"}

    assert as_plist(RecordList([record]))["payload"] == [
        {"t": "a<b>&c\r\nd\ufffde", "k<&>": "v", "u": "ü\U0001f600"}
    ]


def test_plist_non_finite_reals_and_huge_integers() -> None:
    payload = as_plist(RecordList([{"n": float("inf"), "m": float("-inf"), "big": 2**70}]))[
        "payload"
    ]

    assert payload == [{"n": float("inf"), "m": float("-inf"), "big": float(2**70)}]


# --- scalars and free-form payloads ------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "json_value", "plist_value"),
    [
        (57, 57, 57),
        (0, 0, 0),
        (4.25, 4.25, 4.25),
        (Decimal("42"), 42, 42),
        (Decimal("3.75"), 3.75, 3.75),
    ],
)
def test_scalar_payloads_are_numbers(payload: Any, json_value: Any, plist_value: Any) -> None:
    json_payload = as_json(payload)["payload"]
    plist_payload = as_plist(payload)["payload"]

    assert (json_payload, type(json_payload)) == (json_value, type(json_value))
    assert (plist_payload, type(plist_payload)) == (plist_value, type(plist_value))


def test_free_form_payload_keeps_json_types() -> None:
    payload = {
        "ok": True,
        "n": 1,
        "x": 1.5,
        "s": "t",
        "none": None,
        "list": [1, None, False],
        "empty": {},
    }

    assert as_json(payload)["payload"] == payload


def test_free_form_payload_in_plist_omits_null_keys_and_blanks_null_items() -> None:
    payload = {
        "ok": True,
        "off": False,
        "n": 1,
        "x": 1.5,
        "none": None,
        "list": [1, None, "a"],
        "nested": {"z": None},
    }

    assert as_plist(payload)["payload"] == {
        "ok": True,
        "off": False,
        "n": 1,
        "x": 1.5,
        "list": [1, "", "a"],
        "nested": {},
    }


def test_free_form_list_of_dicts_is_not_given_record_typing() -> None:
    payload = [{"id": 1, "flag": True}]

    assert as_json(payload)["payload"] == [{"id": 1, "flag": True}]
    assert as_plist(payload)["payload"] == [{"id": 1, "flag": True}]


def test_free_form_payload_with_python_only_types_still_renders() -> None:
    payload = {
        "when": datetime(2016, 5, 1, tzinfo=UTC),
        "blob": b"\x01",
        "d": Decimal("2.5"),
        "t": (1, 2),
    }

    assert as_json(payload)["payload"] == {
        "when": "2016-05-01 00:00:00",
        "blob": "AQ==",
        "d": 2.5,
        "t": [1, 2],
    }
    assert as_plist(payload)["payload"] == {
        "when": datetime(2016, 5, 1),
        "blob": b"\x01",
        "d": 2.5,
        "t": [1, 2],
    }


def test_free_form_non_finite_numbers_become_null_in_json() -> None:
    assert as_json({"a": float("nan"), "b": [float("inf"), 1.0]})["payload"] == {
        "a": None,
        "b": [None, 1.0],
    }


def test_json_output_is_utf8_and_survives_lone_surrogates() -> None:
    body, _ = render(envelope({"s": "é"}), "json")
    assert '"s":"é"'.encode() in body

    body, _ = render(envelope({"s": "\ud800"}), "json")
    assert json.loads(body)["payload"] == {"s": "\ud800"}


@pytest.mark.parametrize(
    "payload",
    [
        [{"id": 1, "name": "Ann \u00fc\U0001f600", "score": 1.5, "tags": ["a"], "none": None}],
        {"nested": {"deep": [1, 2, {"x": "\"quoted\" \\ and \n newline"}]}},
        "just text",
        None,
        0,
    ],
)
def test_a_raw_json_payload_renders_as_its_parsed_value_would(payload: Any) -> None:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    raw, parsed = envelope(RawJSON(text)), envelope(payload)
    # JSON: the same bytes as rendering the parsed value (the text goes in unparsed)
    assert render(raw, "json") == render(parsed, "json")
    # plist: parsed first, so rendered natively
    assert render(envelope(RawJSON(text)), "plist") == render(envelope(payload), "plist")


def test_a_raw_json_payload_is_dropped_with_an_error_code() -> None:
    assert as_json(RawJSON('{"a": 1}'), code=64)["payload"] is None
