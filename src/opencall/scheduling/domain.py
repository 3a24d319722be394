"""What a schedule entry stores to be explained in any language: the English sentence
(for the CSV, the API and the stored rows) and the message id and parameters the pages
translate (see ``opencall.scheduling.presenters``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def explanation_details(explanation: Any) -> dict[str, Any]:
    """An explanation for an entry's ``details``: the English sentence (what the CSV and the
    API show) and, when the optimiser kept it, its message id and parameters, from which
    the pages say it in the reader's language."""
    out: dict[str, Any] = {"explanation": explanation.detail}
    msg = getattr(explanation, "message", None)
    if msg:
        out["detail_msg"] = msg["msg"]
        out["detail_params"] = msg.get("params") or {}
    return out


def message_details(msg: Mapping[str, Any] | None) -> dict[str, Any]:
    """A message for an entry's ``details`` (``detail_msg``, ``detail_params``), beside an
    English sentence stored under another key (FAST's ``why``); empty without one."""
    if not msg:
        return {}
    return {"detail_msg": msg["msg"], "detail_params": msg.get("params") or {}}


def label_details(template: str, **params: Any) -> tuple[str, dict[str, Any]]:
    """An entry's label in English and, for the pages, as a message id and parameters."""
    return template % params if params else template, {
        "label_msg": template,
        "label_params": params,
    }
