from __future__ import annotations

import json
from typing import Any

import pytest

from apimethods.wire import MAX_DEPTH, MAX_FIELDS, WireError, parse_body

FORM = "application/x-www-form-urlencoded"


def invalid(content_type: str | None, body: bytes) -> WireError:
    with pytest.raises(WireError) as caught:
        parse_body(content_type, body)
    assert caught.value.code == 32
    return caught.value


# --- form-urlencoded ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Percent-encoded brackets: ObjC, Alamofire, OkHttp, PHP.
        (b"params%5Busername%5D=alice", {"params": {"username": "alice"}}),
        (b"params%5busername%5d=alice", {"params": {"username": "alice"}}),
        # Raw brackets: Cordova.
        (b"params[username]=alice", {"params": {"username": "alice"}}),
        # Spaces as "+" (ObjC) and as %20.
        (b"params[name]=John+Smith", {"params": {"name": "John Smith"}}),
        (b"params[name]=John%20Smith", {"params": {"name": "John Smith"}}),
        (b"params[a+b]=1", {"params": {"a b": "1"}}),
        # Encoded reserved characters and UTF-8.
        (b"params[q]=a%26b%3Dc%2Bd", {"params": {"q": "a&b=c+d"}}),
        (b"params[name]=J%C3%BCrgen", {"params": {"name": "Jürgen"}}),
        # Values that were never percent-encoded (Corona, GameMaker).
        ("params[name]=Jürgen".encode(), {"params": {"name": "Jürgen"}}),
        (b"params[note]=50% off", {"params": {"note": "50% off"}}),
        (b"params[note]=100%", {"params": {"note": "100%"}}),
        (b"params[note]=%zz%4", {"params": {"note": "%zz%4"}}),
        (b"params[url]=http://x.y/?a=b", {"params": {"url": "http://x.y/?a=b"}}),
        (b"params[email]=a@b.c", {"params": {"email": "a@b.c"}}),
        # Empty values, missing "=", empty pairs.
        (b"params[x]=", {"params": {"x": ""}}),
        (b"params[x]", {"params": {"x": ""}}),
        (b"a=1&&b=2&", {"a": "1", "b": "2"}),
        (b"=orphan&a=1", {"a": "1"}),
        # Last value wins for repeated plain keys.
        (b"a=1&a=2", {"a": "2"}),
    ],
)
def test_form_fields_decode(body: bytes, expected: dict[str, Any]) -> None:
    assert parse_body(FORM, body) == expected


def test_form_request_as_the_android_sdk_sends_it() -> None:
    body = (
        b"deviceType=6&installId=6f1c0b9e-2d&sessionToken=0b6a-e1"
        b"&params%5Busername%5D=alice&params%5BsinceDate%5D=1462060800"
    )

    assert parse_body(FORM, body) == {
        "deviceType": "6",
        "installId": "6f1c0b9e-2d",
        "sessionToken": "0b6a-e1",
        "params": {"username": "alice", "sinceDate": "1462060800"},
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"a[b][c]=1", {"a": {"b": {"c": "1"}}}),
        (b"a%5Bb%5D%5Bc%5D=1&a[b][d]=2", {"a": {"b": {"c": "1", "d": "2"}}}),
        (b"a[]=1&a[]=2&a[]=3", {"a": ["1", "2", "3"]}),
        (b"a%5B%5D=1&a%5B%5D=2", {"a": ["1", "2"]}),
        (b"params[tags][]=x&params[tags][]=y", {"params": {"tags": ["x", "y"]}}),
        (b"a[][x]=1&a[][y]=2", {"a": [{"x": "1"}, {"y": "2"}]}),
        (b"a[b][][c]=1&a[b][][c]=2", {"a": {"b": [{"c": "1"}, {"c": "2"}]}}),
        # Mixed list and named keys: PHP turns the list into a keyed array.
        (b"a[]=1&a[x]=2&a[]=3", {"a": {"0": "1", "x": "2", "1": "3"}}),
        (b"a[x]=1&a[]=2", {"a": {"x": "1", "0": "2"}}),
        # Keys that number every item from 0 make a list (PHP, Alamofire and ObjC arrays).
        (b"a[0]=p&a[]=q", {"a": ["p", "q"]}),
        (b"a[0]=p&a[1]=q", {"a": ["p", "q"]}),
        (b"a[1]=q&a[0]=p", {"a": ["p", "q"]}),
        (b"params[tags][0]=a&params[tags][1]=b", {"params": {"tags": ["a", "b"]}}),
        (b"a[0][x]=1&a[1][x]=2", {"a": [{"x": "1"}, {"x": "2"}]}),
        (b"a[1]=q&a[2]=r", {"a": {"1": "q", "2": "r"}}),
        (b"a[0]=p&a[01]=q", {"a": {"0": "p", "01": "q"}}),
        # Type conflicts: the later field wins.
        (b"a=1&a[b]=2", {"a": {"b": "2"}}),
        (b"a[b]=2&a=1", {"a": "1"}),
        (b"a[b]=1&a[b][c]=2", {"a": {"b": {"c": "2"}}}),
        (b"a[]=1&a=2", {"a": "2"}),
        # Keys that are not well-formed bracket syntax stay flat.
        (b"a[b=1", {"a[b": "1"}),
        (b"a]b=1", {"a]b": "1"}),
        (b"a[b]c=1", {"a[b]c": "1"}),
        (b"[a]=1", {"[a]": "1"}),
        (b"a[b[c]]=1", {"a[b[c]]": "1"}),
    ],
)
def test_form_bracket_keys_nest_like_php(body: bytes, expected: dict[str, Any]) -> None:
    assert parse_body(FORM, body) == expected


