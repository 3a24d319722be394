"""``web.api.from_row``: an API answer read from a row's attributes of the same names,
the fields given instead taking precedence, and a missing attribute never passed over."""

from __future__ import annotations

from types import SimpleNamespace

import pydantic
import pytest

from opencall.web.api import from_row


class Out(pydantic.BaseModel):
    id: int
    name: str
    call: str


def test_fields_are_read_from_the_row_and_given_ones_win() -> None:
    row = SimpleNamespace(id=7, name="row's name", call="unused", other="ignored")
    out = from_row(Out, row, call="given", name="given name")
    assert out == Out(id=7, name="given name", call="given")


def test_a_field_the_row_lacks_and_nobody_gives_is_an_error() -> None:
    with pytest.raises(AttributeError, match="call"):
        from_row(Out, SimpleNamespace(id=1, name="n"))


def test_the_answer_is_validated() -> None:
    with pytest.raises(pydantic.ValidationError):
        from_row(Out, SimpleNamespace(id="not a number", name="n", call="c"))
