import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { environmentVariables, loadConfig } from '../../src/config/load.js';

/**
 * The deployment examples cannot be run here (no container engine): their structure is
 * checked instead, and every setting they give the provider goes through the real loader.
 */
const deployDir = resolve('docs/deploy');
const read = (name: string) => readFileSync(join(deployDir, name), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'dpop-oidc-deploy-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A nonce secret of the required length, standing in for the one an operator generates. */
const testNonceSecret = 'n'.repeat(48);

type Json = Record<string, unknown>;
const asObject = (value: unknown): Json => {
  expect(value, 'an object').toBeTypeOf('object');
  return value as Json;
};

/** The configuration the loader makes from a file and environment, as the container would get it. */
function loadWith(configText: string, env: Record<string, string>) {
  const file = join(scratch, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, configText);
  return loadConfig({ ...env, CONFIG_FILE: file });
}

describe('docs/deploy/compose.yaml', () => {
  const compose = asObject(parseYaml(read('compose.yaml'), { merge: true }));
  const services = asObject(compose.services);
  const providers = Object.entries(services).filter(([name]) => name.startsWith('provider-'));
  const proxy = asObject(services.proxy);
  const redis = asObject(services.redis);

  /** `${NAME:?message}` and `${NAME:-default}` as compose interpolates them, with NAME from `values`. */
  const interpolate = (value: string, values: Record<string, string>) =>
    value.replace(/\$\{(\w+)(?::[?-][^}]*)?\}/g, (_, name: string) => values[name] ?? '');

  it('runs two provider instances from the repository Dockerfile', () => {
    expect(providers).toHaveLength(2);
    for (const [, service] of providers) {
      const build = asObject(asObject(service).build);
      expect(existsSync(resolve(deployDir, String(build.context), String(build.dockerfile)))).toBe(true);
    }
  });

  it('sets only variables the loader reads, and they make a valid configuration with the mounted config file', () => {
    for (const [name, service] of providers) {
      const environment = asObject(asObject(service).environment) as Record<string, string>;
      expect(
        Object.keys(environment).filter((variable) => !environmentVariables.includes(variable)),
        name,
      ).toEqual([]);
      const env = Object.fromEntries(
        Object.entries(environment).map(([key, value]) => [key, interpolate(String(value), { DPOP_NONCE_SECRET: testNonceSecret })]),
      );
      // CONFIG_FILE is where a volume of the service puts a file of this directory.
      const mounts = (asObject(service).volumes as string[]).map((volume) => volume.split(':'));
      const configMount = mounts.find(([, target]) => target === env.CONFIG_FILE);
      expect(configMount, `${name} mounts CONFIG_FILE (${env.CONFIG_FILE})`).toBeDefined();
      const config = loadWith(read(configMount![0]!), env);
      expect(config.issuer).toBe('https://localhost:8443/oidc');
      expect(config.store).toMatchObject({ type: 'redis', redisUrl: 'redis://redis:6379' });
      expect(config.dpop.nonceSecret).toBe(testNonceSecret);
      expect(environment.DPOP_NONCE_SECRET).toMatch(/^\$\{DPOP_NONCE_SECRET:\?/);
      // JWKS_FILE is where the service's secret lands (/run/secrets/<target>), from a file under secrets/.
      const secrets = asObject(service).secrets as Array<{ source: string; target: string }>;
      const jwks = secrets.find(({ target }) => posix.join('/run/secrets', target) === config.keys.jwksFile);
      expect(jwks, `${name} mounts JWKS_FILE (${config.keys.jwksFile})`).toBeDefined();
      expect(asObject(asObject(compose.secrets)[jwks!.source]).file).toMatch(/^\.\/secrets\//);
    }
  });

  it('puts a TLS-terminating proxy in front whose https URL is the issuer, and believes only it for client addresses', () => {
    const issuer = new URL(String(asObject(asObject(providers[0]![1]).environment).ISSUER));
    expect(issuer.protocol).toBe('https:');
    expect(proxy.ports).toEqual([`${issuer.port}:443`]);
    const caddyfileMount = (proxy.volumes as string[])
      .map((volume) => volume.split(':'))
      .find(([, target]) => target === '/etc/caddy/Caddyfile');
    const caddyfile = read(caddyfileMount![0]!);
    expect(caddyfile).toMatch(new RegExp(`^${issuer.hostname} \\{`, 'm'));
    for (const [name] of providers) expect(caddyfile).toContain(`${name}:8080`);
    expect(caddyfile).toMatch(/^\s*health_uri \/readyz$/m);
    const proxyAddress = asObject(asObject(proxy.networks).backend).ipv4_address;
    for (const [, service] of providers) expect(asObject(asObject(service).environment).TRUST_PROXY).toBe(proxyAddress);
  });

  it('checks the providers with /healthz and starts the proxy only when both are healthy', () => {
    for (const [, service] of providers) {
      expect((asObject(asObject(service).healthcheck).test as string[]).join(' ')).toContain('http://127.0.0.1:8080/healthz');
    }
    expect(Object.keys(asObject(proxy.depends_on)).sort()).toEqual(providers.map(([name]) => name).sort());
    for (const dependency of Object.values(asObject(proxy.depends_on))) expect(dependency).toEqual({ condition: 'service_healthy' });
  });

  it('runs Redis with an append-only file and noeviction, on a volume', () => {
    const command = (redis.command as string[]).join(' ');
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes).toEqual(['redis-data:/data']);
    expect(asObject(redis.healthcheck).test).toEqual(['CMD', 'redis-cli', 'ping']);
  });
});

describe('docs/deploy/kubernetes.yaml', () => {
  const documents = parseAllDocuments(read('kubernetes.yaml')).map((document) => {
    expect(document.errors).toEqual([]);
    return asObject(document.toJS());
  });
  const ofKind = (kind: string) => {
    const found = documents.filter((document) => document.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0]!;
  };
  const deployment = ofKind('Deployment');
  const spec = asObject(deployment.spec);
  const pod = asObject(asObject(spec.template).spec);
  const podLabels = asObject(asObject(asObject(spec.template).metadata).labels);
  const container = asObject((pod.containers as unknown[])[0]);
  const env = container.env as Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
  const secret = ofKind('Secret');
  const configMap = ofKind('ConfigMap');
  const volumes = pod.volumes as Array<Json & { name: string }>;
  const mounts = container.volumeMounts as Array<{ name: string; mountPath: string; subPath?: string }>;

  /** The volume item a file path in the container comes from: [volume, key]. */
  function sourceOf(path: string): [Json & { name: string }, string] {
    const mount = mounts.find((candidate) =>
      candidate.subPath ? candidate.mountPath === path : path.startsWith(`${candidate.mountPath}/`),
    );
    expect(mount, `a volume mounted at ${path}`).toBeDefined();
    const volume = volumes.find(({ name }) => name === mount!.name)!;
    const relative = mount!.subPath ?? posix.relative(mount!.mountPath, path);
    const items = (asObject(volume.secret ?? volume.configMap).items as Array<{ key: string; path: string }> | undefined) ?? [];
    return [volume, items.find((item) => item.path === relative)?.key ?? relative];
  }
  const valueOf = (name: string) => env.find((variable) => variable.name === name)?.value;

  it('runs 2 replicas with liveness on /healthz, readiness on /readyz and resource requests', () => {
    expect(spec.replicas).toBe(2);
    expect(asObject(asObject(spec.selector).matchLabels)).toEqual(podLabels);
    expect(asObject(container.livenessProbe).httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(asObject(container.readinessProbe).httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(asObject(asObject(container.resources).requests)).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
  });

  it('sets only variables the loader reads, the secret ones from the Secret', () => {
    expect(env.map(({ name }) => name).filter((name) => !environmentVariables.includes(name))).toEqual([]);
    const secretKeys = Object.keys(asObject(secret.stringData));
    for (const { name, valueFrom } of env.filter((variable) => variable.valueFrom)) {
      expect(valueFrom!.secretKeyRef.name, name).toBe(asObject(secret.metadata).name);
      expect(secretKeys, name).toContain(valueFrom!.secretKeyRef.key);
    }
    expect(env.find(({ name }) => name === 'DPOP_NONCE_SECRET')?.valueFrom?.secretKeyRef.key).toBe('nonce-secret');
  });

  it('mounts the config file from the ConfigMap (the same as docs/deploy/config.json) and the signing keys from the Secret', () => {
    const [configVolume, configKey] = sourceOf(valueOf('CONFIG_FILE')!);
    expect(asObject(configVolume.configMap).name).toBe(asObject(configMap.metadata).name);
    const configText = String(asObject(configMap.data)[configKey]);
    expect(JSON.parse(configText)).toEqual(JSON.parse(read('config.json')));
    const [jwksVolume, jwksKey] = sourceOf(valueOf('JWKS_FILE')!);
    expect(asObject(jwksVolume.secret).secretName).toBe(asObject(secret.metadata).name);
    expect(Object.keys(asObject(secret.stringData))).toContain(jwksKey);
    // With the Secret's values, the loader makes a valid configuration of this file and environment.
    const plain = Object.fromEntries(env.filter((variable) => variable.value !== undefined).map(({ name, value }) => [name, value!]));
    const config = loadWith(configText, {
      ...plain,
      DPOP_NONCE_SECRET: testNonceSecret,
      REDIS_URL: String(asObject(secret.stringData)['redis-url']),
    });
    expect(config.issuer).toBe('https://id.example.com/oidc');
    expect(config.store.type).toBe('redis');
    expect(config.keys.jwksFile).toBe(valueOf('JWKS_FILE'));
  });

  it('keeps the placeholders of the Secret unable to start a server', () => {
    const values = asObject(secret.stringData);
    expect(String(values['nonce-secret']).length).toBeLessThan(32);
    expect(JSON.parse(String(values['jwks.json']))).toEqual({ keys: [] });
  });

  it('has a Service for the pods and a PodDisruptionBudget keeping one of them', () => {
    const service = asObject(ofKind('Service').spec);
    expect(asObject(service.selector)).toEqual(podLabels);
    expect((service.ports as Array<{ targetPort: string }>)[0]!.targetPort).toBe('http');
    const budget = asObject(ofKind('PodDisruptionBudget').spec);
    expect(budget.minAvailable).toBe(1);
    expect(asObject(asObject(budget.selector).matchLabels)).toEqual(podLabels);
    const ingress = asObject(ofKind('Ingress').spec);
    expect((ingress.tls as Array<{ hosts: string[] }>)[0]!.hosts).toEqual([new URL(valueOf('ISSUER')!).hostname]);
  });
});

describe('the node options of the server', () => {
  it('are the same in npm start, the Dockerfile CMD and the benchmark', async () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } };
    const startWords = manifest.scripts.start.split(/\s+/);
    expect(startWords[0]).toBe('node');
    expect(startWords.at(-1)).toBe('dist/main.js');
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync('Dockerfile', 'utf8'));
    expect(cmd, 'a CMD in exec form').not.toBeNull();
    const cmdWords = JSON.parse(cmd![1]!) as string[];
    expect(cmdWords).toEqual(startWords);
    const { productionNodeOptions } = await import('../../bench/compare/servers.js');
    expect(productionNodeOptions()).toEqual(startWords.slice(1, -1));
    expect(productionNodeOptions()).toContain('--max-semi-space-size=32');
  });
});
