// Rotor's Function App: Flex Consumption (Linux), Node 22, one user-assigned
// identity for everything (host storage, deployment package, Service Bus,
// ledger, Key Vault, notifications, telemetry). App settings carry endpoints
// and names only; the identity is the credential.
param location string
param tags object
param name string
param planName string
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param serviceBusHost string
param stepQueueName string
param ledgerContainerName string

@description('Comma-separated vault URLs (ROTOR_ALLOWED_VAULTS).')
param allowedVaultUrls string
param notificationTopicEndpoint string
param sweepSchedule string
param maximumInstanceCount int
param instanceMemoryMB int

@description('Subnet for outbound traffic when network isolation is on; empty otherwise.')
param appSubnetId string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the service to deploy by this tag (azure.yaml: services.api).
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Inbound stays public even with network isolation: Event Grid pushes
    // Key Vault events to the keyVaultEvents function over the internet, and
    // the operator API is protected by function keys (see docs/deploy.md).
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Every key here is either a Rotor setting (settingCatalogue in
// src/config/settings.ts, where: 'azure') or a Functions runtime setting;
// test/unit/infra/app-settings.test.ts holds both lists and fails on a
// missing, stray or local-only name. Flex Consumption takes the runtime from
// functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and friends must not appear.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    // Rotor
    ServiceBusConnection__fullyQualifiedNamespace: serviceBusHost
    LedgerStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    ROTOR_STEP_QUEUE: stepQueueName
    ROTOR_LEDGER_CONTAINER: ledgerContainerName
    ROTOR_ALLOWED_VAULTS: allowedVaultUrls
    ROTOR_NOTIFY_TOPIC_ENDPOINT: notificationTopicEndpoint
    ROTOR_SWEEP_SCHEDULE: sweepSchedule
    AZURE_CLIENT_ID: identityClientId

    // Functions runtime: the Service Bus triggers connect with the user-assigned identity
    ServiceBusConnection__credential: 'managedidentity'
    ServiceBusConnection__clientId: identityClientId

    // Functions runtime: host storage with the identity (shared keys are off).
    // The blob endpoint only, as Microsoft's Flex Consumption samples set the
    // service URIs: `__accountName` would make the host derive queue and table
    // endpoints too, which Rotor's identity holds no role on and which have no
    // private endpoint under network isolation. Rotor uses no queue or table
    // binding; the host keeps its locks and timer state in blobs.
    AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId

    // Telemetry with Entra auth. The connection string names the resource and
    // its ingestion endpoint; with local auth disabled on the component it
    // cannot ingest without the identity's token, so it is not a secret.
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  }
}

// No publishing with user name and password: azd and az deploy with Entra tokens.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = site.id
output name string = site.name
output baseUrl string = 'https://${site.properties.defaultHostName}'
