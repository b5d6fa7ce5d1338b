// Deployed into a target vault's resource group: the vault's Event Grid system
// topic and, once the code is deployed, the subscription that delivers
// SecretNearExpiry and SecretExpired to the keyVaultEvents function.
//
// Also deployable on its own (the azd postdeploy hook does so, see
// infra/hooks/subscribe-vault-events.sh): every input is a plain string.
param vaultName string
param tags object = {}

@description('Resource id of the user-assigned identity Event Grid uses to write dead letters.')
param eventGridIdentityId string

@description('Create the event subscription. Event Grid validates an AzureFunction destination when the subscription is created, so the function must exist: false on the first provision, true after the code is deployed.')
param subscribe bool

param subscriptionName string

@description('Resource id of Rotor\'s Function App.')
param functionAppId string

param deadLetterStorageAccountId string
param deadLetterContainerName string

@description('Name of the function with the Event Grid trigger (fixed in functions/).')
param intakeFunctionName string = 'keyVaultEvents'

var abbrs = loadJsonContent('../abbreviations.json')

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

// Event Grid allows one system topic per source: a vault that already has one
// (created in the portal, say) needs it removed or this name changed.
resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${abbrs.eventGridSystemTopics}${vaultName}'
  location: vault.location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${eventGridIdentityId}': {}
    }
  }
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource intakeSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (subscribe) {
  parent: systemTopic
  name: subscriptionName
  properties: {
    // AzureFunction (not WebHook): Event Grid fetches and rolls the function's
    // system key itself, so no key appears in this template.
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${intakeFunctionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    // Only what starts a rotation. SecretNewVersionCreated is left out on
    // purpose: Rotor's own writes must never start a rotation (I7).
    filter: {
      includedEventTypes: [
        'Microsoft.KeyVault.SecretNearExpiry'
        'Microsoft.KeyVault.SecretExpired'
      ]
    }
    // Event Grid's own schedule (10 s up to 12 h) for a day; then dead-letter.
    // The sweep also finds whatever an outage made Rotor miss.
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: eventGridIdentityId
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output systemTopicName string = systemTopic.name
