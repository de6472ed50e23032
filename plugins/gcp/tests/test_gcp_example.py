"""The least-privilege example grants one role on one secret, and nothing on the project."""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "gcp"
ROLE = "roles/secretmanager.secretAccessor"


def test_gcloud_binding_is_on_one_secret() -> None:
    script = (EXAMPLE / "grant-secret-accessor.sh").read_text()
    commands = [line for line in script.splitlines() if line.startswith("gcloud ")]

    assert commands == ['gcloud secrets add-iam-policy-binding "$SECRET" \\']
    assert f'--role="{ROLE}"' in script
    assert "projects add-iam-policy-binding" not in script


def test_terraform_binding_is_on_one_secret() -> None:
    terraform = (EXAMPLE / "secret-accessor.tf").read_text()
    resources = re.findall(r'^resource "([a-z_]+)"', terraform, flags=re.MULTILINE)

    assert resources == ["google_secret_manager_secret", "google_secret_manager_secret_iam_member"]
    assert re.findall(r'role\s+=\s+"([^"]+)"', terraform) == [ROLE]
    assert "google_project_iam" not in terraform
