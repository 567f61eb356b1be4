from django.urls import path

from backend.accounts import api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="me"),
    path("me/preferences/", api.PreferencesApi.as_view(), name="me-preferences"),
]
