"""What the proposals' API and pages show of a proposal beyond its row."""

from __future__ import annotations

import dataclasses
import datetime as dt

from pydantic import BaseModel, Field

from opencall.proposals.models import Proposal
from opencall.proposals.queries import batch_info


class BatchOut(BaseModel):
    """The review batch of a proposal in a continuous call."""

    number: int
    cutoff: dt.datetime = Field(description="the batch's cut-off")
    decisions_due: dt.datetime | None = Field(description="when its decisions are due")
    cut: bool = Field(description="false: the proposal waits for this cut-off")


def batch_out(p: Proposal) -> BatchOut | None:
    info = batch_info(p)
    return None if info is None else BatchOut(**dataclasses.asdict(info))
