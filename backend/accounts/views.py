"""The login page, throttled against password guessing (backend.accounts.throttling)."""

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse

from backend.accounts import throttling


class ThrottledLoginView(LoginView):
    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        wait = throttling.retry_after(request=request, username=request.POST.get("username", "")[:150])
        if wait <= 0:
            return super().post(request, *args, **kwargs)
        context = self.get_context_data(throttled=f"Too many failed logins; try again in {wait} s.")
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(wait)
        return response
