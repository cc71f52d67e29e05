import { generateDpopKey, thumbprint } from './dpop.js';
import { deleteKey, loadKey, saveKey } from './key-store.js';
import { completeSignIn, discover, DpopFetch, errorOf, logoutUrl, refresh, revoke, signIn, type AppConfig, type Tokens } from './oauth.js';

/**
 * The demo single-page app: sign in with the code flow (PKCE, dpop_jkt), then call the
 * profile endpoint, refresh, revoke and sign out, every token call with a DPoP proof.
 * The access token lives in memory only; the refresh token in sessionStorage is bound to the
 * non-extractable key, so copying it out of the browser gains nothing.
 */
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const log = (line: string) => {
  const item = document.createElement('li');
  item.textContent = line;
  $('log').append(item);
};
const show = (signedIn: boolean) => {
  $('signed-in').hidden = !signedIn;
  $('signed-out').hidden = signedIn;
};
const fail = (error: unknown) => {
  $('error').textContent = error instanceof Error ? error.message : String(error);
};

interface Session {
  refreshToken?: string;
  idToken?: string;
}
const readSession = (): Session => JSON.parse(sessionStorage.getItem('session') ?? '{}') as Session;
const writeSession = (session: Session) => sessionStorage.setItem('session', JSON.stringify(session));

const config = (await (await fetch('/config.json')).json()) as AppConfig;
$('issuer').textContent = config.issuer;
const metadata = await discover(config.issuer);
let key = await loadKey();
// One per key and page: it keeps the latest DPoP-Nonce of each endpoint.
let dpop = key ? new DpopFetch(key, log) : undefined;
let accessToken: string | undefined;

async function keyForSignIn(): Promise<CryptoKeyPair> {
  if (!key) {
    key = await generateDpopKey();
    await saveKey(key);
    dpop = new DpopFetch(key, log);
  }
  return key;
}

async function useTokens(tokens: Tokens): Promise<void> {
  accessToken = tokens.access_token;
  const session = readSession();
  writeSession({ refreshToken: tokens.refresh_token ?? session.refreshToken, idToken: tokens.id_token ?? session.idToken });
  $('token').textContent = `${tokens.token_type}, expires in ${tokens.expires_in} s`;
}

async function showProfile(): Promise<void> {
  if (!accessToken || !dpop) throw new Error('not signed in');
  const response = await dpop.send(
    metadata.userinfo_endpoint,
    { method: 'GET', headers: { authorization: `DPoP ${accessToken}` } },
    accessToken,
  );
  if (!response.ok) throw new Error(`profile: ${response.status} ${await errorOf(response)}`);
  const profile = (await response.json()) as Record<string, unknown>;
  $('name').textContent = String(profile.name ?? profile.sub);
  $('profile').textContent = JSON.stringify(profile, null, 2);
}

async function showKey(current: CryptoKeyPair): Promise<void> {
  $('jkt').textContent = await thumbprint(current);
  $('extractable').textContent = String(current.privateKey.extractable);
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  if (location.pathname === '/callback' && key && dpop) {
    await useTokens(await completeSignIn(config, metadata, dpop));
    history.replaceState(null, '', '/');
    await showKey(key);
    show(true);
    await showProfile();
  } else if (key && dpop && readSession().refreshToken) {
    // A reload: the key comes back from IndexedDB, and the refresh token works only with it.
    await useTokens(await refresh(config, metadata, dpop, readSession().refreshToken!));
    await showKey(key);
    show(true);
    await showProfile();
  } else {
    if (params.get('state') === 'signed-out') $('error').textContent = 'Signed out.';
    history.replaceState(null, '', '/');
    show(false);
  }
}

const action = (id: string, run: () => Promise<void>) =>
  $(id).addEventListener('click', () => {
    $('error').textContent = '';
    run().catch(fail);
  });

action('sign-in', async () => signIn(config, metadata, await keyForSignIn()));
action('call-profile', showProfile);
action('refresh', async () => {
  if (!dpop) throw new Error('not signed in');
  await useTokens(await refresh(config, metadata, dpop, readSession().refreshToken ?? ''));
  await showProfile();
});
action('revoke', async () => {
  const { refreshToken, idToken } = readSession();
  if (refreshToken) await revoke(config, metadata, refreshToken, log);
  writeSession({ ...(idToken ? { idToken } : {}) });
  // The grant is gone, so is its access token: the profile endpoint now refuses it.
  await showProfile().catch(fail);
});
action('sign-out', async () => {
  const { refreshToken, idToken } = readSession();
  if (refreshToken) await revoke(config, metadata, refreshToken, log);
  sessionStorage.removeItem('session');
  // A new sign-in gets a new key.
  await deleteKey();
  location.assign(logoutUrl(metadata, idToken));
});

await main().catch(fail);
document.body.dataset.ready = 'true';
