// service/etag.ts on its own: the entity-tag rules of RFC 9110 §8.8.3 and §13.1 that the HTTP
// contract suites only reach through whole requests (as Koa tests `fresh` apart from its server).
import { describe, expect, it } from '@jest/globals';
import {
  etagOf,
  ifMatchHolds,
  ifNoneMatchHits,
  parsePrecondition,
  singleStrongTag,
} from '../../service/etag.js';

const revision = '3-9f2c4e1a7b0d5c36';

function condition(header: string) {
  const parsed = parsePrecondition(header);
  if (!parsed) throw new Error(`"${header}" parsed to no condition`);
  return parsed;
}

describe('etagOf', () => {
  it('quotes the revision as a strong entity tag', () => {
    expect(etagOf(revision)).toBe('"3-9f2c4e1a7b0d5c36"');
  });
});

describe('parsePrecondition', () => {
  it('reads an absent, empty or blank header as no condition', () => {
    expect(parsePrecondition(undefined)).toBeUndefined();
    expect(parsePrecondition('')).toBeUndefined();
    expect(parsePrecondition('  ')).toBeUndefined();
  });

  it('reads * (with surrounding spaces) as "any current representation"', () => {
    expect(parsePrecondition('*')).toEqual({ kind: 'any' });
    expect(parsePrecondition(' * ')).toEqual({ kind: 'any' });
  });

  it('splits a list, drops empty entries and marks weak tags', () => {
    expect(parsePrecondition('"a", W/"b",, "c" ')).toEqual({
      kind: 'tags',
      tags: [
        { weak: false, opaque: 'a' },
        { weak: true, opaque: 'b' },
        { weak: false, opaque: 'c' },
      ],
    });
  });

  it('takes an unquoted entry as the tag itself (hand-written curl commands drop the quotes)', () => {
    expect(parsePrecondition(revision)).toEqual({
      kind: 'tags',
      tags: [{ weak: false, opaque: revision }],
    });
  });

  it('keeps a lone quote character as it is rather than reading an empty tag', () => {
    expect(parsePrecondition('"')).toEqual({ kind: 'tags', tags: [{ weak: false, opaque: '"' }] });
  });
});

describe('ifMatchHolds (strong comparison)', () => {
  it('holds for the current tag, alone or anywhere in a list', () => {
    expect(ifMatchHolds(condition(etagOf(revision)), revision)).toBe(true);
    expect(ifMatchHolds(condition(`"1-old", ${etagOf(revision)}`), revision)).toBe(true);
  });

  it('holds for * whatever the revision', () => {
    expect(ifMatchHolds(condition('*'), revision)).toBe(true);
  });

  it('never holds for a weak tag, even one naming the current revision', () => {
    expect(ifMatchHolds(condition(`W/${etagOf(revision)}`), revision)).toBe(false);
  });

  it('does not hold for a stale tag or a tag that only shares a prefix', () => {
    expect(ifMatchHolds(condition('"2-9f2c4e1a7b0d5c36"'), revision)).toBe(false);
    expect(ifMatchHolds(condition('"3-9f2c"'), revision)).toBe(false);
  });
});

describe('ifNoneMatchHits (weak comparison)', () => {
  it('hits for the current tag, strong or weak', () => {
    expect(ifNoneMatchHits(condition(etagOf(revision)), revision)).toBe(true);
    expect(ifNoneMatchHits(condition(`W/${etagOf(revision)}`), revision)).toBe(true);
  });

  it('hits for * and misses for a stale tag', () => {
    expect(ifNoneMatchHits(condition('*'), revision)).toBe(true);
    expect(ifNoneMatchHits(condition('"2-9f2c4e1a7b0d5c36"'), revision)).toBe(false);
  });
});

describe('singleStrongTag', () => {
  it('names the revision when the condition is exactly one strong tag', () => {
    expect(singleStrongTag(condition(etagOf(revision)))).toBe(revision);
  });

  it('names none for *, a weak tag or a list, which need the stored revision to decide', () => {
    expect(singleStrongTag(condition('*'))).toBeUndefined();
    expect(singleStrongTag(condition(`W/${etagOf(revision)}`))).toBeUndefined();
    expect(singleStrongTag(condition(`"1-a", ${etagOf(revision)}`))).toBeUndefined();
  });
});
