"""Dates and times in Europe/Oslo, the zone every deadline is reckoned in."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

OSLO = ZoneInfo("Europe/Oslo")


def now() -> dt.datetime:
    return timezone.now()


def today_oslo() -> dt.date:
    return timezone.now().astimezone(OSLO).date()
