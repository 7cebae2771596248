"""How a message leaves, per channel.

Until the communications work wires GOV.UK Notify and the case-system adapters, every channel
writes to a dated JSON Lines file under $FAIRDEBT_HOME/outbox/<channel>/ — the print-and-post
or batch-upload file many councils already hand to a mailing house or a legacy system. Each
line carries the idempotency key, so a receiver can refuse a repeat.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.utils import timezone


class DeliveryFailed(Exception):
    """The channel could not take the message; it stays in the outbox marked failed, with this reason."""


class FileTransport:
    def __init__(self, channel: str, root: Path | None = None):
        self.channel = channel
        self.root = Path(root or Path(settings.HOME) / "outbox")

    def deliver(self, message) -> None:
        folder = self.root / self.channel
        try:
            folder.mkdir(parents=True, exist_ok=True)
            line = {
                "key": message.idempotency_key, "person": message.person_id, "debt": message.debt_id,
                "action": message.action_kind, "purpose": message.purpose, "recipient": message.recipient,
                "template": message.template, "adjustments": message.adjustments, "payload": message.payload,
                "queued_at": message.created_at.isoformat(),
            }
            with open(folder / f"{timezone.localdate().isoformat()}.jsonl", "a", encoding="utf-8") as out:
                out.write(json.dumps(line, sort_keys=True) + "\n")
        except OSError as exc:
            raise DeliveryFailed(f"could not write the {self.channel} file in {folder}: {exc}. Check the disk and FAIRDEBT_HOME, then run `fairdebt outbox dispatch` again.") from exc


def for_channel(channel: str) -> FileTransport:
    return FileTransport(channel)
