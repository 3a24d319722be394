"""Sentences the optimisers compose for people, kept as a message id and its parameters.

The optimisers are pure and speak English; the pages speak the reader's language. So an
explanation is kept as a *message*: a ``%(name)s`` template (the message id a translation
catalogue is keyed on) and a dict of parameters. A parameter is a plain value (a name, a
rounded number), another message, or a list of messages (joined with ``"; "``, or with the
separator :func:`listing` names), or one of three marked values the reader's language writes
its own way: an amount (:func:`number`, in the locale's digits), a unit (:func:`unit`, by its
label), a share rule's group (:func:`share_group`, by its name) and a text composed elsewhere in English without an id (:func:`composed`, a site
suitability rule's reason; a request's infeasibility reason is itself a message, its
``Request.infeasible_message``). :func:`render` gives the English sentence (what the CSV, the
API and the stored rows show); the web layer translates the template and each nested message before
filling it in (``allocation.presenters.say``), never by parsing the English sentence back.

A template written at the call as a string literal to :func:`M_` (``message`` under the
name Babel extracts: ``M_`` is a keyword in ``web/babel.cfg``) is catalogued from the call
itself, and ``tests/web/test_i18n.py`` fails for one without a zh, fr or es translation.

A message is a plain dict ``{"msg": template, "params": {...}}`` so that it can be stored as
JSON next to its English rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Message = dict[str, Any]

#: how a list of messages is joined into one parameter
SEPARATOR = "; "


def message(template: str, **params: Any) -> Message:
    """A message: ``template`` with ``%(name)s`` placeholders and their values.

    Parameters
    ----------
    template : str
        The English sentence with ``%(name)s`` placeholders; it is the message id.
    **params
        The placeholders' values: strings, integers, messages or lists of messages.

    Returns
    -------
    Message
        ``{"msg": template, "params": params}``.
    """
    return {"msg": template, "params": dict(params)}


def M_(template: str, **params: Any) -> Message:  # noqa: N802 - gettext's N_, for messages
    """:func:`message`, its ``template`` a string literal that Babel extracts."""
    return message(template, **params)


def filled(msg: Message, **params: Any) -> Message:
    """``msg`` (a template written once with :func:`M_`, e.g. one of a table of sentences)
    with ``params`` added to its own."""
    return message(msg["msg"], **{**(msg.get("params") or {}), **params})


def number(text: str) -> dict[str, str]:
    """An amount as a parameter: ``text`` (already rounded, e.g. ``"12.5"``) in English, the
    reader's digits and decimal sign on a page."""
    return {"number": text}


def unit(code: str, amount: str | None = None) -> dict[str, str | None]:
    """A unit as a parameter: its key (``"h"``, ``"dive"``) in English sentences, its label
    in the reader's language on a page (singular for an ``amount`` of exactly 1, plural
    otherwise or without one)."""
    return {"unit": code, "amount": amount}


def share_group(key: str) -> dict[str, str]:
    """A share rule's group as a parameter: its key (``"ldc"``, ``"low+first_time"``) in
    English sentences (the API, the CSV), its name in the reader's language on a page
    ("Least developed countries", "Pays les moins avancés")."""
    return {"share_group": key}


def composed(text: str) -> dict[str, str]:
    """A text composed elsewhere in English, without a message id (a site suitability
    rule's reason, ``optim.suitability``)."""
    return {"text": text}


def listing(items: list[Any], sep: str = ", ") -> dict[str, Any]:
    """Several parameters said one after the other, joined with ``sep``."""
    return {"items": list(items), "sep": sep}


def is_message(value: Any) -> bool:
    """Whether ``value`` is a message (a mapping with a ``msg`` template)."""
    return isinstance(value, Mapping) and isinstance(value.get("msg"), str)


def render(msg: Mapping[str, Any]) -> str:
    """The English sentence of a message.

    Parameters
    ----------
    msg : Message
        A message made by :func:`message` (or read back from JSON).

    Returns
    -------
    str
        The template filled in; nested messages are rendered and lists of them joined
        with ``"; "``. A template without parameters is returned as it is.
    """
    params = msg.get("params") or {}
    text = str(msg["msg"])
    if not params:
        return text
    return text % {k: _render_param(v) for k, v in params.items()}


def _render_param(value: Any) -> str:
    if is_message(value):
        return render(value)
    if isinstance(value, Mapping):
        if "items" in value:
            return str(value.get("sep", SEPARATOR)).join(_render_param(v) for v in value["items"])
        for key in ("number", "unit", "text", "share_group"):
            if key in value:
                return str(value[key])
    if isinstance(value, list | tuple):
        return SEPARATOR.join(_render_param(v) for v in value)
    return str(value)
