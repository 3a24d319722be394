"""Imports every table so that metadata is complete (used by Alembic and tests)."""

from opencall import auditlog, jobs, runs  # noqa: F401
from opencall.allocation import models as allocation_models  # noqa: F401
from opencall.calls import models as calls_models  # noqa: F401
from opencall.db import Base
from opencall.facilities import models as facilities_models  # noqa: F401
from opencall.outcomes import models as outcomes_models  # noqa: F401
from opencall.people import models as people_models  # noqa: F401
from opencall.proposals import models as proposals_models  # noqa: F401
from opencall.results import models as results_models  # noqa: F401
from opencall.reviews import models as reviews_models  # noqa: F401
from opencall.scheduling import models as scheduling_models  # noqa: F401
from opencall.web import idempotency  # noqa: F401  (idempotency_keys)

metadata = Base.metadata
