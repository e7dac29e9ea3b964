"""Posting to Slack: the Web API client, a command's answer (with overflow in a thread), and
alerts (the :class:`reports.alerts.AlertPublisher` that ``reports/`` posts through).

For the command's answer (SLACK.md section 2): the first message replaces the progress message
through the ``response_url`` (``replace_original: true``). When the answer needs more than one
message (Block Kit's 50 blocks), a channel answer is posted with ``chat.postMessage`` so the
rest can go in its thread (``thread_ts``), and the progress message is deleted; an ephemeral
answer cannot have a thread, so its extra pages are further ``response_url`` posts (5 uses in
all), and a last line says what did not fit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookResponse

from bot.blocks import alerts as alert_blocks
from bot.blocks.common import Message, context
from bot.blocks.ids import Ids
from config.env import Settings
from reports.alerts import AlertNotice
from reports.digest.chart import Chart
from reports.digest.model import Digest
from reports.digest.publish import DigestNotPosted

logger = logging.getLogger(__name__)

RESPONSE_URL_USES = 5  # "up to 5 times within 30 minutes" (SLACK.md section 2)
NOT_SHOWN = "{n} more part(s) of this answer did not fit in Slack: run `sync-doctor check {name}` for the full report."

Respond = Callable[..., WebhookResponse]


class SlackPostError(RuntimeError):
    """Slack refused a post; ``error`` is Slack's own error code."""

    def __init__(self, where: str, status: int, error: str) -> None:
        super().__init__(f"{where}: HTTP {status} {error}")
        self.status = status
        self.error = error


def make_client(settings: Settings) -> WebClient:
    """The bot's Web API client: ``SLACK_API_URL`` (GovSlack, test doubles) and 429 retries.

    slack_sdk retries only connection errors by default; the rate-limit handler sleeps
    ``Retry-After`` and retries (SLACK.md section 6). It sleeps in the calling thread, so
    nothing calls the Web API before ``ack()``."""
    base = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    client = WebClient(token=settings.slack_bot_token, base_url=base, timeout=15)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def _check(response: WebhookResponse, where: str) -> None:
    if response.status_code != 200:
        raise SlackPostError(where, response.status_code, (response.body or "").strip()[:200])


