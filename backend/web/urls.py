from django.urls import path

from backend.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/<int:project_id>/", views.project_page, name="project-page"),
    path("images/<int:image_id>/annotate/", views.workspace, name="workspace"),
    path("images/<int:image_id>/review/", views.review_page, name="review"),
    path("healthz", views.healthz, name="healthz"),
]
