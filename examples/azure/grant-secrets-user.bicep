// Let one identity read the secrets of ONE key vault: the built-in Azure RBAC role
// "Key Vault Secrets User", assigned at the vault's scope.
//
//   az deployment group create --resource-group RG --template-file grant-secrets-user.bicep \
//     --parameters keyVaultName=bw-prod principalId=<object id of the managed identity>

@description('Name of an existing key vault that uses the Azure RBAC permission model.')
param keyVaultName string

@description('Object (principal) id of the managed identity or service principal that reads the secret.')
param principalId string

// Built-in role "Key Vault Secrets User" (read secret contents):
// https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/security#key-vault-secrets-user
var keyVaultSecretsUser = subscriptionResourceId(
  'Microsoft.Authorization/roleDefinitions',
  '4633458b-17de-408a-b874-0445c86b69e6'
)

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource readSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: keyVaultSecretsUser
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
