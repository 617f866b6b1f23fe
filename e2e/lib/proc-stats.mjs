// CPU time and memory of a process from /proc (Linux), for benchmarks.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; }
})();

/** utime+stime of `pid` in seconds. */
export async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[14 - 3]) + Number(rest[15 - 3])) / CLK_TCK;
}

/** VmRSS of `pid` in MiB. */
export async function rssMiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Median/min/max of a list of numbers. */
export function summary(values) {
  if (!values.length) return { n: 0, median: null, min: null, max: null };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { n: s.length, median, min: s[0], max: s[s.length - 1] };
}
