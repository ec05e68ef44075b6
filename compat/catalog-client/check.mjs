// Runs the official @backstage/catalog-client, unchanged, against a Portico serving the demo
// catalog (demo/catalog) and checks every client method's result.
//
// Usage: node check.mjs <baseUrl>      e.g. node check.mjs http://127.0.0.1:7007
//
// The server must allow reading urls from 127.0.0.1 (backend.reading.allow) and registering
// `url` locations: the location checks serve a catalog-info.yaml from a static server started
// here on 127.0.0.1. Prints one line per passed check and ends with `N passed, 0 failed`;
// exits non-zero at the first failure.

import assert from 'node:assert/strict';
import http from 'node:http';
import { CATALOG_FILTER_EXISTS, CatalogClient } from '@backstage/catalog-client';

const baseUrl = process.argv[2]?.replace(/\/+$/, '');
if (!baseUrl) {
  console.error('usage: node check.mjs <baseUrl>   (e.g. http://127.0.0.1:7007)');
  process.exit(2);
}

const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => `${baseUrl}/api/catalog` },
});

let passed = 0;

/** Runs one named check; the first failure ends the run. */
async function check(name, body) {
  try {
    await body();
  } catch (error) {
    console.error(`FAIL - ${name}`);
    console.error(error?.stack ?? String(error));
    console.error(`${passed} passed, 1 failed`);
    await stopStaticServer();
    process.exit(1);
  }
  passed += 1;
  console.log(`ok - ${name}`);
}

/** Awaits `promise`, which must reject with a ResponseError of `status`; returns the error. */
async function rejectsWithStatus(promise, status) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected the call to fail with HTTP ${status}, it succeeded`);
  assert.equal(error.name, 'ResponseError', `expected a ResponseError, got ${error?.stack ?? error}`);
  assert.equal(error.response.status, status, `expected HTTP ${status}: ${error.message}`);
  return error;
}

/**
 * Reads right after a write that removes entities. Backstage answers such reads from its
 * database, so the removal shows at once; Portico serves reads from an index that follows the
 * store's change feed, usually within milliseconds. A lag is tolerated (and noted) so the run
 * stays deterministic, but the entities must be gone within a few seconds.
 */
async function afterRemoval(what, probe) {
  if (await probe()) {
    return;
  }
  console.log(`note - ${what}: still served right after the write, waiting for the read index`);
  await eventually(what, probe, 5_000);
}

/** Polls `probe` until it returns a truthy value (or times out). */
async function eventually(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

const ref = e => `${e.kind}:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`.toLowerCase();
const names = items => items.map(e => e.metadata.name);
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// A static server for the url location checks.

const componentName = 'compat-client-check';
const apiName = 'compat-client-check-api';
const descriptor = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${componentName}
  description: Registered through @backstage/catalog-client
  tags: [compat]
spec:
  type: service
  lifecycle: experimental
  owner: team-a
  providesApis: [${apiName}]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: ${apiName}
spec:
  type: openapi
  lifecycle: experimental
  owner: team-a
  definition: "openapi: 3.0.0"
`;

// Where the registered location is moved by the updateLocation check.
const movedName = 'compat-client-moved';
const movedDescriptor = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${movedName}
spec:
  type: service
  lifecycle: experimental
  owner: team-a
`;

const staticServer = http.createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/repo/catalog-info.yaml') {
    response.writeHead(200, { 'content-type': 'text/yaml' });
    response.end(descriptor);
  } else if (request.method === 'GET' && request.url === '/moved/catalog-info.yaml') {
    response.writeHead(200, { 'content-type': 'text/yaml' });
    response.end(movedDescriptor);
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found');
  }
});

async function stopStaticServer() {
  if (staticServer.listening) {
    staticServer.closeAllConnections();
    await new Promise(resolve => staticServer.close(resolve));
  }
}

await new Promise((resolve, reject) => {
  staticServer.once('error', reject);
  staticServer.listen(0, '127.0.0.1', resolve);
});
const repoUrl = `http://127.0.0.1:${staticServer.address().port}/repo`;
const target = `${repoUrl}/catalog-info.yaml`;
const movedTarget = `http://127.0.0.1:${staticServer.address().port}/moved/catalog-info.yaml`;

