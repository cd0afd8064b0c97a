from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from .models import User, UserSession, end_sessions_for


@receiver(user_logged_in)
def remember_session(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    session = request.session
    if session.session_key is None:
        session.save()
    session["samhand_login_at"] = timezone.now().timestamp()
    UserSession.objects.get_or_create(session_key=session.session_key, defaults={"user": user})


@receiver(post_save, sender=User)
def end_sessions_of_deactivated(sender: Any, instance: User, **kwargs: Any) -> None:
    if not instance.is_active:
        end_sessions_for(instance)
