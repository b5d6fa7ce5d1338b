// Rotor: the whole system in one resource group, plus what it needs on each
// target vault (an Event Grid system topic and a role assignment), which may
// live in other resource groups of the same tenant.
//
// Deployed by `azd up` (resource-group scope) or by
// `az deployment group create --template-file infra/main.bicep`; see docs/deploy.md.
// Every connection is identity-based: nothing here reads or outputs a key.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name of the environment; feeds the resource token so two environments never collide.')
param environmentName string

@minLength(1)
@description('Region of Rotor\'s resources. Flex Consumption is not offered in every region.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string = resourceGroup().location

@minLength(1)
@description('Comma-separated resource ids of the Key Vaults Rotor manages (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>). They may sit in other resource groups or subscriptions of the tenant.')
param targetVaultIds string

@description('Declare the Event Grid subscriptions from each vault to the keyVaultEvents function in this deployment. Only for `az deployment` runs after the code is deployed: Event Grid refuses a subscription to a function that does not exist yet. azd leaves this false; its postprovision/postdeploy hook subscribes once the function exists, so nothing here depends on state that survives `azd down`.')
param subscribeVaultEvents bool = false

@description('Six-field NCRONTAB schedule of the sweep.')
param sweepSchedule string = '0 */15 * * * *'

@description('Session-enabled Service Bus queue carrying rotation steps.')
param stepQueueName string = 'rotation-steps'

@description('Blob container holding the ledger (rotation records, locks, audit trail).')
param ledgerContainerName string = 'rotor-ledger'

@description('Duplicate-detection window of the step queue, ISO-8601, at least PT1H (see modules/service-bus.bicep for why one day).')
param duplicateDetectionWindow string = 'P1D'

@description('Put storage, Service Bus and the notification topic behind private endpoints in a new virtual network and turn their public access off. Service Bus needs the Premium tier for private endpoints, and Azure does not change a namespace\'s tier in place: turning this on creates a second (Premium) namespace; docs/deploy.md says how to migrate.')
param networkIsolation bool = false

@description('Address space of the virtual network created when networkIsolation is on.')
param vnetAddressPrefix string = '10.60.0.0/22'

@description('Subnet for the Function App\'s outbound traffic (delegated to Microsoft.App/environments).')
param appSubnetPrefix string = '10.60.0.0/24'

@description('Subnet for the private endpoints.')
param privateEndpointSubnetPrefix string = '10.60.1.0/24'

@minValue(40)
@maxValue(1000)
@description('Upper bound of Flex Consumption instances; Flex accepts 40 to 1000. Key Vault\'s throttle, not compute, limits Rotor: the lowest bound Flex allows keeps bursts polite.')
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
@description('Memory of each Flex Consumption instance, MB.')
param instanceMemoryMB int = 2048

@description('Opt-in, for the storage-account-key rotator: comma-separated storage account ids on which Rotor gets Storage Account Key Operator Service Role. Empty: none.')
param keyOperatorStorageAccountIds string = ''

@description('Opt-in, for the eventgrid-topic-key rotator: comma-separated Event Grid topic ids on which Rotor gets EventGrid Contributor. Empty: none.')
param eventGridContributorTopicIds string = ''

@description('Opt-in, for declared consumers (appservice:, containerapp:): comma-separated resource group ids in which Rotor gets the Rotor Consumer Refresher custom role. Empty: none.')
param consumerResourceGroupIds string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

// Comma-separated lists, because azd passes environment values as strings.
var vaultIds = filter(map(split(targetVaultIds, ','), id => trim(id)), id => !empty(id))
var keyOperatorAccountIds = filter(map(split(keyOperatorStorageAccountIds, ','), id => trim(id)), id => !empty(id))
var contributorTopicIds = filter(map(split(eventGridContributorTopicIds, ','), id => trim(id)), id => !empty(id))
var consumerGroupIds = filter(map(split(consumerResourceGroupIds, ','), id => trim(id)), id => !empty(id))

// The vault URL is derived from the id, so ROTOR_ALLOWED_VAULTS lists exactly the vaults granted below.
var allowedVaultUrls = map(vaultIds, id => 'https://${last(split(id, '/'))}${environment().suffixes.keyvaultDns}')

var functionAppName = '${abbrs.webSitesFunctions}rotor-${resourceToken}'
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'
var eventSubscriptionName = '${abbrs.eventGridEventSubscriptions}rotor-${resourceToken}'
// One name per tier: Standard -> Premium is a migration to a new namespace, never an in-place update.
var serviceBusNamespaceName = networkIsolation
  ? '${abbrs.serviceBusNamespaces}rotor-premium-${resourceToken}'
  : '${abbrs.serviceBusNamespaces}rotor-${resourceToken}'

// Rotor's own identity: every data-plane call and the Functions host itself.
resource rotorIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}rotor-${resourceToken}'
  location: location
  tags: tags
}