// ---------------------------------------------------------------------------------------------
// getEntities

let all = [];
await check('getEntities() returns the whole demo catalog in entity ref order', async () => {
  ({ items: all } = await client.getEntities());
  assert.ok(all.length >= 50, `only ${all.length} entities`);
  for (const wanted of ['component:default/artist-lookup', 'api:default/petstore', 'group:default/team-a']) {
    assert.ok(all.some(e => ref(e) === wanted), `${wanted} is missing`);
  }
  const refs = all.map(ref);
  assert.deepEqual(refs, [...refs].sort(byName));
  assert.equal(new Set(all.map(e => e.metadata.uid)).size, all.length, 'uids are unique');
});
const components = all.filter(e => e.kind === 'Component');
const users = all.filter(e => e.kind === 'User');

await check('getEntities filter: two keys are AND-ed, matching is case-insensitive', async () => {
  const { items } = await client.getEntities({ filter: { kind: 'component', 'spec.type': 'SERVICE' } });
  const expected = components.filter(e => e.spec.type === 'service').map(ref);
  assert.ok(expected.length > 1);
  assert.deepEqual(items.map(ref), expected);
});

await check('getEntities filter: an array value is OR-ed on that key', async () => {
  const { items } = await client.getEntities({ filter: { kind: ['API', 'System'] } });
  const expected = all.filter(e => e.kind === 'API' || e.kind === 'System').map(ref);
  assert.ok(expected.length > 2);
  assert.deepEqual(items.map(ref), expected);
});

await check('getEntities filter: an array of filter objects is OR-ed', async () => {
  const { items } = await client.getEntities({
    filter: [{ kind: 'Domain' }, { kind: 'Component', 'spec.lifecycle': 'experimental' }],
  });
  const expected = all
    .filter(e => e.kind === 'Domain' || (e.kind === 'Component' && e.spec.lifecycle === 'experimental'))
    .map(ref);
  assert.ok(expected.length > 3);
  assert.deepEqual(items.map(ref), expected);
});

await check('getEntities filter: CATALOG_FILTER_EXISTS and array-element keys', async () => {
  const { items } = await client.getEntities({
    filter: { kind: 'Component', 'spec.system': CATALOG_FILTER_EXISTS },
  });
  const expected = components.filter(e => e.spec.system !== undefined).map(ref);
  assert.ok(expected.length > 1 && expected.length < components.length);
  assert.deepEqual(items.map(ref), expected);

  const { items: java } = await client.getEntities({ filter: { 'metadata.tags': 'java' } });
  const { items: javaKey } = await client.getEntities({
    filter: { 'metadata.tags.java': CATALOG_FILTER_EXISTS },
  });
  const tagged = all.filter(e => e.metadata.tags?.includes('java')).map(ref);
  assert.ok(tagged.length > 1);
  assert.deepEqual(java.map(ref), tagged);
  assert.deepEqual(javaKey.map(ref), tagged);
});

await check('getEntities filter: relation keys', async () => {
  const { items } = await client.getEntities({
    filter: { kind: 'Component', 'relations.ownedBy': 'group:default/team-a' },
  });
  const expected = components.filter(e => e.spec.owner === 'team-a').map(ref);
  assert.ok(expected.length > 1);
  assert.deepEqual(items.map(ref), expected);
});

await check('getEntities fields: only the selected fields are returned', async () => {
  const { items } = await client.getEntities({
    filter: { kind: 'Component' },
    fields: ['kind', 'metadata.name', 'metadata.annotations.backstage.io/managed-by-location'],
  });
  assert.equal(items.length, components.length);
  for (const item of items) {
    assert.deepEqual(Object.keys(item).sort(), ['kind', 'metadata']);
    assert.deepEqual(Object.keys(item.metadata).sort(), ['annotations', 'name']);
    assert.deepEqual(Object.keys(item.metadata.annotations), ['backstage.io/managed-by-location']);
  }
});

