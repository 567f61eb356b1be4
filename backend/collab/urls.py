from django.urls import path

from backend.collab import api

urlpatterns = [
    path("objects/<int:object_id>/lease/", api.ObjectLeaseApi.as_view(), name="object-lease"),
]
