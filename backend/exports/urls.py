from django.urls import path

from backend.exports import api

urlpatterns = [
    path("projects/<int:project_id>/exports/", api.ProjectExportsApi.as_view(), name="project-exports"),
    path("exports/<int:job_id>/", api.ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<int:job_id>/download", api.ExportDownloadApi.as_view(), name="export-download"),
    path("projects/<int:project_id>/import", api.ProjectImportApi.as_view(), name="project-import"),
]
