from django.urls import path

from backend.annotations import api

urlpatterns = [
    path("images/<int:image_id>/objects/", api.ObjectListApi.as_view(), name="object-list"),
    path("objects/<int:object_id>/", api.ObjectDetailApi.as_view(), name="object-detail"),
    path("objects/<int:object_id>/restore/", api.ObjectRestoreApi.as_view(), name="object-restore"),
    path("objects/<int:object_id>/revisions/", api.ObjectRevisionsApi.as_view(), name="object-revisions"),
    path("images/<int:image_id>/comments/", api.CommentListApi.as_view(), name="comment-list"),
    path("projects/<int:project_id>/statistics/", api.ProjectStatisticsApi.as_view(), name="project-statistics"),
]
