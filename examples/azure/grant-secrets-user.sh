#!/usr/bin/env sh
# Let one identity read the secrets of ONE key vault: the built-in Azure RBAC role
# "Key Vault Secrets User" (read secret contents, nothing else), assigned at the
# vault's scope, not the resource group's or the subscription's.
#
#   VAULT=bw-prod PRINCIPAL_ID=<object id of the managed identity> ./grant-secrets-user.sh
#
# The vault must use the Azure RBAC permission model:
#   az keyvault update --name "$VAULT" --enable-rbac-authorization true
set -eu

: "${VAULT:?the key vault name}"
: "${PRINCIPAL_ID:?the object (principal) id of the identity that reads the secret}"

VAULT_ID=$(az keyvault show --name "$VAULT" --query id --output tsv)

az role assignment create \
  --role "Key Vault Secrets User" \
  --assignee-object-id "$PRINCIPAL_ID" \
  --assignee-principal-type ServicePrincipal \
  --scope "$VAULT_ID"
