"""The applicant's pages: dashboard, proposal editor, team, requests, PDF,
preview, submit and withdraw, invitations.

Thin routes over ``proposals.services``; every route asks ``proposals.policies``
and answers 404 when the answer is no. Saving is explicit and safe to repeat:
the text form carries ``Proposal.version``; a stale save shows the visitor's
text back with a message and changes nothing.

One module per part of the pages; ``router`` holds all their routes:

- ``lifecycle``: the dashboard, a new proposal, preview, submit, withdraw;
- ``editor``: the editor page, its text form, and how every edit form saves;
- ``team``: invitations and removal from the editor, the invitee's answer;
- ``requests``: the request forms posted (and bundles), parsed by ``request_forms``;
- ``attachments``: the PDF's upload, download and removal; ``uploads``: the PDF sent
  in pieces, resumed after a dropped connection;
- ``common``: labels and form messages; ``messages``: the services' messages
  catalogued for translation.
"""

from __future__ import annotations

from fastapi import APIRouter

from opencall.proposals.views import attachments, editor, lifecycle, requests, team, uploads

router = APIRouter()
for _part in (lifecycle, editor, team, requests, attachments, uploads):
    router.include_router(_part.router)
