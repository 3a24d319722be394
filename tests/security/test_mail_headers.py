"""A subject made of text people typed (a call's title, a provider's name) with a line
break in it neither adds a header (header injection) nor fails the mail for good: it is
sent, its subject on one line. Before the fix ``email`` refused such a subject and the
mail job failed on every attempt (the mail was lost)."""

from __future__ import annotations

import email
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.settings import Settings
from opencall.web import mail


def test_a_line_break_in_a_subject_adds_no_header(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = Settings(mail_backend="file", mail_dir=tmp_path / "mail")
    registry = jobs.JobRegistry()
    registry.register("mail", mail.mail_handler(settings))
    subject = "Invitation: Pulsars\r\nBcc: victim@example.org\nX-Evil: 1"
    with factory() as s:
        one = mail.queue_mail(s, "reviewer@example.org", subject, "Hello").id
        batch = mail.queue_mails(s, [("other@example.org", subject, "Hi")])[0].id
        s.commit()
    jobs.run_pending(factory, registry, ids=[one, batch])
    with factory() as s:
        assert {s.get(jobs.Job, i).status for i in (one, batch)} == {"done"}  # type: ignore[union-attr]
    sent = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(sent) == 2
    for path in sent:
        msg = email.message_from_bytes(path.read_bytes())
        assert msg["Subject"] == "Invitation: Pulsars Bcc: victim@example.org X-Evil: 1"
        assert msg["Bcc"] is None and msg["X-Evil"] is None
        assert msg.get_all("To") is not None and len(msg.get_all("To")) == 1
