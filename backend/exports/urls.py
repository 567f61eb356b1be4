from django.urls import path

from backend.exports import api

urlpatterns = [
    path("projects/<int:project_id>/export", api.ProjectExportApi.as_view(), name="project-export"),
    path("projects/<int:project_id>/import", api.ProjectImportApi.as_view(), name="project-import"),
]
