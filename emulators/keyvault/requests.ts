import { z } from 'zod';
import { badParameter, type VaultError } from './errors.js';
import { secretLimits } from './model.js';

/** Request bodies as `SecretClient` sends them; Key Vault ignores read-only attributes it is sent. */
const attributesSchema = z
  .object({
    enabled: z.boolean().nullish(),
    nbf: z.number().int().nullish(),
    exp: z.number().int().nullish(),
  })
  .nullish();

const tagsSchema = z.record(z.string(), z.string()).nullish();

export const setSecretBody = z.object({
  value: z.string({ error: "is required and must be a string" }),
  contentType: z.string().nullish(),
  tags: tagsSchema,
  attributes: attributesSchema,
});
export type SetSecretBody = z.infer<typeof setSecretBody>;

export const updateSecretBody = z.object({
  contentType: z.string().nullish(),
  tags: tagsSchema,
  attributes: attributesSchema,
});
export type UpdateSecretBody = z.infer<typeof updateSecretBody>;

export const restoreSecretBody = z.object({
  value: z.string({ error: 'is required: the backup blob, base64url' }).min(1, 'must not be empty'),
});

/** Parses a JSON body against `schema`; a bad body is Key Vault's 400 BadParameter naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, raw: string): T {
  let json: unknown;
  try {
    json = raw.trim() === '' ? {} : JSON.parse(raw);
  } catch {
    throw badParameter('The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? 'body' : issue.path.join('.');
    throw badParameter(`Invalid request body: '${field}' ${issue?.message ?? 'is invalid'}.`);
  }
  return parsed.data;
}

export function checkSecretName(name: string): VaultError | undefined {
  return secretLimits.namePattern.test(name)
    ? undefined
    : badParameter(
        `The request URI contains an invalid name: ${name}. Secret names are 1-127 characters of 0-9, a-z, A-Z and '-'.`,
      );
}

/** The limits Key Vault enforces on what a version carries. */
export function checkSecretContent(content: {
  value?: string | undefined;
  contentType?: string | null | undefined;
  tags?: Record<string, string> | null | undefined;
}): void {
  if (content.value !== undefined && Buffer.byteLength(content.value, 'utf8') > secretLimits.maxValueBytes) {
    throw badParameter(`The secret value exceeds the maximum size of ${secretLimits.maxValueBytes} bytes.`);
  }
  if (content.contentType !== null && content.contentType !== undefined && content.contentType.length > secretLimits.maxContentTypeLength) {
    throw badParameter(`'contentType' exceeds the maximum length of ${secretLimits.maxContentTypeLength} characters.`);
  }
  if (content.tags !== null && content.tags !== undefined) {
    const entries = Object.entries(content.tags);
    if (entries.length > secretLimits.maxTags) {
      throw badParameter(`Too many tags: ${entries.length}. A secret can have at most ${secretLimits.maxTags} tags.`);
    }
    for (const [tagName, tagValue] of entries) {
      if (tagName.length > secretLimits.maxTagNameLength) {
        throw badParameter(`A tag name exceeds the maximum length of ${secretLimits.maxTagNameLength} characters.`);
      }
      if (tagValue.length > secretLimits.maxTagValueLength) {
        throw badParameter(`The value of tag '${tagName.slice(0, 64)}' exceeds the maximum length of ${secretLimits.maxTagValueLength} characters.`);
      }
    }
  }
}