// Event Grid's identity on the vaults' system topics: writes dead letters, nothing else.
resource eventGridIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbrs.managedIdentityUserAssignedIdentities}evgs-rotor-${resourceToken}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}rotor-${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}rotor-${resourceToken}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    deploymentContainerName: deploymentContainerName
    ledgerContainerName: ledgerContainerName
    deadLetterContainerName: deadLetterContainerName
    networkIsolation: networkIsolation
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  name: 'service-bus'
  params: {
    location: location
    tags: tags
    name: serviceBusNamespaceName
    stepQueueName: stepQueueName
    duplicateDetectionWindow: duplicateDetectionWindow
    networkIsolation: networkIsolation
  }
}

module notifications 'modules/notifications.bicep' = {
  name: 'notifications'
  params: {
    location: location
    tags: tags
    name: '${abbrs.eventGridTopics}rotor-${resourceToken}'
    networkIsolation: networkIsolation
  }
}

module network 'modules/network.bicep' = if (networkIsolation) {
  name: 'network'
  params: {
    location: location
    tags: tags
    vnetName: '${abbrs.networkVirtualNetworks}rotor-${resourceToken}'
    privateEndpointPrefix: '${abbrs.networkPrivateEndpoints}rotor-${resourceToken}'
    vnetAddressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    privateEndpointSubnetPrefix: privateEndpointSubnetPrefix
    storageAccountId: storage.outputs.id
    serviceBusNamespaceId: serviceBus.outputs.namespaceId
    notificationTopicId: notifications.outputs.id
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: '${abbrs.webServerFarms}rotor-${resourceToken}'
    identityId: rotorIdentity.id
    identityClientId: rotorIdentity.properties.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    serviceBusHost: serviceBus.outputs.host
    stepQueueName: serviceBus.outputs.stepQueueName
    ledgerContainerName: ledgerContainerName
    allowedVaultUrls: join(allowedVaultUrls, ',')
    notificationTopicEndpoint: notifications.outputs.endpoint
    sweepSchedule: sweepSchedule
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSubnetId: network.?outputs.appSubnetId ?? ''
  }
  // Host storage and the deployment container are reached with the identity: grant first.
  dependsOn: [roleAssignments]
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  params: {
    rotorPrincipalId: rotorIdentity.properties.principalId
    eventGridPrincipalId: eventGridIdentity.properties.principalId
    storageAccountName: storage.outputs.name
    deadLetterContainerName: deadLetterContainerName
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    stepQueueName: serviceBus.outputs.stepQueueName
    notificationTopicName: notifications.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    targetVaultIds: vaultIds
    keyOperatorStorageAccountIds: keyOperatorAccountIds
    eventGridContributorTopicIds: contributorTopicIds
    consumerResourceGroupIds: consumerGroupIds
  }
}

// One system topic per vault, in the vault's own resource group (Event Grid
// allows one system topic per source, in the source's subscription).
module vaultEvents 'modules/vault-events.bicep' = [
  for id in vaultIds: {
    name: take('rotor-events-${last(split(id, '/'))}', 64)
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      vaultName: last(split(id, '/'))
      tags: tags
      eventGridIdentityId: eventGridIdentity.id
      subscribe: subscribeVaultEvents
      subscriptionName: eventSubscriptionName
      functionAppId: functionApp.outputs.id
      deadLetterStorageAccountId: storage.outputs.id
      deadLetterContainerName: deadLetterContainerName
    }
    // The dead-letter identity must hold its role before Event Grid uses it.
    dependsOn: [roleAssignments]
  }
]

// Outputs become azd environment values; the postdeploy hook reads them.
// None of them is a credential.
output AZURE_LOCATION string = location
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.id
output ROTOR_API_BASE_URL string = functionApp.outputs.baseUrl
output ROTOR_PRINCIPAL_ID string = rotorIdentity.properties.principalId
output ROTOR_CLIENT_ID string = rotorIdentity.properties.clientId
output ROTOR_EVENTGRID_IDENTITY_ID string = eventGridIdentity.id
output ROTOR_EVENT_SUBSCRIPTION_NAME string = eventSubscriptionName
output ROTOR_DEADLETTER_STORAGE_ACCOUNT_ID string = storage.outputs.id
output ROTOR_STORAGE_ACCOUNT_ID string = storage.outputs.id
output ROTOR_SERVICE_BUS_NAMESPACE string = serviceBus.outputs.namespaceName
output ROTOR_DEADLETTER_CONTAINER string = deadLetterContainerName
output ROTOR_NOTIFY_TOPIC_ENDPOINT string = notifications.outputs.endpoint
output ROTOR_ALLOWED_VAULTS string = join(allowedVaultUrls, ',')
