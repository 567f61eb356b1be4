from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from backend.accounts import throttling

        user_login_failed.connect(throttling.on_login_failed, dispatch_uid="accounts.throttling.failed")
        user_logged_in.connect(throttling.on_logged_in, dispatch_uid="accounts.throttling.logged_in")
