"""K.log, K.error, K.trace (alias K.stackTrace): captured log entries, never printed."""

from __future__ import annotations

from runtime.binds import Bind

JS = r"""
K.log = function log(...args) { addLog('log', args, false, log); };
K.error = function error(...args) { addLog('error', args, true, error); };
K.trace = function trace() { addLog('trace', [], true, trace); };
K.stackTrace = function stackTrace() { addLog('trace', [], true, stackTrace); };
"""

BIND = Bind(
    name="logging",
    js=JS,
    k_members=("log", "error", "trace", "stackTrace"),
    dts="""
  /** Write the arguments (shown as an array) to the method's debug log. */
  log(...args: any[]): void;
  /** Log the arguments with a stack trace and the calling function. Does not throw. */
  error(...args: any[]): void;
  /** Log the current stack (function names and lines). */
  trace(): void;
  /** Alias of K.trace(). */
  stackTrace(): void;
""",
)
