import { describe, expect, test } from '@jest/globals';
import { parseMediaType } from '../../service/media-type.js';

describe('Content-Type as RFC 9110 reads it', () => {
  test.each([
    ['application/json', 'application/json', undefined],
    ['Application/JSON', 'application/json', undefined],
    ['application/json; charset=UTF-8', 'application/json', 'utf-8'],
    ['application/json ; charset=utf-8', 'application/json', 'utf-8'],
    ['application/json;charset="UTF-8"', 'application/json', 'utf-8'],
    ['application/json; foo="a;b"; charset=utf-8', 'application/json', 'utf-8'],
    ['application/json; CHARSET=Latin1', 'application/json', 'latin1'],
    ['application/json; charset="ut\\f-8"', 'application/json', 'utf-8'],
    ['application/json; level', 'application/json', undefined],
    ['', '', undefined],
    [undefined, '', undefined],
  ])('%j is %s in %s', (header, essence, charset) => {
    expect(parseMediaType(header)).toEqual({ essence, charset });
  });
});
