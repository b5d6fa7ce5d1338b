export { createWebhookRotator, type WebhookRotatorDeps } from './rotator.js';
export { WEBHOOK_PROTOCOL, WebhookStep, prepareResponseSchema, testResponseSchema, type WebhookRequest, type WireCredential } from './protocol.js';
export { WebhookTag, readWebhookPolicy } from './policy.js';
export { SIGNATURE_HEADER, RECOMMENDED_TOLERANCE_SECONDS, computeSignature, signatureHeader } from './signature.js';
