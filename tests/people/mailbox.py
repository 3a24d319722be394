"""The messages the file mail backend wrote, decoded (headers and plain-text body)."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def mails(mail_dir: Path) -> list[Mail]:
    out = []
    for path in sorted(mail_dir.glob("*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(msg, EmailMessage)
        part = msg.get_body(("plain",))
        body = part.get_content() if part is not None else ""
        out.append(Mail(str(msg["To"]), str(msg["Subject"]), str(body)))
    return out
