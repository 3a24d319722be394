"""What a schedule entry stores to be explained in any language: the English sentence
(for the CSV, the API and the stored rows) and the message id and parameters the pages
translate (see ``opencall.scheduling.presenters``)."""

from __future__ import annotations

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


def label_details(template: str, **params: Any) -> tuple[str, dict[str, Any]]:
    """An entry's label in English and, for the pages, as a message id and parameters."""
    return template % params if params else template, {
        "label_msg": template,
        "label_params": params,
    }
