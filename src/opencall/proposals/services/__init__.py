"""The applicant's path: create, edit, team, requests, submit, withdraw.

Every function validates first and changes nothing when it raises; the
caller's unit of work commits. Every change is written to the audit log.

One module per thing the services change; this package re-exports their public
names, and callers import ``opencall.proposals.services``:

- ``editing``: how every change is made (write lock, version check, audit);
- ``lifecycle``: the proposal itself (create, edit, submit, withdraw, reopen);
- ``team``: invitations, their answers, removal; the applicant's reads;
- ``requests``: what a proposal asks for, validated against the call; bundles;
- ``attachments``: the PDF (checked and rewritten on upload), and ``blobs``, where
  the files are kept;
- ``scans``: the cached anonymity scans and their job;
- ``closing``: the close of a call (its proposals frozen at their last revision);
- ``extensions``: one applicant's own, later submission deadline (trialop21b).
"""

from __future__ import annotations

from opencall.proposals.queries import snapshot  # a read, kept in queries
from opencall.proposals.services.attachments import (
    MSG_BOMB,
    MSG_ENCRYPTED,
    MSG_NOT_PDF,
    MSG_POLYGLOT,
    MSG_TOO_COMPLEX,
    MSG_UNREADABLE,
    PDF_MAGIC,
    add_attachment,
    clean_stored_attachments,
    pdf_limits,
    upload_made,
)
from opencall.proposals.services.blobs import (
    attachment_bytes,
    attachment_path,
    clean_attachment_bytes,
    clean_attachment_path,
    read_blob,
    store_blob,
    sweep_blobs,
)
from opencall.proposals.services.chunks import (
    OffsetMismatch,
    drop_chunks,
    joined,
    receive_chunk,
    start_upload,
    sweep_partial_uploads,
)
from opencall.proposals.services.closing import close_call, close_call_proposals
from opencall.proposals.services.editing import (
    CALL_DEADLINE,
    PROPOSAL_STATE,
    STALE,
    begin_write,
    lock_call_for_close,
    lock_for_write,
    remove_from_draft,
)
from opencall.proposals.services.extensions import (
    freeze_late_submissions,
    grant_submission_extension,
    require_submissions_in,
)
from opencall.proposals.services.language import set_language
from opencall.proposals.services.lifecycle import (
    create_proposal,
    edit_language,
    incomplete_problems,
    reopen,
    submission_errors,
    submission_problems,
    submit,
    title_limit,
    update_proposal,
    withdraw,
    withdraw_on_request,
)
from opencall.proposals.services.requests import (
    KIND_FOR_FACILITY,
    _check_total,  # the demo's bulk generator checks a proposal's total with it
    add_request,
    row_problems,
    set_bundle,
    update_request,
    validate_request,
)
from opencall.proposals.services.scans import SCAN_JOB, request_anonymity_scans, run_anonymity_scan
from opencall.proposals.services.team import (
    invitation_made,
    invite_member,
    member_proposals,
    open_invitations,
    remove_member,
    respond_to_invitation,
)

# a request or a file leaves the draft by the one removal (a member too, then the
# team's anonymity scans are asked for again: ``remove_member``)
remove_request = remove_attachment = remove_from_draft

__all__ = [
    "set_language",
    "edit_language",
    "CALL_DEADLINE",
    "KIND_FOR_FACILITY",
    "MSG_BOMB",
    "MSG_ENCRYPTED",
    "MSG_NOT_PDF",
    "MSG_POLYGLOT",
    "MSG_TOO_COMPLEX",
    "MSG_UNREADABLE",
    "PDF_MAGIC",
    "PROPOSAL_STATE",
    "SCAN_JOB",
    "STALE",
    "_check_total",
    "add_attachment",
    "upload_made",
    "add_request",
    "attachment_bytes",
    "attachment_path",
    "begin_write",
    "clean_attachment_bytes",
    "clean_attachment_path",
    "clean_stored_attachments",
    "close_call",
    "freeze_late_submissions",
    "grant_submission_extension",
    "require_submissions_in",
    "close_call_proposals",
    "create_proposal",
    "invitation_made",
    "invite_member",
    "lock_call_for_close",
    "lock_for_write",
    "member_proposals",
    "open_invitations",
    "pdf_limits",
    "read_blob",
    "remove_attachment",
    "remove_from_draft",
    "remove_member",
    "remove_request",
    "reopen",
    "request_anonymity_scans",
    "respond_to_invitation",
    "row_problems",
    "run_anonymity_scan",
    "set_bundle",
    "snapshot",
    "store_blob",
    "sweep_blobs",
    "OffsetMismatch",
    "drop_chunks",
    "joined",
    "receive_chunk",
    "start_upload",
    "sweep_partial_uploads",
    "submission_errors",
    "submission_problems",
    "incomplete_problems",
    "submit",
    "update_proposal",
    "update_request",
    "validate_request",
    "withdraw",
    "withdraw_on_request",
    "title_limit",
]
