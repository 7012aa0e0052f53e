/*
 * djust.js: browser client of djust-rs (ES2018, no build step, no dependencies).
 * 1. Security (window.djustSecurity): server HTML goes through DOMParser (its
 *    scripts never run) and strip(). No innerHTML writes, no eval.
 * 2. Patches (djust.applyPatches): the semantics of the Rust reference applier
 *    in djust-runtime/src/vdom/reference.rs.
 * 3. Events: delegated on each view root; debounce/throttle; dj-loading.
 * 4. Connection: a WebSocket per [data-djust-view] root, reconnect with backoff;
 *    after a drop the client resumes its view (resume token), else mounts anew.
 *    Under a path-prefix tenant (<meta name="djust-base" content="/t/acme">)
 *    the socket protocol speaks the app's paths (/notes) and the browser the
 *    tenant's (/t/acme/notes): pageUrl() and browserUrl() map between them.
 * 5. Uploads: dj-upload inputs stream files as acknowledged binary chunks,
 *    with progress, preview, cancel and errors shown without custom JS.
 * 6. Navigation: dj-patch / dj-navigate links and Back/Forward move over the
 *    socket (history, title, focus, scroll, an aria-live announcement);
 *    flash messages; dj-guard forms ask before typed input is thrown away.
 * 7. Client commands (dj-click={JS::..}) and hooks (dj-hook="Name").
 *    An event inside a component ([data-djust-component]) or with dj-target
 *    carries the component's id as `target`.
 * 8. Public API (window.djust) and start-up.
 * 9. Offline: events of #[event_handler(offline)] handlers are queued in
 *    IndexedDB while offline and replayed over the socket once it is back
 *    (the service worker's Background Sync delivers them otherwise).
 */
