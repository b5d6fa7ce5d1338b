// Deployed into a target vault's resource group. Secrets Officer reads,
// writes, disables and lists secrets and their versions: exactly the rotation
// protocol (no keys, certificates or vault settings).
param vaultName string
param rotorPrincipalId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, rotorPrincipalId, 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7') // Key Vault Secrets Officer
    principalId: rotorPrincipalId
    principalType: 'ServicePrincipal'
  }
}
