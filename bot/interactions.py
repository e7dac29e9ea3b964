"""Buttons and the Deny modal: ask for a fix, approve, deny; the run that follows an approval;
an alert's Snooze buttons (``reports.alerts.snooze``: audited, redraws the alert).

Every listener acks first and hands the rest to a worker (``RunPool``), as ``/sync-check``
does, so nothing a click causes (planning from fresh data, ``usergroups.users.list``, posting)
happens before the 200 (SLACK.md section 1). The one exception is the Deny button: its modal
must open with the click's ``trigger_id`` within 3 seconds (SLACK.md section 3), so that
listener reads the action (one primary-key read) and opens the modal itself; whether the
clicker may deny is known there only from the configuration and the group cache, and is
checked again when the form is sent.

Every decision is the service's (``ActionService``): who may approve is computed here
(``bot/approvers.py``) and passed in as ``is_admin``; self-approval, expiry, a second click and
two admins at the same instant are refused there and audited. A refusal is explained to the
clicker alone (ephemeral) and nothing else happens; a button whose value was tampered with is
refused here (``bot/blocks/ids.py``), explained and audited through ``record_refusal``.

Approved actions run on their own pool (``ActionRunner``), never on the workers that answer
clicks and commands: a 500-invoice re-sync takes minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from actions.errors import ActionRefused, Interrupted, NotRunnable, PlanRefused, UnknownAction
from bot.action_messages import ActionMessages, Origin
from bot.approvers import Approvers
from bot.blocks import alerts as alert_blocks
from bot.blocks import approvals as blocks
from bot.blocks.common import Message
from bot.blocks.ids import (
    ACTION_PATTERNS,
    APPROVE,
    DENY,
    DENY_CALLBACK,
    REASON_BLOCK,
    REASON_INPUT,
    SNOOZE,
    DenyForm,
    Ids,
    Tampered,
)
from bot.commands import RunPool
from bot.errors import new_ref
from bot.permissions import may_snooze, user_allowed
from bot.publish import SlackAlertPublisher
from common.mrkdwn import escape
from reports import alerts as alert_service
from service.action_views import ActionView
from service.container import Services

logger = logging.getLogger(__name__)

RUN_WORKERS = 4  # actions running at once in this process
Tell = Callable[[Message], None]


def ephemeral(respond: Respond | None) -> Tell:
    """Answer the clicker alone, leaving the message they clicked in as it is."""

    def tell(message: Message) -> None:
        if respond is not None:
            respond(response_type="ephemeral", replace_original=False, **message.payload())

    return tell


def _keep_original(respond: Respond | None) -> Any:
    """``respond`` for the crash report: never replace the message the button was in."""
    if respond is None:
        return None
    return lambda **kw: respond(**{**kw, "replace_original": False, "response_type": "ephemeral"})


def origin_of(body: Mapping[str, Any]) -> Origin:
    """Where a click happened, if it was a channel message the bot can reply under."""
    container = body.get("container") or {}
    if container.get("type") != "message" or container.get("is_ephemeral"):
        return Origin()
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return Origin(channel, container.get("thread_ts") or container.get("message_ts"))


class ActionDesk:
    """The flows behind the buttons; each runs on a worker thread, never a listener's."""

    def __init__(self, services: Services, client: WebClient, approvers: Approvers, ids: Ids) -> None:
        self.services = services
        self.actions = services.actions
        self.approvers = approvers
        self.ids = ids
        self.messages = ActionMessages(client, ids, services.actions)
        self.runner = RunPool(RUN_WORKERS)

    # -- asking ---------------------------------------------------------------------------

    def ask(
        self,
        integration: str,
        kind: str,
        params: Mapping[str, Any],
        *,
        user: str,
        origin: Origin,
        tell: Tell,
        finding: tuple[str, str] | None = None,
        request_key: str | None = None,
    ) -> ActionView | None:
        """Plan and store the request, post it for approval; tell the asker what happened."""
        channel = self.actions.approvals_channel(integration)
        if not channel:
            tell(blocks.note(blocks.NO_CHANNEL))
            return None
        try:
            view = self.actions.request(
                integration,
                kind,
                params,
                requested_by=user,
                via="slack",
                finding=finding,
                request_key=request_key,
            )
        except PlanRefused as e:
            tell(blocks.plan_refused(e.message, e.blockers))
            return None
        except ActionRefused as e:
            tell(blocks.refusal(e.message))
            return None
        view, again = self.messages.post_request(view, channel, origin, user)
        tell(blocks.asked_message(view, channel, again=again))
        logger.info("request %s (%s) %s by %s", view.id, view.label, "asked again" if again else "posted", user)
        return view

    def ask_from_finding(self, value: str, *, user: str, origin: Origin, tell: Tell) -> None:
        try:
            ref = self.ids.finding_ref(value)
        except Tampered as e:
            self.refuse_tampered(user, str(e), tell)
            return
        if not user_allowed(self.services.config.slack, user):
            self.actions.record_refusal(None, user=user, reason="not an allowed user (slack.allowed_users)")
            tell(blocks.note(blocks.NOT_ALLOWED))
            return
        proposal = self.services.checks.proposal(ref.run_id, ref.position)
        if proposal is None:
            tell(blocks.note(blocks.GONE.format(name="NAME")))
            return
        self.ask(
            proposal.integration,
            proposal.action.kind,
            proposal.action.params,
            user=user,
            origin=origin,
            tell=tell,
            finding=(proposal.code, proposal.subject),
            request_key=f"slack:{ref.run_id}:{ref.position}",
        )

    # -- snoozing an alert -----------------------------------------------------------------

    def snooze(self, value: str, *, user: str, tell: Tell) -> None:
        """Snooze the alert the button names, redraw its message, tell the clicker."""
        try:
            ref = self.ids.snooze_ref(value)
        except Tampered as e:
            self.refuse_tampered(user, str(e), tell)
            return
        if not may_snooze(self.services.config.slack, user):
            self.actions.record_refusal(None, user=user, reason="snooze: not an allowed user (slack.allowed_users)")
            tell(blocks.note(blocks.NOT_ALLOWED))
            return
        try:
            notice = alert_service.snooze(self.services.sessions, ref.alert_id, user=user, hours=ref.hours)
        except ValueError as e:  # a signed value always names one of the offered spans
            self.refuse_tampered(user, str(e), tell)
            return
        if notice is None:
            tell(blocks.note(alert_blocks.SNOOZE_GONE))
            return
        assert notice.snoozed_until is not None
        ts = self._alert_ts(ref.alert_id)
        if ts and notice.channel:
            try:
                SlackAlertPublisher(self.messages.client, self.ids).snoozed(notice, ts)
            except SlackApiError as e:  # the snooze holds; only the message does not show it
                logger.warning(
                    "alert %s: the snoozed message was not redrawn: %s", ref.alert_id, e.response.get("error")
                )
        tell(blocks.note(alert_blocks.SNOOZED_TOLD.format(until=alert_blocks.when(notice.snoozed_until))))

    def _alert_ts(self, alert_id: int) -> str | None:
        return alert_service.message_ts(self.services.sessions, alert_id)

    def refuse_tampered(self, user: str, why: str, tell: Tell, action_id: int | None = None) -> None:
        logger.warning("refused a tampered Slack payload from %s: %s", user, why)
        self.actions.record_refusal(action_id, user=user, reason=f"tampered payload: {why}")
        tell(blocks.note(blocks.TAMPERED))

    # -- deciding -------------------------------------------------------------------------

    def approve(self, value: str, *, user: str, tell: Tell) -> None:
        try:
            ref = self.ids.action_ref(APPROVE, value)
        except Tampered as e:
            self.refuse_tampered(user, str(e), tell)
            return
        try:
            view = self.actions.approve(ref.action_id, user=user, is_admin=self.approvers.is_admin(user))
        except ActionRefused as e:
            tell(blocks.refusal(e.message))
            return
        self.start(view)

    def deny(self, form: DenyForm, reason: str, *, user: str) -> None:
        try:
            view = self.actions.deny(form.action_id, user=user, is_admin=self.approvers.is_admin(user), reason=reason)
        except ActionRefused as e:
            self.messages.tell(user, form.channel, blocks.refusal(e.message))
            return
        self.messages.refresh(view)
        how = "Withdrawn" if user == view.requested_by else "Denied"
        self.messages.reply(view, blocks.note(f":no_entry_sign: {how} by <@{user}>: “{escape(reason)}”"))
        logger.info("request %s denied by %s", view.id, user)

    def refuse_deny(self, action_id: int, *, user: str, tell: Tell) -> None:
        """A Deny click the listener already knows cannot succeed: let the service refuse it
        (it audits) and explain."""
        try:
            self.actions.deny(action_id, user=user, is_admin=bool(self.approvers.known(user)))
        except ActionRefused as e:
            tell(blocks.refusal(e.message))
            return
        # it could after all (decided between the listener's read and now): show the result
        self.messages.refresh(self.actions.get(action_id))

    # -- running --------------------------------------------------------------------------

    def start(self, view: ActionView) -> None:
        """Run an approved action on the runner; its messages follow it there."""
        self.runner.submit(
            lambda: self._run(view), ref=[new_ref()], respond=None, what=f"action {view.id}", response_type="ephemeral"
        )
        self.messages.refresh(view)

    def _run(self, view: ActionView) -> None:
        try:
            outcome = self.actions.run(view.id, on_progress=self.messages.progress(view))
        except NotRunnable as e:
            logger.info("request %s not run here: %s", view.id, e.message)
            return
        except Interrupted as e:
            self.messages.reply(view, blocks.refusal(e.message))
            return
        action = outcome.action
        if outcome.link and action.decided_by:
            sent = self.messages.dm(action.decided_by, blocks.link_message(action, outcome.link))
            who = f"<@{action.decided_by}>"
            self.messages.reply(
                action,
                blocks.note(
                    f":link: Consent link sent to {who} by direct message."
                    if sent
                    else f":warning: The consent link could not be sent to {who}: ask again."
                ),
            )
        self.messages.refresh(action)
        self.messages.reply(action, blocks.outcome_reply(outcome))

    def reconnected(self, integration: str, system: str, side: str) -> None:
        """After a consent stored new tokens: re-run the checks, then say so where the
        re-authorise request was (its thread), else in the approvals channel."""
        findings: int | None = None
        ref: str | None = None
        try:
            result = self.services.checks.run(integration, trigger="oauth")
            findings, ref = len(result.findings), result.ref
        except Exception:  # the confirmation goes out even when the checks cannot run
            logger.exception("re-running the checks of %s after its consent failed", integration)
        message = blocks.reconnected_message(integration, system, side, findings, ref)
        asked = [
            a
            for a in self.actions.list(integration, states=("succeeded",))
            if a.kind == "reauthorise" and a.params.get("side") == side and "approval" in a.surface
        ]
        if asked:
            self.messages.reply(max(asked, key=lambda a: a.id), message)
            return
        channel = self.actions.approvals_channel(integration)
        if channel:
            try:
                self.messages.client.chat_postMessage(channel=channel, **message.payload())
            except SlackApiError as e:
                logger.warning("reconnection of %s not announced: %s", integration, e.response.get("error"))

    def shutdown(self, timeout: float = 25.0) -> None:
        self.runner.shutdown(timeout)
        self.messages.shutdown()


