import assert from 'node:assert/strict';
import { findCodeCompletion, findFimMarkers } from '../../../../src/core/anatomy/fillInTheMiddle';

const familyOf = (prompt: string) => findFimMarkers(prompt)?.family;

describe('fill-in-the-middle markers', () => {
  it('recognises each family in its own template', () => {
    assert.equal(familyOf('<|fim_prefix|>def f(<|fim_suffix|>)\n<|fim_middle|>'), 'qwen');
    assert.equal(familyOf('<fim_prefix>\n// a.ts\nconst x = <fim_suffix>;\n<fim_middle>'), 'starcoder');
    assert.equal(familyOf('<PRE> // a.ts\nconst x =  <SUF>;\n <MID>'), 'codellama');
    assert.equal(familyOf('<｜fim▁begin｜>const x = <｜fim▁hole｜>;\n<｜fim▁end｜>'), 'deepseek');
    assert.equal(familyOf('\n\n[SUFFIX];\n[PREFIX]const x = '), 'codestral');
    assert.equal(familyOf('<|repo_name|>shop-api\n<|file_sep|>src/a.ts\nconst a = 1;\n<|file_sep|>src/b.ts\nconst b = '), 'qwen-repo');
    assert.equal(familyOf('<fim_prefix><fim_suffix>;\n<fim_middle>const x = '), 'starcoder');
  });

  it('recognises a prompt clipped from its start, which lost its prefix marker', () => {
    assert.equal(familyOf('rows;\n}\n<|fim_suffix|>\n}\n<|fim_middle|>'), 'qwen');
  });

  it('does not take a question that mentions the markers for one', () => {
    assert.equal(familyOf('What does <|fim_prefix|> mean in Qwen’s FIM format, and where does <|fim_suffix|> go?'), undefined);
    assert.equal(familyOf('Is <PRE> an HTML tag? And <SUF>?'), undefined);
    assert.equal(familyOf('Write a CodeLlama prompt: <PRE> x <SUF> y <MID> — explain each part'), undefined);
  });

  it('recognises the edit templates of Continue, Tabby and Cody, with both of their markers', () => {
    assert.equal(findFimMarkers('```ts\nconst a = 1;<START EDITING HERE>\nconst b = 2;\n```\nrewrite it\n')?.kind, 'edit-region');
    assert.equal(findFimMarkers('<USERSELECTION>x</USERSELECTION>\n<USERCOMMAND>doc</USERCOMMAND>')?.family, 'tabby-edit');
    assert.equal(
      findFimMarkers('<SELECTEDCODE7662>x</SELECTEDCODE7662><INSTRUCTIONS7390>add types</INSTRUCTIONS7390>')?.family,
      'cody-edit',
    );
    assert.equal(findFimMarkers('What is <USERCOMMAND> in Tabby?'), undefined);
  });

  it('recognises a completion prompt that opens with the file’s path as a comment', () => {
    assert.equal(findCodeCompletion('// Path: docker-compose.yml\n\nservices:\n  api:\n')?.kind, 'code-completion');
    assert.equal(findCodeCompletion('<filename>src/a.ts<fim_prefix>x')?.family, 'path-header');
    assert.equal(findCodeCompletion('The French Revolution began in 1789 when'), undefined);
  });
});