await check('getEntities order: descending and multi-key', async () => {
  const { items } = await client.getEntities({
    filter: { kind: 'User' },
    order: { field: 'metadata.name', order: 'desc' },
  });
  assert.equal(items.length, users.length);
  const got = names(items);
  assert.deepEqual(got, [...got].sort(byName).reverse());

  const { items: multi } = await client.getEntities({
    filter: { kind: 'Component' },
    order: [
      { field: 'spec.lifecycle', order: 'asc' },
      { field: 'metadata.name', order: 'desc' },
    ],
  });
  const expected = [...components]
    .sort((a, b) => byName(a.spec.lifecycle, b.spec.lifecycle) || byName(b.metadata.name, a.metadata.name))
    .map(ref);
  assert.deepEqual(multi.map(ref), expected);
});

await check('getEntities limit/offset/after page through the same order', async () => {
  const order = { field: 'metadata.name', order: 'asc' };
  const { items: everything } = await client.getEntities({ filter: { kind: 'Component' }, order });
  const { items: page } = await client.getEntities({ filter: { kind: 'Component' }, order, limit: 4, offset: 2 });
  assert.deepEqual(names(page), names(everything).slice(2, 6));
  // Backstage's `after` cursor (the one its `link` header carries): base64 of {limit, offset}.
  const after = Buffer.from(JSON.stringify({ limit: 3, offset: 6 })).toString('base64');
  const { items: next } = await client.getEntities({ filter: { kind: 'Component' }, order, after });
  assert.deepEqual(names(next), names(everything).slice(6, 9));
});

// ---------------------------------------------------------------------------------------------
// getEntitiesByRefs

await check('getEntitiesByRefs keeps order and length, missing refs are undefined', async () => {
  const refs = [
    'component:default/artist-lookup',
    'component:default/no-such-component',
    'api:default/petstore',
    'group:default/team-a',
    'component:default/artist-lookup',
  ];
  const { items } = await client.getEntitiesByRefs({ entityRefs: refs });
  assert.equal(items.length, refs.length);
  assert.equal(items[1], undefined);
  assert.deepEqual(
    items.map(e => e && ref(e)),
    [refs[0], undefined, refs[2], refs[3], refs[4]],
  );
});

await check('getEntitiesByRefs with fields and filter', async () => {
  const { items } = await client.getEntitiesByRefs({
    entityRefs: ['component:default/artist-lookup', 'api:default/petstore'],
    fields: ['kind', 'metadata.name'],
    filter: { kind: 'Component' },
  });
  assert.deepEqual(items, [{ kind: 'Component', metadata: { name: 'artist-lookup' } }, undefined]);
  const { items: none } = await client.getEntitiesByRefs({ entityRefs: [] });
  assert.deepEqual(none, []);
});

// ---------------------------------------------------------------------------------------------
// queryEntities / streamEntities

const componentNames = names(components).sort(byName);

await check('queryEntities: first page with filter, orderFields, limit and totalItems', async () => {
  const response = await client.queryEntities({
    filter: { kind: 'Component' },
    orderFields: { field: 'metadata.name', order: 'asc' },
    limit: 4,
  });
  assert.equal(response.totalItems, components.length);
  assert.deepEqual(names(response.items), componentNames.slice(0, 4));
  assert.ok(response.pageInfo.nextCursor, 'a next cursor');
  assert.equal(response.pageInfo.prevCursor, undefined);
});

