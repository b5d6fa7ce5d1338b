// Opt-in, deployed into a target storage account's resource group: list and
// regenerate that account's keys (storage-account-key rotator). storage-sas
// does not need it: it signs with an account key read from Key Vault. No data access.
param storageAccountName string
param rotorPrincipalId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource keyOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, rotorPrincipalId, '81a9662b-bebf-436f-a333-f67b29880f12')
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '81a9662b-bebf-436f-a333-f67b29880f12') // Storage Account Key Operator Service Role
    principalId: rotorPrincipalId
    principalType: 'ServicePrincipal'
  }
}
