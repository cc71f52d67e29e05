import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { NonceSecrets } from '../../dpop/nonce.js';

const ivBytes = 12;
const tagBytes = 16;
/** HKDF info: the key is the nonce secret's, separated from the nonce MAC by its own label. */
const keyLabel = 'dpop-oidc pending sign-in cookie v1';

/**
 * A cookie holds at most 4096 bytes with its name and attributes (RFC 6265 §6.1); this leaves
 * room for those. A sealed value over it is not sent: the browser would drop the cookie.
 */
export const maxSealedLength = 3800;

/**
 * AES-256-GCM for the pending sign-in the browser carries: confidential (the CSRF token is
 * inside) and authenticated (a changed byte opens nothing). The key is derived with HKDF from
 * the DPoP nonce secret, which every instance already shares, so a sign-in started at one
 * instance continues at another, and it follows a rotation of that secret: sealed with the
 * current one, opened with the current or the previous one. The additional data binds a
 * sealed value to its cookie and purpose: nothing sealed elsewhere opens here.
 */
export class InteractionSeal {
  private readonly keys = new WeakMap<Buffer, Buffer>();
  private readonly additionalData: Buffer;

  constructor(
    private readonly secrets: () => NonceSecrets,
    context: { cookieName: string },
  ) {
    this.additionalData = Buffer.from(`${context.cookieName}\npending sign-in v1`, 'utf8');
  }

  seal(plaintext: string): string {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.secrets().current), iv);
    cipher.setAAD(this.additionalData);
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
  }

  /** The plaintext, or undefined when the value was not sealed here (or was changed, or is too long). */
  open(sealed: string): string | undefined {
    if (sealed.length > maxSealedLength || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
    const bytes = Buffer.from(sealed, 'base64url');
    if (bytes.length <= ivBytes + tagBytes) return undefined;
    const { current, previous } = this.secrets();
    return this.openWith(current, bytes) ?? (previous ? this.openWith(previous, bytes) : undefined);
  }

  private openWith(secret: Buffer, bytes: Buffer): string | undefined {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key(secret), bytes.subarray(0, ivBytes), { authTagLength: tagBytes });
      decipher.setAAD(this.additionalData);
      decipher.setAuthTag(bytes.subarray(ivBytes, ivBytes + tagBytes));
      return Buffer.concat([decipher.update(bytes.subarray(ivBytes + tagBytes)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  private key(secret: Buffer): Buffer {
    let key = this.keys.get(secret);
    if (!key) {
      key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), keyLabel, 32));
      this.keys.set(secret, key);
    }
    return key;
  }
}
