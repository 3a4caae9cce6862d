import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Who holds a data directory: written by a running gateway, removed when it stops. */
export interface LockHolder {
  pid: number;
  url?: string;
  startedAt: number;
}

const LOCK_FILE = 'gateway.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live process holding the directory, if any; a lock left by a killed process does not count. */
export async function lockHolder(dataDir: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(join(dataDir, LOCK_FILE), 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && holder.pid !== process.pid && alive(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the directory for this process. One gateway per data directory: the
 * cache keeps indexes in memory that assume it is the only writer.
 */
export async function acquireLock(dataDir: string): Promise<DataDirLock> {
  const holder = await lockHolder(dataDir);
  if (holder) {
    throw new Error(
      `another Deja (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}) is using the data directory ${dataDir}; stop it or use --data`,
    );
  }
  const file = join(dataDir, LOCK_FILE);
  let mine: LockHolder = { pid: process.pid, startedAt: Date.now() };
  await writeFile(file, JSON.stringify(mine), { mode: 0o600 });
  return {
    async setUrl(url) {
      mine = { ...mine, url };
      await writeFile(file, JSON.stringify(mine), { mode: 0o600 });
    },
    async release() {
      const current = await readFile(file, 'utf8').catch(() => '');
      if (current === JSON.stringify(mine)) await rm(file, { force: true });
    },
  };
}

export interface DataDirLock {
  /** Records where the gateway listens, for the message another process gets. */
  setUrl(url: string): Promise<void>;
  release(): Promise<void>;
}
