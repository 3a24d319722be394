"""Text material for the demo world: people's names, institutions and
proposal texts that read like real proposals in several science areas.

Everything is drawn with a seeded ``random.Random`` so the world is
reproducible. The hand-written word lists (no library ships proposal prose) are
data, in ``texts.json`` beside this module.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import resources

_DATA = json.loads(resources.files("opencall.demo").joinpath("texts.json").read_text("utf-8"))

# names by broad cultural region (keyed by UN sub-region): (first names, last names)
_NAMES: dict[str, tuple[list[str], list[str]]] = {
    region: (firsts, lasts) for region, (firsts, lasts) in _DATA["names"].items()
}


def name_region(un_region: str, un_subregion: str) -> str:
    if un_subregion in _NAMES:
        return un_subregion
    if un_region == "Europe":
        return "Europe"
    if un_region == "Americas":
        return "Latin America and the Caribbean"
    if un_region == "Oceania":
        return "Oceania"
    if un_region == "Africa":
        return "Sub-Saharan Africa"
    return "Western Asia"


def person_name(rng: random.Random, un_region: str, un_subregion: str) -> str:
    firsts, lasts = _NAMES[name_region(un_region, un_subregion)]
    return f"{rng.choice(firsts)} {rng.choice(lasts)}"


_INST_PATTERNS: dict[str, list[str]] = _DATA["institutions"]


def institution(rng: random.Random, country_name: str, field: str) -> str:
    short = country_name.split(" (")[0].split(",")[0]
    return rng.choice(_INST_PATTERNS[field]).format(c=short)


# --- proposal texts ------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    key: str
    label: str
    field: str  # astro | ocean | lunar | agri
    topics: list[str]
    objects: list[str]
    methods: list[str]
    questions: list[str]
    outcomes: list[str]
    keywords: list[str]
    expertise: list[str]


AREAS: dict[str, Area] = {key: Area(key, **area) for key, area in _DATA["areas"].items()}

FIELD_AREAS: dict[str, list[str]] = _DATA["field_areas"]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def proposal_text(rng: random.Random, area_key: str) -> tuple[str, str, str, str]:
    """(title, abstract, science case, keywords) for a proposal in an area."""
    a = AREAS[area_key]
    topic, obj, method = rng.choice(a.topics), rng.choice(a.objects), rng.choice(a.methods)
    q1, q2 = rng.sample(a.questions, k=min(2, len(a.questions)))
    out1 = rng.choice(a.outcomes)
    title = rng.choice(
        [
            f"{_cap(topic)}: {obj} with {method}",
            f"A study of {obj}: {topic}",
            f"Understanding {topic} through {method}",
            f"{_cap(obj)} and {topic}",
        ]
    )
    if a.field == "agri":
        abstract = (
            f"We request support to introduce {topic} in our area, where {obj} are common but "
            f"yields and incomes remain low. The project will use {method} to answer {q1}. "
            f"Participants will share what they learn with neighbouring communities, and we "
            f"expect {out1}. The site conditions and our partners' commitments are described below."
        )
        case = " ".join(
            [
                f"Context. {_cap(obj)} provide food and income for many households in the region, "
                f"but access to improved practices is limited.",
                f"Need. Local extension services have asked for training in {topic}; the main "
                f"question is {q1}.",
                f"Plan. We will combine {method} with follow-up visits during the first season, and "
                f"record yields, costs and labour before and after.",
                f"A second aim is to understand {q2}.",
                "Partners. The district agricultural office and a farmers' cooperative have agreed "
                "to host the demonstration and to release staff for training.",
                f"Expected results. We expect {out1}, and a short report to the programme after one year.",
            ]
        )
    else:
        abstract = (
            f"We propose to study {obj} to address {q1}. Using {method}, we will obtain "
            f"{out1}. These data will also test {q2}. The observations build on published "
            f"work in the field and are designed to be completed within one cycle."
        )
        case = " ".join(
            [
                f"Scientific background. {_cap(topic)} is one of the open problems in this field. "
                f"Previous studies of {obj} have been limited by sensitivity and sample size.",
                f"Immediate objective. The key question is {q1}. Answering it requires "
                f"{method}, which this facility is uniquely able to provide.",
                f"Technical justification. The requested amount follows from the sensitivity "
                f"needed for {out1}, including calibration overheads.",
                f"Secondary objective. The same data let us examine {q2}.",
                "Relation to other work. Results will be compared with published surveys and "
                "numerical models; the data will be released after the proprietary period.",
                f"Expected outcome. {_cap(out1)}, to be published in refereed journals.",
            ]
        )
    keywords = ", ".join(rng.sample(a.keywords, k=3))
    return title, abstract, case, keywords


def expertise_statement(rng: random.Random, area_key: str) -> str:
    a = AREAS[area_key]
    extra = rng.choice(a.topics)
    return f"{rng.choice(a.expertise)} Recent work: {extra}; {rng.choice(a.methods)}."
