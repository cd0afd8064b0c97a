from django.urls import path

from . import views

app_name = "web"
urlpatterns = [
    path("", views.my_patients, name="my_patients"),
]