await check('queryEntities: nextCursor to the end, then prevCursor back to the start', async () => {
  const pages = [];
  let response = await client.queryEntities({
    filter: { kind: 'Component' },
    orderFields: { field: 'metadata.name', order: 'asc' },
    limit: 4,
  });
  pages.push(names(response.items));
  while (response.pageInfo.nextCursor) {
    assert.ok(pages.length < 20, 'too many pages');
    response = await client.queryEntities({ cursor: response.pageInfo.nextCursor, limit: 4 });
    assert.equal(response.totalItems, components.length);
    assert.ok(response.pageInfo.prevCursor, `page ${pages.length + 1} has a prevCursor`);
    pages.push(names(response.items));
  }
  assert.deepEqual(pages.flat(), componentNames);
  assert.ok(pages.length >= 3, `${pages.length} pages`);

  let index = pages.length - 1;
  while (response.pageInfo.prevCursor) {
    response = await client.queryEntities({ cursor: response.pageInfo.prevCursor, limit: 4 });
    index -= 1;
    assert.ok(index >= 0, 'went back past the first page');
    assert.deepEqual(names(response.items), pages[index], `page ${index + 1} going back`);
    assert.ok(response.pageInfo.nextCursor, 'a page going back has a next cursor');
  }
  assert.equal(index, 0, 'going back ends on the first page');
});

await check('queryEntities: descending order, fields and offset', async () => {
  const response = await client.queryEntities({
    filter: { kind: 'Component' },
    orderFields: [{ field: 'metadata.name', order: 'desc' }],
    fields: ['metadata.name'],
    offset: 1,
    limit: 3,
  });
  assert.deepEqual(
    response.items,
    [...componentNames].reverse().slice(1, 4).map(name => ({ metadata: { name } })),
  );
  assert.equal(response.totalItems, components.length);
});

await check('queryEntities: fullTextFilter (term trimmed, case-insensitive substring)', async () => {
  const response = await client.queryEntities({
    filter: { kind: 'Component' },
    fullTextFilter: { term: '  WayBack ', fields: ['metadata.name'] },
    orderFields: { field: 'metadata.name', order: 'asc' },
  });
  const expected = componentNames.filter(name => name.includes('wayback'));
  assert.ok(expected.length > 1);
  assert.deepEqual(names(response.items), expected);
  assert.equal(response.totalItems, expected.length);
  assert.equal(response.pageInfo.nextCursor, undefined);
});

await check('queryEntities: limit 0 counts without items', async () => {
  const response = await client.queryEntities({ filter: { kind: 'User' }, limit: 0 });
  assert.deepEqual(response.items, []);
  assert.equal(response.totalItems, users.length);
});

await check('streamEntities yields every matching entity in pages', async () => {
  const pages = [];
  for await (const page of client.streamEntities({ filter: { kind: 'User' }, pageSize: 5 })) {
    pages.push(page);
  }
  assert.ok(pages.length >= 3, `${pages.length} pages`);
  assert.ok(pages.every(page => page.length <= 5));
  assert.deepEqual(pages.flat().map(ref).sort(byName), users.map(ref).sort(byName));
});

await check('queryEntities with a predicate query (POST /entities/by-query)', async () => {
  const response = await client.queryEntities({ query: { kind: 'Component', 'spec.type': { $in: ['website'] } } });
  const expected = components.filter(e => e.spec.type === 'website').map(ref).sort(byName);
  assert.deepEqual(response.items.map(ref).sort(byName), expected);
  assert.equal(response.totalItems, expected.length);

  const notServices = await client.queryEntities({
    query: { $all: [{ kind: 'component' }, { $not: { 'spec.type': 'SERVICE' } }] },
  });
  assert.deepEqual(
    notServices.items.map(ref).sort(byName),
    components.filter(e => e.spec.type.toLowerCase() !== 'service').map(ref).sort(byName),
  );
  const tagged = components.filter(e => e.metadata.tags?.length);
  const tag = tagged[0]?.metadata.tags[0];
  if (tag) {
    const withTag = await client.queryEntities({
      query: { kind: 'Component', 'metadata.tags': { $contains: tag } },
    });
    assert.deepEqual(
      withTag.items.map(ref).sort(byName),
      components.filter(e => e.metadata.tags?.includes(tag)).map(ref).sort(byName),
    );
  }
  await rejectsWithStatus(client.queryEntities({ query: { $unknown: 1 } }), 400);
});

