"""The outcomes report's reviewer-effects section says what the bias model did not test
and why (every applicant in one group, too few reviewers of a group), as the chair's
ranking page does: in the report's data (JSON) as messages, and on its page in the
reader's language."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.web import labels
from opencall.web.i18n import Translator
from opencall.web.pages import WEB, make_environment
from tests import factories as F


def _effects(db: Session) -> dict:
    call, _pool = F.samples_call(db)
    rnd = random.Random(14)
    # 30 proposals, every PI in Germany; 12 reviewers, two of them in Kenya
    grades = [
        (p, 1000 + r, float(rnd.randint(1, 5))) for p in range(30) for r in rnd.sample(range(12), 3)
    ]
    return oq.reviewer_effects(
        db,
        call,
        grades=grades,
        pi_countries=dict.fromkeys(range(30), "DEU"),
        reviewer_countries={1000 + r: "KEN" if r < 2 else "FRA" for r in range(12)},
    )


def test_the_report_lists_what_the_bias_model_skipped(db: Session) -> None:
    eff = _effects(db)
    msgs = [m["msg"] for m in eff["skipped"]]
    assert "%(cut)s: every applicant in one group (%(group)s)" in msgs, msgs
    one_group = next(m for m in eff["skipped"] if m["params"].get("cut") == "income_group")
    assert one_group["msg"] == "%(cut)s: every applicant in one group (%(group)s)"
    env = make_environment(WEB / "templates")
    for lang in ("en", "fr"):
        t = Translator(lang)
        html = env.get_template("outcomes/_reviewer_effects.html").render(
            {"_": t.gettext, "data": {"reviewer_effects": eff}}
        )
        assert 'class="bias-skipped"' in html
        assert t.gettext("Not tested:") in html
        # the grouping and the group in words, not their codes
        said = t.gettext(
            one_group["msg"],
            cut=t.gettext(labels.CUT_LABELS["income_group"]),
            group=labels.group_label(t.gettext, one_group["params"]["group"]),
        )
        assert said in html, (lang, said)
        assert "income_group" not in html, lang
    # nothing skipped: no list
    eff["skipped"] = []
    html = env.get_template("outcomes/_reviewer_effects.html").render(
        {"_": Translator("en").gettext, "data": {"reviewer_effects": eff}}
    )
    assert "bias-skipped" not in html
