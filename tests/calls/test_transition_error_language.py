"""A refused call transition is said wholly in the reader's language: the states it
names and the states the call may go to (or that it has none) are translated with the
sentence, on a zh, fr or es page as in the API's ``detail``. A word counts as English as
in tests/outcomes/test_no_english.py (a word of the English catalogue that no
translation into that language uses); Chinese has no Latin word at all."""

from __future__ import annotations

import itertools

import pytest

from opencall.calls.domain import (
    CALL_STATE_WORDS,
    CALL_STATES,
    CALL_TRANSITIONS,
    check_call_transition,
)
from opencall.errors import DomainError
from opencall.web.i18n import Translator
from tests.outcomes.test_no_english import WORD, english_only

ILLEGAL = [
    (a, b) for a, b in itertools.product(CALL_STATES, CALL_STATES) if b not in CALL_TRANSITIONS[a]
]


def refusal(current: str, target: str) -> DomainError:
    with pytest.raises(DomainError) as err:
        check_call_transition(current, target)
    return err.value


@pytest.mark.parametrize("lang", ["fr", "zh", "es"])
def test_a_refused_transition_has_no_english_word(lang: str) -> None:
    english = english_only(lang)
    for current, target in ILLEGAL:
        said = Translator(lang).error(refusal(current, target))
        words = WORD.findall(said)
        if lang == "zh":
            assert not words, (current, target, said)
        else:
            assert not {w.lower() for w in words} & english, (current, target, said)
        assert "final state" not in said and "nothing" not in said, said


class _Page:
    def __init__(self, lang: str) -> None:
        self._ = Translator(lang).gettext


@pytest.mark.parametrize("lang", ["en", "fr", "zh", "es"])
def test_the_state_words_are_those_the_pages_say(lang: str) -> None:
    """One table (``calls.domain``, dup22): the pages' ``status_label`` reads the words
    a refused transition names the states with, in the reader's language."""
    from opencall.calls.presenters import call_labels, status_labels

    t = Translator(lang)
    for labels in (call_labels(_Page(lang)), status_labels(_Page(lang))):
        label = labels["status_label"]
        assert {s: label(s) for s in CALL_STATES} == {
            s: t.gettext(CALL_STATE_WORDS[s]) for s in CALL_STATES
        }
        assert label("no-such-state") == "no-such-state"
    if lang != "en":  # each word is translated (not left in English)
        assert all(t.gettext(w) != w for w in CALL_STATE_WORDS.values())
    # the message has a form for no next state, one and two
    assert max(len(v) for v in CALL_TRANSITIONS.values()) <= 2


def test_the_english_message_names_the_states_and_where_the_call_can_go() -> None:
    assert refusal("archived", "open").message == (
        "A call cannot move from 'archived' to 'open'; 'archived' is its final state."
    )
    assert refusal("ranking", "published").message == (
        "A call cannot move from 'ranking' to 'results published'; from 'ranking' it can "
        "go to: allocation or in review."
    )