await check('queryEntities with a query follows cursors through POST pages', async () => {
  const query = { $any: [{ kind: 'Component' }, { kind: 'API' }] };
  const expected = all.filter(e => ['Component', 'API'].includes(e.kind)).map(ref).sort(byName);
  const first = await client.queryEntities({
    query,
    limit: 3,
    orderFields: { field: 'metadata.name', order: 'asc' },
  });
  assert.equal(first.totalItems, expected.length);
  assert.equal(first.pageInfo.prevCursor, undefined);
  const cursor = JSON.parse(Buffer.from(first.pageInfo.nextCursor, 'base64').toString('utf8'));
  assert.deepEqual(cursor.query, query, 'the cursor carries the query, so the client pages through POST');
  const seen = [...first.items];
  let response = first;
  while (response.pageInfo.nextCursor) {
    response = await client.queryEntities({ cursor: response.pageInfo.nextCursor, limit: 3 });
    assert.equal(response.totalItems, expected.length);
    assert.ok(response.pageInfo.prevCursor, 'later pages can go back');
    seen.push(...response.items);
  }
  assert.deepEqual(seen.map(ref).sort(byName), expected);
  const sortedNames = seen.map(e => e.metadata.name.toLowerCase());
  assert.deepEqual(sortedNames, [...sortedNames].sort(byName), 'pages follow the order field');

  const streamed = [];
  for await (const page of client.streamEntities({ query, pageSize: 4 })) {
    assert.ok(page.length <= 4);
    streamed.push(...page);
  }
  assert.deepEqual(streamed.map(ref).sort(byName), expected);
});

await check('getEntitiesByRefs with a predicate query', async () => {
  const refs = ['component:default/artist-lookup', 'api:default/petstore'];
  const { items } = await client.getEntitiesByRefs({ entityRefs: refs, query: { kind: 'API' } });
  assert.equal(items.length, 2);
  assert.equal(items[0], undefined);
  assert.equal(ref(items[1]), 'api:default/petstore');
});

// ---------------------------------------------------------------------------------------------
// Single entities, ancestry, facets, refresh

const artistLookup = all.find(e => ref(e) === 'component:default/artist-lookup');

await check('getEntityByRef by string and compound ref; unknown is undefined', async () => {
  const byString = await client.getEntityByRef('component:default/artist-lookup');
  assert.equal(byString.metadata.uid, artistLookup.metadata.uid);
  assert.deepEqual(byString.spec, artistLookup.spec);
  const byCompound = await client.getEntityByRef({ kind: 'Component', namespace: 'default', name: 'artist-lookup' });
  assert.equal(byCompound.metadata.uid, artistLookup.metadata.uid);
  const shortRef = await client.getEntityByRef('Component:artist-lookup');
  assert.equal(shortRef.metadata.uid, artistLookup.metadata.uid);
  assert.equal(await client.getEntityByRef('component:default/no-such-component'), undefined);
  assert.equal(await client.getEntityByRef('user:development/nobody'), undefined);
});

await check('getEntityByName (deprecated) still works', async () => {
  const entity = await client.getEntityByName({ kind: 'User', namespace: 'development', name: 'guest' });
  assert.equal(ref(entity), 'user:development/guest');
  assert.equal(await client.getEntityByName({ kind: 'User', name: 'nobody' }), undefined);
});

await check('getEntityAncestors walks from the entity up to a root location', async () => {
  const response = await client.getEntityAncestors({ entityRef: 'component:default/artist-lookup' });
  assert.equal(response.rootEntityRef, 'component:default/artist-lookup');
  assert.ok(response.items.length >= 2, `${response.items.length} items`);
  assert.equal(ref(response.items[0].entity), 'component:default/artist-lookup');
  assert.ok(response.items[0].parentEntityRefs.length > 0);
  const listed = new Set(response.items.map(item => ref(item.entity)));
  assert.equal(listed.size, response.items.length, 'each entity once');
  for (const item of response.items) {
    for (const parent of item.parentEntityRefs) {
      assert.ok(listed.has(parent), `parent ${parent} of ${ref(item.entity)} is listed`);
    }
  }
  const roots = response.items.filter(item => item.parentEntityRefs.length === 0);
  assert.ok(roots.length >= 1 && roots.every(item => item.entity.kind === 'Location'));
  await rejectsWithStatus(client.getEntityAncestors({ entityRef: 'component:default/no-such-component' }), 404);
});

