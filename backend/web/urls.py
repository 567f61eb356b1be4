from django.urls import path

from backend.web import image_pages, views

urlpatterns = [
    path("", views.home, name="home"),
    path("projects/<int:project_id>/", views.project_page, name="project-page"),
    path("images/<int:image_id>/annotate/", image_pages.workspace, name="workspace"),
    path("images/<int:image_id>/review/", image_pages.review_page, name="review"),
    path("images/<int:image_id>/view/", image_pages.image_view, name="image-view"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]
