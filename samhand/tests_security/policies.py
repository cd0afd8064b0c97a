"""Route policies for the route walk (samhand/tests_security/test_route_walk.py).

Apps added after the foundation declare their routes in their own
`samhand/<app>/tests/route_policies.py`:

    from samhand.tests_security.policies import PATIENT, Policy
    ROUTES = {"pathways:detail": Policy(PATIENT)}

    def objects(world) -> dict[str, dict[str, str]]:
        # Path arguments other than patient_id: name -> {target patient -> id}.
        pathway_a = ...  # create what the routes need, for patient_a and patient_b
        return {"pathway_id": {"patient_a": str(pathway_a.pk), "patient_b": ...}}

The walk then calls /patients/<patient_a>/pathways/<patient_a's pathway>/ for every
persona, and expects 200 only where the persona may see patient_a.
"""

from __future__ import annotations

from dataclasses import dataclass

PUBLIC = "public"  # anyone, no login; never shows patient data
STAFF = "staff"  # any verified login; not about one patient; lists filtered per persona
PATIENT = "patient"  # about one patient (path arg patient_id): care relation or 404
RELATIVE = "relative"  # about one patient: care relation, or a delegation with `scope`
GRANT = "grant"  # about one emergency grant (grant_id): only its owner
NOT_FOUND = "not_found"  # a catch-all that answers 404 to everyone logged in
ADMIN = "admin"  # Django admin: is_staff only; only operator_b is staff
SHADOWED = "shadowed"  # same path as an earlier pattern, which answers for it


@dataclass(frozen=True)
class Policy:
    kind: str
    post_only: bool = False  # the view refuses GET (405); POST is probed instead
    scope: str = ""  # RELATIVE: the delegation scope the page needs
    queries: tuple[dict[str, str], ...] = ()  # extra GET query strings to try
    posts: tuple[dict[str, str], ...] = ()  # bodies POSTed (placeholders: {nid:patient_a})
    json: bool = False  # POST bodies as JSON (API)
    lists_patients: bool = False  # the plain GET lists the persona's own patients
    guessed: bool = False  # a policy this test chose without the view author saying so
    why: str = ""
    # One generic pattern (e.g. /fhir/<resource_type>/<resource_id>) walked as several
    # routes: (label, policy, fixed path args). Placeholders in path args: {target}
    # (the patient's id), {consent} and {audit} (a consent / audit row of the patient).
    variants: tuple[tuple[str, Policy, dict[str, str]], ...] = ()
