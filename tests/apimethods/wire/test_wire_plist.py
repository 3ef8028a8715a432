"""The plist writer never produces a document Apple's parser rejects: every string and key
with characters XML 1.0 cannot carry, over the whole control range, every surrogate and
every other code point, parsed back with plistlib (expat, as strict about XML 1.0 Char as
NSPropertyListSerialization)."""

from __future__ import annotations

import plistlib
import random
import re
from typing import Any

import pytest

from apimethods.wire import Envelope, RecordList, render

REPLACEMENT = "\ufffd"
# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

CONTROL_RANGE = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
SURROGATES = list(range(0xD800, 0xE000))
EDGES = [0xD7FF, 0xE000, 0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x10FFFF]


def carried(code: int) -> bool:
    """Whether XML 1.0 can carry the code point (written out from the Char production)."""
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def expected_text(text: str) -> str:
    """What a client reads back for `text`: a high + low surrogate pair held as two code
    points is the character it encodes, anything else XML cannot carry is U+FFFD."""
    out: list[str] = []
    i = 0
    while i < len(text):
        code = ord(text[i])
        if 0xD800 <= code <= 0xDBFF and i + 1 < len(text) and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((code - 0xD800) << 10) + (ord(text[i + 1]) - 0xDC00)))
            i += 2
            continue
        out.append(text[i] if carried(code) else REPLACEMENT)
        i += 1
    return "".join(out)


def plist_body(payload: Any) -> bytes:
    envelope = Envelope(
        response_code=1,
        payload=payload,
        session_token="tok",
        requested_method="m",
        requested_format="plist",
        timestamp=0,
        request_received_time=0.0,
        max_allowed_request_time=10,
        max_processing_time=10,
        request_processing_time=0.0,
    )
    body, content_type = render(envelope, "plist")
    assert content_type == "application/xml"
    return body


def round_trip(payload: Any) -> Any:
    body = plist_body(payload)
    text = body.decode("utf-8")  # strict: no lone surrogate made it into the bytes
    assert NOT_XML.search(text) is None
    # The only character reference written is the CR the parser would otherwise turn into LF.
    assert set(re.findall(r"&#[0-9a-fA-Fx]+;", text)) <= {"&#13;"}
    return plistlib.loads(body)["payload"]


def check_character(code: int) -> None:
    char = chr(code)
    seen = expected_text(char)
    value = f"a{char}b"
    # a string alone, in a free-form dict (value and key) and in a database record
    assert round_trip(value) == f"a{seen}b"
    assert round_trip({value: value, "n": [value]}) == {f"a{seen}b": f"a{seen}b", "n": [f"a{seen}b"]}
    assert round_trip(RecordList([{value: value}])) == [{f"a{seen}b": f"a{seen}b"}]
    assert (seen == char) is carried(code)


@pytest.mark.parametrize("code", CONTROL_RANGE + EDGES, ids=lambda c: f"U+{c:04X}")
def test_every_control_and_edge_character_in_values_and_keys(code: int) -> None:
    check_character(code)


def test_every_lone_surrogate_in_values_and_keys() -> None:
    for code in SURROGATES:
        check_character(code)


def test_every_code_point_at_once() -> None:
    text = "".join(chr(code) for code in range(0x110000))
    # U+DBFF next to U+DC00 is a pair: the one place where the run of surrogates joins up.
    assert round_trip(text) == expected_text(text)
    assert round_trip({text: 1}) == {expected_text(text): 1}


def test_surrogate_pairs_held_as_two_code_points_become_their_character() -> None:
    assert round_trip("\ud83d\ude00|\ud83d|\ude00|\ude00\ud83d") == "\U0001f600|\ufffd|\ufffd|\ufffd\ufffd"


def test_markup_and_line_ends_survive_exactly() -> None:
    text = "<a href='x'>&amp; ]]> \r\n\r \t</a>"
    assert round_trip(text) == text
    assert round_trip({text: text}) == {text: text}


def test_keys_that_become_equal_are_written_once_first_wins() -> None:
    body = plist_body({"a\x01": 1, "a\x02": 2, "a\ud800": 3, "b": 4})
    assert body.count("<key>a\ufffd</key>".encode()) == 1
    assert plistlib.loads(body)["payload"] == {"a\ufffd": 1, "b": 4}
    # A clean key equal to what a later one becomes keeps its place and value.
    assert round_trip({"k\ufffd": "clean", "k\x1f": "lossy", "z": None, "k\x00": "also"}) == {"k\ufffd": "clean"}
    # Null values are never written, so they never take a key's place.
    assert round_trip({"k\x01": None, "k\x02": "kept"}) == {"k\ufffd": "kept"}


def test_random_nested_payloads_always_parse_to_the_expected_values() -> None:
    alphabet = [
        *(chr(c) for c in CONTROL_RANGE),
        "\ud800", "\udbff", "\udc00", "\udfff", "\ufffe", "\uffff", "\ufffd",
        "&", "<", ">", "]]>", "\r", "\r\n", "'", '"', "a", "Z", " ", "é", "\u2028", "\U0001f600", "\U0010ffff",
    ]  # fmt: skip
    rng = random.Random(20261213)

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth > 3 or roll < 0.5:
            return text()
        if roll < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 4))}

    def expected(item: Any) -> Any:
        if isinstance(item, str):
            return expected_text(item)
        if isinstance(item, list):
            return [expected(x) for x in item]
        out: dict[str, Any] = {}
        for key, inner in item.items():
            out.setdefault(expected_text(key), expected(inner))  # the first of equal keys wins
        return out

    for _ in range(400):
        payload = value(0)
        assert round_trip(payload) == expected(payload)
