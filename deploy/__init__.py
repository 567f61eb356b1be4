"""Deployment: the multi-process stack (`python -m deploy.stack`), systemd units, Procfile and scripts."""
