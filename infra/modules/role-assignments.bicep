// Every role Rotor's identities hold, in one place, each at the narrowest
// scope that works. Role definition GUIDs are Azure built-ins (the same in
// every subscription); each is named in a comment on its line, and
// test/unit/infra/role-assignments.test.ts checks GUID, name and scope.
//
// Rotor's identity gets:
//   Azure Service Bus Data Owner               on the step queue (send, receive, and the Manage right scaling needs)
//   Storage Blob Data Owner                    on the storage account (the Functions host creates its own containers)
//   EventGrid Data Sender                      on the notification topic
//   Monitoring Metrics Publisher               on Application Insights
//   Key Vault Secrets Officer                  on each target vault (roles/key-vault-secrets-officer.bicep)
// Event Grid's identity gets:
//   Storage Blob Data Contributor              on the dead-letter container
// Opt-in, for rotators of Azure credentials (empty lists by default):
//   Storage Account Key Operator Service Role  on listed storage accounts (roles/storage-key-operator.bicep)
//   EventGrid Contributor                      on listed Event Grid topics (roles/eventgrid-contributor.bicep)
//   Rotor Consumer Refresher (custom)          on listed consumer resource groups (roles/consumer-refresher.bicep)
// Nothing at resource-group or subscription scope. Microsoft Graph
// permissions (entra-app-secret rotator) are not Azure RBAC: docs/deploy.md.
param rotorPrincipalId string
param eventGridPrincipalId string
param storageAccountName string
param deadLetterContainerName string
param serviceBusNamespaceName string
param stepQueueName string
param notificationTopicName string
param applicationInsightsName string

@description('Resource ids of the Key Vaults Rotor manages.')
param targetVaultIds array

@description('Opt-in: storage account ids for Storage Account Key Operator Service Role.')
param keyOperatorStorageAccountIds array = []

@description('Opt-in: Event Grid topic ids for EventGrid Contributor.')
param eventGridContributorTopicIds array = []

@description('Opt-in: resource group ids holding declared consumers, for the Rotor Consumer Refresher custom role.')
param consumerResourceGroupIds array = []

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource stepQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = {
  parent: namespace
  name: stepQueueName
}

resource notificationTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: notificationTopicName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Send and schedule steps, receive steps and dead letters (the dead-letter
// sub-queue is covered by the queue scope), and Manage: target-based scaling
// on Flex Consumption reads the queue's message counts with it. With Data
// Receiver only, the scale controller falls back to peeking for active
// messages, and a queue that is mostly scheduled steps hides them: steps can
// sit unprocessed with no instance running. Microsoft's Flex Consumption
// Service Bus sample grants Data Owner for this reason. Scoped to the one
// queue, so Manage reaches nothing else in the namespace (docs/deploy.md).
resource queueOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(stepQueue.id, rotorPrincipalId, '090c5cfd-751d-490a-894a-3ce6f1109419')
  scope: stepQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '090c5cfd-751d-490a-894a-3ce6f1109419') // Azure Service Bus Data Owner
    principalId: rotorPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Host storage (the host creates azure-webjobs-* containers), the deployment package, the ledger.
resource storageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, rotorPrincipalId, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b') // Storage Blob Data Owner
    principalId: rotorPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Publish notifications to the custom topic (local auth is off on it).
resource topicSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(notificationTopic.id, rotorPrincipalId, 'd5a91429-5739-47e2-a06b-3470a27159e7')
  scope: notificationTopic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'd5a91429-5739-47e2-a06b-3470a27159e7') // EventGrid Data Sender
    principalId: rotorPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Send telemetry with Entra auth (local auth is off on the component).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, rotorPrincipalId, '3913510d-42f4-4e42-8a64-420c390055eb')
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb') // Monitoring Metrics Publisher
    principalId: rotorPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Event Grid writes undeliverable Key Vault events here with its own identity.
resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, eventGridPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe') // Storage Blob Data Contributor
    principalId: eventGridPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Vault-scoped assignments live in the vault's resource group, hence a scoped module.
module vaultSecretsOfficer 'roles/key-vault-secrets-officer.bicep' = [
  for id in targetVaultIds: {
    name: take('rotor-kv-officer-${last(split(id, '/'))}', 64)
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      vaultName: last(split(id, '/'))
      rotorPrincipalId: rotorPrincipalId
    }
  }
]

module storageKeyOperator 'roles/storage-key-operator.bicep' = [
  for id in keyOperatorStorageAccountIds: {
    name: take('rotor-key-operator-${last(split(id, '/'))}', 64)
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      storageAccountName: last(split(id, '/'))
      rotorPrincipalId: rotorPrincipalId
    }
  }
]

module eventGridContributor 'roles/eventgrid-contributor.bicep' = [
  for id in eventGridContributorTopicIds: {
    name: take('rotor-eg-contributor-${last(split(id, '/'))}', 64)
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      topicName: last(split(id, '/'))
      rotorPrincipalId: rotorPrincipalId
    }
  }
]

module consumerRefresher 'roles/consumer-refresher.bicep' = [
  for id in consumerResourceGroupIds: {
    name: take('rotor-consumers-${last(split(id, '/'))}', 64)
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      rotorPrincipalId: rotorPrincipalId
    }
  }
]
