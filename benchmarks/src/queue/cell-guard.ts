/**
 * Child-process entry of a queue worker: runs the sweep's cell entry (`../cell-main.ts`, same arguments) and ends
 * the process at once when its worker goes away (stdin, a pipe from the worker, reaches end of file: the worker
 * exited or was killed). Without this a killed worker's child would keep training in a folder whose lease nobody
 * renews any more. Checkpoints are written atomically, so a kill leaves the last one intact.
 */
process.stdin.on('end', () => process.kill(process.pid, 'SIGKILL'));
process.stdin.on('error', () => process.kill(process.pid, 'SIGKILL'));
process.stdin.resume();
await import('../cell-main.ts');
export {};
