"""A post-award record's words for people: its fields and their choices, the kinds of
research output and the stages an award passes after it (the award's pages, and the
outcomes report's use figures, which count the same fields).
"""

from __future__ import annotations

from opencall.web.i18n import N_

FIELD_LABELS = {
    "sample": N_("Sample"),
    "mass_mg": N_("Mass (mg)"),
    "shipped_on": N_("Shipped on"),
    "received_on": N_("Received on"),
    "due_on": N_("Due back on"),
    "returned_on": N_("Returned on"),
    "consumed": N_("Consumed in the analysis"),
    "item": N_("Item (serial number; one loan of it at a time)"),
    "condition": N_("Condition it came back in"),
    "condition_note": N_("What happened to it"),
    "lost_on": N_("Lost on (if lost)"),
    "schedule_entry_id": N_("Planned shipment (schedule entry)"),
    "description": N_("Description"),
    "planned_on": N_("Planned for"),
    "delivered_on": N_("Delivered on"),
    "tracking_ref": N_("Tracking reference"),
    "customs_status": N_("Customs"),
    "participant": N_("Participant"),
    "arrived_on": N_("Arrived on"),
    "sailed_on": N_("Sailed on"),
    "dives_made": N_("Dives made"),
    "samples_taken": N_("Samples taken"),
    "gender": N_("Gender (if collected)"),
    "people_trained_women": N_("Of them, women"),
    "demo_sites_running": N_("Demonstration sites still running"),
    "observed_on": N_("Observed on"),
    "observed_hours": N_("Observed hours"),
    "lost_hours": N_("Hours lost"),
    "lost_reason": N_("Reason for lost time"),
    "completed": N_("Completed"),
    "attended": N_("Attended"),
    "completed_on": N_("Completed on"),
    "certificate": N_("Certificate number"),
    "site": N_("Site"),
    "planted_on": N_("Planted on"),
    "reported_on": N_("Yield reported on"),
    "yield_t_ha": N_("Yield (t/ha)"),
    "baseline_t_ha": N_("Local baseline (t/ha)"),
    "yield_unit": N_("Unit of the yield and baseline (empty: t/ha)"),
    "trained_countries": N_("People trained by their country (e.g. ETH 20, KEN 10)"),
    "used_amount": N_("Amount used"),
    "started_on": N_("Started on"),
    "followed_up_on": N_("Followed up on"),
    "people_trained": N_("People trained"),
    "demo_sites": N_("Demonstration sites set up"),
    "area_ha": N_("Area (ha)"),
    "notes": N_("Notes"),
}
CHOICE_LABELS = {
    "": N_("none"),
    "weather": N_("weather"),
    "rfi": N_("radio interference (RFI)"),
    "fault": N_("fault"),
    "other": N_("other"),
    "not_required": N_("not required"),
    "pending": N_("pending"),
    "cleared": N_("cleared"),
    "held": N_("held"),
    "good": N_("good"),
    "damaged": N_("damaged"),
    "lost": N_("lost"),
    "female": N_("female"),
    "male": N_("male"),
    "t/ha": N_("t/ha"),
    "kg/m2": N_("kg/m²"),
    "kg/t": N_("kg per tonne of substrate"),
}
OUTPUT_LABELS = {
    "publication": N_("Publication"),
    "dataset": N_("Dataset"),
    "software": N_("Software"),
    "patent": N_("Patent"),
}
#: the states of an award's first report (``domain.REPORT_STATES``), as the overview's
#: filter names them
REPORT_LABELS = {
    "overdue": N_("overdue"),
    "pending": N_("pending"),
    "reported": N_("reported"),
}
STAGE_LABELS = {
    "used": N_("Used"),
    "completed": N_("Completed"),
    "produced_results": N_("Produced results"),
}
