// The typed client in a few lines (service/README.md shows this file; tsc checks it).
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const api = createClient<paths>({
  baseUrl: process.env.API_URL ?? 'http://localhost:8080',
  headers: { Authorization: `Bearer ${process.env.API_TOKEN}` },
});
const created = await api.POST('/json', { body: { data: { key: 'value' } } });
if (!created.data) throw new Error(created.error?.detail); // a problem document
const etag = created.response.headers.get('ETag')!;
const replaced = await api.PUT('/json/{id}', {
  params: { path: { id: created.data.id }, header: { 'If-Match': etag } },
  body: { key: 'new value' },
});
// 412 in replaced.error if someone changed the document since the ETag was read.
console.log(replaced.data ?? replaced.error);
