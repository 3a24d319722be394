"""Mail queued while the site's address was X and sent after the operator moved the site
to Y links to Y: the bodies are rendered at queue time (in the reader's language, with
that moment's names), so the job keeps the address the links were written with and the
sender puts the current ``base_url`` in its place (``web.mail.relinked``). Before, a
queued decision mail, invitation or password reset sent people to the old address."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest

from opencall import jobs
from opencall.allocation.notify import queue_decision_mails
from opencall.settings import Settings
from opencall.web import mail
from tests import factories as F

OLD, NEW = "http://old.example:8000", "https://calls.new.example"


def _sent(factory: Any, monkeypatch: pytest.MonkeyPatch, base_url: str) -> list[str]:
    bodies: list[str] = []

    def capture(_settings: Settings, msg: EmailMessage) -> None:
        bodies.append(str(msg.get_content()))

    monkeypatch.setattr(mail, "send", capture)
    reg = jobs.JobRegistry()
    reg.register("mail", mail.mail_handler(Settings(mail_backend="console", base_url=base_url)))
    jobs.run_pending(factory, reg)
    return bodies


def test_a_decision_mail_queued_before_the_move_links_to_the_new_address(
    factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with factory() as s:
        call = F.fast_call(s)
        p = F.full_proposal(s, call)
        queue_decision_mails(s, call, p, OLD + "/")
        pid = p.id
        s.commit()
    (body,) = _sent(factory, monkeypatch, NEW)
    assert f"{NEW}/proposals/{pid}/outcome" in body
    assert OLD not in body


def test_a_batch_and_a_single_message_are_relinked_and_the_rest_left_alone(
    factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f"Open {OLD}/review/1 or {OLD}?x=1 ({OLD}). Not {OLD}.org/x nor http://other/."
    with factory() as s:
        mail.queue_mails(s, [("a@uni.example", "s", text)], base_url=OLD)
        mail.queue_mail(s, "b@uni.example", "s", text, base_url=OLD)
        mail.queue_mail(s, "c@uni.example", "s", text)  # queued before the address was kept
        s.commit()
    moved = f"Open {NEW}/review/1 or {NEW}?x=1 ({NEW}). Not {OLD}.org/x nor http://other/."
    assert sorted(_sent(factory, monkeypatch, NEW)) == sorted(
        [moved + "\n", moved + "\n", text + "\n"]
    )


def test_nothing_changes_when_the_address_is_the_same(
    factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with factory() as s:
        mail.queue_mail(s, "b@uni.example", "s", f"{OLD}/x", base_url=OLD + "/")
        s.commit()
    assert _sent(factory, monkeypatch, OLD) == [f"{OLD}/x\n"]
