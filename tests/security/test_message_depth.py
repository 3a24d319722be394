"""A composed message built around the user's own text (a pydantic error names a key the
client sent: ``"<key>: Extra inputs are not permitted"``) is translated in bounded time:
each ``prefix: `` peeled off the text began the template search again on the rest, one
level deeper, so a key of 1,000 ``"a: "`` took 18 s of CPU and ended in a RecursionError
(a 500) in any language but English. Pure: no database."""

from __future__ import annotations

import time

from opencall.errors import DomainError
from opencall.web.i18n import Translator


def test_a_message_of_many_prefixes_is_translated_in_bounded_time() -> None:
    key = "a: " * 1000
    exc = DomainError.composed(f"{key}Extra inputs are not permitted")
    t = time.process_time()
    text = Translator("fr").error(exc)
    used = time.process_time() - t
    assert used < 2.0, f"{used:.1f} s of CPU"
    assert text.startswith("a: a: ")


def test_field_prefixes_are_still_translated() -> None:
    fr = Translator("fr")
    plain = fr.message("The file has no publication with a title.")
    assert plain != "The file has no publication with a title."
    assert fr.message("details.targets.0.name: The file has no publication with a title.") == (
        "details.targets.0.name: " + plain
    )
    assert fr.message("a: b: The file has no publication with a title.") == "a: b: " + plain
