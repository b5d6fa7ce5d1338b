#!/bin/sh
# azd predeploy hook: wait until the role that lets Rotor's identity write its
# deployment package (Storage Blob Data Owner on Rotor's storage account) has
# had time to propagate.
#
# Why: on Flex Consumption the platform uploads the package into the
# app-package container with the app's identity. The first `azd up` creates
# that role assignment minutes (or seconds) before deploying, and Azure RBAC
# takes up to several minutes to apply a new assignment: the first deploy can
# fail with 403. azd cannot retry a deploy step, so the hook waits here
# instead: until the assignment exists and is ROTOR_ROLE_PROPAGATION_SECONDS
# old (default 180). An older assignment (every later deploy) costs one query.
set -eu

: "${ROTOR_PRINCIPAL_ID:?missing: run azd provision first}"
: "${ROTOR_STORAGE_ACCOUNT_ID:?missing: run azd provision first}"

role=b7e6dc6d-f1e8-4753-8033-0f276bb0955b # Storage Blob Data Owner
settle="${ROTOR_ROLE_PROPAGATION_SECONDS:-180}"
attempts="${ROTOR_HOOK_ROLE_ATTEMPTS:-60}"
pause="${ROTOR_HOOK_PAUSE_SECONDS:-10}"

tries=0
while :; do
  created=$(az role assignment list \
    --assignee "$ROTOR_PRINCIPAL_ID" --scope "$ROTOR_STORAGE_ACCOUNT_ID" --role "$role" \
    --query "[0].createdOn" --output tsv 2>/dev/null || true)
  if [ -n "$created" ]; then
    created_at=$(date -u -d "$created" +%s 2>/dev/null || echo 0)
    age=$(( $(date -u +%s) - created_at ))
    if [ "$created_at" -eq 0 ] || [ "$age" -ge "$settle" ]; then
      exit 0
    fi
    echo "Waiting for the deployment role to propagate (assigned ${age}s ago, waiting until ${settle}s)"
  else
    echo "Waiting for the deployment role assignment on $ROTOR_STORAGE_ACCOUNT_ID to appear"
  fi
  tries=$((tries + 1))
  if [ "$tries" -ge "$attempts" ]; then
    echo "Storage Blob Data Owner for $ROTOR_PRINCIPAL_ID did not settle after $tries checks; run azd provision, then azd deploy" >&2
    exit 1
  fi
  sleep "$pause"
done
