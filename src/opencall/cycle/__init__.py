"""The call's workflow: every change of a call's status, with what it does
beyond the status (see :mod:`opencall.cycle.services`)."""
