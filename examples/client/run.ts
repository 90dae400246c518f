// API_URL=http://localhost:8080 API_TOKEN=… npx tsx examples/client/run.ts
import { runExample } from './example.js';

const token = process.env.API_TOKEN;
if (!token) {
  console.error('Set API_TOKEN to one of the service’s tokens.');
  process.exit(2);
}
await runExample({ baseUrl: process.env.API_URL ?? 'http://localhost:8080', token });
