import { execFile, spawn, type ChildProcess } from 'node:child_process';

/** The provider as a real process (src/main.ts through tsx), and the keys command beside it, on the same environment. */
export interface ServerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  logLines: () => Array<Record<string, unknown>>;
  stderr: () => string;
  /** Sends SIGHUP and waits for the reload's log line (taken or refused), which it returns. */
  reload: () => Promise<Record<string, unknown>>;
  /** Waits (up to 20 s) until `count` log lines match: pino writes them after the response. */
  logged: (match: (line: Record<string, unknown>) => boolean, count: number) => Promise<Array<Record<string, unknown>>>;
}

const reloadMessages = new Set([
  'reloaded the signing keys and nonce secrets',
  'reload refused: the signing keys and nonce secrets in use are kept',
]);

export async function startServerProcess(env: Record<string, string>, baseUrl: string, running: ChildProcess[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  running.push(child);
  let ready = false;
  for (let attempt = 0; attempt < 300 && !ready && child.exitCode === null; attempt++) {
    ready = (await fetch(`${baseUrl}/healthz`).catch(() => undefined))?.status === 200;
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!ready) throw new Error(`the server did not start: ${stderr}`);
  const logLines = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const reloads = () => logLines().filter((line) => reloadMessages.has(line.msg as string));
  return {
    child,
    exited,
    logLines,
    stderr: () => stderr,
    logged: async (match, count) => {
      for (let attempt = 0; attempt < 400; attempt++) {
        const lines = logLines().filter(match);
        if (lines.length >= count) return lines;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return logLines().filter(match);
    },
    reload: async () => {
      const before = reloads().length;
      child.kill('SIGHUP');
      for (let attempt = 0; attempt < 400; attempt++) {
        const after = reloads();
        if (after.length > before) return after.at(-1)!;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('no reload log line within 20 s of SIGHUP');
    },
  };
}

/** Runs `npm run -s keys -- ...` as `node --import tsx src/cli/keys.ts ...`, with `env` added. */
export function runKeysCommand(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/keys.ts', ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
