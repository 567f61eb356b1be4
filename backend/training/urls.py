from django.urls import path

from backend.training import api

urlpatterns = [
    path("projects/<int:project_id>/finetune/", api.FineTuneListApi.as_view(), name="finetune-list"),
    path("finetune/<int:job_id>/", api.FineTuneDetailApi.as_view(), name="finetune-detail"),
    path("projects/<int:project_id>/model/", api.ProjectModelApi.as_view(), name="project-model"),
]
