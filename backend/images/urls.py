from django.urls import path

from backend.images import api

urlpatterns = [
    path("projects/<int:project_id>/images/", api.ImageListApi.as_view(), name="image-list"),
    path("images/<int:image_id>/", api.ImageDetailApi.as_view(), name="image-detail"),
    path("images/<int:image_id>/file", api.ImageFileApi.as_view(), name="image-file"),
    path(
        "images/<int:image_id>/tiles/<int:level>/<int:col>_<int:row>.jpg", api.ImageTileApi.as_view(), name="image-tile"
    ),
    path("images/<int:image_id>/display", api.ImageDisplayApi.as_view(), name="image-display"),
    path("images/<int:image_id>/thumbnail", api.ImageThumbnailApi.as_view(), name="image-thumbnail"),
    path("images/<int:image_id>/review", api.ImageReviewApi.as_view(), name="image-review"),
    path("projects/<int:project_id>/batches/", api.BatchListApi.as_view(), name="batch-list"),
    path("batches/<int:batch_id>/", api.BatchDetailApi.as_view(), name="batch-detail"),
    path("batches/<int:batch_id>/submit", api.BatchSubmitApi.as_view(), name="batch-submit"),
    path("batches/<int:batch_id>/review", api.BatchReviewApi.as_view(), name="batch-review"),
]
