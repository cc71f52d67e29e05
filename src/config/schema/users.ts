import { z } from 'zod';

/** OpenID Connect Core §5.1.1: the postal address claim. */
const addressClaimSchema = z
  .strictObject({
    formatted: z.string().optional().describe('Full mailing address, formatted for display.'),
    street_address: z.string().optional().describe('Street address (may hold several lines).'),
    locality: z.string().optional().describe('City or locality.'),
    region: z.string().optional().describe('State, province, prefecture or region.'),
    postal_code: z.string().optional().describe('Zip or postal code.'),
    country: z.string().optional().describe('Country name.'),
  })
  .describe('Postal address (§5.1.1).');

/**
 * OpenID Connect Core §5.1 standard claims, all optional. Strict, so a misspelt claim name in
 * the config file is an error instead of a claim that silently never appears.
 */
export const userClaimsSchema = z.strictObject({
  name: z.string().optional().describe('Full name.'),
  given_name: z.string().optional().describe('Given or first name.'),
  family_name: z.string().optional().describe('Surname or last name.'),
  middle_name: z.string().optional().describe('Middle name.'),
  nickname: z.string().optional().describe('Casual name.'),
  preferred_username: z.string().optional().describe('Shorthand name the user wishes to be referred to by.'),
  profile: z.string().url().optional().describe('URL of the profile page.'),
  picture: z.string().url().optional().describe('URL of a profile picture.'),
  website: z.string().url().optional().describe('URL of a web page or blog.'),
  gender: z.string().optional().describe('Gender.'),
  birthdate: z
    .string()
    .regex(/^\d{4}(-\d{2}-\d{2})?$/, 'must be YYYY or YYYY-MM-DD')
    .optional()
    .describe('Birthday, YYYY or YYYY-MM-DD (0000 for a year withheld).'),
  zoneinfo: z.string().optional().describe('Time zone, e.g. Europe/Paris.'),
  locale: z.string().optional().describe('Locale, a BCP 47 language tag such as en-US.'),
  updated_at: z.number().int().nonnegative().optional().describe('When the information was last updated, in seconds since the epoch.'),
  email: z.string().optional().describe('Email address.'),
  email_verified: z.boolean().optional().describe('Whether the email address was verified.'),
  phone_number: z.string().optional().describe('Phone number, best in E.164 form.'),
  phone_number_verified: z.boolean().optional().describe('Whether the phone number was verified.'),
  address: addressClaimSchema.optional(),
});

export type UserClaims = z.infer<typeof userClaimsSchema>;

const scryptHash = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/;

/** A configured user; field names follow the client entries (snake_case, as in the config file). */
export const userConfigSchema = z.strictObject({
  // OpenID Connect Core §2: locally unique, never reassigned.
  sub: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII')
    .describe('Subject identifier: at most 255 printable ASCII characters, never reassigned.'),
  username: z.string().min(1).max(255).describe('The name typed at sign-in.'),
  // Only scrypt, since people choose passwords.
  password_hash: z
    .string()
    .regex(scryptHash, 'must be a scrypt hash made with npm run hash-secret -- password')
    .describe('scrypt hash of the password, made with npm run hash-secret -- password.'),
  claims: userClaimsSchema.prefault({}).describe('OpenID Connect Core §5.1 standard claims, released by scope (§5.4).'),
});

export type UserConfig = z.infer<typeof userConfigSchema>;

interface DuplicateUser {
  index: number;
  field: 'sub' | 'username';
  value: string;
}

export function findDuplicateUsers(users: readonly UserConfig[]): DuplicateUser[] {
  const duplicates: DuplicateUser[] = [];
  const seen = { sub: new Set<string>(), username: new Set<string>() };
  users.forEach((user, index) => {
    for (const field of ['sub', 'username'] as const) {
      if (seen[field].has(user[field])) duplicates.push({ index, field, value: user[field] });
      seen[field].add(user[field]);
    }
  });
  return duplicates;
}

/** For `.superRefine` on the users array: one issue per repeated sub or username, at its path. */
export function validateUniqueUsers(users: readonly UserConfig[], ctx: z.RefinementCtx): void {
  for (const { index, field, value } of findDuplicateUsers(users)) {
    ctx.addIssue({ code: 'custom', path: [index, field], message: `duplicate ${field} ${value}` });
  }
}

/** The users list as the config file holds it, with duplicates refused. */
export const usersConfigSchema = z.array(userConfigSchema).superRefine(validateUniqueUsers);
