"""check_syntax: parse a script without running it, reporting line and column."""

from __future__ import annotations

import json

from runtime.binds.globals import script_name
from runtime.errors import RawEngineError, ScriptSyntaxError, convert_engine_error
from runtime.limits import Deadline
from runtime.pool import default_pool

SYNTAX_APP = "\x00syntax-check"
_WRAP = "(function(){"


def check(code: str, method_name: str) -> ScriptSyntaxError | None:
    # Compile the code as the body of a function expression that is never called: no
    # declaration is instantiated, nothing runs. The wrapper sits on line 1, so only
    # columns on line 1 need shifting.
    script = script_name(method_name)
    source = json.dumps(_WRAP + code + "\n})\n//# sourceURL=" + script)
    pool = default_pool()
    context = pool.checkout(SYNTAX_APP)
    try:
        context.engine.eval(f"(0, eval)({source}); undefined", Deadline(5.0))
        return None
    except RawEngineError as error:
        failure = convert_engine_error(
            error, method=method_name, user_scripts={script: method_name, "undefined": method_name}
        )
        if not isinstance(failure, ScriptSyntaxError):
            return ScriptSyntaxError(failure.message, method=method_name)
        if failure.line == 1 and failure.column is not None:
            failure.column = max(1, failure.column - len(_WRAP))
        return failure
    finally:
        pool.checkin(context, healthy=not context.engine.broken)
