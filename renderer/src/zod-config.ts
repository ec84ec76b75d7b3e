/**
 * zod compiles fast paths with `new Function` when it may; under the page's CSP (no 'unsafe-eval')
 * its probe would be refused and reported as a violation. The slower interpreter is plenty here.
 * Imported first by main.tsx, before any schema parses.
 */
import { z } from 'zod';

z.config({ jitless: true });
