/**
 * The DPoP key pair in IndexedDB: structured clone keeps a CryptoKey non-extractable, so the
 * key survives a reload without ever existing as bytes script can read.
 */
const databaseName = 'dpop-oidc-spa';
const storeName = 'keys';
const keyName = 'dpop';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(databaseName, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = action(db.transaction(storeName, mode).objectStore(storeName));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

export const loadKey = () => run<CryptoKeyPair | undefined>('readonly', (store) => store.get(keyName));
export const saveKey = (key: CryptoKeyPair) => run('readwrite', (store) => store.put(key, keyName));
export const deleteKey = () => run('readwrite', (store) => store.delete(keyName));