await check('getEntityFacets counts values per facet, filtered', async () => {
  const { facets } = await client.getEntityFacets({
    facets: ['kind', 'spec.type', 'metadata.tags'],
    filter: { kind: 'Component' },
  });
  assert.deepEqual(facets.kind, [{ value: 'Component', count: components.length }]);
  const count = values => {
    const counts = new Map();
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    return [...counts].map(([value, n]) => ({ value, count: n })).sort((a, b) => byName(a.value, b.value));
  };
  const sorted = list => [...list].sort((a, b) => byName(a.value, b.value));
  assert.deepEqual(sorted(facets['spec.type']), count(components.map(e => e.spec.type)));
  assert.deepEqual(sorted(facets['metadata.tags']), count(components.flatMap(e => e.metadata.tags ?? [])));

  const { facets: unfiltered } = await client.getEntityFacets({ facets: ['kind', 'spec.nothing'] });
  assert.deepEqual(sorted(unfiltered.kind), count(all.map(e => e.kind)));
  assert.deepEqual(unfiltered['spec.nothing'], []);
});

await check('getEntityFacets with a predicate query (POST /entity-facets)', async () => {
  const response = await client.getEntityFacets({ facets: ['kind', 'spec.type'], query: { kind: 'Component' } });
  assert.deepEqual(response.facets.kind, [{ value: 'Component', count: components.length }]);
  const total = response.facets['spec.type'].reduce((sum, facet) => sum + facet.count, 0);
  assert.equal(total, components.length);
  const notComponents = await client.getEntityFacets({ facets: ['kind'], query: { $not: { kind: 'component' } } });
  assert.ok(notComponents.facets.kind.every(facet => facet.value !== 'Component'));
  const counted = notComponents.facets.kind.reduce((sum, facet) => sum + facet.count, 0);
  assert.equal(counted, all.length - components.length);
});

await check('refreshEntity resolves for a known entity and fails with 404 otherwise', async () => {
  assert.equal(await client.refreshEntity('component:default/artist-lookup'), undefined);
  await rejectsWithStatus(client.refreshEntity('component:default/no-such-component'), 404);
});

// ---------------------------------------------------------------------------------------------
// validateEntity

const validComponent = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'validated-component' },
  spec: { type: 'service', lifecycle: 'production', owner: 'team-a' },
};

await check('validateEntity accepts a valid entity', async () => {
  assert.deepEqual(await client.validateEntity(validComponent, `url:${target}`), { valid: true });
});

await check('validateEntity reports an invalid entity and a bad location ref', async () => {
  const invalid = { ...validComponent, metadata: { name: 'Not a valid name!' } };
  const result = await client.validateEntity(invalid, `url:${target}`);
  assert.equal(result.valid, false);
  assert.ok(result.errors.length > 0);
  for (const error of result.errors) {
    assert.equal(typeof error.name, 'string');
    assert.match(error.message, /metadata\.name|Not a valid name/);
  }
  const badRef = await client.validateEntity(validComponent, 'file:/tmp/catalog-info.yaml');
  assert.equal(badRef.valid, false);
  assert.match(badRef.errors[0].message, /Invalid location ref file:\/tmp\/catalog-info\.yaml/);
});

// ---------------------------------------------------------------------------------------------
// Locations

