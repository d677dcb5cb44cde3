// The gateway process for `npm run bench`: loads the built gateway (dist/main.js) in this very
// process, so the pid the bench measures is the server's own. BENCH_GATEWAY_ENTRY=src loads
// src/main.ts instead (start with `node --import tsx`).
await import(process.env.BENCH_GATEWAY_ENTRY === 'src' ? '../src/main.ts' : '../dist/main.js');
