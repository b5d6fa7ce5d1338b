#!/bin/sh
# azd postdeploy hook: subscribe the keyVaultEvents function to each target
# vault's Event Grid system topic.
#
# Why after deploy: `azd provision` runs before the code exists, and Event Grid
# refuses an AzureFunction subscription to a function it cannot find. So the
# first provision creates the system topics only (subscribeVaultEvents=false);
# this hook deploys infra/modules/vault-events.bicep once per vault with
# subscribe=true, then records ROTOR_SUBSCRIBE_VAULT_EVENTS=true so later
# `azd provision` runs declare the subscriptions themselves. Idempotent.
#
# Reads azd environment values (main.bicep outputs and ROTOR_TARGET_VAULT_IDS).
# Needs the Azure CLI, signed in as someone who may write Event Grid
# subscriptions in each vault's resource group.
set -eu

: "${ROTOR_TARGET_VAULT_IDS:?set it with azd env set ROTOR_TARGET_VAULT_IDS <vault resource ids, comma-separated>}"
: "${AZURE_FUNCTION_APP_ID:?missing: run azd provision first}"
: "${ROTOR_EVENTGRID_IDENTITY_ID:?missing: run azd provision first}"
: "${ROTOR_EVENT_SUBSCRIPTION_NAME:?missing: run azd provision first}"
: "${ROTOR_DEADLETTER_STORAGE_ACCOUNT_ID:?missing: run azd provision first}"
: "${ROTOR_DEADLETTER_CONTAINER:?missing: run azd provision first}"

template="$(dirname "$0")/../modules/vault-events.bicep"

for vault_id in $(printf '%s' "$ROTOR_TARGET_VAULT_IDS" | tr ',' ' '); do
  # /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>
  sub=$(printf '%s' "$vault_id" | cut -d/ -f3)
  rg=$(printf '%s' "$vault_id" | cut -d/ -f5)
  name=$(printf '%s' "$vault_id" | cut -d/ -f9)
  if [ -z "$sub" ] || [ -z "$rg" ] || [ -z "$name" ]; then
    echo "not a Key Vault resource id: $vault_id" >&2
    exit 1
  fi
  echo "Subscribing keyVaultEvents to vault $name (resource group $rg)"
  az deployment group create \
    --subscription "$sub" \
    --resource-group "$rg" \
    --name "rotor-events-$name" \
    --template-file "$template" \
    --parameters \
      vaultName="$name" \
      tags="{\"azd-env-name\":\"${AZURE_ENV_NAME:-}\"}" \
      eventGridIdentityId="$ROTOR_EVENTGRID_IDENTITY_ID" \
      subscribe=true \
      subscriptionName="$ROTOR_EVENT_SUBSCRIPTION_NAME" \
      functionAppId="$AZURE_FUNCTION_APP_ID" \
      deadLetterStorageAccountId="$ROTOR_DEADLETTER_STORAGE_ACCOUNT_ID" \
      deadLetterContainerName="$ROTOR_DEADLETTER_CONTAINER" \
    --only-show-errors --output none
done

azd env set ROTOR_SUBSCRIBE_VAULT_EVENTS true
