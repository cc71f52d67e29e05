import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Crash-safe file writes: the content goes to a temporary file in the same directory, is
 * flushed to disk, then takes the target's name in one step, and the directory entry is
 * flushed too. After a crash (or a full disk) the target holds either its old content or the
 * whole new one, never an empty or truncated file.
 */
export interface AtomicWriteOptions {
  /** File mode of the new file; 0600 (owner only) by default, for secrets. */
  mode?: number;
  /**
   * Only create: when the target exists, leave it as it is and answer 'exists'. Two processes
   * starting on one directory then agree on the first file written.
   */
  exclusive?: boolean;
}

export type AtomicWriteResult = 'written' | 'exists';

function temporaryName(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function isAlreadyThere(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'EEXIST';
}

export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<AtomicWriteResult> {
  const temporary = temporaryName(target);
  const file = await open(temporary, 'wx', options.mode ?? 0o600);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await file.close();
  let result: AtomicWriteResult = 'written';
  try {
    if (options.exclusive) {
      // link() fails when the target exists, where rename() would replace it.
      try {
        await link(temporary, target);
      } catch (error) {
        if (!isAlreadyThere(error)) throw error;
        result = 'exists';
      }
      await unlink(temporary);
    } else {
      await rename(temporary, target);
    }
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  if (result === 'written') await syncDirectory(dirname(target));
  return result;
}

/** The same, synchronously, for start-up code that cannot await. */
export function writeFileAtomicSync(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): AtomicWriteResult {
  const temporary = temporaryName(target);
  const fd = openSync(temporary, 'wx', options.mode ?? 0o600);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    try {
      unlinkSync(temporary);
    } catch {
      // Best effort: the write has already failed, and that error is the one to report.
    }
    throw error;
  }
  closeSync(fd);
  let result: AtomicWriteResult = 'written';
  try {
    if (options.exclusive) {
      try {
        linkSync(temporary, target);
      } catch (error) {
        if (!isAlreadyThere(error)) throw error;
        result = 'exists';
      }
      unlinkSync(temporary);
    } else {
      renameSync(temporary, target);
    }
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Best effort: the write has already failed, and that error is the one to report.
    }
    throw error;
  }
  if (result === 'written') syncDirectorySync(dirname(target));
  return result;
}

/** Makes the rename itself durable: without it, a crash may forget the new directory entry. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function syncDirectorySync(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
