export { createPostgresRotator, AZURE_POSTGRES_TOKEN_SCOPE, type AccessTokenSource, type PostgresRotatorDeps } from './rotator.js';
export { POSTGRES_JSON_CONTENT_TYPE, POSTGRES_PASSWORD_CONTENT_TYPE, decodeCredential, encodeCredential } from './credential-format.js';
export { PostgresTag, readPostgresPolicy, type PostgresPolicy } from './policy.js';
