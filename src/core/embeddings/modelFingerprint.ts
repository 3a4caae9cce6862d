import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddingDtype } from './embedder';

const SAMPLE_BYTES = 1 << 20;

/**
 * Names a local model directory by its files rather than its path, so that two machines
 * holding the same model in different places agree that their vectors are comparable
 * (a team shares vectors only within one space). It reads the config, the tokenizer and
 * the ends of the ONNX file the dtype loads, with the sizes: a few milliseconds, not a
 * hash of the whole weights. Undefined when the files cannot be read.
 */
export function localModelFingerprint(dir: string, dtype: EmbeddingDtype): string | undefined {
  try {
    const hash = createHash('sha256');
    hash.update(readFileSync(join(dir, 'config.json')));
    hash.update(readFileSync(join(dir, 'tokenizer.json')));
    const fd = openSync(join(dir, 'onnx', dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx'), 'r');
    try {
      const size = fstatSync(fd).size;
      hash.update(`${size}\n`);
      const sample = Buffer.alloc(Math.min(SAMPLE_BYTES, size));
      hash.update(sample.subarray(0, readSync(fd, sample, 0, sample.length, 0)));
      hash.update(sample.subarray(0, readSync(fd, sample, 0, sample.length, Math.max(0, size - sample.length))));
    } finally {
      closeSync(fd);
    }
    return `local:${hash.digest('hex').slice(0, 24)}`;
  } catch {
    return undefined;
  }
}
