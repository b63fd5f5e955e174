/** The DHT engine as DhtNode runs it (in-process nodes on loopback UDP): joining through a well-known node, lookups that converge, dead nodes skipped. */
import test from 'ava';
import {DhtNode, nameKey, nodeIdOf} from '../../source/common/dht-node.js';

async function startNode(id: string, bootstrap: string[]): Promise<DhtNode> {
	return DhtNode.start({nodeId: nodeIdOf(id), port: 0, host: '127.0.0.1', bootstrap, recordTtlMs: 900_000});
}

test.serial('40 nodes all join through the first (its replies carry 20 nodes, not its whole table); every holder announced is found from the last', async t => {
	const nodes: DhtNode[] = [];
	t.teardown(async () => {
		await Promise.all(nodes.map(async node => node.stop()));
	});
	for (let index = 0; index < 40; index++) {
		nodes.push(await startNode(`n${index}`, index === 0 ? [] : [nodes[0]!.address]));
	}

	// Before: once the first node knew more than 32 nodes, its replies were too long for the others' screens, and later nodes stayed alone.
	t.deepEqual(nodes.flatMap((node, index) => (node.knownNodes === 0 ? [index] : [])), []);
	const key = nameKey('shared.bin');
	const holders = nodes.slice(5, 12);
	for (const [index, holder] of holders.entries()) {
		t.true(await holder.announce(key, 1000 + index));
	}

	// Each announce went to the k closest (get_peers replies carry nodes beside values), so a lookup meets them all.
	const found = await nodes.at(-1)!.lookup(key);
	t.deepEqual(found.map(contact => contact.port).sort(), holders.map((_, index) => 1000 + index));
	const early = await nodes[20]!.lookup(key, {early: true});
	t.true(early.length > 0);
});

test.serial('a node whose query timed out is not asked again: a lookup that meets it again fails that query at once', async t => {
	const nodes: DhtNode[] = [];
	t.teardown(async () => {
		await Promise.all(nodes.map(async node => node.stop()));
	});
	for (let index = 0; index < 8; index++) {
		nodes.push(await startNode(`m${index}`, index === 0 ? [] : [nodes[0]!.address]));
	}

	const dead = nodes.pop()!;
	const deadAddress = dead.address;
	const deadId = dead.nodeId;
	await dead.stop();
	// The newcomer's join asks the dead node first: that query times out once.
	const newcomer = await startNode('newcomer', [deadAddress, nodes[0]!.address]);
	nodes.push(newcomer);
	t.is(newcomer.stats.skipped, 0);
	// The others still name the dead node as the closest to its own id: the lookup meets it, and does not wait for it again.
	await newcomer.lookup(deadId);
	t.true(newcomer.stats.skipped > 0, JSON.stringify(newcomer.stats));
});
