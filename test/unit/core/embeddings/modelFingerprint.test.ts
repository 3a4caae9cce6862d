import assert from 'node:assert/strict';
import { cp, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localModelFingerprint } from '../../../../src/core/embeddings/modelFingerprint';
import { TINY_BERT, writeBertModel } from '../../../fixtures/bertModel';

describe('localModelFingerprint', function () {
  this.timeout(30_000);
  let scratch: string;
  let model: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'deja-fingerprint-'));
    model = join(scratch, 'one', 'tiny');
    await writeBertModel(model, TINY_BERT, { quantized: true, fp32: true });
  });

  after(() => rm(scratch, { recursive: true, force: true }));

  it('names the same files the same wherever they sit, and each dtype apart', async () => {
    const copy = join(scratch, 'elsewhere', 'renamed');
    await cp(model, copy, { recursive: true });
    const q8 = localModelFingerprint(model, 'q8');
    assert.match(q8 ?? '', /^local:[0-9a-f]{24}$/);
    assert.equal(localModelFingerprint(copy, 'q8'), q8);
    assert.notEqual(localModelFingerprint(model, 'fp32'), q8);
  });

  it('changes when the weights change', async () => {
    const changed = join(scratch, 'changed');
    await cp(model, changed, { recursive: true });
    const before = localModelFingerprint(changed, 'q8');
    const file = await open(join(changed, 'onnx', 'model_quantized.onnx'), 'r+');
    try {
      const { size } = await file.stat();
      const byte = Buffer.alloc(1);
      await file.read(byte, 0, 1, size - 10);
      byte[0] = byte[0]! ^ 0xff;
      await file.write(byte, 0, 1, size - 10);
    } finally {
      await file.close();
    }
    assert.notEqual(localModelFingerprint(changed, 'q8'), before);
  });

  it('is undefined when the files cannot be read', async () => {
    assert.equal(localModelFingerprint(join(scratch, 'missing'), 'q8'), undefined);
    const partial = join(scratch, 'partial');
    await cp(model, partial, { recursive: true });
    await rm(join(partial, 'onnx', 'model.onnx'));
    assert.equal(localModelFingerprint(partial, 'fp32'), undefined);
    assert.ok(localModelFingerprint(partial, 'q8'));
  });
});
