// The gateway process for `npm run bench`: loads the built gateway (dist/main.js) in this very
// process, so the pid the bench measures is the server's own. BENCH_GATEWAY_ENTRY=src loads
// src/main.ts instead (start with `node --import tsx`). A separate entry file, so that tools that
// stop gateways by command line ("dist/main.js") in a shared workspace leave the bench's alone.
await import(process.env.BENCH_GATEWAY_ENTRY === 'src' ? '../src/main.ts' : '../dist/main.js');