// Backstage's analysis is SCM-specific; Portico reads `<repo>/catalog-info.yaml` for any allowed url.
await check('analyzeLocation finds the descriptor in a repository url', async () => {
  const result = await client.analyzeLocation({ location: { type: 'url', target: repoUrl } });
  assert.ok(Array.isArray(result.generateEntities));
  assert.deepEqual(
    result.existingEntityFiles.map(file => ref(file.entity)).sort(byName),
    [`api:default/${apiName}`, `component:default/${componentName}`],
  );
  for (const file of result.existingEntityFiles) {
    assert.deepEqual(file.location, { type: 'url', target });
    assert.equal(file.isRegistered, false);
  }
});

await check('addLocation dryRun processes the descriptor and stores nothing', async () => {
  const result = await client.addLocation({ type: 'url', target, dryRun: true });
  assert.equal(result.exists, false);
  assert.deepEqual(result.location, { id: `url:${target}`, type: 'url', target });
  const refs = result.entities.map(ref);
  assert.match(refs[0], /^location:default\/generated-[0-9a-f]{40}$/);
  assert.deepEqual(refs.slice(1).sort(byName), [`api:default/${apiName}`, `component:default/${componentName}`]);
  assert.equal(await client.getEntityByRef(`component:default/${componentName}`), undefined);
  const { items } = await client.getLocations();
  assert.ok(!items.some(location => location.target === target));
});

