"""Breaking a lease (managers and admins): DELETE /api/objects/<id>/lease/."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.annotations.selectors import get_object_for
from backend.collab import services
from backend.projects.access import require_manager


class ObjectLeaseApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, object_id: int) -> Response:
        """Break the object's lease: its holder gets `lease_lost` (reason "broken"); 404 when nobody holds one."""
        obj, role = get_object_for(request.user, object_id)
        require_manager(role, "break another person's lease")
        services.lease_break(obj=obj, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
