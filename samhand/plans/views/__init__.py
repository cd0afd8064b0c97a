"""Pages of samhand.plans, one module per plan. Every patient access goes through
samhand.access.policy; every write through the plans' services."""

from .action import action, action_approve, action_build, action_scenario
from .documents import binder_generate, binder_page, discharge_summary, document_download
from .individual import (
    individual,
    individual_compare,
    individual_confirm,
    individual_edit,
    individual_start,
)
from .meetings import meeting, meeting_agreement, meeting_minute, meeting_sign, meetings
from .overview import overview
from .treatment import treatment, treatment_edit, treatment_sign

__all__ = [
    "action", "action_approve", "action_build", "action_scenario", "binder_generate",
    "binder_page", "discharge_summary", "document_download", "individual",
    "individual_compare", "individual_confirm", "individual_edit", "individual_start",
    "meeting", "meeting_agreement", "meeting_minute", "meeting_sign", "meetings", "overview",
    "treatment", "treatment_edit", "treatment_sign",
]
