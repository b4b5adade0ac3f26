"""Webhook notifications from the report store: when a published scan brings a target a CRITICAL finding, a
known-exploited vulnerability or an exposed secret, one message per scan goes to each configured webhook, as
generic JSON (--webhook URL) or in Slack's incoming-webhook form (--slack-webhook URL; Mattermost and others take
it too).

De-duplication: a finding alerts once per target, in the scan that first saw it (Store.alerts), so the same
finding in every later scan, or in a late-published older report, never alerts again; each publish is handled by
exactly one server, so replicas sharing one store do not double-send. Delivery runs on one background thread with a
bounded queue (a slow receiver never holds up publishing) and three attempts per message."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from vigil.log import get_logger
from vigil.store import Store
from vigil.store.records import FindingOut, PublishResult

log = get_logger(__name__)
Kind = Literal["json", "slack"]
MAX_QUEUE = 1000
MAX_LISTED = 20  # findings named in one message; the rest are counted


@dataclass(frozen=True)
class Webhook:
    kind: Kind
    url: str


def _reason(f: FindingOut) -> str:
    if f.kind == "secret":
        return "secret"
    return "known-exploited" if f.kev else "critical"


def generic_message(target: Any, result: PublishResult, alerts: list[FindingOut]) -> dict[str, Any]:
    return {"event": "new_findings", "target": {"id": target.id, "name": target.name, "kind": target.kind},
            "scan_id": result.scan_id, "count": len(alerts),
            "findings": [{"id": f.finding_id, "kind": f.kind, "severity": f.severity, "kev": f.kev,
                          "package": f.pkg_name, "version": f.pkg_version, "location": f.location,
                          "title": f.title, "reason": _reason(f)} for f in alerts[:MAX_LISTED]]}


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters (a package name must not become a link or a mention)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(target: Any, result: PublishResult, alerts: list[FindingOut]) -> dict[str, Any]:
    lines = [f"*Vigil*: {len(alerts)} new finding(s) on *{_slack_escape(target.name)}* (scan {result.scan_id})"]
    for f in alerts[:MAX_LISTED]:
        what = f"{f.pkg_name} {f.pkg_version}".strip() or f.location
        lines.append(f"• {f.severity} {_slack_escape(f.finding_id)} ({_reason(f)}) in {_slack_escape(what)}")
    if len(alerts) > MAX_LISTED:
        lines.append(f"… and {len(alerts) - MAX_LISTED} more")
    return {"text": "\n".join(lines)}


class Notifier:
    def __init__(self, store: Store, hooks: list[Webhook]) -> None:
        self.store = store
        self.hooks = hooks
        self.queue: queue.Queue[PublishResult | None] = queue.Queue(MAX_QUEUE)
        self.thread = threading.Thread(target=self._run, name="vigil-webhooks", daemon=True)
        self.thread.start()

    def published(self, result: PublishResult) -> None:
        try:
            self.queue.put_nowait(result)
        except queue.Full:
            log.warning("webhook queue full: scan %s will not be notified", result.scan_id)

    def close(self) -> None:
        try:
            self.queue.put(None, timeout=1)
        except queue.Full:
            pass
        self.thread.join(5)

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=10) as client:
            while True:
                item = self.queue.get()
                if item is None:
                    return
                try:
                    self._send(client, item)
                except Exception:  # a bug must not stop later notifications
                    log.exception("webhook notification for scan %s failed", item.scan_id)

    def _send(self, client: Any, result: PublishResult) -> None:
        import httpx

        alerts = self.store.alerts(result.scan_id)
        if not alerts:
            return
        target = self.store.target(result.target_id)
        if target is None:
            return
        for hook in self.hooks:
            body = (slack_message if hook.kind == "slack" else generic_message)(target, result, alerts)
            for attempt in range(3):
                try:
                    r = client.post(hook.url, content=msgspec.json.encode(body),
                                    headers={"Content-Type": "application/json"})
                    if r.status_code < 300:
                        break
                    problem = f"HTTP {r.status_code}"
                except httpx.HTTPError as e:
                    problem = str(e)
                log.warning("webhook %s (attempt %d): %s", hook.kind, attempt + 1, problem)
                time.sleep(2**attempt)
