"""What a deploy or a rollback would change against the live deployment, and the text of
one method on either side (for the console's confirmation dialog and its diffs).

Snapshots are compared entry by entry (`snapshot_changes` is pure); a method is changed
when anything clients would notice differs — code, parameters, return type, or an API
method's definition — or when only its revision number moved (shown as "same code").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import NotFound, ValidationError

from apimethods import services
from apimethods.models import Deployment
from console.apps.models import App

# Parts of a snapshot entry that clients notice, with the words the console shows.
_PARTS = {
    "kscript": (("code", "code"), ("params", "parameters"), ("return_type", "return type")),
    "apimethod": (("definition", "definition"),),
}


def _entry(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": name, "kind": spec.get("kind"), "revision": spec.get("revision")}


def _differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    if before.get("kind") != after.get("kind"):
        return ["kind"]
    parts = _PARTS.get(str(after.get("kind")), ())
    return [label for key, label in parts if before.get(key) != after.get(key)]


def snapshot_changes(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Methods added, removed, changed and unchanged going from `before` to `after`
    (each `{name: snapshot entry}`), every list by name."""
    added = [_entry(name, after[name]) for name in sorted(after.keys() - before.keys())]
    removed = [_entry(name, before[name]) for name in sorted(before.keys() - after.keys())]
    changed, unchanged = [], []
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        what = _differences(old, new)
        if what or old.get("revision") != new.get("revision"):
            changed.append(
                {
                    **_entry(name, new),
                    "from_revision": old.get("revision"),
                    "from_kind": old.get("kind"),
                    "what": what,
                }
            )
        else:
            unchanged.append(_entry(name, new))
    return {"added": added, "removed": removed, "changed": changed, "unchanged": unchanged}


def deployment_summary(deployment: Deployment) -> dict[str, Any]:
    """Which deployment, by whom and when: how every answer names one."""
    return {
        "number": deployment.number,
        "created_at": deployment.created_at.isoformat(),
        "created_by": deployment.created_by.username if deployment.created_by else None,
        "restored_from": deployment.restored_from,
    }


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _flatten(value)]
    return [str(detail)]


def current_methods(app: App) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """What a deploy would freeze now, and what stops it. An API method that does not fit
    the tables is still listed (by its latest revision) so the rest can be reviewed."""
    try:
        return services.snapshot_methods(app), []
    except ValidationError as exc:
        problems = _flatten(exc.detail)
    from apimethods.actions.services import latest_revisions as api_revisions

    methods: dict[str, dict[str, Any]] = {
        r.method.name: {"kind": "apimethod", "revision": r.number, "definition": r.definition}
        for r in api_revisions(app)
    }
    if app.kscript_enabled:
        methods.update(services.snapshot_methods_of_kscripts(app))
    return methods, problems


def _deployment(app: App, number: int) -> Deployment:
    found = Deployment.objects.filter(app=app, number=number).select_related("created_by").first()
    if found is None:
        raise NotFound(f"This app has no deployment #{number}.")
    return found


def preview(app: App, restore: int | None = None) -> dict[str, Any]:
    """What deploying now (or, with `restore`, rolling back to that deployment) changes
    for clients, and the problems that would stop it."""
    live = services.live_deployment(app)
    before = live.snapshot.get("methods", {}) if live else {}
    if restore is None:
        after, problems = current_methods(app)
        target: dict[str, Any] = {"kind": "deploy"}
    else:
        old = _deployment(app, restore)
        after = old.snapshot.get("methods", {})
        problems = services.api_method_problems(app, after)
        if live is not None and live.pk == old.pk:
            problems.insert(0, f"Deployment #{restore} is already live.")
        target = {"kind": "rollback", **deployment_summary(old)}
    problems += services.kscript_syntax_problems(after)
    live_summary = deployment_summary(live) if live is not None else None
    return {"live": live_summary, "target": target, **snapshot_changes(before, after), "problems": problems}


def _side(app: App, ref: str) -> tuple[dict[str, dict[str, Any]], str]:
    """The methods behind a reference: "live", "current" (latest revisions) or a number."""
    if ref == "live":
        live = services.live_deployment(app)
        return (live.snapshot.get("methods", {}) if live else {}), (f"Live: deployment #{live.number}" if live else "")
    if ref == "current":
        return current_methods(app)[0], "To deploy"
    if ref.isdigit():
        deployment = _deployment(app, int(ref))
        return deployment.snapshot.get("methods", {}), f"Deployment #{deployment.number}"
    raise ValidationError({"ref": ['Give "live", "current" or a deployment number.']})


def _text(spec: Mapping[str, Any] | None) -> str | None:
    if spec is None:
        return None
    if spec.get("kind") == "kscript":
        return str(spec.get("code", ""))
    return json.dumps(spec.get("definition", {}), indent=2, ensure_ascii=False) + "\n"


def _signature(spec: Mapping[str, Any] | None) -> str:
    if spec is None:
        return "not there"
    revision = f"rev {spec.get('revision')}"
    if spec.get("kind") != "kscript":
        return f"API method · {revision}"
    params = ", ".join(f"{name}: {kind}" for name, kind in spec.get("params", []))
    return f"{revision} · returns {spec.get('return_type')} · ({params})"


def method_diff(app: App, name: str, before_ref: str, after_ref: str) -> dict[str, Any]:
    """One method's text on both sides (None where it does not exist), for a diff."""
    before, before_label = _side(app, before_ref)
    after, after_label = _side(app, after_ref)
    old, new = before.get(name), after.get(name)
    if old is None and new is None:
        raise NotFound(f"No method {name!r} on either side.")
    kind = (new or old or {}).get("kind")
    return {
        "name": name,
        "kind": kind,
        "language": "javascript" if kind == "kscript" else "json",
        "original": _text(old),
        "modified": _text(new),
        "original_label": f"{before_label} · {_signature(old)}",
        "modified_label": f"{after_label} · {_signature(new)}",
    }
