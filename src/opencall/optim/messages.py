"""Sentences the optimisers compose for people, kept as a message id and its parameters.

The optimisers are pure and speak English; the pages speak the reader's language. So an
explanation is kept as a *message*: a ``%(name)s`` template (the message id a translation
catalogue is keyed on) and a dict of parameters. A parameter is a plain value (a name, a
rounded number), another message, or a list of messages (joined with ``"; "``). :func:`render`
gives the English sentence (what the CSV, the API and the stored rows show); the web layer
translates the template and each nested message before filling it in.

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
    if isinstance(value, list | tuple):
        return SEPARATOR.join(_render_param(v) for v in value)
    return str(value)
