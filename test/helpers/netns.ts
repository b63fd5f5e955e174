/**
 * A private test network of Linux network namespaces: one "switch" namespace with a
 * bridge, and one namespace per host joined to it by a veth pair. Nothing is added to
 * the machine's own namespace; every address lives inside these namespaces.
 */
import {execFile, spawn} from 'node:child_process';
import {promisify} from 'node:util';
import type {ExecutionContext} from 'ava';
import {adoptChild, nodeArgs, repoRoot, type Child} from './processes.js';

const run = promisify(execFile);
const namePrefix = 'xfst';

async function ip(...args: string[]): Promise<string> {
	return (await run('ip', args, {timeout: 10_000})).stdout;
}

/** Undefined when this machine lets us make network namespaces, else why not. */
export async function netnsUnavailable(): Promise<string | undefined> {
	if (process.platform !== 'linux') {
		return `network namespaces need Linux, this is ${process.platform}`;
	}

	if (process.getuid?.() !== 0) {
		return 'network namespaces need root';
	}

	const probe = `${namePrefix}${process.pid}-probe`;
	try {
		await ip('netns', 'add', probe);
		await ip('netns', 'del', probe);
		return undefined;
	} catch (error) {
		return `"ip netns add" is not allowed here: ${(error as Error).message.split('\n')[0]}`;
	}
}

export type Host = {name: string; ns: string; address: string};

export class TestNetwork {
	readonly hosts = new Map<string, Host>();
	readonly #prefix: string;
	readonly #switchNs: string;
	readonly #namespaces: string[] = [];

	private constructor(prefix: string) {
		this.#prefix = prefix;
		this.#switchNs = `${prefix}-sw`;
	}

	/** Builds the switch and one host per name, at 10.201.0.1, .2, ... in that order; torn down when the test ends. */
	static async create(t: ExecutionContext, hostNames: string[]): Promise<TestNetwork> {
		await removeStaleNamespaces();
		const network = new TestNetwork(`${namePrefix}${process.pid}`);
		t.teardown(async () => network.destroy());
		await network.#addNamespace(network.#switchNs);
		await ip('-n', network.#switchNs, 'link', 'add', 'br0', 'type', 'bridge');
		await ip('-n', network.#switchNs, 'link', 'set', 'br0', 'up');
		for (const [index, name] of hostNames.entries()) {
			const host: Host = {name, ns: `${network.#prefix}-${name}`, address: `10.201.0.${index + 1}`};
			await network.#addHost(host);
			network.hosts.set(name, host);
		}

		return network;
	}

	host(name: string): Host {
		const host = this.hosts.get(name);
		if (!host) {
			throw new Error(`no host ${name}`);
		}

		return host;
	}

	/** Takes the host's link down at the switch: its packets and those sent to it vanish (silence, not a refusal). */
	async cut(name: string): Promise<void> {
		await ip('-n', this.#switchNs, 'link', 'set', `v-${name}`, 'down');
	}

	async restore(name: string): Promise<void> {
		await ip('-n', this.#switchNs, 'link', 'set', `v-${name}`, 'up');
	}

	async destroy(): Promise<void> {
		for (const ns of this.#namespaces.reverse()) {
			await ip('netns', 'del', ns).catch(() => {});
		}

		this.#namespaces.length = 0;
	}

	async #addNamespace(ns: string): Promise<void> {
		await ip('netns', 'add', ns);
		this.#namespaces.push(ns);
		await ip('-n', ns, 'link', 'set', 'lo', 'up');
	}

	async #addHost(host: Host): Promise<void> {
		await this.#addNamespace(host.ns);
		const port = `v-${host.name}`;
		await ip('-n', this.#switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns);
		await ip('-n', this.#switchNs, 'link', 'set', port, 'master', 'br0');
		await ip('-n', this.#switchNs, 'link', 'set', port, 'up');
		await ip('-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
		await ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
	}
}

/** Namespaces a crashed earlier run left behind (its process is gone). */
async function removeStaleNamespaces(): Promise<void> {
	const listing = await ip('netns', 'list');
	for (const line of listing.split('\n')) {
		const match = new RegExp(`^(${namePrefix}(\\d+)-\\S+)`).exec(line);
		if (match && !isAlive(Number(match[2]))) {
			await ip('netns', 'del', match[1]!).catch(() => {});
		}
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

/** Starts `node entry args` (built, or TypeScript through tsx) inside a host's namespace; killed when the test ends. */
export function startInHost(t: ExecutionContext, host: Host, entry: string, args: string[]): Child {
	// `ip netns exec` execs the program, so the child's pid is node's own and SIGKILL reaches it.
	const child = spawn('ip', ['netns', 'exec', host.ns, process.execPath, ...nodeArgs(entry), ...args], {
		cwd: repoRoot,
		env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0'},
		stdio: 'pipe',
	});
	return adoptChild(t, child);
}

/** Runs a short node script inside a host's namespace (argv[1] is `argument`) and resolves with its stdout. */
export async function runInHost(host: Host, script: string, argument: string, {timeoutMs = 20_000} = {}): Promise<string> {
	const {stdout} = await run('ip', ['netns', 'exec', host.ns, process.execPath, '--input-type=module', '-e', script, argument], {timeout: timeoutMs});
	return stdout;
}

/** GET a JSON URL from inside a host's namespace. */
export async function getJsonIn(host: Host, url: string): Promise<any> {
	return JSON.parse(await runInHost(host, 'const r = await fetch(process.argv[1], {signal: AbortSignal.timeout(5000)}); process.stdout.write(await r.text());', url));
}