class Reply:
    """Where one command's answer goes: its ``response_url`` and, for channel answers, the
    channel itself."""

    def __init__(
        self,
        respond: Respond,
        client: WebClient,
        *,
        channel_id: str | None,
        ephemeral: bool,
        integration: str = "",
    ) -> None:
        self.respond = respond
        self.client = client
        self.channel_id = channel_id
        self.ephemeral = ephemeral
        self.integration = integration
        self.response_type = "ephemeral" if ephemeral else "in_channel"
        self.thread_ts: str | None = None  # set when the answer was posted with chat.postMessage

    def send(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        if len(messages) == 1:
            self._respond(messages[0], replace_original=True)
            return
        if not self.ephemeral and self.channel_id:
            try:
                self._post_threaded(self.channel_id, messages)
                return
            except SlackApiError as e:
                # not_in_channel / channel_not_found: the bot may not post there itself; the
                # response_url still works (it needs no membership)
                logger.info(
                    "posting to %s failed (%s): answering through response_url",
                    self.channel_id,
                    e.response.get("error"),
                )
        self._respond_pages(messages)

    def _respond(self, message: Message, *, replace_original: bool) -> None:
        response = self.respond(
            response_type=self.response_type,
            replace_original=replace_original,
            **message.payload(),
        )
        _check(response, "response_url")

    def _post_threaded(self, channel: str, messages: Sequence[Message]) -> None:
        first = self.client.chat_postMessage(channel=channel, **messages[0].payload())
        self.thread_ts = str(first["ts"])
        for message in messages[1:]:
            self.client.chat_postMessage(channel=channel, thread_ts=self.thread_ts, **message.payload())
        try:
            _check(self.respond(delete_original=True), "response_url delete")
        except SlackPostError as e:
            logger.info("could not remove the progress message: %s", e)

    def _respond_pages(self, messages: Sequence[Message]) -> None:
        # the ack was the HTTP answer, not a response_url use: 5 posts remain
        shown = list(messages)
        if len(shown) > RESPONSE_URL_USES:
            left = len(shown) - (RESPONSE_URL_USES - 1)
            note = NOT_SHOWN.format(n=left, name=self.integration or "NAME")
            shown = [*shown[: RESPONSE_URL_USES - 1], Message(note, [context(note)])]
        for i, message in enumerate(shown):
            self._respond(message, replace_original=(i == 0))


class SlackAlertPublisher:
    """Alerts posted with the bot token (they have no response_url: nobody asked). ``ids``
    signs the Snooze buttons (without it, alerts carry none)."""

    def __init__(self, client: WebClient, ids: Ids | None = None) -> None:
        self.client = client
        self.ids = ids

    def opened(self, notice: AlertNotice) -> tuple[str, str]:
        message = alert_blocks.opened_message(notice, self.ids)
        response = self.client.chat_postMessage(channel=notice.channel, **message.payload())
        # a post to a channel name (#ops) answers with the channel id, and chat.update needs the id
        return str(response.get("channel") or notice.channel), str(response["ts"])

    def grew(self, notice: AlertNotice, message_ts: str) -> None:
        self.client.chat_postMessage(
            channel=notice.channel, thread_ts=message_ts, **alert_blocks.grew_message(notice).payload()
        )

    def resolved(self, notice: AlertNotice, message_ts: str) -> None:
        self.client.chat_update(
            channel=notice.channel, ts=message_ts, **alert_blocks.resolved_message(notice).payload()
        )
        self.client.chat_postMessage(
            channel=notice.channel, thread_ts=message_ts, **alert_blocks.resolved_reply(notice).payload()
        )

    def snoozed(self, notice: AlertNotice, message_ts: str) -> None:
        """Redraw the alert to say who snoozed it until when (its buttons stay: a snooze can
        be changed)."""
        self.client.chat_update(
            channel=notice.channel, ts=message_ts, **alert_blocks.opened_message(notice, self.ids).payload()
        )


# Slack's answers when the bot cannot post to a channel, and what the operator should do.
CHANNEL_HINTS = {
    "not_in_channel": "invite the Sync Doctor app to the channel (/invite @Sync Doctor), the digest is kept and "
    "posted on the next try",
    "channel_not_found": "check slack.digest_channel: no such channel, or a private one the app is not in; the "
    "digest is kept and posted on the next try",
    "is_archived": "the channel is archived: set slack.digest_channel to another one",
    "missing_scope": "the app lacks a scope (chat:write, files:write): reinstall it with slack-manifest.yml",
}


class SlackDigestPublisher:
    """Quarterly digests (:class:`reports.digest.publish.DigestPublisher`): the message, then
    the chart uploaded beside it with ``files_upload_v2`` (files.getUploadURLExternal, the
    upload, files.completeUploadExternal)."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, digest: Digest, chart: Chart) -> tuple[str, str | None]:
        from bot.blocks.digest import digest_message

        try:
            response = self.client.chat_postMessage(channel=channel, **digest_message(digest).payload())
        except SlackApiError as e:
            error = str(e.response.get("error") or "unknown_error")
            raise DigestNotPosted(error, CHANNEL_HINTS.get(error, "")) from None
        ts = str(response["ts"])
        channel_id = str(response.get("channel") or channel)  # uploads need the id, a post answers with it
        try:
            self.client.files_upload_v2(
                channel=channel_id,
                content=chart.png,
                filename=f"sync-health-{digest.quarter}.png",
                title=f"Weekly sync health, {digest.label}",
                alt_txt=chart.alt[:1000],
            )
        except SlackApiError as e:
            # The message is out; posting it again would say it twice. Say the chart is missing.
            error = str(e.response.get("error") or "unknown_error")
            logger.warning("the digest of %s was posted, its chart was not: %s", digest.quarter, error)
            return ts, f"chart not uploaded: {error}"
        return ts, None
