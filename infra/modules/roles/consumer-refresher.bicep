// Opt-in, deployed into a resource group holding declared consumers
// (docs/operations.md, "Consumers"): a custom role with only what the nudge
// and the adoption read need, assignable in this group alone, granted to
// Rotor on the group. Not Website Contributor: it cannot change settings,
// read their values (config/list), deploy or restart a site.
param rotorPrincipalId string

var roleName = guid(resourceGroup().id, 'rotor-consumer-refresher')

resource refresher 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleName
  properties: {
    roleName: 'Rotor Consumer Refresher (${resourceGroup().name})'
    description: 'Refresh and read the Key Vault references of App Service and Function Apps, restart Container Apps revisions: what Rotor needs to move declared consumers to a new secret version.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Web/sites/read'
          'Microsoft.Web/sites/config/read'
          'Microsoft.Web/sites/slots/config/read'
          'Microsoft.Web/sites/config/configreferences/appsettings/refresh/action'
          'Microsoft.Web/sites/slots/config/configreferences/appsettings/refresh/action'
          'Microsoft.App/containerApps/revisions/read'
          'Microsoft.App/containerApps/revisions/restart/action'
        ]
        notActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, rotorPrincipalId, roleName)
  properties: {
    roleDefinitionId: refresher.id // Rotor Consumer Refresher (custom, this resource group)
    principalId: rotorPrincipalId
    principalType: 'ServicePrincipal'
  }
}