def test_form_array_keys_double_encoded_by_the_objc_sdk_are_repaired() -> None:
    body = b"params%255Btags%255D%5B%5D=a&params%255Btags%255D%5B%5D=b"

    assert parse_body(FORM, body) == {"params": {"tags": ["a", "b"]}}


@pytest.mark.parametrize(
    "content_type",
    [
        FORM,
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-Urlencoded; Charset=UTF-8",
        'application/x-www-form-urlencoded; charset="utf-8"',
        "application/x-www-form-urlencoded; charset=no-such-charset",
        None,
        "",
        "text/plain",
    ],
)
def test_form_content_type_variants_are_tolerated(content_type: str | None) -> None:
    assert parse_body(content_type, b"params[x]=%C3%A9") == {"params": {"x": "é"}}


def test_form_charset_parameter_is_honoured() -> None:
    body = b"params[x]=%E9&params[y]=\xe9"

    assert parse_body(FORM + "; charset=iso-8859-1", body) == {"params": {"x": "é", "y": "é"}}


@pytest.mark.parametrize("body", [b"", b"   ", b"\r\n"])
@pytest.mark.parametrize("content_type", [FORM, "application/json", "multipart/form-data", None])
def test_empty_body_is_an_empty_dict(content_type: str | None, body: bytes) -> None:
    assert parse_body(content_type, body) == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"params[x]=\xff\xfe", "Request body is not valid utf-8 form data"),
        (b"params[x]=%FF", "Request body has percent-escapes that are not valid utf-8"),
        (b"%C3=1", "Request body has percent-escapes that are not valid utf-8"),
    ],
)
def test_form_undecodable_bytes_are_invalid_requests(body: bytes, message: str) -> None:
    assert invalid(FORM, body).message == message


def test_form_field_count_is_bounded() -> None:
    at_limit = b"&".join(b"f%d=1" % i for i in range(MAX_FIELDS))
    over_limit = at_limit + b"&one=more"

    assert len(parse_body(FORM, at_limit)) == MAX_FIELDS
    assert invalid(FORM, over_limit).message == "Request body has more than 10000 fields"


def test_form_nesting_depth_is_bounded() -> None:
    deepest = b"a" + b"[x]" * (MAX_DEPTH - 1) + b"=1"
    too_deep = b"a" + b"[x]" * MAX_DEPTH + b"=1"

    node: Any = parse_body(FORM, deepest)
    for _ in range(MAX_DEPTH - 1):
        node = node["a" if "a" in node else "x"]
    assert node == {"x": "1"}
    assert invalid(FORM, too_deep).message == "Field 'a' is nested deeper than 32 levels"


