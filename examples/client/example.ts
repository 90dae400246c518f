// A typed client of the document API: openapi-fetch with the types generated from the service's
// OpenAPI document (api.d.ts). Every path, parameter, body and answer below is checked by tsc.
import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';

type Problem = components['schemas']['Problem'];

export interface ExampleOptions {
  /** Where the service is, e.g. http://localhost:8080 or the load balancer's URL. */
  baseUrl: string;
  /** One of the service's API_TOKEN values; reads need none, writes do. */
  token: string;
  log?: (line: string) => void;
}

/** What the walk-through saw, for whoever runs it to check. */
export interface ExampleOutcome {
  id: string;
  versions: number[];
  staleWriteStatus: number;
  listedPages: number;
  listedIds: string[];
  afterDelete: number;
}

/** Fails with the service's own words: every error answer is a problem document. */
function fail(step: string, status: number, problem: Problem | undefined): never {
  throw new Error(`${step}: HTTP ${status}: ${problem?.detail ?? 'no problem document'}`);
}

export async function runExample({
  baseUrl,
  token,
  log = console.log,
}: ExampleOptions): Promise<ExampleOutcome> {
  const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
  const versions: number[] = [];

  // Create: without an id, the service makes one up.
  const created = await api.POST('/json', { body: { data: { key: 'value', tags: ['a'] } } });
  if (!created.data) fail('create', created.response.status, created.error);
  const { id } = created.data;
  let etag = created.response.headers.get('ETag')!;
  versions.push(created.data.version);
  log(`created ${id} (version ${created.data.version}, ETag ${etag})`);

  // Read it back.
  const read = await api.GET('/json/{id}', { params: { path: { id } } });
  if (!read.data) fail('read', read.response.status, read.error);
  log(`read ${id}: ${JSON.stringify(read.data.data)}`);

  // Replace it only if nobody changed it since: If-Match with the ETag we hold.
  const replaced = await api.PUT('/json/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
    body: { key: 'new value', tags: ['a', 'b'] },
  });
  if (!replaced.data) fail('conditional update', replaced.response.status, replaced.error);
  versions.push(replaced.data.version);
  const staleEtag = etag;
  etag = replaced.response.headers.get('ETag')!;
  log(`replaced ${id} (version ${replaced.data.version})`);

  // The same write with the old ETag loses: 412, and nothing changes.
  const stale = await api.PUT('/json/{id}', {
    params: { path: { id }, header: { 'If-Match': staleEtag } },
    body: { key: 'lost update' },
  });
  log(`a write with the old ETag: HTTP ${stale.response.status} ${stale.error?.type ?? ''}`);

  // Merge a patch (RFC 7396): set `other`, remove `tags`.
  const patched = await api.PATCH('/json/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
    headers: { 'Content-Type': 'application/merge-patch+json' },
    body: { other: 1, tags: null },
  });
  if (!patched.data) fail('merge patch', patched.response.status, patched.error);
  versions.push(patched.data.version);
  etag = patched.response.headers.get('ETag')!;
  log(`patched ${id}: ${JSON.stringify(patched.data.data)}`);

  // List every id, a page at a time, following nextCursor until it is null.
  const listedIds: string[] = [];
  let listedPages = 0;
  let cursor: string | undefined;
  do {
    const page = await api.GET('/json', { params: { query: { limit: 2, cursor } } });
    if (!page.data) fail('list', page.response.status, page.error);
    listedPages++;
    listedIds.push(...page.data.items.map((item) => item.id));
    cursor = page.data.nextCursor ?? undefined;
  } while (cursor);
  log(`listed ${listedIds.length} id(s) in ${listedPages} page(s)`);

  // Delete it, still only if it is the version we know.
  const deleted = await api.DELETE('/json/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
  });
  if (deleted.response.status !== 204) {
    fail('delete', deleted.response.status, deleted.error);
  }
  const gone = await api.GET('/json/{id}', { params: { path: { id } } });
  log(`deleted ${id}; reading it now: HTTP ${gone.response.status}`);

  return {
    id,
    versions,
    staleWriteStatus: stale.response.status,
    listedPages,
    listedIds,
    afterDelete: gone.response.status,
  };
}
