// The bundle's entry point (ncc builds dist/index.js from it): it only runs the action. The action
// is main.ts's run(), which tools such as @github/local-action import and call themselves, so
// main.ts must not run anything at import (it did, and such a tool then deployed twice).
import { run } from './main.js';

await run();
