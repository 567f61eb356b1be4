"""The caller's own account: who they are, and their workspace preferences."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts import throttling
from backend.accounts.services import preferences_of, preferences_update
from backend.common.parsers import BoundedJSONParser

MeOutput = inline_serializer(
    "Me",
    {"id": serializers.IntegerField(), "username": serializers.CharField(), "preferences": serializers.DictField()},
)


class MeApi(APIView):
    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        user = request.user
        return Response({"id": user.pk, "username": user.username, "preferences": preferences_of(user=user)})


class PreferencesApi(APIView):
    parser_classes = [BoundedJSONParser]  # a JSON object; form fields would arrive as lists of strings

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request) -> Response:
        return Response(preferences_update(user=request.user, changes=request.data))


class TokenApi(ObtainAuthToken):
    """A token for username + password; throttled like the login page (429 with Retry-After)."""

    parser_classes = [FormParser, MultiPartParser, BoundedJSONParser]

    def post(self, request: Request, *args, **kwargs) -> Response:
        username = request.data.get("username") if isinstance(request.data, dict) else None  # JSON may be any value
        throttling.check(request=request, username=str(username or "")[:150])
        response = super().post(request, *args, **kwargs)
        throttling.record_success(request=request, username=str(username))
        return response
