"""Route policies of the pathway REST endpoints (samhand/pathways/api.py), merged into
the route walk by route_policies.py. The path arguments pathway_id and task_id come
from route_policies.objects(): one pathway and one task per world patient.
"""

from __future__ import annotations

from samhand.tests_security.policies import PATIENT, SHADOWED, STAFF, Policy

START = {"template": "palliative_home", "entry": "at_home"}

ROUTES: dict[str, Policy] = {
    "api:v1:list_pathway_templates": Policy(STAFF, why="the template library: no patient "
                                            "data"),
    # GET lists, POST starts: one ninja path, list_pathways answers for both methods.
    "api:v1:list_pathways": Policy(PATIENT, json=True, posts=(START,)),
    "api:v1:start_pathway": Policy(SHADOWED, why="POST on the path of list_pathways"),
    "api:v1:get_pathway": Policy(PATIENT),
    "api:v1:record_pathway_event": Policy(PATIENT, post_only=True, json=True,
                                          posts=({"kind": "admitted"},)),
    "api:v1:list_patient_tasks": Policy(PATIENT, queries=({"state": "all"},
                                                          {"state": "overdue"})),
    "api:v1:complete_patient_task": Policy(PATIENT, post_only=True, json=True,
                                           posts=({"note": "Gjort"},)),
    "api:v1:reassign_patient_task": Policy(PATIENT, post_only=True, json=True, posts=(
        {"organisation_id": "{org:hn_a}", "role": "home_nursing"},)),
}
