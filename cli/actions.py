"""The action commands: ``resync``, ``actions`` and ``audit`` (registered by ``cli.commands``).

    resync NAME NUMBER... --approve-as USER [--json]   plan, approve as USER, run, print the outcome
    resync NAME NUMBER... --plan [--json]              the plan only: nothing is written
    actions [NAME] [--json]                            actions and their states
    actions resume [--json]                            finish unfinished actions (``serve`` does it at start)
    audit NAME [--json]                                the audit trail

``resync --json`` prints ``{"action", "status", "invoices": [{"number", "status",
"destination_id", "error"}]}``. Exit codes: 0 every invoice landed (or was already there),
1 any did not (failed, blocked, or the plan was refused), 2 bad input (an unknown integration
or invoice, more than 500 numbers, USER not an admin).

Like ``cli.commands``, this module imports only what parsing and error messages need; each
command imports the rest when it runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from typing import TYPE_CHECKING, Any

from actions.errors import ActionRefused, BadRequest, PlanRefused, TooMany, UnknownAction, UnknownInvoice

if TYPE_CHECKING:
    from checks.runner import RunResult
    from cli.commands import Command
    from service.action_views import ActionView
    from service.container import Services

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
USAGE_REFUSALS = (BadRequest, TooMany, UnknownInvoice, UnknownAction)
RESUME = "resume"  # `actions resume`: an integration cannot be called that


def add_parsers(sub: Any) -> None:
    resync = sub.add_parser("resync", help="re-sync invoices to the destination (approved by an admin)")
    resync.add_argument("name")
    resync.add_argument("numbers", nargs="+", metavar="NUMBER")
    how = resync.add_mutually_exclusive_group(required=True)
    how.add_argument("--approve-as", metavar="USER", help="an admin's Slack user id (from slack.admins)")
    how.add_argument("--plan", action="store_true", help="print the plan only; nothing is written")
    resync.add_argument("--json", action="store_true")

    actions = sub.add_parser("actions", help="actions and their states; `actions resume` finishes unfinished ones")
    actions.add_argument("name", nargs="?", help="an integration, or `resume`")
    actions.add_argument("--json", action="store_true")

    audit = sub.add_parser("audit", help="the audit trail of one integration")
    audit.add_argument("name")
    audit.add_argument("--json", action="store_true")


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _refused(e: ActionRefused, as_json: bool) -> int:
    """Print a refusal; its exit code."""
    from cli.action_render import blocked_text

    if isinstance(e, USAGE_REFUSALS):
        print(f"error: {e.message}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(e, PlanRefused):
        if as_json:
            rows = [
                {"number": what, "status": "blocked", "destination_id": None, "error": f"{b.code}: {b.detail}"}
                for what, b in e.blockers
            ]
            _print({"action": None, "status": "refused", "invoices": rows})
        else:
            print(f"Refused: {e.message}\n{blocked_text(e.blockers)}")
        return EXIT_FAILED
    print(f"error: {e.message}", file=sys.stderr)
    return EXIT_FAILED


def cmd_resync(args: argparse.Namespace, command: Command) -> int:
    services = command.services()
    try:
        if args.plan:
            return _plan(services, args)
        admins = {a for a in services.config.slack.admins if a[:1] in ("U", "W")}
        if args.approve_as not in admins:
            print(
                f"error: {args.approve_as} is not an admin: add their Slack user id to slack.admins in "
                f"{services.config.path} (user groups count only in Slack)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        actions = services.actions
        try:
            action = actions.request(args.name, "resync", {"numbers": args.numbers}, requested_by="cli", via="cli")
            actions.approve(action.id, user=args.approve_as, is_admin=True)
            outcome = actions.run(action.id)
        except ActionRefused as e:
            return _refused(e, args.json)
        return _report(outcome.action, args.json)
    finally:
        sys.stdout.flush()
        services.close()


def _plan(services: Services, args: argparse.Namespace) -> int:
    from cli.action_render import plan_text

    try:
        plan = services.actions.plan(args.name, "resync", {"numbers": args.numbers})
    except ActionRefused as e:
        return _refused(e, args.json)
    print(json.dumps(plan.to_json(), indent=2) if args.json else plan_text(plan))
    return EXIT_FAILED if plan.blocked() else EXIT_OK


def _report(action: ActionView, as_json: bool) -> int:
    from cli.action_render import outcome_text

    results = action.invoice_results()
    if as_json:
        _print({"action": action.id, "status": action.state, "invoices": results})
    else:
        print(outcome_text(action))
    landed = all(r["status"] in ("succeeded", "adopted") for r in results)
    return EXIT_OK if results and landed else EXIT_FAILED


def cmd_actions(args: argparse.Namespace, command: Command) -> int:
    from cli.action_render import action_line, outcome_text

    services = command.services()
    try:
        if args.name == RESUME:
            try:
                outcomes = services.actions.resume()
            except ActionRefused as e:
                return _refused(e, args.json)
            if args.json:
                _print({"resumed": [o.action.to_json() for o in outcomes]})
            else:
                print("\n".join(outcome_text(o.action) for o in outcomes) or "Nothing to resume.")
            return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED
        views = services.actions.list(args.name)
        if args.json:
            _print({"actions": [v.to_json() for v in views]})
        else:
            print("\n".join(action_line(v) for v in views) or "No actions.")
        return EXIT_OK
    finally:
        sys.stdout.flush()
        services.close()


def cmd_audit(args: argparse.Namespace, command: Command) -> int:
    from cli.action_render import audit_text

    services = command.services()
    try:
        entries = services.actions.audit(args.name)
        if args.json:
            _print({"integration": args.name.strip().lower(), "events": [e.to_json() for e in entries]})
        else:
            print(audit_text(entries))
        return EXIT_OK
    finally:
        sys.stdout.flush()
        services.close()


def proposed_plans(services: Services, result: RunResult) -> list[dict[str, Any]]:
    """Each action the run's findings propose, planned from fresh data (nothing is stored):
    ``{"finding": {code, subject}, "action": {kind, label, params}, "plan": ..., "refused": ...}``
    where ``plan`` is the Plan (None when refused) and ``refused`` the ActionRefused."""
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for finding in result.findings:
        action = finding.action
        if action is None:
            continue
        key = (action.kind, tuple(sorted(action.params.items())))
        if key in seen:
            continue
        seen.add(key)
        entry: dict[str, Any] = {
            "finding": {"code": finding.code, "subject": finding.subject},
            "action": action.to_json(),
            "plan": None,
            "refused": None,
        }
        try:
            entry["plan"] = services.actions.plan(result.integration, action.kind, action.params)
        except ActionRefused as e:
            entry["refused"] = e
        found.append(entry)
    return found


def proposed_json(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        refused: ActionRefused | None = entry["refused"]
        blockers = getattr(refused, "blockers", ())
        out.append(
            {
                "finding": entry["finding"],
                "action": entry["action"],
                "plan": entry["plan"].to_json() if entry["plan"] is not None else None,
                "refused": None
                if refused is None
                else {
                    "code": refused.code,
                    "message": refused.message,
                    "blockers": [{"ref": ref, **b.to_json()} for ref, b in blockers],
                },
            }
        )
    return out


def proposed_text(entries: list[dict[str, Any]]) -> str:
    from cli.action_render import blocked_text, plan_text

    if not entries:
        return ""
    lines = ["Proposed fixes (each runs once an admin approves it):"]
    for entry in entries:
        plan = entry["plan"]
        if plan is not None:
            lines.append(plan_text(plan))
        else:
            refused: ActionRefused = entry["refused"]
            lines.append(f"{entry['action']['label']}: refused, {refused.message}")
            if isinstance(refused, PlanRefused):
                lines.append(blocked_text(refused.blockers))
    return "\n".join(lines)


def resume_in_background(services: Services) -> threading.Thread:
    """``serve`` finishes what a previous process left unfinished without delaying its start."""

    def resume() -> None:
        try:
            for outcome in services.actions.resume():
                logger.info("resumed action %s: %s", outcome.action.id, outcome.action.state)
        except Exception:  # the server keeps serving; the next start (or `actions resume`) tries again
            logger.exception("resuming unfinished actions failed")

    thread = threading.Thread(target=resume, name="resume-actions", daemon=True)
    thread.start()
    return thread


COMMANDS = {"resync": cmd_resync, "actions": cmd_actions, "audit": cmd_audit}
