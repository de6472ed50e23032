#!/bin/sh
# Least privilege for gcp-sm: let one service account read one secret, nothing else.
# roles/secretmanager.secretAccessor holds secretmanager.versions.access; bound on the
# secret (not on the project) it reaches only that secret's versions.
set -eu

PROJECT="${PROJECT:?set PROJECT to the project id}"
SECRET="${SECRET:-bandwidth-prod}"
READER="${READER:?set READER to the service account email the workload runs as}"

gcloud secrets add-iam-policy-binding "$SECRET" \
  --project="$PROJECT" \
  --member="serviceAccount:$READER" \
  --role="roles/secretmanager.secretAccessor"

# A regional secret (projects/P/locations/L/secrets/S) takes --location as well:
#   gcloud secrets add-iam-policy-binding "$SECRET" --location=us-east4 ...
