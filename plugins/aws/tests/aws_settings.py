"""Constants the AWS plugin's fixtures and tests share (a plain module, not conftest)."""

from __future__ import annotations

REGION = "us-east-1"
SESSION_TOKEN = "stub-session-token-3c9e"