def test_form_many_appends_to_a_keyed_array_stay_linear() -> None:
    explicit = b"&".join(b"a[%d]=x" % i for i in range(4000))
    appended = b"&".join(b"a[]=y" for _ in range(4000))

    result = parse_body(FORM, explicit + b"&" + appended)

    assert len(result["a"]) == 8000
    assert result["a"][3999] == "x"
    assert result["a"][4000] == "y"
    assert result["a"][7999] == "y"


# --- JSON --------------------------------------------------------------------------------


def test_json_body_as_the_swift_sdk_sends_it() -> None:
    body = (
        b'{"params":{"username":"bob","isAdmin":false,"age":41,"photo":"aGk="},'
        b'"sessionToken":"3F25","deviceID":"9B1D","installId":"9B1D"}'
    )

    assert parse_body("application/json", body) == {
        "params": {"username": "bob", "isAdmin": False, "age": 41, "photo": "aGk="},
        "sessionToken": "3F25",
        "deviceID": "9B1D",
        "installId": "9B1D",
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "text/json",
        "application/vnd.kiln+json",
        FORM,
        None,
    ],
)
def test_json_is_recognised_by_type_or_by_content(content_type: str | None) -> None:
    assert parse_body(content_type, b' {"installId":"x"}') == {"installId": "x"}


def test_json_in_utf16_is_detected() -> None:
    body = '{"params":{"name":"Jürgen"}}'.encode("utf-16")

    assert parse_body("application/json", body) == {"params": {"name": "Jürgen"}}


def test_json_without_params_is_kept_as_is() -> None:
    assert parse_body("application/json", b'{"sessionToken":"t"}') == {"sessionToken": "t"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1,2]", "Request body must be a JSON object"),
        (b'"text"', "Request body must be a JSON object"),
        (b"null", "Request body must be a JSON object"),
        (b"42", "Request body must be a JSON object"),
        (b'{"a":', "Request body is not valid JSON"),
        (b"{'a': 1}", "Request body is not valid JSON"),
        (b'{"a": NaN}', "Request body is not valid JSON"),
        (b'{"a": Infinity}', "Request body is not valid JSON"),
        (b'{"a": "\xff"}', "Request body is not valid JSON"),
        (b"params[x]=1", "Request body is not valid JSON"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "Request body is not valid JSON"),
        (b"[" * 100_000, "Request body is not valid JSON"),
    ],
)
def test_json_garbage_is_an_invalid_request(body: bytes, message: str) -> None:
    assert invalid("application/json", body).message == message


def test_json_nesting_depth_is_bounded() -> None:
    def nested(levels: int) -> bytes:
        return b'{"a":' * (levels - 1) + b"{}" + b"}" * (levels - 1)

    assert parse_body("application/json", nested(MAX_DEPTH)) is not None
    assert (
        invalid("application/json", nested(MAX_DEPTH + 1)).message
        == "Request body is nested deeper than 32 levels"
    )


def test_json_value_count_is_bounded() -> None:
    fits = json.dumps({"params": {"list": list(range(MAX_FIELDS - 2))}}).encode()
    too_many = json.dumps({"params": {"list": list(range(MAX_FIELDS))}}).encode()

    assert len(parse_body("application/json", fits)["params"]["list"]) == MAX_FIELDS - 2
    assert (
        invalid("application/json", too_many).message == "Request body has more than 10000 values"
    )


# --- multipart ---------------------------------------------------------------------------


def multipart(
    boundary: str, *parts: tuple[str, str | bytes, str | None], newline: bytes = b"\r\n"
) -> bytes:
    chunks: list[bytes] = []
    for name, value, filename in parts:
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(f"--{boundary}".encode() + newline + disposition.encode() + newline)
        if filename is not None:
            chunks.append(b"Content-Type: application/octet-stream" + newline)
        content = value.encode() if isinstance(value, str) else value
        chunks.append(newline + content + newline)
    chunks.append(f"--{boundary}--".encode() + newline)
    return b"".join(chunks)


