/*
 * djust-sw.js: the service worker of an installable djust-rs app
 * (App::pwa; no build step, no eval, no dependencies). Served at
 * /djust/sw.js with `Service-Worker-Allowed: /` and registered by djust.js
 * for the whole origin.
 * 1. App shell: djust.js, the offline page and the icon are cached at
 *    install; pages and same-origin static files are fetched from the
 *    network first and the last good copy is kept for offline use. A page
 *    never seen before gets /djust/offline.html while offline.
 * Under a path-prefix tenant the worker is served at /t/acme/djust/sw.js
 * and registered for /t/acme/: BASE (/t/acme) comes from its own URL, its
 * paths carry it, and it delivers only the actions queued under it.
 * 2. Background Sync ('djust-offline:<key>', one tag per queued action, so
 *    a new one fires at once even while an older one waits to retry): the actions djust.js queued in
 *    IndexedDB while offline are posted to /djust/offline/sync (the
 *    session cookie plus the X-CSRF-Token header of the page that queued
 *    them), at most 100 per request. An action comes off the queue once
 *    the server has decided it (any status but 'retry'); the pages are
 *    told so they can show the new state.
 */
'use strict';

const CACHE = 'djust-shell-v1';
/** The tenant's path prefix ('' without one): where this worker is served. */
const BASE = self.location.pathname.replace(/\/djust\/sw\.js$/, '');
const SHELL = [BASE + '/djust/djust.js', BASE + '/djust/offline.html', BASE + '/djust/icon.svg'];
const DB_NAME = 'djust-offline';
const STORE = 'actions';
const BATCH = 100;

/* ---- 1. App shell ---- */

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith('djust-shell-') && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

/** The network's answer, keeping a copy of a good one; the copy when offline. */
function networkFirst(request, fallback) {
  return fetch(request).then((response) => {
    if (response.ok && response.type === 'basic') {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  }).catch(() => caches.match(request).then((hit) => hit || (fallback ? caches.match(fallback) : Response.error())));
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith(BASE + '/ws/')) return;
  if (request.mode === 'navigate') {
    event.respondWith(networkFirst(request, BASE + '/djust/offline.html'));
  } else if (url.pathname.startsWith(BASE + '/djust/') || url.pathname.startsWith(BASE + '/static/')) {
    event.respondWith(networkFirst(request, null));
  }
});

/* ---- 2. Background Sync ---- */

function openDb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE, { keyPath: 'key' });
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

function allActions(db) {
  return new Promise((resolve, reject) => {
    const req = db.transaction(STORE, 'readonly').objectStore(STORE).getAll();
    req.onsuccess = () => resolve(req.result || []);
    req.onerror = () => reject(req.error);
  });
}

function removeKeys(db, keys) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite');
    keys.forEach((key) => tx.objectStore(STORE).delete(key));
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

async function flush() {
  const db = await openDb();
  // Another tenant's actions are its worker's to deliver.
  const queued = (await allActions(db)).filter((a) => (a.base || '') === BASE).sort((a, b) => a.at - b.at);
  const groups = new Map(); // page and CSRF token -> actions
  queued.forEach((a) => {
    const id = a.url + '\n' + a.csrf;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id).push(a);
  });
  let decided = 0;
  let retry = false;
  for (const actions of groups.values()) {
    for (let i = 0; i < actions.length; i += BATCH) {
      const chunk = actions.slice(i, i + BATCH);
      const response = await fetch(BASE + '/djust/offline/sync', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': String(chunk[0].csrf) },
        body: JSON.stringify({ url: chunk[0].url, actions: chunk.map((a) => ({
          event: a.event, params: a.params, key: a.key, at: a.at, owner: a.owner })) }),
      });
      if (response.ok) {
        const body = await response.json();
        const results = Array.isArray(body.results) ? body.results : [];
        const done = [];
        chunk.forEach((a, n) => {
          const r = results[n];
          if (!r || r.status === 'retry') retry = true;
          else done.push(a.key);
        });
        await removeKeys(db, done);
        decided += done.length;
      } else if ([400, 401, 403, 404, 413].includes(response.status)) {
        // Refused whole, and it would be again (the session is gone, the
        // page no longer exists): the actions can never apply.
        await removeKeys(db, chunk.map((a) => a.key));
        decided += chunk.length;
      } else {
        retry = true;
      }
    }
  }
  const pages = await self.clients.matchAll({ type: 'window' });
  pages.forEach((page) => page.postMessage({ type: 'djust-offline-synced', decided }));
  if (retry) throw new Error('some actions wait for a later sync');
}

self.addEventListener('sync', (event) => {
  if (event.tag === 'djust-offline' || event.tag.startsWith('djust-offline:')) event.waitUntil(flush());
});
