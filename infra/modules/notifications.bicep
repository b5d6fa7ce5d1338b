// The custom topic Rotor publishes its notifications to (rotation started,
// completed, rolled back, failed, aborted) as CloudEvents 1.0. Local auth is
// off: only Entra identities holding EventGrid Data Sender can publish, so no
// topic key exists for Rotor to hold or leak.
param location string
param tags object
param name string

@description('Public access off; Rotor publishes through a private endpoint.')
param networkIsolation bool

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: networkIsolation ? 'Disabled' : 'Enabled'
  }
}

output id string = topic.id
output name string = topic.name
output endpoint string = topic.properties.endpoint
