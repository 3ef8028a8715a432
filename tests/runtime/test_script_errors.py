"""Errors carry the user's method, line and column; check_syntax reports positions."""

from __future__ import annotations

import pytest

from runtime import ScriptError, ScriptSyntaxError, check_syntax


def test_thrown_string_reports_line_and_column(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScriptError) as caught:
        run("var a = 1;\n\n  throw 'Results failed!';", method="getThings")
    error = caught.value
    assert (error.message, error.method, error.line, error.column) == ("Results failed!", "getThings", 3, 3)


def test_runtime_error_reports_stack(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScriptError) as caught:
        run("function inner() { return missing.x; }\nfunction outer() { return inner(); }\nouter();")
    error = caught.value
    assert error.message == "ReferenceError: missing is not defined"
    assert (error.line, error.column) == (1, 20)
    assert "at inner (main:1:20)" in error.stack
    assert "kiln-runtime" not in error.stack
    assert "at outer (main:2:27)" in error.stack


def test_api_misuse_points_at_the_users_line(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScriptError) as caught:
        run("var x = 1;\nK.delete('1_1_t').run();")
    assert caught.value.line == 2
    assert "forceDeleteAll" in caught.value.message


def test_error_inside_an_included_script_names_it(run, scripts) -> None:  # type: ignore[no-untyped-def]
    scripts.scripts["_helpers_"] = "function boom() {\n  throw new Error('inside');\n}"
    with pytest.raises(ScriptError) as caught:
        run("include('_helpers_');\nboom();")
    assert (caught.value.method, caught.value.line, caught.value.message) == ("_helpers_", 2, "Error: inside")


def test_syntax_error_inside_an_included_script_names_it(run, scripts) -> None:  # type: ignore[no-untyped-def]
    scripts.scripts["_bad_"] = "var ok = 1;\nvar s = 'unterminated;\n"
    with pytest.raises(ScriptSyntaxError) as caught:
        run("include('_bad_');")
    assert (caught.value.method, caught.value.line) == ("_bad_", 2)


def test_logs_collected_before_an_error_are_kept(run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScriptError) as caught:
        run("K.log('before');\nthrow 'x';")
    assert [entry.args for entry in caught.value.logs] == [("before",)]


def test_check_syntax_reports_an_unterminated_string() -> None:
    error = check_syntax("var a = 1;\nvar b = 'abc;\nK.setResponse(b);", method_name="save")
    assert isinstance(error, ScriptSyntaxError)
    assert (error.message, error.method, error.line, error.column) == (
        "SyntaxError: Invalid or unexpected token",
        "save",
        2,
        9,
    )


def test_check_syntax_on_line_one_shifts_the_column() -> None:
    error = check_syntax("var = 1;")
    assert error is not None and (error.line, error.column) == (1, 5)


def test_check_syntax_accepts_valid_code_without_running_it() -> None:
    assert check_syntax("while (true) {}\nlet x = 1;") is None
    assert check_syntax("let x = 2;") is None
