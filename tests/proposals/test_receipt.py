"""On submit, a receipt e-mail in the person's language with the revision's content
hash and the submission time; a repeated click sends no second receipt."""

from __future__ import annotations

from sqlalchemy import select

from opencall.proposals.models import Proposal, ProposalRevision
from opencall.web.i18n import Translator
from opencall.web.pages import fmt_when
from tests.people.mailbox import mails
from tests.web import conftest as webconf
from tests.web.conftest import Web, World, csrf

web, world = webconf.web, webconf.world  # the web fixtures


def test_receipt_on_submit(web: Web, world: World) -> None:
    with web.factory() as s:
        from opencall.people.queries import user_by_email

        pi = user_by_email(s, world.emails["pi"])
        assert pi is not None
        pi.language = "zh"
        s.commit()
    c = web.login(world.emails["pi"], lang="fr")
    pid = world.ids["proposal"]
    token = csrf(c, f"/proposals/{pid}")
    r = c.post(f"/proposals/{pid}/submit", data={"csrf_token": token})
    assert r.status_code == 303, r.text[:500]
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.submitted_at is not None
        rev = s.scalar(select(ProposalRevision).where(ProposalRevision.proposal_id == pid))
        assert rev is not None
        digest, code, at = rev.content_hash, p.code, p.submitted_at
    receipts = [m for m in mails(web.settings.mail_dir) if m.to == world.emails["pi"]]
    receipts = [m for m in receipts if digest in m.body]
    assert len(receipts) == 1
    m = receipts[0]
    zh = Translator("zh")
    assert m.subject == zh.gettext("Receipt: proposal %(code)s submitted", code=code)
    # the PI's language and zone (Tanzania's, from the country: trialapp16), to the second
    assert fmt_when(at, "Africa/Dar_es_Salaam", "zh", seconds=True) in m.body, m.body
    assert zh.gettext("Revision: %(n)s", n=1) in m.body  # in the PI's language
    # a second click on the same content: no second receipt
    c.post(f"/proposals/{pid}/submit", data={"csrf_token": token})
    again = [m for m in mails(web.settings.mail_dir) if digest in m.body]
    assert len(again) == 1