def test_multipart_fields_use_the_same_bracket_names() -> None:
    body = multipart(
        "----RNFormBoundary7MA4YWxk",
        ("params[username]", "alice", None),
        ("params[tags][]", "a", None),
        ("params[tags][]", "b", None),
        ("sessionToken", "tok", None),
        ("params[bio]", "line one\r\nline two\r\n", None),
        ("params[name]", "Jürgen", None),
    )

    result = parse_body("multipart/form-data; boundary=----RNFormBoundary7MA4YWxk", body)

    assert result == {
        "params": {
            "username": "alice",
            "tags": ["a", "b"],
            "bio": "line one\r\nline two\r\n",
            "name": "Jürgen",
        },
        "sessionToken": "tok",
    }


def test_multipart_file_parts_become_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00--not-a-boundary\r\n"
    body = multipart(
        "XyZ",
        ("params[photo]", png, "photo.png"),
        ("params[empty]", b"", ""),
        ("params[caption]", "hi", None),
    )

    result = parse_body('multipart/form-data; boundary="XyZ"', body)

    assert result == {"params": {"photo": png, "empty": b"", "caption": "hi"}}


def test_multipart_with_bare_lf_line_ends_and_preamble() -> None:
    body = b"preamble\r\n" + multipart("b1", ("a", "1", None), ("b", "", None), newline=b"\n")

    assert parse_body("multipart/form-data; boundary=b1", body) == {"a": "1", "b": ""}


def test_multipart_part_headers_charset_and_transfer_encoding() -> None:
    body = (
        b"--b\r\n"
        b'content-disposition: form-data;\r\n name="latin"\r\n'
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"\xe9\r\n"
        b"--b\r\n"
        b'Content-Disposition: form-data; name="encoded"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"aMOpbGxv\r\n"
        b"--b\r\n"
        b"Content-Disposition: attachment\r\n\r\n"
        b"ignored\r\n"
        b"--b\r\n"
        b"\r\n"
        b"no headers: ignored\r\n"
        b"--b--"
    )

    assert parse_body("multipart/form-data; boundary=b", body) == {"latin": "é", "encoded": "héllo"}


def test_multipart_mislabelled_as_form_urlencoded_uses_its_first_line_as_boundary() -> None:
    body = multipart(
        "----WebKitFormBoundaryQ9",
        ("params[username]", "alice", None),
        ("installId", "abc", None),
    )

    assert parse_body(FORM, body) == {"params": {"username": "alice"}, "installId": "abc"}


def test_multipart_without_a_boundary_parameter_sniffs_it() -> None:
    body = multipart("zz", ("a", "1", None))

    assert parse_body("multipart/form-data", body) == {"a": "1"}


def test_multipart_with_only_the_closing_delimiter_is_empty() -> None:
    assert parse_body("multipart/form-data; boundary=b", b"--b--\r\n") == {}


def test_multipart_field_count_is_bounded() -> None:
    body = multipart("b", *[(f"f{i}", "1", None) for i in range(MAX_FIELDS + 1)])

    assert invalid("multipart/form-data; boundary=b", body).message == (
        "Request body has more than 10000 fields"
    )


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n',
            "Multipart request body is truncated",
        ),
        ("multipart/form-data; boundary=b", b"--b", "Multipart request body is truncated"),
        (
            "multipart/form-data; boundary=other",
            multipart("b", ("a", "1", None)),
            "Multipart request body does not contain its boundary",
        ),
        ("multipart/form-data", b"a=1", "Multipart request body has no boundary"),
        (FORM, b"--\r\n", "Multipart request body has no boundary"),
        (
            "multipart/form-data; boundary=" + "b" * 201,
            b"x",
            "Multipart request body has no usable boundary",
        ),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n\xff\r\n--b--',
            "Multipart field 'a' is not valid utf-8",
        ),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="\xff"\r\n\r\nx\r\n--b--',
            "Multipart part headers are not valid UTF-8",
        ),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="a"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n!!\r\n--b--",
            "Multipart part 'a' is not valid base64",
        ),
    ],
)
def test_multipart_garbage_is_an_invalid_request(
    content_type: str, body: bytes, message: str
) -> None:
    assert invalid(content_type, body).message == message


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/octet-stream", b"\x00\x01\x02\xff"),
        ("image/png", b"\x89PNG\r\n\x1a\n"),
    ],
)
def test_binary_garbage_is_an_invalid_request(content_type: str, body: bytes) -> None:
    invalid(content_type, body)