(function () {
'use strict';

/* ---- 1. Security ---- */

const BAD_KEYS = ['__proto__', 'constructor', 'prototype'];
const URL_ATTR = /^(href|src|action|formaction|poster|cite|data|background|xlink:href)$/;

/** One log line: no ANSI/control/bidi characters, <= 500 characters. */
function sanitizeForLog(value) {
  const chars = Array.from(String(value).slice(0, 2000)
    .replace(/(\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?|\x1b[\x20-\x2f]*[\x30-\x7e]?/g, '')
    .replace(/[\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g, '')
    .replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]+/g, ' '));
  return chars.slice(0, 500).join('') + (chars.length > 500 ? '\u2026[truncated]' : '');
}

function put(obj, key, value) {
  if (!BAD_KEYS.includes(key)) obj[key] = value;
}

function safeObjectAssign(target, source) {
  Object.keys(Object(source)).forEach((k) => put(target, k, source[k]));
  return target;
}

/** Relative, fragment, or an allowed scheme (as the browser reads it). */
function safeUrl(value) {
  const m = /^([a-z][a-z0-9+.-]*):/.exec(String(value).replace(/[\x00-\x20\x7f]+/g, '').toLowerCase());
  return !m || /^(https?|mailto|tel)$/.test(m[1]);
}

/** The value to store for attribute `name`; null: refuse it. */
function checkAttr(name, value) {
  const n = String(name).toLowerCase();
  if (n.startsWith('on') || n === 'srcdoc') return null;
  const ok = /^(image)?srcset$/.test(n)
    ? String(value).split(',').every((c) => safeUrl(c.trim().split(/\s+/)[0]))
    : !URL_ATTR.test(n) || safeUrl(value);
  return ok ? value : '#blocked';
}

function strip(box) {
  box.querySelectorAll('script,base,meta[http-equiv]').forEach((el) => el.remove());
  for (const el of box.querySelectorAll('*')) {
    if (el.localName === 'template' && el.content) strip(el.content);
    if (/^(animate|set)$/.test(el.localName) && /href/i.test(el.getAttribute('attributeName'))) el.remove(); // svg URL
    for (const attr of Array.from(el.attributes)) {
      const v = checkAttr(attr.name, attr.value);
      if (v === null) el.removeAttributeNode(attr);
      else attr.value = v;
    }
  }
  const comments = (box.ownerDocument || box).createNodeIterator(box, NodeFilter.SHOW_COMMENT);
  for (let c; (c = comments.nextNode());) c.remove();
  box.normalize(); // like the server: adjacent text merged
}

/** Stripped nodes of `html` parsed in a <body> or <template>. */
function parse(html, inTemplate) {
  const doc = new DOMParser().parseFromString('<!DOCTYPE html>' +
    (inTemplate ? '<template>' + html + '</template>' : '<body>' + html), 'text/html');
  const box = inTemplate ? doc.querySelector('template').content : doc.body;
  strip(box);
  return Array.from(box.childNodes, (n) => document.importNode(n, true));
}

function safeSetInnerHTML(el, html) {
  const frag = document.createDocumentFragment();
  parse(String(html), false).forEach((n) => frag.appendChild(n));
  el.replaceChildren(frag);
}

function _log(root, msg) {
  if (root.hasAttribute('data-djust-debug')) console.debug('[djust] ' + sanitizeForLog(msg));
}

/* ---- 2. Patches ---- */

const typing = new Set(); // inputs with a debounced event pending
const isIndex = (n, len) => Number.isInteger(n) && n >= 0 && n < len;
const idOk = (node, id) => id == null || (node.nodeType === 1 && node.getAttribute('dj-id') === String(id));

function parseOne(html) {
  const nodes = typeof html === 'string' ? parse(html, true) : [];
  return nodes.length === 1 ? nodes[0] : null;
}

function resolve(root, path) {
  if (!/^(\/\d+)*$/.test(path)) return null;
  let node = root;
  for (const seg of path.split('/').slice(1)) node = node && node.childNodes[Number(seg)];
  return node || null;
}

function applyOne(root, p, touched) {
  const t = p && p.type;
  const childOp = /^(insert|remove|move)_child$/.test(t);
  const node = p && (p.path !== '' || (childOp && p.id == null)) && resolve(root, p.path);
  if (!node || !idOk(node, p.id)) return false;
  const kids = node.childNodes;
  const len = kids.length;
  const key = node.nodeType === 1 && typeof p.key === 'string' ? p.key : null;
  if (childOp) {
    const fresh = t === 'insert_child' && parseOne(p.node);
    if (node.nodeType !== 1) return false;
    if (fresh && isIndex(p.index, len + 1)) node.insertBefore(fresh, kids[p.index] || null);
    else if (t === 'remove_child' && isIndex(p.index, len)) node.removeChild(kids[p.index]);
    else if (t === 'move_child' && isIndex(p.from, len) && isIndex(p.to, len)) {
      node.insertBefore(kids[p.from], kids[p.to < p.from ? p.to : p.to + 1] || null); // ends at `to`
    } else return false;
  } else if (t === 'replace') {
    const fresh = parseOne(p.value);
    if (!fresh) return false;
    node.parentNode.replaceChild(fresh, node);
  } else if (t === 'set_text' && node.nodeType === 3 && typeof p.value === 'string') {
    node.nodeValue = p.value;
  } else if (/^(set|remove)_attr$/.test(t) && key !== null) {
    const keep = kept.get(node);
    if (keep && keep.attrs.has(key)) return true; // a client command keeps it
    const value = t === 'set_attr' ? checkAttr(key, String(p.value)) : null;
    if (t === 'remove_attr') node.removeAttribute(key);
    else if (value === null) return _log(root, 'refused ' + key) || true; // skipped
    else node.setAttribute(key, value);
    if (/^(checked|selected)$/.test(key) && key in node) node[key] = value !== null;
    // The focused input of a validating form keeps what is being typed.
    const editing = node === document.activeElement && node.closest('form[dj-change]');
    if (key === 'value' && node.localName === 'input' && !typing.has(node) && !editing) node.value = value || '';
    if (key === 'class' && keep) keep.classes.forEach((on, name) => node.classList.toggle(name, on));
  } else return false;
  if (touched) touched.push(t === 'replace' ? null : node);
  return true;
}

/** Applies `patches` in order under `root`; false at the first bad one.
 * `touched` (optional array) receives the nodes the patches changed. */
function applyPatches(root, patches, touched) {
  if (!root || root.nodeType !== 1 || !Array.isArray(patches)) return false;
  return patches.every((p, i) => {
    let ok = false;
    try { ok = applyOne(root, p, Array.isArray(touched) ? touched : null); } catch (e) { /* e.g. bad attribute name */ }
    if (!ok) _log(root, 'bad patch ' + i);
    return ok;
  });
}

/* Streams: the items of a dj-stream container live only here. The server
   sends each change once ("stream" frames) and keeps nothing, so its
   patches never touch a container's children, and an html_update (which
   renders containers empty) must not drop them. */

function streamContainers(root) {
  const found = new Map();
  for (const el of Array.from(root.querySelectorAll('[dj-stream]'))) {
    const name = el.getAttribute('dj-stream');
    if (!found.has(name)) found.set(name, el);
  }
  return found;
}

function streamItem(container, id) {
  return Array.from(container.children).find((el) => el.getAttribute('data-djust-stream-id') === id) || null;
}

function applyStream(root, name, ops) {
  const container = streamContainers(root).get(String(name));
  if (!container || !Array.isArray(ops)) return;
  let trimFromStart = true;
  for (const op of ops) {
    if (!op || typeof op !== 'object') continue;
    const id = String(op.id);
    if (op.op === 'insert') {
      const el = parseOne(op.html);
      if (!el || el.nodeType !== 1 || el.getAttribute('data-djust-stream-id') !== id) continue;
      const existing = streamItem(container, id);
      if (existing) { existing.replaceWith(el); continue; }
      const at = Number(op.at);
      const before = at >= 0 ? container.children[at] || null : null;
      container.insertBefore(el, before);
      trimFromStart = !(at >= 0);
    } else if (op.op === 'delete') {
      const existing = streamItem(container, id);
      if (existing) existing.remove();
    } else if (op.op === 'reset') {
      container.replaceChildren();
    }
  }
  const limit = Number(container.getAttribute('dj-stream-limit'));
  if (Number.isInteger(limit) && limit > 0) {
    while (container.children.length > limit) {
      (trimFromStart ? container.firstElementChild : container.lastElementChild).remove();
    }
  }
}

/* Replaces the root's content keeping each stream's items (an html_update
   renders the containers empty: the items exist only in the browser). */
function replaceKeepingStreams(root, html) {
  const kept = new Map();
  for (const [name, el] of streamContainers(root)) kept.set(name, Array.from(el.childNodes));
  safeSetInnerHTML(root, html);
  for (const [name, el] of streamContainers(root)) {
    if (!el.firstChild && kept.has(name)) el.replaceChildren(...kept.get(name));
  }
}

/* ---- 3. Events ---- */

const slots = new WeakMap(); // element -> {kind: {timer, last, send}}
const KINDS = { click: 'click', submit: 'submit', change: 'change', input: 'input', focusout: 'blur', focusin: 'focus' };

function flush(el) {
  for (const s of Object.values(slots.get(el) || {})) {
    clearTimeout(s.timer);
    const send = s.send;
    s.timer = s.send = null;
    if (send) send();
  }
  typing.delete(el);
}

/** Sends now, after dj-debounce ms (default `wait`), on blur, or throttled. */
function schedule(el, kind, send, wait) {
  const all = slots.get(el) || {};
  const s = all[kind] || (all[kind] = { last: 0 });
  slots.set(el, all);
  const debounce = el.getAttribute('dj-debounce');
  const ms = debounce === null ? wait : Number(debounce);
  const left = s.last + Number(el.getAttribute('dj-throttle')) - Date.now();
  if (debounce === 'blur' || ms > 0 || left > 0) s.send = send;
  if (ms > 0) {
    clearTimeout(s.timer);
    typing.add(el);
    s.timer = setTimeout(() => flush(el), ms);
  } else if (left > 0) { // one trailing call
    s.timer = s.timer || setTimeout(() => { s.last = Date.now(); flush(el); }, left);
  } else if (debounce !== 'blur') {
    s.last = Date.now();
    send();
  }
}

function fieldValue(el) {
  if (/^(checkbox|radio)$/.test(el.type)) return el.checked ? el.value || 'on' : '';
  if (el.type === 'select-multiple') return Array.from(el.selectedOptions, (o) => o.value);
  return typeof el.value === 'string' ? el.value : '';
}

function formParams(form, submitter) {
  const params = {};
  for (const [name, value] of new FormData(form, submitter)) {
    if (typeof value !== 'string') continue;
    const seen = Object.prototype.hasOwnProperty.call(params, name);
    put(params, name, seen ? [].concat(params[name], value) : value);
  }
  for (const el of form.elements) {
    if (el.type === 'select-multiple' && el.name && !el.disabled) put(params, el.name, fieldValue(el));
  }
  return params;
}

function bind(view) {
  const root = view.root;
  const fire = (el, name, params, kind, wait) => {
    for (const a of el.attributes) if (a.name.startsWith('dj-value-')) put(params, a.name.slice(9), a.value);
    const commands = commandsOf(name);
    schedule(el, kind, () => (commands ? runCommands(view, el, commands, params) : pushEvent(view, el, name, params)), wait);
  };
  const on = (type, fn) => root.addEventListener(type, (e) => {
    const t = e.target;
    if (t instanceof Element && t.closest('[data-djust-view]') === root) fn(e, t);
  });
  Object.keys(KINDS).forEach((type) => on(type, (e, target) => {
    let kind = KINDS[type];
    if (type === 'focusout') flush(target); // dj-debounce="blur"
    const text = /^(textarea|text|search|email|url|tel|password|number)$/.test(target.type);
    // A form's dj-change validates as you type: text inputs send on input
    // (debounced: 300 ms or the form's dj-debounce); their change event only flushes.
    const changeForm = text && target.name ? target.closest('form[dj-change]') : null;
    if (changeForm && kind === 'change') return flush(changeForm);
    if (changeForm && kind === 'input' && !target.closest('[dj-input]')) kind = 'change';
    const el = target.closest('[dj-' + kind + ']');
    if (!el || !root.contains(el) || (kind === 'submit' && el !== target)) return;
    let params = { value: fieldValue(target) };
    if (target.name) put(params, target.name, params.value);
    if (kind === 'click') {
      params = {};
      if (/^(a|button)$/.test(el.localName)) e.preventDefault();
    } else if (el.localName === 'form') {
      if (kind === 'submit') {
        e.preventDefault();
        Array.from(el.elements).forEach(flush);
        flush(el); // a dj-change still waiting goes first
      }
      params = formParams(el, e.submitter);
      // The field the user changed: the server marks only it as touched.
      if (kind === 'change' && target.name) put(params, '_target', target.name);
    }
    fire(el, el.getAttribute('dj-' + kind), params, kind, (kind === 'input' || el === changeForm) && text ? 300 : 0);
  }));
  ['keydown', 'keyup'].forEach((kind) => on(kind, (e, target) => {
    const key = e.key === ' ' ? 'space' : String(e.key).toLowerCase();
    const names = ['dj-' + kind, 'dj-' + kind + '.' + key];
    for (let el = target; root.contains(el); el = el.parentElement) {
      const attr = Array.from(el.attributes).find((a) => names.includes(a.name));
      if (attr) return fire(el, attr.value, { key: e.key, value: fieldValue(el) }, kind, 0);
    }
  }));
}

/* ---- 4. Connection ---- */

const views = [];
const handlers = new Map(); // push_event name -> Set of functions
let nextRef = 0;

function send(view, frame) {
  const ok = !!view.ws && view.ws.readyState === 1;
  if (ok) view.ws.send(JSON.stringify(frame));
  return ok;
}

/** The component an element's events go to: its dj-target, else the id of
 *  the nearest component root inside the view; null for the view itself. */
function eventTarget(view, el) {
  if (!(el instanceof Element)) return null;
  const explicit = el.getAttribute('dj-target');
  if (explicit) return explicit;
  const root = el.closest('[data-djust-component]');
  return root && view.root.contains(root) ? root.getAttribute('data-djust-component') : null;
}

function pushEvent(view, el, name, params) {
  const ref = ++nextRef;
  if (offlineCapable(view, name) && (!view.mounted || !navigator.onLine || view.replaying)) {
    return queueOffline(view, String(name), params);
  }
  const frame = { type: 'event', event: String(name), params, ref };
  const target = eventTarget(view, el);
  if (target) frame.target = target;
  if (!view.mounted || !send(view, frame)) {
    return _log(view.root, 'offline: event dropped');
  }
  view.pending.set(ref, el);
  el.classList.add('dj-loading');
  view.root.classList.add('dj-loading');
  if (el.localName === 'form' && name === el.getAttribute('dj-submit')) submitting(el, ref);
}

/* A submit in flight: the form gets the dj-submitting class and each
   [dj-disable-with] control in it is disabled showing that text, until
   the reply to this submit comes (then the text and state are restored). */
const submits = new WeakMap(); // form -> {ref, controls: [[el, text, disabled]]}

function submitting(form, ref) {
  if (submits.has(form)) release(form);
  const controls = [];
  for (const el of Array.from(form.querySelectorAll('[dj-disable-with]'))) {
    controls.push([el, el.textContent, el.disabled]);
    el.textContent = el.getAttribute('dj-disable-with');
    el.disabled = true;
  }
  form.classList.add('dj-submitting');
  submits.set(form, { ref, controls });
}

function release(form) {
  const s = submits.get(form);
  if (!s) return;
  submits.delete(form);
  for (const [el, text, disabled] of s.controls) {
    if (el.getAttribute('dj-disable-with') === el.textContent) el.textContent = text;
    el.disabled = disabled;
  }
  form.classList.remove('dj-submitting');
  if (!form.classList.length) form.removeAttribute('class');
}

/* Form recovery: when the view is mounted afresh after the connection was
   lost (the server restarted, or the view could not be resumed), the new
   render has empty forms. The values typed into each form with an id and a
   dj-change are put back and sent to dj-change again, so the server's state
   catches up with what the user sees. Passwords and files are not
   recovered; dj-auto-recover="ignore" opts a form out. */
const NOT_RECOVERED = /^(password|file|submit|button|reset|image|hidden)$/;

function captureForms(root) {
  const saved = [];
  for (const form of Array.from(root.querySelectorAll('form[id][dj-change]'))) {
    if (form.getAttribute('dj-auto-recover') === 'ignore') continue;
    const fields = [];
    for (const el of Array.from(form.elements)) {
      if (!el.name || NOT_RECOVERED.test(el.type)) continue;
      fields.push({ name: el.name, type: el.type, value: fieldValue(el), checked: el.checked === true });
    }
    saved.push({ id: form.id, fields });
  }
  return saved;
}

function restoreForms(view, saved) {
  for (const { id, fields } of saved) {
    const form = Array.from(view.root.querySelectorAll('form[dj-change]')).find((f) => f.id === id);
    if (!form || form.getAttribute('dj-auto-recover') === 'ignore') continue;
    for (const field of fields) {
      const matching = Array.from(form.elements).filter((el) => el.name === field.name && el.type === field.type);
      for (const el of matching) {
        if (/^(checkbox|radio)$/.test(el.type)) {
          if (el.value === field.value || (field.value === 'on' && !el.value)) el.checked = field.checked;
          else if (el.type === 'radio' && field.checked) el.checked = false;
        } else if (el.type === 'select-multiple') {
          const chosen = [].concat(field.value);
          Array.from(el.options).forEach((o) => { o.selected = chosen.includes(o.value); });
        } else if (typeof field.value === 'string') {
          el.value = field.value;
        }
      }
    }
    pushEvent(view, form, form.getAttribute('dj-change'), formParams(form));
  }
}

function unload(el) {
  el.classList.remove('dj-loading');
  if (!el.classList.length) el.removeAttribute('class');
}

/** The reply to event `ref` came (or never will). */
function settle(view, ref) {
  const el = view.pending.get(ref);
  if (!view.pending.delete(ref)) return;
  if ((submits.get(el) || {}).ref === ref) release(el);
  const busy = Array.from(view.pending.values());
  if (!busy.includes(el)) unload(el);
  if (!busy.length) unload(view.root);
}

const settleAll = (view) => Array.from(view.pending.keys()).forEach((ref) => settle(view, ref));
const setStatus = (view, status) => view.root.setAttribute('data-djust-status', status);
const emit = (view, name, detail) => view.root.dispatchEvent(new CustomEvent(name, { detail, bubbles: true }));

/** The path prefix of a path-prefix tenant ('' without one). */
const BASE = (() => {
  const meta = document.querySelector('meta[name="djust-base"]');
  const base = meta ? meta.getAttribute('content') || '' : '';
  return /^(\/[a-z0-9_-]{1,63}){2}$/.test(base) ? base : '';
})();

/** The app path of browser path `path`; null when it is outside the tenant. */
function appPath(path) {
  if (!BASE) return path;
  if (path === BASE) return '/';
  return path.startsWith(BASE + '/') ? path.slice(BASE.length) : null;
}

/** The app URL (path and query) of the page shown. */
const pageUrl = () => (appPath(location.pathname) || location.pathname) + location.search;

/** The browser URL of app URL `to` (a same-origin path the server sent). */
const browserUrl = (to) => BASE + to;

function onFrame(view, data) {
  let f = {};
  try { f = Object(JSON.parse(data)); } catch (e) { /* not JSON */ }
  const root = view.root;
  const type = f.type;
  if (['mount', 'html_update', 'patch', 'resumed', 'live_navigate'].includes(type)) view.pristine = false;
  if (type === 'connect' && view.resume) {
    send(view, { type: 'resume', view: root.dataset.djustView || '', token: view.resume, version: view.version });
  } else if (type === 'connect' || type === 'resume_refused') {
    view.resume = null;
    // The digest names the render the page shows: an unchanged first
    // render comes back without its HTML and the DOM is kept. Once the
    // DOM changed (a mount, a patch, a navigation), it no longer names it.
    const digest = view.pristine ? root.dataset.djustDigest : undefined;
    send(view, { type: 'mount', view: root.dataset.djustView || '', params: {},
      url: pageUrl(), mount_token: root.dataset.djustToken || '', digest });
  } else if (type === 'resumed' && typeof f.resume_token === 'string') {
    view.resume = f.resume_token; // what was missed follows
    view.mounted = true;
    view.attempt = 0;
    setStatus(view, 'connected');
    onlineAgain(view);
    reconnected(view);
    emit(view, 'djust:reconnected', {});
  } else if (type === 'mount' || type === 'html_update') {
    const html = typeof f.html === 'string' ? f.html : '';
    // A remount after a lost connection: what was typed is put back below.
    const recovered = type === 'mount' && view.everMounted && f.unchanged !== true ? captureForms(root) : [];
    if (type === 'html_update') replaceKeepingStreams(root, html);
    else if (f.unchanged !== true) safeSetInnerHTML(root, html);
    view.version = Number(f.version) || 0;
    view.resync = false;
    if (type === 'mount') {
      // 'kept': the first render was the page's own, its DOM stayed.
      root.setAttribute('data-djust-mount', f.unchanged === true ? 'kept' : 'rendered');
      view.resume = typeof f.resume_token === 'string' ? f.resume_token : null;
      view.mounted = true;
      view.everMounted = true;
      view.attempt = 0;
      settleAll(view);
      setStatus(view, 'connected');
      onlineAgain(view);
      restoreForms(view, recovered);
      reconnected(view); // the old hooks hear it, then make way for the new DOM
    }
    syncHooks(view, null);
  } else if (type === 'patch') {
    if (!view.resync) { // ignored until the html_update
      const touched = [];
      if (f.version === view.version + 1 && applyPatches(root, f.patches, touched)) view.version = f.version;
      else {
        view.resync = send(view, { type: 'request_html' });
        emit(view, 'djust:resync', { version: view.version });
      }
      syncHooks(view, touched);
    }
    settle(view, f.ref);
  } else if (type === 'noop' || type === 'error') {
    settle(view, f.ref);
    if (type === 'error') emit(view, 'djust:error', { error: String(f.error) });
  } else if (type === 'rate_limit_exceeded') {
    emit(view, 'djust:rate-limited', { message: String(f.message) });
    if (view.replaying) replayLater(view); // the replay frame was not read
  } else if (type === 'navigate' && samePath(f.to)) {
    view.navigated = true;
    leaving = true; // the server sends us away: no unsaved-changes prompt
    if (f.replace) location.replace(browserUrl(f.to)); else location.assign(browserUrl(f.to));
  } else if (type === 'live_patch' && samePath(f.to)) {
    record(view, browserUrl(f.to), f.kind);
    markCurrentLinks();
  } else if (type === 'live_navigate' && samePath(f.to)) {
    navigated(view, f);
  } else if (type === 'stream' && typeof f.name === 'string') {
    applyStream(root, f.name, f.ops);
    syncHooks(view, null); // streamed items can carry dj-hook
  } else if (type === 'title' && typeof f.title === 'string') {
    document.title = f.title;
  } else if (type === 'flash' && Array.isArray(f.flash)) {
    showFlash(f.flash, false);
  } else if (type === 'push_event' && typeof f.event === 'string') {
    for (const fn of Array.from(handlers.get(f.event) || [])) {
      try { fn(f.payload); } catch (e) { _log(root, 'handler failed'); }
    }
    hookEvent(view, f.event, f.payload);
    emit(view, 'djust:' + f.event, f.payload);
  } else if (type === 'replayed') {
    replayed(view, f);
  } else if (/^upload_(ack|done|error)$/.test(type)) {
    uploadFrame(view, f);
  } else if (type !== 'pong') {
    _log(root, 'frame ignored');
  }
}

function open(view) {
  if (view.ws || view.stopped) return;
  setStatus(view, 'connecting');
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + BASE + '/ws/live/');
  view.ws = ws;
  ws.onmessage = (m) => view.ws === ws && onFrame(view, m.data);
  ws.onclose = (e) => view.ws === ws && closed(view, e.code);
  view.heartbeat = setInterval(() => send(view, { type: 'ping' }), 25000);
}

function closed(view, code) {
  clearInterval(view.heartbeat);
  view.ws = null;
  view.mounted = false;
  settleAll(view);
  for (const entry of Array.from(view.uploads.values())) { // the server dropped it
    uploadFrame(view, { type: 'upload_error', ref: entry.ref, error: 'The connection was lost: choose the file again.' });
  }
  setStatus(view, 'disconnected');
  markOffline();
  if (view.navigated || view.stopped) return; // navigation wins
  view.dropped = true;
  view.hooks.forEach((hook) => callHook(view, hook, 'disconnected'));
  emit(view, 'djust:disconnected', { code });
  view.stopped = code === 4403 || code === 4429; // refused: no retry
  const delay = Math.min(10000, 500 * Math.pow(2, view.attempt++));
  if (!view.stopped) view.timer = setTimeout(() => open(view), delay * (0.5 + Math.random() / 2));
}

/* ---- 5. Uploads ---- */

const CHUNK = 64 * 1024; // a binary frame: reference length, reference, data
let uploadCount = 0;

/** Elements of the view marking slot `slot` with attribute `attr`. */
function slotEls(view, attr, slot) {
  return Array.from(view.root.querySelectorAll('[' + attr + ']'))
    .filter((el) => el.getAttribute(attr) === slot);
}

function showUpload(view, entry) {
  const pct = entry.size ? Math.floor(100 * entry.offset / entry.size) : 0;
  for (const el of slotEls(view, 'dj-upload-progress', entry.slot)) {
    if (el.localName === 'progress') { el.max = 100; el.value = pct; }
    el.setAttribute('data-progress', String(pct));
  }
  entry.input.setAttribute('data-progress', String(pct));
  entry.input.classList.toggle('dj-uploading', entry.state === 'sending');
  entry.input.classList.toggle('dj-upload-done', entry.state === 'done');
  entry.input.classList.toggle('dj-upload-error', entry.state === 'error');
}

function uploadError(view, slot, message) {
  for (const el of slotEls(view, 'dj-upload-error', slot)) el.textContent = message;
}

function startUploads(view, input) {
  const slot = input.getAttribute('dj-upload');
  cancelUploads(view, slot, false);
  uploadError(view, slot, '');
  for (const el of slotEls(view, 'dj-upload-preview', slot)) el.removeAttribute('src');
  Array.from(input.files || []).forEach((file, i) => {
    const entry = { ref: 'u' + (++uploadCount), slot, file, input, size: file.size, offset: 0, state: 'sending' };
    view.uploads.set(entry.ref, entry);
    if (i === 0 && /^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(file.type)) {
      for (const el of slotEls(view, 'dj-upload-preview', slot)) el.src = URL.createObjectURL(file);
    }
    showUpload(view, entry);
    send(view, { type: 'upload', slot, ref: entry.ref, name: file.name, size: file.size, mime: file.type });
  });
}

function cancelUploads(view, slot, clearInput) {
  for (const entry of Array.from(view.uploads.values())) {
    if (entry.slot !== slot) continue;
    send(view, { type: 'upload_cancel', ref: entry.ref });
    view.uploads.delete(entry.ref);
    entry.offset = 0;
    entry.state = 'cancelled';
    showUpload(view, entry);
    if (clearInput) entry.input.value = '';
  }
  if (clearInput) {
    for (const el of slotEls(view, 'dj-upload-preview', slot)) el.removeAttribute('src');
  }
}

async function sendChunk(view, entry) {
  const data = new Uint8Array(await entry.file.slice(entry.offset, entry.offset + CHUNK - 1 - entry.ref.length).arrayBuffer());
  if (view.uploads.get(entry.ref) !== entry) return; // cancelled meanwhile
  const frame = new Uint8Array(1 + entry.ref.length + data.length);
  frame[0] = entry.ref.length;
  for (let i = 0; i < entry.ref.length; i++) frame[1 + i] = entry.ref.charCodeAt(i);
  frame.set(data, 1 + entry.ref.length);
  if (view.ws && view.ws.readyState === 1) view.ws.send(frame);
}

function uploadFrame(view, f) {
  const entry = view.uploads.get(String(f.ref));
  if (f.type === 'upload_error') {
    const message = String(f.error);
    if (entry) {
      entry.state = 'error';
      view.uploads.delete(entry.ref);
      showUpload(view, entry);
      uploadError(view, entry.slot, message);
    }
    return emit(view, 'djust:upload-error', { slot: entry && entry.slot, error: message });
  }
  if (!entry) return;
  if (f.type === 'upload_done') {
    entry.state = 'done';
    entry.offset = entry.size;
    view.uploads.delete(entry.ref);
    showUpload(view, entry);
    return emit(view, 'djust:upload-done', { slot: entry.slot, name: entry.file.name });
  }
  entry.offset = Number(f.offset) || 0;
  showUpload(view, entry);
  if (entry.offset < entry.size) {
    setTimeout(() => sendChunk(view, entry), Math.min(60000, Number(f.wait_ms) || 0));
  }
}

function bindUploads(view) {
  view.root.addEventListener('change', (e) => {
    const t = e.target;
    if (t instanceof HTMLInputElement && t.type === 'file' && t.hasAttribute('dj-upload') &&
        t.closest('[data-djust-view]') === view.root) startUploads(view, t);
  });
  view.root.addEventListener('click', (e) => {
    const el = e.target instanceof Element && e.target.closest('[dj-upload-cancel]');
    if (el && view.root.contains(el)) {
      e.preventDefault();
      cancelUploads(view, el.getAttribute('dj-upload-cancel'), true);
    }
  });
}

/* ---- 6. Navigation, flash and guarded forms ---- */

/** A same-origin path (no scheme, no `//host`, no control characters). */
const samePath = (to) => typeof to === 'string' && /^\/(?![\/\\])[^\x00-\x1f\x7f]*$/.test(to);
const FLASH_KINDS = /^(info|success|warning|error)$/;
let leaving = false; // a navigation the page asked for: no guard prompt
let popScroll = null; // scroll position to restore after a Back/Forward
const here = () => ({ url: location.pathname + location.search, state: history.state });
let shown = null; // the URL and history state on screen (restored when leaving is declined)

/** The live view links and history go through (the page's mounted view). */
const liveView = () => views.find((v) => v.mounted && !v.stopped);

/** Saves the scroll position in the current history entry. */
function saveScroll() {
  const state = Object.assign({}, history.state || {}, { djust: true, scroll: window.scrollY });
  history.replaceState(state, '', location.href);
}

/** Records `to` in the history (`push` or `replace`; `pop`: already there). */
function record(view, to, kind) {
  const state = { djust: true, view: view.root.dataset.djustView || '', scroll: 0 };
  if (kind === 'push') { saveScroll(); history.pushState(state, '', to); }
  else if (kind === 'replace') history.replaceState(state, '', to);
  shown = here();
}

/** `aria-current="page"` on live links outside the views (a layout's menu). */
function markCurrentLinks() {
  document.querySelectorAll('a[dj-navigate], a[dj-patch]').forEach((a) => {
    if (a.closest('[data-djust-view]')) return; // the server renders those
    let path = null;
    try { path = new URL(a.href, location.href).pathname; } catch (e) { /* bad href */ }
    if (path === location.pathname) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

/** The visually hidden live region that announces a new page. */
function announce(text) {
  let region = document.querySelector('[data-djust-announce]');
  if (!region) {
    region = document.createElement('div');
    region.setAttribute('data-djust-announce', '');
    region.setAttribute('aria-live', 'assertive');
    region.setAttribute('aria-atomic', 'true');
    Object.assign(region.style, { position: 'absolute', width: '1px', height: '1px', overflow: 'hidden',
      clip: 'rect(0 0 0 0)', clipPath: 'inset(50%)', whiteSpace: 'nowrap', margin: '-1px', padding: '0', border: '0' });
    document.body.appendChild(region);
  }
  region.textContent = '';
  setTimeout(() => { region.textContent = text; }, 50); // a change screen readers notice
}

/** Another view of the live session replaced this one. */
function navigated(view, f) {
  const root = view.root;
  root.dataset.djustView = String(f.view);
  root.dataset.djustToken = String(f.mount_token || '');
  record(view, browserUrl(f.to), f.kind); // before the new content moves the scroll position
  safeSetInnerHTML(root, f.html);
  view.version = Number(f.version) || 0;
  view.resync = false;
  view.resume = typeof f.resume_token === 'string' ? f.resume_token : null;
  settleAll(view);
  view.uploads.clear();
  if (typeof f.title === 'string') document.title = f.title;
  showFlash(Array.isArray(f.flash) ? f.flash : [], true);
  syncHooks(view, null);
  markCurrentLinks();
  // Where a reader and a mouse user expect to be: the top of the new page
  // (or where they were, for Back/Forward), focus on its heading.
  if (f.kind === 'pop' && popScroll !== null) window.scrollTo(0, popScroll);
  else window.scrollTo(0, 0);
  popScroll = null;
  const target = root.querySelector('[autofocus]') || root.querySelector('h1') || root;
  if (!target.hasAttribute('tabindex') && !target.matches('[autofocus]')) target.setAttribute('tabindex', '-1');
  target.focus({ preventScroll: true });
  announce(document.title);
  emit(view, 'djust:navigated', { url: browserUrl(f.to), view: f.view });
}

/** The page's flash area (added before the first view when the layout has none). */
function flashArea() {
  let area = document.querySelector('[data-djust-flash]');
  if (!area) {
    area = document.createElement('div');
    area.className = 'djust-flash';
    area.setAttribute('data-djust-flash', '');
    area.setAttribute('role', 'status');
    area.setAttribute('aria-live', 'polite');
    const first = document.querySelector('[data-djust-view]');
    if (first) first.parentNode.insertBefore(area, first);
    else document.body.appendChild(area);
  }
  return area;
}

/** Shows flash messages as text (never markup); `replace` clears the old ones. */
function showFlash(list, replace) {
  const area = flashArea();
  if (replace) area.replaceChildren();
  list.forEach((item) => {
    const kind = FLASH_KINDS.test(item && item.kind) ? item.kind : 'info';
    const box = document.createElement('div');
    box.className = 'flash flash-' + kind;
    box.setAttribute('data-kind', kind);
    if (kind === 'error') box.setAttribute('role', 'alert');
    const text = document.createElement('span');
    text.className = 'flash-message';
    text.textContent = String(item && item.message);
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'flash-close';
    close.setAttribute('dj-flash-dismiss', '');
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '\u00d7';
    box.append(text, close);
    area.appendChild(box);
  });
}

const dirty = new Set(); // guarded forms with typed input not yet submitted

/** Whether the user agrees to leave typed input behind (asks at most once). */
function mayLeave() {
  for (const form of Array.from(dirty)) if (!form.isConnected) dirty.delete(form);
  if (!dirty.size) return true;
  const form = dirty.values().next().value;
  const ok = window.confirm(form.getAttribute('dj-guard') || 'You have unsaved changes. Leave this page?');
  if (ok) dirty.clear();
  return ok;
}

function bindNavigation() {
  document.addEventListener('click', (e) => {
    const t = e.target instanceof Element ? e.target : null;
    if (t && t.closest('[dj-flash-dismiss]')) {
      const box = t.closest('[dj-flash-dismiss]').closest('.flash');
      if (box) box.remove();
      return;
    }
    const a = t && t.closest('a[dj-patch], a[dj-navigate]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey ||
        (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
    let url = null;
    try { url = new URL(a.getAttribute('href') || '', location.href); } catch (err) { return; }
    const view = liveView();
    const path = url.origin === location.origin ? appPath(url.pathname) : null;
    if (path === null || !view) return; // the browser loads it (another site or tenant)
    e.preventDefault();
    if (!mayLeave()) return;
    const to = path + url.search;
    send(view, { type: a.hasAttribute('dj-patch') ? 'live_patch' : 'live_navigate', url: to,
      kind: a.hasAttribute('dj-replace') ? 'replace' : 'push' });
  });
  window.addEventListener('popstate', (e) => {
    const state = e.state || {};
    const view = liveView();
    if (!view || !state.djust) return view ? location.reload() : undefined;
    if (!mayLeave()) { if (shown) history.pushState(shown.state, '', shown.url); return; }
    shown = here();
    popScroll = Number(state.scroll) || 0;
    const same = state.view === (view.root.dataset.djustView || '');
    send(view, { type: same ? 'live_patch' : 'live_navigate', url: pageUrl(), kind: 'pop' });
    if (same) { window.scrollTo(0, popScroll); popScroll = null; }
  });
  document.addEventListener('input', (e) => {
    const form = e.target instanceof Element && e.target.closest('form[dj-guard]');
    if (form) dirty.add(form);
  });
  document.addEventListener('submit', (e) => {
    if (e.target instanceof Element && e.target.matches('form[dj-guard]')) dirty.delete(e.target);
  }, true);
  window.addEventListener('beforeunload', (e) => {
    for (const form of Array.from(dirty)) if (!form.isConnected) dirty.delete(form);
    if (dirty.size && !leaving) { e.preventDefault(); e.returnValue = ''; }
  });
  history.scrollRestoration = 'manual';
}

/* ---- 7. Client commands and hooks ---- */

const kept = new WeakMap(); // element -> {classes: Map name -> on, attrs: Map name -> value|null}
const CMD_ATTR = /^[a-z][a-z0-9_.:-]{0,63}$/;
const CMD_REFUSED = /^(on|dj-|data-djust|xmlns)|^(style|srcdoc|is|attributename|values|from|to|by|http-equiv|content)$/;
const EVENT_NAME = /^(?!.*__)[a-z][a-z0-9_]{0,63}$/;
const DISPATCH_NAME = /^(?!djust)[a-z][a-z0-9]*([:-][a-z0-9]+)+$/;
const HOOK_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const hookSpecs = Object.create(null); // name -> {mounted(), updated(), ...}

/** The commands of a `dj-*` value: a JSON array (a handler name never starts with `[`). */
function commandsOf(value) {
  if (typeof value !== 'string' || value[0] !== '[') return null;
  try { const list = JSON.parse(value); return Array.isArray(list) ? list.slice(0, 32) : []; } catch (e) { return []; }
}

/** The value a command may set attribute `name` to; null: refused (as on the server). */
function commandAttr(name, value) {
  if (typeof name !== 'string' || !CMD_ATTR.test(name) || CMD_REFUSED.test(name)) return null;
  if (typeof value !== 'string' || value.length > 2048 || /[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return null;
  const checked = checkAttr(name, value);
  const list = name === 'ping' ? value.split(/\s+/).filter(Boolean) : null;
  return checked === value && (!list || list.every(safeUrl)) ? value : null;
}

function keepOf(el) {
  if (!kept.has(el)) kept.set(el, { classes: new Map(), attrs: new Map() });
  return kept.get(el);
}

function targets(view, selector) {
  if (typeof selector !== 'string' || !selector || selector.length > 256) return [];
  try { return Array.from(view.root.querySelectorAll(selector)); } catch (e) { return []; }
}

/** Runs one DOM command on element `t` (DOM APIs only: no markup, no code). */
function runOn(t, c) {
  const names = (Array.isArray(c.names) ? c.names : [])
    .filter((n) => typeof n === 'string' && /^[^\s\x00-\x1f]{1,128}$/.test(n)).slice(0, 32);
  const op = c.op;
  if (/^(show|hide|toggle)$/.test(op)) {
    const hide = op === 'hide' || (op === 'toggle' && !t.hasAttribute('hidden'));
    if (hide) t.setAttribute('hidden', ''); else t.removeAttribute('hidden');
    if (c.keep) keepOf(t).attrs.set('hidden', hide ? '' : null);
  } else if (op === 'add_class' || op === 'remove_class') {
    const on = op === 'add_class';
    names.forEach((n) => { t.classList.toggle(n, on); if (c.keep) keepOf(t).classes.set(n, on); });
  } else if (op === 'transition') {
    t.classList.add(...names);
    setTimeout(() => t.classList.remove(...names), Math.min(10000, Math.max(0, Number(c.ms) || 0)));
  } else if (op === 'set_attr' || op === 'remove_attr') {
    const set = op === 'set_attr';
    if (commandAttr(c.name, set ? c.value : '') === null) return;
    if (set) t.setAttribute(c.name, c.value); else t.removeAttribute(c.name);
    if (c.keep) keepOf(t).attrs.set(c.name, set ? c.value : null);
  } else if (op === 'dispatch' && typeof c.event === 'string' && c.event.length <= 64 && DISPATCH_NAME.test(c.event)) {
    t.dispatchEvent(new CustomEvent(c.event, { bubbles: true, detail: {} }));
  }
}

/** Runs the commands of a `dj-*` event on `el`; `push` sends like dj-click. */
function runCommands(view, el, commands, params) {
  commands.forEach((c) => {
    if (!c || typeof c !== 'object') return;
    if (c.op === 'push') {
      if (typeof c.event !== 'string' || !EVENT_NAME.test(c.event)) return;
      const all = safeObjectAssign({}, params);
      Object.keys(Object(c.params)).forEach((k) => put(all, k, String(c.params[k])));
      return pushEvent(view, el, c.event, all);
    }
    const found = targets(view, c.to);
    if (c.op === 'focus') return found[0] && found[0].focus();
    found.forEach((t) => runOn(t, c));
  });
}

/** `djust.registerHook(name, {mounted() {..}, ..})` (or `djust.hooks.Name = {..}`). */
function registerHook(name, spec) {
  if (typeof name === 'string' && HOOK_NAME.test(name) && spec && typeof spec === 'object') hookSpecs[name] = spec;
}

function callHook(view, hook, callback) {
  const fn = hook.spec[callback];
  if (typeof fn !== 'function') return;
  try { fn.call(hook.ctx); } catch (e) { _log(view.root, 'hook ' + hook.name + '.' + callback + ' failed'); }
}

/** A hook instance: `this` in its callbacks (el, pushEvent, handleEvent). */
function newHook(view, el, name) {
  const hook = { name, spec: hookSpecs[name], events: new Map() };
  hook.ctx = Object.create(hook.spec);
  hook.ctx.el = el;
  hook.ctx.pushEvent = (event, params) => {
    if (typeof event === 'string' && EVENT_NAME.test(event)) pushEvent(view, el, event, safeObjectAssign({}, params));
  };
  hook.ctx.handleEvent = (event, fn) => {
    if (typeof event === 'string' && typeof fn === 'function') hook.events.set(event, fn);
  };
  return hook;
}

/** Hooks after the view's DOM changed: destroyed, mounted, updated (`touched` nodes; null: all new). */
function syncHooks(view, touched) {
  const root = view.root;
  for (const [el, hook] of Array.from(view.hooks)) {
    if (!root.contains(el) || el.getAttribute('dj-hook') !== hook.name) {
      view.hooks.delete(el);
      callHook(view, hook, 'destroyed');
    }
  }
  root.querySelectorAll('[dj-hook]').forEach((el) => {
    const hook = view.hooks.get(el);
    if (hook) {
      if (touched && touched.some((n) => n && el.contains(n))) callHook(view, hook, 'updated');
      return;
    }
    const name = el.getAttribute('dj-hook');
    if (!HOOK_NAME.test(name) || !Object.prototype.hasOwnProperty.call(hookSpecs, name)) return;
    const fresh = newHook(view, el, name);
    view.hooks.set(el, fresh);
    callHook(view, fresh, 'mounted');
  });
}

/** The socket is back after a drop: `reconnected` on every hook. */
function reconnected(view) {
  if (!view.dropped) return;
  view.dropped = false;
  view.hooks.forEach((hook) => callHook(view, hook, 'reconnected'));
}

/** A `push_event` frame: its parsed payload to each hook's `handleEvent`. */
function hookEvent(view, event, payload) {
  view.hooks.forEach((hook) => {
    const fn = hook.events.get(event);
    if (!fn) return;
    try { fn.call(hook.ctx, payload); } catch (e) { _log(view.root, 'hook ' + hook.name + ' handleEvent failed'); }
  });
}

/* ---- 8. Public API and start-up ---- */

let navigationBound = false;

function connect() {
  if (!navigationBound) {
    navigationBound = true;
    bindNavigation();
    const first = document.querySelector('[data-djust-view]');
    history.replaceState(Object.assign({}, history.state || {}, { djust: true,
      view: first ? first.dataset.djustView || '' : '', scroll: window.scrollY }), '', location.href);
    shown = here();
    markCurrentLinks();
  }
  document.querySelectorAll('[data-djust-view]').forEach((root) => {
    let view = views.find((v) => v.root === root);
    if (!view) {
      view = { root, version: 0, pending: new Map(), attempt: 0, uploads: new Map(), pristine: true, hooks: new Map() };
      views.push(view);
      bind(view);
      bindUploads(view);
    }
    view.stopped = view.navigated = false;
    clearTimeout(view.timer);
    open(view);
  });
}

function disconnect() {
  views.forEach((view) => {
    const ws = view.ws;
    view.stopped = true;
    view.resume = null;
    clearTimeout(view.timer);
    if (ws) closed(view, 1000);
    if (ws) ws.close();
  });
}

window.djustSecurity = Object.freeze({ safeSetInnerHTML, safeObjectAssign, sanitizeForLog });
window.djust = Object.freeze({
  on(name, fn) {
    if (!handlers.has(name)) handlers.set(name, new Set());
    if (typeof fn === 'function') handlers.get(name).add(fn);
  },
  off: (name, fn) => handlers.has(name) && handlers.get(name).delete(fn),
  applyPatches: (root, patches) => applyPatches(root, patches),
  hooks: hookSpecs,
  registerHook,
  version: (root) => (views.find((v) => v.root === root) || { version: 0 }).version,
  connect,
  disconnect,
});

/* ---- 9. Offline ---- */

/* The view's root names the events it may queue (data-djust-offline), the
   owner tag each queued action repeats and the CSRF token the service
   worker's sync request needs. Queued actions live in IndexedDB
   ('djust-offline', store 'actions', keyed by a random idempotency key);
   they are replayed one at a time, oldest first, each after the previous
   one's 'replayed' answer, through the server's ordinary event dispatch.
   While offline, <html> and each view root carry the class dj-offline;
   elements with dj-offline-count show how many actions wait. */
const OFFLINE_DB = 'djust-offline';
const OFFLINE_STORE = 'actions';
let offlineDb = null;

function offlineCapable(view, name) {
  const names = (view.root.getAttribute('data-djust-offline') || '').split(' ');
  return typeof name === 'string' && name !== '' && names.includes(name) && 'indexedDB' in window;
}

function openOfflineDb() {
  if (!offlineDb) {
    offlineDb = new Promise((resolve, reject) => {
      const open = indexedDB.open(OFFLINE_DB, 1);
      open.onupgradeneeded = () => {
        if (!open.result.objectStoreNames.contains(OFFLINE_STORE)) open.result.createObjectStore(OFFLINE_STORE, { keyPath: 'key' });
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => { offlineDb = null; reject(open.error); };
    });
  }
  return offlineDb;
}

function offlineTx(mode, work) {
  return openOfflineDb().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(OFFLINE_STORE, mode);
    const result = work(tx.objectStore(OFFLINE_STORE));
    tx.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
  }));
}

/** 128 random bits, base64url (22 characters). */
function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode.apply(null, Array.from(bytes)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The actions queued on this page by this owner, oldest first. */
function queuedFor(view) {
  const owner = view.root.getAttribute('data-djust-offline-owner') || '';
  const url = pageUrl();
  return offlineTx('readonly', (store) => store.getAll())
    .then((all) => (all || []).filter((a) => a.owner === owner && a.url === url && (a.base || '') === BASE)
      .sort((a, b) => a.at - b.at));
}

function showQueued(view) {
  return queuedFor(view).then((list) => {
    const n = list.length;
    if (n) view.root.setAttribute('data-djust-queued', String(n));
    else view.root.removeAttribute('data-djust-queued');
    view.root.querySelectorAll('[dj-offline-count]').forEach((el) => { el.textContent = String(n); });
  }, () => _log(view.root, 'offline queue unavailable'));
}

function queueOffline(view, name, params) {
  const root = view.root;
  const action = {
    key: idempotencyKey(), event: name, params: safeObjectAssign({}, params), at: Date.now(),
    owner: root.getAttribute('data-djust-offline-owner') || '', csrf: root.getAttribute('data-djust-csrf') || '',
    url: pageUrl(), base: BASE, view: root.dataset.djustView || '',
  };
  offlineTx('readwrite', (store) => store.put(action)).then(() => {
    emit(view, 'djust:queued', { event: name });
    showQueued(view);
    if ('serviceWorker' in navigator && navigator.serviceWorker.controller) {
      // A tag per action: a new registration fires as soon as the worker
      // is online, even while an older one waits for its retry backoff.
      navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register('djust-offline:' + action.key))
        .catch(() => _log(root, 'no background sync'));
    }
    if (view.mounted && navigator.onLine && !view.replaying) replayNext(view);
  }, () => _log(root, 'offline: event could not be queued'));
}

function markOffline() {
  const offline = !navigator.onLine || views.some((v) => !v.mounted && !v.stopped);
  document.documentElement.classList.toggle('dj-offline', offline);
  views.forEach((v) => v.root.classList.toggle('dj-offline', offline));
}

/** The view is connected again: replay what was queued. */
function onlineAgain(view) {
  markOffline();
  if (view.root.hasAttribute('data-djust-offline') && navigator.onLine) replayNext(view);
}

function replayNext(view) {
  view.replaying = true;
  queuedFor(view).then((list) => {
    const next = list[0];
    if (!next || !view.mounted || !navigator.onLine) {
      view.replaying = false;
      return showQueued(view);
    }
    view.replayKey = next.key;
    if (!send(view, { type: 'replay', event: next.event, params: next.params, key: next.key, at: next.at, owner: next.owner })) {
      view.replaying = false;
    }
  }, () => { view.replaying = false; });
}

/** Tries the queue again in 2 s; meanwhile new events queue behind it (order is kept). */
function replayLater(view) {
  view.replaying = true;
  clearTimeout(view.replayTimer);
  view.replayTimer = setTimeout(() => view.mounted && replayNext(view), 2000);
}

function replayed(view, f) {
  const key = typeof f.key === 'string' && f.key ? f.key : view.replayKey;
  const status = String(f.status);
  emit(view, 'djust:replayed', { status, code: f.code == null ? null : String(f.code) });
  if (status === 'retry') return replayLater(view); // rate-limited: not applied
  offlineTx('readwrite', (store) => store.delete(key)).then(() => replayNext(view), () => { view.replaying = false; });
}

function registerWorker() {
  const wanted = document.querySelector('link[rel="manifest"]') && document.querySelector('[data-djust-offline]');
  if (!wanted || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register(BASE + '/djust/sw.js', { scope: BASE + '/' }).catch(() => _log(document.body, 'service worker not registered'));
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (!e.data || e.data.type !== 'djust-offline-synced' || !(Number(e.data.decided) > 0)) return;
    // The server applied actions over HTTP: mount afresh to show them.
    views.forEach((view) => {
      showQueued(view);
      if (view.ws && view.root.hasAttribute('data-djust-offline')) { view.resume = null; view.ws.close(); }
    });
  });
}

window.addEventListener('online', () => views.forEach((view) => { markOffline(); if (view.mounted) onlineAgain(view); }));
window.addEventListener('offline', markOffline);

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => { connect(); registerWorker(); });
else { connect(); registerWorker(); }
})();
