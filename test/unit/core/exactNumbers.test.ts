import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exactTree, inexactNumbersIn, isInexactNumber, mayBeInexact, stringifyExact } from '../../../src/core/exactNumbers';
import type { JsonValue } from '../../../src/core/types';

describe('exactNumbers', () => {
  it('tells the literals a double does not keep from those it does', () => {
    const inexact = [
      '9007199254740993',
      '-9007199254740993',
      '12345678901234567891',
      '18446744073709551617',
      '0.1000000000000000000001',
      '0.3000000000000000444',
      '1e-400',
      '3e-324',
      '123456789012345678',
      '1000000000000000000000',
      '1000000000000000000000000000000',
    ];
    const exact = [
      '0',
      '-0',
      '1',
      '1.0',
      '1e0',
      '1E+0',
      '0.10',
      '0.1',
      '1e-30',
      '0.000000000000000000000000000001',
      '100000000000000000000',
      '9007199254740992',
      '12345678901234567000',
      '0.30000000000000004',
      '5e-324',
      '1.7976931348623157e308',
      '-2.5e-3',
      '1e21',
      '1e+30',
      '1.0e30',
    ];
    for (const literal of inexact) assert.equal(isInexactNumber(literal), true, literal);
    for (const literal of exact) assert.equal(isInexactNumber(literal), false, literal);
  });

  it('looks closely only where a double can lose digits: an exponent or more than 15 characters', () => {
    // Every literal of at most 15 characters without an exponent is exact (checked on a sample).
    fc.assert(
      fc.property(fc.stringMatching(/^-?(0|[1-9][0-9]{0,13})(\.[0-9]{1,13})?$/), (literal) => {
        fc.pre(literal.length <= 15);
        assert.equal(mayBeInexact(literal.length, false), false);
        assert.equal(isInexactNumber(literal), false, literal);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('finds inexact numbers where JSON.parse puts them: nested, in arrays, under __proto__, last duplicate winning', () => {
    const text =
      ' { "seed" : 9007199254740993 , "a":[1, "12345678901234567891", {"x":0.1000000000000000000001}], "d":{"k":123456789012345678901},"d":{"j":true},' +
      '"\\u005f_proto__":{"q":99999999999999999999}, "e\\"s":[], "n":null, "f":false, "o":{}, "z":[[18446744073709551617]] } ';
    assert.deepEqual(inexactNumbersIn(text), [
      { path: ['seed'], text: '9007199254740993' },
      { path: ['a', 2, 'x'], text: '0.1000000000000000000001' },
      { path: ['__proto__', 'q'], text: '99999999999999999999' },
      { path: ['z', 0, 0], text: '18446744073709551617' },
    ]);
    assert.deepEqual(inexactNumbersIn('{"model":"m","seed":42,"t":1e-5}'), []);
  });

  it('writes what JSON.stringify writes, except the inexact numbers, which it writes as they came', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = JSON.parse(JSON.stringify(value)) as JsonValue;
        assert.equal(stringifyExact(parsed, undefined), JSON.stringify(parsed));
        assert.equal(stringifyExact(parsed, new Map()), JSON.stringify(parsed));
      }),
      { numRuns: 300, seed: 11 },
    );
    const text = '{"b":[1,9007199254740993],"a":{"seed":12345678901234567891,"t":0.5},"__proto__":{"x":0.1000000000000000000001}}';
    const parsed = JSON.parse(text) as JsonValue;
    const tree = exactTree(inexactNumbersIn(text));
    assert.equal(stringifyExact(parsed, tree), text);
    assert.equal(
      stringifyExact(parsed, tree, true),
      '{"__proto__":{"x":0.1000000000000000000001},"a":{"seed":12345678901234567891,"t":0.5},"b":[1,9007199254740993]}',
    );
    // A place whose number was replaced since is written as it is now.
    assert.equal(stringifyExact({ seed: 'replaced' }, tree), '{"seed":"replaced"}');
  });

  it('gives back any body as written once parsed and written again: inexact numbers digit for digit, others by value (property)', () => {
    const tokens = (text: string) => text.match(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[^"\d-]+/g) ?? [];
    const number = (token: string) => /^-?\d/.test(token);
    // Number literals of every kind: huge integers, long decimals, exponents, and the doubles' own.
    const literal = fc.oneof(
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
      fc
        .tuple(fc.bigInt({ min: 0n, max: 10n ** 25n }), fc.stringMatching(/^[0-9]{1,30}$/))
        .map(([whole, fraction]) => `${whole}.${fraction}`),
      fc
        .tuple(fc.integer({ min: 1, max: 99999 }), fc.integer({ min: -400, max: 300 }))
        .map(([digits, exponent]) => `${digits}e${exponent}`),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)),
    );
    const tree = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        literal,
        fc.string({ maxLength: 6 }).map((text) => JSON.stringify(text)),
        fc.constantFrom('true', 'false', 'null'),
        fc.array(tie('node'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
        // Keys that are not array indexes: a JavaScript object puts those first.
        fc
          .uniqueArray(fc.tuple(fc.string({ maxLength: 5 }), tie('node')), { maxLength: 4, selector: ([key]) => key })
          .map((members) => `{${members.map(([key, value]) => `${JSON.stringify(`k${key}`)}:${value}`).join(',')}}`),
      ),
    }));
    fc.assert(
      // A body is an object or an array at the root.
      fc.property(
        tree.node.map((node) => `[${node}]`),
        (text) => {
          const written = stringifyExact(JSON.parse(text) as JsonValue, exactTree(inexactNumbersIn(text)));
          const [sent, got] = [tokens(text), tokens(written)];
          assert.equal(got.length, sent.length, `${text} became ${written}`);
          sent.forEach((token, i) => {
            if (!number(token) || isInexactNumber(token)) assert.equal(got[i], token, `${text} became ${written}`);
            else assert.equal(Number(got[i]), Number(token), `${text} became ${written}`);
          });
        },
      ),
      { numRuns: 1000, seed: 13 },
    );
  });
});
