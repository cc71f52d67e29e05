/** Ends a command with one line on stderr (never a stack) and its exit code: 2 for usage, 1 otherwise. */
export function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
