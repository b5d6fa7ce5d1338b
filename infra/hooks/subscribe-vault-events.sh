#!/bin/sh
# azd postdeploy hook: subscribe the keyVaultEvents function to each target
# vault's Event Grid system topic.
#
# Why here, and why every time: Event Grid refuses an AzureFunction
# subscription to a function it cannot find, so the subscription can only be
# created once the code is deployed. main.bicep never declares it under azd
# (subscribeVaultEvents stays false): no flag in the azd environment decides
# it, so a second `azd up` into the same environment, an `azd up` after
# `azd down`, or one after a location change, provisions exactly like the
# first. The provision leaves existing subscriptions alone (incremental
# deployment); this hook (re)declares them after each deploy. Idempotent.
# Onboarding a vault without deploying code: `azd provision && azd hooks run postdeploy`.
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
function_id="$AZURE_FUNCTION_APP_ID/functions/keyVaultEvents"

# The host registers its functions shortly after a deploy: wait for it, bounded.
attempts="${ROTOR_HOOK_FUNCTION_ATTEMPTS:-18}"
pause="${ROTOR_HOOK_PAUSE_SECONDS:-10}"
tries=0
until az resource show --ids "$function_id" --query id --output tsv >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge "$attempts" ]; then
    echo "keyVaultEvents is not registered on $AZURE_FUNCTION_APP_ID after $tries checks; is the code deployed? Rerun: azd hooks run postdeploy" >&2
    exit 1
  fi
  sleep "$pause"
done

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
