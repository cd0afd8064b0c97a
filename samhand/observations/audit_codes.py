"""The sentences of this app's newer audit codes (written in samhand/audit/actions.py,
ACTION_SENTENCES), marked here as well so that the app's own catalogue
(samhand/observations/locale) carries their nb and da translations."""

from django.utils.translation import gettext_noop

SENTENCES = (
    gettext_noop("Sent an ISBAR summary as a message"),
    gettext_noop("Closed an alert because the values normalised"),
    gettext_noop("Started closer observation after a raised NEWS2"),
    gettext_noop("Ended closer observation after normal NEWS2"),
    gettext_noop("Set the escalation rules from the pathway's defaults"),
)
