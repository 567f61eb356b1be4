from django.urls import path

from backend.projects import api

urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="project-list"),
    path("projects/<int:project_id>/", api.ProjectDetailApi.as_view(), name="project-detail"),
    path("projects/<int:project_id>/members/", api.MemberListApi.as_view(), name="member-list"),
    path("projects/<int:project_id>/members/<int:member_id>/", api.MemberDetailApi.as_view(), name="member-detail"),
    path("projects/<int:project_id>/labels/", api.LabelListApi.as_view(), name="label-list"),
    path("projects/<int:project_id>/labels/<int:label_id>/", api.LabelDetailApi.as_view(), name="label-detail"),
]
