// The step queue. Sessions keep one secret's steps in order on one instance
// at a time (invariant I2); duplicate detection drops a step message sent
// twice, e.g. by a handler that crashed between sending the next step and
// completing its own message (invariant I4).
param location string
param tags object
param name string
param stepQueueName string

// Why one day: the broker remembers a MessageId for this long, so it must
// outlast the longest gap between two sends of the same step. Rotor's step
// retries back off exponentially (bounded by ROTOR_MAX_STEP_ATTEMPTS, minutes
// in total), but a verify step is scheduled after the grace period, which
// follows consumers' cache refresh (App Service Key Vault references re-read
// about every 24 hours). One day covers both; PT1H is the floor below which a
// slow retry could run twice. Service Bus allows at most seven days.
@description('ISO-8601 duplicate-detection window, at least PT1H, at most P7D.')
param duplicateDetectionWindow string

@description('Premium tier with public access off (private endpoints need Premium); Standard otherwise. Basic has no sessions.')
param networkIsolation bool

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: networkIsolation
    ? {
        name: 'Premium'
        tier: 'Premium'
        capacity: 1
      }
    : {
        name: 'Standard'
        tier: 'Standard'
      }
  properties: {
    // Entra only: no SAS key exists that could leak.
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: networkIsolation ? 'Disabled' : 'Enabled'
  }
}

resource stepQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: stepQueueName
  properties: {
    requiresSession: true
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    // A step that keeps failing is dead-lettered; rotationDeadLetters marks it Failed.
    maxDeliveryCount: 10
    // The host renews the lock while a step runs (host.json maxAutoLockRenewalDuration);
    // a short lock only means a crashed instance's session is taken over quickly.
    lockDuration: 'PT1M'
    // Scheduled steps (verify after the grace period) must not expire before they run.
    defaultMessageTimeToLive: 'P14D'
    deadLetteringOnMessageExpiration: true
    enablePartitioning: false
    maxSizeInMegabytes: 1024
  }
}

output namespaceId string = namespace.id
output namespaceName string = namespace.name
// Host name only (no scheme, no port): what ServiceBusConnection__fullyQualifiedNamespace wants.
output host string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
output stepQueueName string = stepQueue.name
