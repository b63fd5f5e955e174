import test from 'ava';
import {ListingFreshness} from '../../../source/core/listing-freshness.js';

test('nothing to serve yet: the first access waits for a refresh', t => {
	const freshness = new ListingFreshness({ttlMs: 1000});
	t.is(freshness.access(0), 'wait-for-refresh');
	freshness.started(0);
	t.false(freshness.refreshDue(10));
	freshness.succeeded(20);
	t.is(freshness.access(500), 'serve');
	t.is(freshness.ageMs(500), 480);
});

test('a stale listing serves while one refresh runs in the background', t => {
	const freshness = new ListingFreshness({ttlMs: 1000});
	freshness.started(0);
	freshness.succeeded(0);
	t.is(freshness.access(999), 'serve');
	t.is(freshness.access(1000), 'serve-and-refresh');
	freshness.started(1000);
	t.is(freshness.access(1001), 'serve');
	t.true(freshness.refreshing);
});

test('a change this peer learns of makes a refresh due at once', t => {
	const freshness = new ListingFreshness({ttlMs: 1000});
	freshness.started(0);
	freshness.succeeded(0);
	t.true(freshness.changed());
	t.is(freshness.access(1), 'serve-and-refresh');
	freshness.started(1);
	// Learned while a refresh runs: it is due again once that one ends.
	t.false(freshness.changed());
	freshness.succeeded(5);
	t.true(freshness.refreshDue(6));
});

test('a failed refresh keeps the last listing and is tried again one TTL later, not at every access', t => {
	const freshness = new ListingFreshness({ttlMs: 1000});
	freshness.started(0);
	freshness.succeeded(0);
	freshness.started(1000);
	freshness.failed(1010);
	t.is(freshness.access(1500), 'serve');
	t.is(freshness.access(2010), 'serve-and-refresh');
	t.is(freshness.ageMs(2010), 2010);
});

test('with no listing ever fetched, a failure still serves what there is (this peer\'s own files)', t => {
	const freshness = new ListingFreshness({ttlMs: 1000});
	freshness.started(0);
	freshness.failed(5, {fallback: true});
	t.is(freshness.access(10), 'serve');
	t.is(freshness.ageMs(10), undefined);
});
