// Optional network isolation (networkIsolation = true): a virtual network for
// the Function App's outbound traffic and private endpoints for the storage
// account (blob), the Service Bus namespace and the notification topic, each
// with its private DNS zone linked to the network.
//
// Not covered here, on purpose: the target Key Vaults (their network rules and
// private endpoints belong to their owners; Rotor reaches whatever endpoint
// resolves from this network) and Application Insights ingestion (public,
// Entra-authenticated). See docs/deploy.md.
param location string
param tags object
param vnetName string
param privateEndpointPrefix string
param vnetAddressPrefix string
param appSubnetPrefix string
param privateEndpointSubnetPrefix string
param storageAccountId string
param serviceBusNamespaceId string
param notificationTopicId string

var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        vnetAddressPrefix
      ]
    }
    subnets: [
      {
        name: appSubnetName
        properties: {
          addressPrefix: appSubnetPrefix
          // Flex Consumption integrates through a subnet delegated to Microsoft.App/environments.
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

module storageEndpoint 'private-endpoint.bicep' = {
  name: 'private-endpoint-blob'
  params: {
    location: location
    tags: tags
    name: '${privateEndpointPrefix}-blob'
    vnetId: vnet.id
    subnetId: '${vnet.id}/subnets/${privateEndpointSubnetName}'
    targetResourceId: storageAccountId
    groupId: 'blob'
    dnsZoneName: 'privatelink.blob.${environment().suffixes.storage}'
  }
}

module serviceBusEndpoint 'private-endpoint.bicep' = {
  name: 'private-endpoint-servicebus'
  params: {
    location: location
    tags: tags
    name: '${privateEndpointPrefix}-servicebus'
    vnetId: vnet.id
    subnetId: '${vnet.id}/subnets/${privateEndpointSubnetName}'
    targetResourceId: serviceBusNamespaceId
    groupId: 'namespace'
    dnsZoneName: 'privatelink.servicebus.windows.net'
  }
}

module topicEndpoint 'private-endpoint.bicep' = {
  name: 'private-endpoint-topic'
  params: {
    location: location
    tags: tags
    name: '${privateEndpointPrefix}-topic'
    vnetId: vnet.id
    subnetId: '${vnet.id}/subnets/${privateEndpointSubnetName}'
    targetResourceId: notificationTopicId
    groupId: 'topic'
    dnsZoneName: 'privatelink.eventgrid.azure.net'
  }
}

output appSubnetId string = '${vnet.id}/subnets/${appSubnetName}'
output vnetId string = vnet.id