let registered;
await check('addLocation registers a url location; its entities get ingested', async () => {
  const result = await client.addLocation({ target });
  registered = result.location;
  assert.equal(registered.type, 'url');
  assert.equal(registered.target, target);
  assert.match(registered.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(result.entities, []);
  const component = await eventually(`${componentName} to be ingested`, () =>
    client.getEntityByRef(`component:default/${componentName}`),
  );
  await eventually(`${apiName} to be ingested`, () => client.getEntityByRef(`api:default/${apiName}`));
  assert.equal(component.metadata.annotations['backstage.io/managed-by-location'], `url:${target}`);
  assert.equal(component.metadata.annotations['backstage.io/managed-by-origin-location'], `url:${target}`);
  assert.ok(component.relations.some(r => r.type === 'providesApi' && r.targetRef === `api:default/${apiName}`));
});

await check('addLocation again: 409 conflict, and dryRun says it exists', async () => {
  await rejectsWithStatus(client.addLocation({ type: 'url', target }), 409);
  const dry = await client.addLocation({ type: 'url', target, dryRun: true });
  assert.equal(dry.exists, true);
  const analyzed = await client.analyzeLocation({ location: { type: 'url', target: repoUrl } });
  assert.ok(analyzed.existingEntityFiles.every(file => file.isRegistered === true));
});

await check('getLocations lists the registered location', async () => {
  const { items } = await client.getLocations();
  assert.deepEqual(
    items.filter(location => location.target === target),
    [registered],
  );
  for (const location of items) {
    assert.deepEqual(Object.keys(location).sort(), ['id', 'target', 'type']);
  }
});

await check('getLocationById: the location, or undefined', async () => {
  assert.deepEqual(await client.getLocationById(registered.id), registered);
  assert.equal(await client.getLocationById('00000000-0000-4000-8000-000000000000'), undefined);
});

await check('getLocationByRef matches type:target', async () => {
  assert.deepEqual(await client.getLocationByRef(`url:${target}`), registered);
  assert.equal(await client.getLocationByRef(`url:${repoUrl}/other.yaml`), undefined);
});

await check('getLocationByEntity: the registered origin, or undefined', async () => {
  assert.deepEqual(await client.getLocationByEntity(`component:default/${componentName}`), registered);
  assert.deepEqual(await client.getLocationByEntity({ kind: 'API', namespace: 'default', name: apiName }), registered);
  // Config locations are not registered locations.
  assert.equal(await client.getLocationByEntity('component:default/artist-lookup'), undefined);
  assert.equal(await client.getLocationByEntity('component:default/no-such-component'), undefined);
});

await check('updateLocation moves a location to a new target and back', async () => {
  const moved = await client.updateLocation(registered.id, { type: 'url', target: movedTarget });
  assert.deepEqual(moved, { id: registered.id, type: 'url', target: movedTarget });
  assert.deepEqual(await client.getLocationById(registered.id), moved);
  await eventually(`${movedName} to be ingested`, () => client.getEntityByRef(`component:default/${movedName}`));
  await afterRemoval("the old target's entities", async () => {
    const { items } = await client.getEntitiesByRefs({ entityRefs: [`component:default/${componentName}`] });
    return items[0] === undefined;
  });

  const back = await client.updateLocation(registered.id, { type: 'url', target });
  assert.deepEqual(back, registered);
  await eventually(`${componentName} to come back`, () => client.getEntityByRef(`component:default/${componentName}`));
  await eventually(`${apiName} to come back`, () => client.getEntityByRef(`api:default/${apiName}`));
  await afterRemoval("the moved target's entities", async () => {
    const { items } = await client.getEntitiesByRefs({ entityRefs: [`component:default/${movedName}`] });
    return items[0] === undefined;
  });
  await rejectsWithStatus(
    client.updateLocation('00000000-0000-4000-8000-000000000000', { type: 'url', target: movedTarget }),
    404,
  );
});

await check('queryLocations / streamLocations (POST /locations/by-query)', async () => {
  const response = await client.queryLocations({ limit: 10 });
  assert.ok(response.items.some(location => location.id === registered.id));
  assert.equal(response.totalItems, (await client.getLocations()).items.length);

  const matching = await client.queryLocations({ query: { target: { $hasPrefix: repoUrl } } });
  assert.deepEqual(matching.items, [registered]);
  assert.equal(matching.totalItems, 1);
  assert.deepEqual(matching.pageInfo, {});
  const none = await client.queryLocations({ query: { type: 'file', target: target } });
  assert.deepEqual(none.items, []);
  assert.equal(none.totalItems, 0);

  const streamed = [];
  for await (const page of client.streamLocations()) streamed.push(...page);
  assert.ok(streamed.some(location => location.id === registered.id));
  const paged = [];
  for await (const page of client.streamLocations({ limit: 1 })) {
    assert.equal(page.length, 1);
    paged.push(...page);
  }
  assert.deepEqual(paged.map(l => l.id), streamed.map(l => l.id), 'pages of one cover every location');
});

await check('removeEntityByUid removes the entity; its source brings it back with a new uid', async () => {
  const api = await client.getEntityByRef(`api:default/${apiName}`);
  assert.ok(api, 'the API was ingested');
  await client.removeEntityByUid(api.metadata.uid);
  await afterRemoval('the removed entity', async () => {
    const { items } = await client.getEntitiesByRefs({ entityRefs: [`api:default/${apiName}`] });
    return items[0]?.metadata.uid !== api.metadata.uid;
  });
  const back = await eventually(`${apiName} to come back`, () => client.getEntityByRef(`api:default/${apiName}`));
  assert.notEqual(back.metadata.uid, api.metadata.uid);
  // Unknown uids are not an error (Backstage checks no existence).
  await client.removeEntityByUid('00000000-0000-4000-8000-000000000000');
});

await check('removeLocationById removes the location and its entities', async () => {
  await client.removeLocationById(registered.id);
  assert.equal(await client.getLocationById(registered.id), undefined);
  const refs = [`component:default/${componentName}`, `api:default/${apiName}`];
  await afterRemoval("the location's entities", async () => {
    const { items } = await client.getEntitiesByRefs({ entityRefs: refs });
    return items.every(item => item === undefined);
  });
  await rejectsWithStatus(client.removeLocationById(registered.id), 404);
  assert.ok(!(await client.getLocations()).items.some(location => location.target === target));
});

await check('the demo catalog is untouched by the location checks', async () => {
  const { items } = await client.getEntities({ fields: ['kind', 'metadata.namespace', 'metadata.name'] });
  assert.deepEqual(items.map(ref), all.map(ref));
});

await stopStaticServer();
console.log(`${passed} passed, 0 failed`);
