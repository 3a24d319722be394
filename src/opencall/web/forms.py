"""Form messages that every feature's pages use (marked for translation here once; a
feature's own messages stay with its views)."""

from __future__ import annotations

from opencall.web.i18n import N_

MSG_REQUIRED = N_("This field is required.")
MSG_TOO_LONG = N_("Too long (%(max)s characters at most).")
MSG_NUMBER = N_("Enter a number.")
MSG_WHOLE = N_("Enter a whole number.")
MSG_INVALID = N_("This value is not valid.")
MSG_CONFIRM = N_("Tick the box to confirm.")  # the _macros.html confirm() box left unticked
