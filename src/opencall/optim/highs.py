"""A HiGHS solver object, for the optimisers that drive HiGHS directly
(``optim.allocation.mip``, ``optim.assignment.fair``)."""

from __future__ import annotations

from typing import Any


def new_highs() -> Any:
    """A fresh ``Highs`` object. The private base class avoids the Python wrapper's
    logging callbacks, which print the HiGHS banner on stdout when the object is
    constructed; older highspy layouts without it get the public class."""
    try:
        from highspy._core import _Highs

        return _Highs()
    except ImportError:  # pragma: no cover - older highspy layouts
        import highspy

        return highspy.Highs()  # type: ignore[no-untyped-call,unused-ignore]
