# Least privilege for gcp-sm: one service account may read one secret, nothing else.
# google_secret_manager_secret_iam_member adds one member to one role on one secret
# (non-authoritative: other bindings on the secret stay as they are).

variable "project" {
  type = string
}

variable "reader" {
  description = "Email of the service account the workload runs as"
  type        = string
}

resource "google_secret_manager_secret" "bandwidth" {
  project   = var.project
  secret_id = "bandwidth-prod"

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "bandwidth_reader" {
  project   = google_secret_manager_secret.bandwidth.project
  secret_id = google_secret_manager_secret.bandwidth.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${var.reader}"
}

# The payload (a JSON object of Bandwidth fields) is added outside Terraform, so it never
# lands in the state file:
#   gcloud secrets versions add bandwidth-prod --data-file=bandwidth.json
