"""App Home: publish the health of every integration when a user opens the tab, and again after
every run for the users who have opened it.

Who has opened it is kept in memory only (the last ``MAX_USERS`` user ids, in this process):
after a restart a user's tab refreshes the next time they open it. The tab listens to the runs
(``service.notify``) only while the bot serves. Re-publishing runs on one background thread of
its own, coalesced: many runs in a burst cause one refresh per user, and neither the run that
triggered it nor the alerts announced after it wait for Slack. ``views.publish`` is Tier 4 (100+/min, SLACK.md
section 6), so a few hundred users per refresh stay within it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.home import home_view, refused_view
from bot.permissions import user_allowed
from checks.runner import RunResult
from service.container import Services

logger = logging.getLogger(__name__)

MAX_USERS = 500


class HomeTab:
    def __init__(self, services: Services, client: WebClient) -> None:
        self.services = services
        self.client = client
        self._unsubscribe = services.notifier.subscribe(self.on_run)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._refresh_pending = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="app-home")

    @property
    def seen(self) -> list[str]:
        with self._lock:
            return list(self._seen)

    def remember(self, user_id: str) -> None:
        with self._lock:
            self._seen[user_id] = None
            self._seen.move_to_end(user_id)
            while len(self._seen) > MAX_USERS:
                self._seen.popitem(last=False)

    def publish(self, user_id: str) -> None:
        if not user_allowed(self.services.config.slack, user_id):
            self.client.views_publish(user_id=user_id, view=refused_view())
            return
        view = home_view(self.services.checks.overview())
        self.client.views_publish(user_id=user_id, view=view)

    def on_open(self, event: dict[str, Any]) -> None:
        """``app_home_opened`` (Bolt acks events before this runs)."""
        if event.get("tab", "home") != "home":
            return  # the Messages tab is disabled in the manifest; ignore it if it comes
        user = event.get("user")
        if not user:
            return
        self.publish(user)
        if user_allowed(self.services.config.slack, user):
            self.remember(user)

    def on_run(self, result: RunResult) -> None:
        """A run listener: refresh every known tab, on this tab's own thread."""
        with self._lock:
            if self._refresh_pending or not self._seen:
                return
            self._refresh_pending = True
        self._executor.submit(self._refresh_all)

    def _refresh_all(self) -> None:
        with self._lock:
            self._refresh_pending = False
        for user in self.seen:
            try:
                self.publish(user)
            except SlackApiError as e:
                logger.warning("App Home refresh for %s failed: %s", user, e.response.get("error"))
            except Exception:
                logger.exception("App Home refresh for %s failed", user)

    def shutdown(self) -> None:
        self._unsubscribe()
        self._executor.shutdown(wait=True, cancel_futures=True)


def register(app: App, services: Services, client: WebClient) -> HomeTab:
    tab = HomeTab(services, client)
    app.event("app_home_opened")(tab.on_open)
    return tab
