"""Serving user files safely, Content-Security-Policy, login throttling, HTTPS settings and websocket origins."""

import io
import os
import subprocess
import sys

import pytest
from django.core.cache import cache
from PIL import Image as PILImage
from PIL import PngImagePlugin
from rest_framework.test import APIClient

from backend.images.services import images_upload
from backend.interactive.origin import origin_allowed
from tests.conftest import REPO_DIR, World, upload
from tests.own_loop import run_in_own_loop

SCRIPT = "<script>document.title='pwned';alert(document.cookie)</script>"


def png_with_script() -> bytes:
    """A valid PNG whose tEXt chunk holds HTML: served as text/html it would run in the app's origin."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SCRIPT)
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), "white").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["poc.html", "poc.svg", "poc.xhtml", "poc.htm", "noext"])
def test_image_files_are_served_as_the_format_they_decoded_as(world: World, name: str) -> None:
    image = images_upload(
        project=world.project, files=[upload(name, png_with_script())], uploaded_by=world.users["manager"]
    ).created[0]
    response = world.client("manager").get(f"/api/images/{image.pk}/file")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert SCRIPT.encode() in b"".join(response.streaming_content)  # the bytes are as uploaded, only typed safely


def test_every_page_has_a_content_security_policy(world: World, client) -> None:
    client.force_login(world.users["manager"])
    for url in ["/", f"/projects/{world.project.pk}/", "/accounts/login/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert b"<script>" not in response.content, f"{url} has an inline script, which the policy blocks"


@pytest.fixture
def fresh_throttle(settings):
    settings.LOGIN_MAX_FAILURES_PER_USER = 3
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    cache.clear()
    yield
    cache.clear()


def test_token_guessing_is_throttled_per_user_then_per_address(world: World, fresh_throttle) -> None:
    client = APIClient()

    def attempt(username: str, password: str = "wrong"):
        return client.post("/api/auth/token/", {"username": username, "password": password}, format="json")

    assert [attempt("annotator").status_code for _ in range(3)] == [400, 400, 400]
    blocked = attempt("annotator", "pw-annotator")  # even the right password, while throttled
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    assert blocked.json()["error"] == "throttled"
    # another user from the same address still may, until the address's own limit
    assert attempt("reviewer", "pw-reviewer").status_code == 200
    assert [attempt("reviewer").status_code for _ in range(3)] == [400, 400, 400]
    assert attempt("manager", "pw-manager").status_code == 429  # 6 failures from this address
    other_address = APIClient(REMOTE_ADDR="10.9.8.7")
    assert other_address.post("/api/auth/token/", {"username": "manager", "password": "pw-manager"}).status_code == 200


def test_the_login_page_is_throttled_and_says_so(world: World, client, fresh_throttle) -> None:
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": "annotator", "password": "wrong"})
        assert response.status_code == 200 and b"Wrong username or password" in response.content
    response = client.post("/accounts/login/", {"username": "annotator", "password": "pw-annotator"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_a_success_clears_the_users_failures(world: World, fresh_throttle) -> None:
    client = APIClient()
    for _ in range(2):
        client.post("/api/auth/token/", {"username": "annotator", "password": "wrong"})
    assert client.post("/api/auth/token/", {"username": "annotator", "password": "pw-annotator"}).status_code == 200
    for _ in range(2):
        assert client.post("/api/auth/token/", {"username": "annotator", "password": "wrong"}).status_code == 400
    assert client.post("/api/auth/token/", {"username": "annotator", "password": "pw-annotator"}).status_code == 200


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # another program on the same host
        ("http://localhost:8000", "127.0.0.1:8000", False),
        ("https://labels.example.org", "labels.example.org", True),  # behind a TLS proxy: ws:// inside
        ("https://labels.example.org:8443", "labels.example.org", False),
        ("http://evil.example", "evil.example", False),  # not one of ALLOWED_HOSTS
        ("https://trusted.example", "127.0.0.1:8000", True),  # CSRF_TRUSTED_ORIGINS
        ("null", "127.0.0.1:8000", False),
        (None, "127.0.0.1:8000", False),
    ],
)
def test_websocket_origins(settings, origin, host, allowed) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "labels.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://trusted.example"]
    assert origin_allowed(origin=origin, host=host, secure=False) is allowed


def test_a_socket_from_another_port_of_the_same_host_is_refused(world: World) -> None:

    from tests.interactive.inprocess import Socket
    from tests.live_stack import token_for

    token = token_for(world.users["annotator"])

    async def handshake(origin: str) -> bool:
        socket = Socket(world.batched_image.pk, token, origin=origin)
        connected = await socket.open() is not None
        await socket.close()
        return connected

    assert run_in_own_loop(lambda: handshake("http://testserver")) is True
    assert run_in_own_loop(lambda: handshake("http://testserver:9999")) is False


HTTPS_ENV = {
    "TRUST_X_FORWARDED_PROTO": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECRET_KEY": "x" * 60 + "a-long-random-secret-for-the-deploy-check",
    "ALLOWED_HOSTS": "labels.example.org",
}


def test_deploy_env_example_turns_on_the_https_settings() -> None:
    example = (REPO_DIR / "deploy" / "env.example").read_text()
    for name, value in HTTPS_ENV.items():
        if name not in {"SECRET_KEY", "ALLOWED_HOSTS"}:
            assert f"{name}={value}" in example, name
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO_DIR,
        env={**env, **HTTPS_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = result.stdout + result.stderr
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016", "security.W009"):
        assert warning not in report, report


@pytest.mark.parametrize("secure_env", [False, True])
def test_https_settings_follow_the_environment(secure_env: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", *HTTPS_ENV}}
    if secure_env:
        env.update(HTTPS_ENV)
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='backend.config.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_SSL_REDIRECT)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    if secure_env:
        assert out == "True True ('HTTP_X_FORWARDED_PROTO', 'https') 31536000 True"
    else:
        assert out == "False False None 0 False"


def test_hsts_and_secure_cookies_behind_the_proxy(world: World, client, settings) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    response = client.post(
        "/accounts/login/", {"username": "annotator", "password": "pw-annotator"}, HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.status_code == 302
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response.cookies["sessionid"]["secure"] and response.cookies["csrftoken"]["secure"]