class Listeners:
    """The thin Bolt listeners: ack, then the desk's flow on a worker."""

    def __init__(self, desk: ActionDesk, pool: RunPool, client: WebClient) -> None:
        self.desk = desk
        self.pool = pool
        self.client = client

    def _submit(self, work: Callable[[], None], respond: Respond | None, what: str) -> None:
        self.pool.submit(work, ref=[new_ref()], respond=_keep_original(respond), what=what, response_type="ephemeral")

    def on_request(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user, value, origin = body["user"]["id"], str(action.get("value", "")), origin_of(body)
        tell = ephemeral(respond)
        self._submit(lambda: self.desk.ask_from_finding(value, user=user, origin=origin, tell=tell), respond, "asking")

    def on_approve(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user, value, tell = body["user"]["id"], str(action.get("value", "")), ephemeral(respond)
        self._submit(lambda: self.desk.approve(value, user=user, tell=tell), respond, "approving")

    def on_snooze(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user, value, tell = body["user"]["id"], str(action.get("value", "")), ephemeral(respond)
        self._submit(lambda: self.desk.snooze(value, user=user, tell=tell), respond, "snoozing")

    def on_deny(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user, tell = body["user"]["id"], ephemeral(respond)
        try:
            ref = self.desk.ids.action_ref(DENY, str(action.get("value", "")))
            view = self.desk.actions.get(ref.action_id)
        except Tampered as e:
            why = str(e)
            self._submit(lambda: self.desk.refuse_tampered(user, why, tell), respond, "denying")
            return
        except UnknownAction as e:
            message = e.message
            self._submit(lambda: tell(blocks.refusal(message)), respond, "denying")
            return
        may = self.desk.approvers.known(user) is not False or user == view.requested_by
        if not view.awaiting_decision or not may:
            self._submit(lambda: self.desk.refuse_deny(view.id, user=user, tell=tell), respond, "denying")
            return
        container = body.get("container") or {}
        form = DenyForm(view.id, container.get("channel_id"), container.get("message_ts"))
        try:
            self.client.views_open(
                trigger_id=body["trigger_id"], view=blocks.deny_modal(view, self.desk.ids.deny_metadata(form))
            )
        except SlackApiError as e:  # expired_trigger_id, invalid_arguments + "trigger_id expired", ...
            logger.warning("request %s: the Deny form did not open: %s", view.id, e.response.get("error"))
            self._submit(
                lambda: tell(blocks.refusal("Slack did not open the form in time: press Deny again.")),
                respond,
                "denying",
            )

    def on_deny_submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]["id"]
        values = (view.get("state") or {}).get("values") or {}
        reason = str(((values.get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}).get("value") or "").strip()
        try:
            form = self.desk.ids.deny_form(str(view.get("private_metadata", "")))
        except Tampered as e:
            ack(response_action="errors", errors={REASON_BLOCK: "This form did not come from Sync Doctor as it is."})
            why = str(e)
            self._submit(lambda: self.desk.refuse_tampered(user, why, lambda m: None), None, "denying")
            return
        if not reason:
            ack(response_action="errors", errors={REASON_BLOCK: "Say why, so the requester knows."})
            return
        ack()
        self._submit(lambda: self.desk.deny(form, reason[: blocks.REASON_MAX], user=user), None, "denying")


def register(app: App, services: Services, pool: RunPool, client: WebClient, ids: Ids) -> ActionDesk:
    desk = ActionDesk(services, client, Approvers(services.config.slack, client), ids)
    listeners = Listeners(desk, pool, client)
    app.action(ACTION_PATTERNS["request"])(listeners.on_request)
    app.action(ACTION_PATTERNS[APPROVE])(listeners.on_approve)
    app.action(ACTION_PATTERNS[DENY])(listeners.on_deny)
    app.action(ACTION_PATTERNS[SNOOZE])(listeners.on_snooze)
    app.view(DENY_CALLBACK)(listeners.on_deny_submit)
    return desk
