// Opt-in, deployed into a target topic's resource group: regenerate that
// topic's access keys (eventgrid-topic-key rotator). The built-in role with
// Microsoft.EventGrid/topics/regenerateKey/action; scoped to the one topic.
param topicName string
param rotorPrincipalId string

resource topic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: topicName
}

resource contributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, rotorPrincipalId, '1e241071-0855-49ea-94dc-649edcd759de')
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '1e241071-0855-49ea-94dc-649edcd759de') // EventGrid Contributor
    principalId: rotorPrincipalId
    principalType: 'ServicePrincipal'
  }
}
