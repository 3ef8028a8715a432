"""python manage.py kscript run APP METHOD --params '{...}' — Run It! from the shell.

Runs the method's latest draft exactly as the console's Run It! does and prints the
result, the time it took and the captured logs; a script error prints its method, line
and column and the command exits with status 1. `kscript list APP` names the methods.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apimethods import drafts
from apimethods.models import KScriptMethod
from apimethods.wire import WireError
from console.apps.management.arguments import add_app_argument, app_argument
from console.apps.models import App


class Command(BaseCommand):
    help = "Run a KScript method's latest draft (as Run It! does), or list an app's KScript methods."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        run = actions.add_parser("run", help="run a method's latest draft and print its result and logs")
        add_app_argument(run)
        run.add_argument("method", help="the method's name (lowerCamelCase) or title")
        run.add_argument("--params", default="{}", help="parameter values as a JSON object, e.g. '{\"userID\": 4}'")
        run.add_argument("--session-token", help="run as this client session (K.session)")
        run.add_argument("--json", action="store_true", help="print the whole answer as one JSON object")
        listing = actions.add_parser("list", help="list the app's KScript methods")
        add_app_argument(listing)

    def handle(self, *args: Any, **options: Any) -> None:
        app = app_argument(options)
        if options["action"] == "list":
            for method in KScriptMethod.objects.filter(app=app).order_by("name"):
                self.stdout.write(f"{method.name}\t{method.title}\trevision {method.latest_revision}")
            return
        self._run(app, options)

    def _run(self, app: App, options: dict[str, Any]) -> None:
        if not app.kscript_enabled:
            raise CommandError(f"KScript is not enabled for app {app.pk}; a platform admin can switch it on.")
        reference = options["method"]
        method = (
            KScriptMethod.objects.filter(app=app, name=reference).first()
            or KScriptMethod.objects.filter(app=app, title=reference).first()
        )
        if method is None:
            raise CommandError(f"App {app.pk} has no KScript method {reference!r} (see: kscript list {app.pk}).")
        try:
            params = json.loads(options["params"])
        except ValueError as exc:
            raise CommandError(f"--params is not JSON: {exc}") from None
        if not isinstance(params, dict):
            raise CommandError("--params must be a JSON object, e.g. '{\"userID\": 4}'.")
        try:
            answer = drafts.run_draft(app, method, params, options.get("session_token"))
        except WireError as exc:
            raise CommandError(f"Bad parameters: {exc.message}") from None
        if options["json"]:
            self.stdout.write(json.dumps(answer, indent=2))
        else:
            self._print(answer)
        if not answer["ok"]:
            raise SystemExit(1)

    def _print(self, answer: dict[str, Any]) -> None:
        for entry in answer["logs"]:
            where = f"{entry['script']}:{entry['line']}" if entry.get("line") else entry.get("script") or ""
            text = " ".join(a if isinstance(a, str) else json.dumps(a) for a in entry["args"])
            self.stdout.write(f"[{entry['level']}] {where} {text}".rstrip())
        if answer.get("logs_dropped"):
            self.stdout.write(f"({answer['logs_dropped']} more log lines were dropped)")
        if answer["ok"]:
            self.stdout.write(json.dumps(answer["result"], indent=2))
            self.stdout.write(self.style.SUCCESS(f"ran in {answer['duration_ms']} ms"))
            return
        error = answer["error"]
        place = f" in {error['method']} at line {error['line']}, column {error['column']}" if error.get("line") else ""
        self.stderr.write(self.style.ERROR(f"{error['type']}{place}: {error['message']}"))
        if error.get("stack"):
            self.stderr.write(error["stack"])
