/** Writes the tiny BERT fixture (a real ONNX model, random weights) to the directory given. */
import { TINY_BERT, writeBertModel } from '../fixtures/bertModel';

const dir = process.argv[2];
if (!dir) throw new Error('usage: tsx test/e2e/writeTinyModel.ts DIR');
void writeBertModel(dir, TINY_BERT);
