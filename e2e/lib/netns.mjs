// A network namespace joined to the host by a veth pair, for a browser whose link a test can constrain:
//   host side  <hostIf>  10.213.<n>.1/24   (its egress = what reaches the namespace: shape it with tbf)
//   namespace  <nsIf>    10.213.<n>.2/24   (lo up too; no default route: only the host is reachable)
// A Chromium runs inside through a generated wrapper script (`ip netns exec <ns> chromium "$@"`): playwright
// talks to it over inherited pipes, which survive `ip netns exec`. Needs root (CAP_NET_ADMIN); without it
// createNetns throws a message saying so. Servers the namespace should reach listen on 0.0.0.0 (or hostAddr),
// and must start after createNetns when they read the interface addresses at start-up (tern's ICE candidates).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHROMIUM_PATH } from './chromium.mjs';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';
const TC = ['/usr/sbin/tc', '/sbin/tc', '/usr/bin/tc', '/bin/tc'].find((p) => existsSync(p)) ?? 'tc';
const PREFIX = 'tern-slow';

/** Run a command; resolves {code, stdout, stderr} (never rejects: callers decide what a failure means). */
function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && code === -1 ? err.message : '')) });
    });
  });
}

/** Run a command that must succeed; throws naming the command and its stderr. */
async function must(cmd, args, why) {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${why}: \`${cmd} ${args.join(' ')}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const hostIfOf = (pid) => `tsh${pid}`;
const nsIfOf = (pid) => `tsn${pid}`;

/**
 * Remove a namespace, its host-side veth (deleting one end of a veth deletes both) and the folders of its
 * Chromium wrapper (mkdtemp folders named `<name>-XXXXXX`). Ignores what is not there.
 */
async function removeNamed(name, hostIf) {
  await run(IP, ['link', 'del', hostIf]);
  await run(IP, ['netns', 'del', name]);
  const dirs = await readdir(tmpdir()).catch(() => []);
  for (const d of dirs.filter((x) => x.startsWith(`${name}-`))) await rm(path.join(tmpdir(), d), { recursive: true, force: true });
}

/** Namespaces of this helper left by test processes that no longer run (a run killed before its cleanup). */
async function removeStale() {
  const list = await run(IP, ['netns', 'list']);
  for (const line of list.stdout.split('\n')) {
    const m = new RegExp(`^${PREFIX}-(\\d+)\\b`).exec(line.trim());
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try { process.kill(pid, 0); } catch (e) { alive = e.code !== 'ESRCH'; }
    if (!alive) await removeNamed(`${PREFIX}-${pid}`, hostIfOf(pid));
  }
}

/** A 10.213.<n>.0/24 no interface of the host uses, trying the one derived from the pid first. */
async function freeSubnet(pid) {
  const used = (await run(IP, ['-4', '-o', 'addr', 'show'])).stdout;
  for (let i = 0; i < 254; i += 1) {
    const n = ((pid + i) % 254) + 1;
    if (!used.includes(` 10.213.${n}.`)) return n;
  }
  throw new Error('no free 10.213.<n>.0/24 subnet on this host');
}

/**
 * @typedef {object} Netns
 * @property {string} name namespace name
 * @property {string} hostIf host-side veth
 * @property {string} nsIf namespace-side veth
 * @property {string} hostAddr 10.213.<n>.1: where pages in the namespace reach the host
 * @property {string} nsAddr 10.213.<n>.2
 * @property {string} chromium path of a script that runs Chromium inside the namespace (launchChromium's executablePath)
 * @property {(o?: {rateKbit?: number, burst?: string, latencyMs?: number}) => Promise<void>} shape
 *   limit host → namespace traffic with a token bucket (tbf) on the host side's egress
 * @property {() => Promise<void>} unshape
 * @property {() => Promise<{kind: string, bytes: number, packets: number, drops: number, overlimits: number, backlog: number} | null>} qdiscStats
 *   counters of the root qdisc of the host side (null when there is none)
 * @property {() => Promise<void>} remove delete everything; throws if the namespace or veth is still there afterwards
 */

/**
 * Create the namespace `tern-slow-<pid>` with its veth pair (removing leftovers of the same name, and of
 * test processes that are gone, first).
 * @returns {Promise<Netns>}
 */
export async function createNetns() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`this test needs root: it creates a network namespace and a veth pair and shapes them with tc `
      + `(CAP_NET_ADMIN); running as uid ${process.getuid()}. Run it as root (CI does).`);
  }
  const pid = process.pid;
  const name = `${PREFIX}-${pid}`;
  const hostIf = hostIfOf(pid);
  const nsIf = nsIfOf(pid);
  await removeStale();
  await removeNamed(name, hostIf);
  const n = await freeSubnet(pid);
  const hostAddr = `10.213.${n}.1`;
  const nsAddr = `10.213.${n}.2`;
  try {
    await must(IP, ['netns', 'add', name], 'cannot create the network namespace');
    await must(IP, ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', name], 'cannot create the veth pair');
    await must(IP, ['addr', 'add', `${hostAddr}/24`, 'dev', hostIf], 'cannot address the host side');
    await must(IP, ['link', 'set', hostIf, 'up'], 'cannot bring the host side up');
    await must(IP, ['-n', name, 'addr', 'add', `${nsAddr}/24`, 'dev', nsIf], 'cannot address the namespace side');
    await must(IP, ['-n', name, 'link', 'set', nsIf, 'up'], 'cannot bring the namespace side up');
    await must(IP, ['-n', name, 'link', 'set', 'lo', 'up'], 'cannot bring lo up in the namespace');
    const wrapper = path.join(await mkdtemp(path.join(tmpdir(), `${name}-`)), 'chromium');
    await writeFile(wrapper, `#!/bin/sh\n# Chromium inside network namespace ${name} (written by e2e/lib/netns.mjs)\nexec ${IP} netns exec ${name} '${CHROMIUM_PATH}' "$@"\n`);
    await chmod(wrapper, 0o755);

    const ns = {
      name,
      hostIf,
      nsIf,
      hostAddr,
      nsAddr,
      chromium: wrapper,
      async shape({ rateKbit = 600, burst = '20kb', latencyMs = 300 } = {}) {
        await must(TC, ['qdisc', 'replace', 'dev', hostIf, 'root', 'tbf', 'rate', `${rateKbit}kbit`, 'burst', burst, 'latency', `${latencyMs}ms`],
          'cannot shape the host side of the veth');
      },
      async unshape() {
        await run(TC, ['qdisc', 'del', 'dev', hostIf, 'root']);
      },
      /**
       * Drops every UDP packet the namespace sends (a firewall that lets only TCP out): a policy rule sends UDP to a
       * routing table whose only route is a blackhole. (This kernel has no tc drop action or prio qdisc.)
       */
      async blockUdp() {
        await must(IP, ['-n', name, 'route', 'replace', 'blackhole', 'default', 'table', '213'], 'cannot add the blackhole route');
        await must(IP, ['-n', name, 'rule', 'add', 'ipproto', 'udp', 'table', '213', 'prio', '100'], 'cannot route UDP to the blackhole');
      },
      async unblockUdp() {
        await run(IP, ['-n', name, 'rule', 'del', 'ipproto', 'udp', 'table', '213', 'prio', '100']);
        await run(IP, ['-n', name, 'route', 'del', 'blackhole', 'default', 'table', '213']);
      },
      /** Drops the namespace's TCP to `port` (a firewall that lets only some TCP ports out), beside blockUdp. */
      async blockTcpPort(port) {
        await must(IP, ['-n', name, 'route', 'replace', 'blackhole', 'default', 'table', '213'], 'cannot add the blackhole route');
        await must(IP, ['-n', name, 'rule', 'add', 'ipproto', 'tcp', 'dport', String(port), 'table', '213', 'prio', '101'],
          `cannot route TCP to port ${port} to the blackhole`);
      },
      async unblockTcpPort(port) {
        await run(IP, ['-n', name, 'rule', 'del', 'ipproto', 'tcp', 'dport', String(port), 'table', '213', 'prio', '101']);
      },
      /** Drops the namespace's TCP to every port but `port` (a network that opens only 443, say), beside blockUdp. */
      async allowOnlyTcpPort(port) {
        await must(IP, ['-n', name, 'route', 'replace', 'blackhole', 'default', 'table', '213'], 'cannot add the blackhole route');
        // This iproute2 refuses port 65535 in a rule: that one port stays open.
        const ranges = [`1-${port - 1}`, `${port + 1}-65534`];
        for (const range of ranges) {
          await must(IP, ['-n', name, 'rule', 'add', 'ipproto', 'tcp', 'dport', range, 'table', '213', 'prio', '102'],
            `cannot route TCP to ports ${range} to the blackhole`);
        }
      },
      async allowAllTcp() {
        for (let i = 0; i < 2; i += 1) await run(IP, ['-n', name, 'rule', 'del', 'table', '213', 'prio', '102']);
      },
      async qdiscStats() {
        const r = await run(TC, ['-s', '-j', 'qdisc', 'show', 'dev', hostIf]);
        if (r.code !== 0) return null;
        let list;
        try { list = JSON.parse(r.stdout); } catch { return null; }
        const root = Array.isArray(list) ? list.find((q) => q.root) : null;
        return root ? { kind: root.kind, bytes: root.bytes, packets: root.packets, drops: root.drops, overlimits: root.overlimits, backlog: root.backlog } : null;
      },
      async remove() {
        await removeNamed(name, hostIf);
        const left = [];
        if ((await run(IP, ['netns', 'list'])).stdout.split('\n').some((l) => l.split(' ')[0] === name)) left.push(`namespace ${name}`);
        if ((await run(IP, ['link', 'show', hostIf])).code === 0) left.push(`link ${hostIf}`);
        if (left.length) throw new Error(`network namespace cleanup left ${left.join(' and ')} behind`);
      },
    };
    return ns;
  } catch (e) {
    await removeNamed(name, hostIf);
    throw e;
  }
}
